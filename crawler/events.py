"""Event types and the event record: the public shape every channel, CLI and user sees."""

from __future__ import annotations

import hashlib
import json
from typing import Any

EVENT_TYPES: tuple[str, ...] = (
    "model.added",
    "model.updated",
    "model.license_changed",
    "model.license_file_changed",
    "model.gating_changed",
    "model.removed",
    "model.restored",
    "release.published",
    "repo.license_changed",
    "paper.published",
    "post.published",
    "source.failing",
    "source.recovered",
)

# Subscriptions without an `events` list get every type but this one (commit noise).
DEFAULT_EXCLUDED = frozenset({"model.updated"})
DEFAULT_SUBSCRIBED = tuple(t for t in EVENT_TYPES if t not in DEFAULT_EXCLUDED)

SCHEMA_VERSION = 1


def event_types_matching(pattern: str) -> tuple[str, ...]:
    """The event types `pattern` names: `*` (all), a family such as `model.*`, or one type;
    empty if none. The one reading of patterns, for the config and the CLI."""
    if pattern == "*":
        return EVENT_TYPES
    if pattern.endswith(".*"):
        return tuple(t for t in EVENT_TYPES if t.startswith(pattern[:-1]))
    return (pattern,) if pattern in EVENT_TYPES else ()


def event_id(dedupe_key: str) -> str:
    """Stable id derived from the dedupe key: a retried ingest produces the same id."""
    return "evt_" + hashlib.sha256(dedupe_key.encode()).hexdigest()[:24]


def make_event(
    *,
    type: str,
    item: str,
    watch: str,
    detected_at: str,
    summary: str,
    url: str | None,
    dedupe_key: str,
    before: dict | None = None,
    after: dict | None = None,
    data: dict | None = None,
) -> dict[str, Any]:
    if type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {type!r}")
    return {
        "id": event_id(dedupe_key),
        "type": type,
        "item": item,
        "watch": watch,
        "detected_at": detected_at,
        "summary": summary,
        "url": url,
        "before": before or {},
        "after": after or {},
        "data": {"org": None, "country": None, **(data or {})},
        "dedupe_key": dedupe_key,
    }


def event_to_row(event: dict, crawl_id: int | None = None) -> dict:
    return {
        "id": event["id"],
        "dedupe_key": event["dedupe_key"],
        "type": event["type"],
        "item": event["item"],
        "watch": event["watch"],
        "org": event["data"].get("org"),
        "country": event["data"].get("country"),
        "detected_at": event["detected_at"],
        "summary": event["summary"],
        "url": event["url"],
        "before": json.dumps(event["before"], sort_keys=True),
        "after": json.dumps(event["after"], sort_keys=True),
        "data": json.dumps(event["data"], sort_keys=True),
        "crawl_id": crawl_id,
    }


def event_from_row(row: dict) -> dict[str, Any]:
    """The public event object (DESIGN.md): what `events --json` prints and webhooks carry."""
    return {
        "id": row["id"],
        "type": row["type"],
        "item": row["item"],
        "watch": row["watch"],
        "detected_at": row["detected_at"],
        "summary": row["summary"],
        "url": row["url"],
        "before": json.loads(row["before"] or "{}"),
        "after": json.loads(row["after"] or "{}"),
        "data": json.loads(row["data"] or "{}"),
    }
