"""Event types and the event record: the public shape every channel, CLI and user sees."""

from __future__ import annotations

import hashlib
import json
from typing import Any

def event_types() -> tuple[str, ...]:
    """Every event type, from the source registry (each source declares its own)."""
    from crawler.sources import event_types as registered

    return tuple(registered())


def default_subscribed() -> tuple[str, ...]:
    """What a subscription without `events` gets: every type but the noisy ones (`model.updated`)."""
    from crawler.sources import event_types as registered

    return tuple(t for t, e in registered().items() if e.default)


def __getattr__(name: str):
    # EVENT_TYPES / DEFAULT_SUBSCRIBED read like constants but come from the registry, which
    # is only loaded when first asked (no import-time side effects).
    if name == "EVENT_TYPES":
        return event_types()
    if name == "DEFAULT_SUBSCRIBED":
        return default_subscribed()
    if name == "DEFAULT_EXCLUDED":
        return frozenset(event_types()) - frozenset(default_subscribed())
    raise AttributeError(name)


SCHEMA_VERSION = 1


def event_types_matching(pattern: str) -> tuple[str, ...]:
    """The event types `pattern` names: `*` (all), a family such as `model.*`, or one type;
    empty if none. The one reading of patterns, for the config and the CLI."""
    types = event_types()
    if pattern == "*":
        return types
    if pattern.endswith(".*"):
        return tuple(t for t in types if t.startswith(pattern[:-1]))
    return (pattern,) if pattern in types else ()


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
    if type not in event_types():
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
