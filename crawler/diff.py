"""Pure: the previous and the current state of a model -> the events that change means.

One change, one event: a commit whose visible effect is already a licence, licence-file or
gating event does not also emit `model.updated` (DESIGN.md, "What counts as one change").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from crawler.events import make_event
from crawler.licenses import direction
from crawler.normalize import VOLATILE

LICENSE_FIELDS = ("license", "license_name", "license_link", "license_category")


@dataclass(frozen=True)
class Context:
    key: str
    watch: str
    url: str | None
    org: str | None
    country: str | None
    detected_at: str
    seq: int  # the new snapshot's ordinal for this key: part of every dedupe key


def changed_fields(before: dict[str, Any] | None, after: dict[str, Any]) -> list[str]:
    if before is None:
        return []
    names = (set(before) | set(after)) - VOLATILE
    return sorted(n for n in names if before.get(n) != after.get(n))


def _gate_text(value: Any) -> str:
    return {False: "not gated", "auto": "gated (automatic approval)", "manual": "gated (manual approval)"}.get(
        value, f"gated ({value})"
    )


def _base_data(ctx: Context, after: dict[str, Any]) -> dict[str, Any]:
    return {
        "org": ctx.org,
        "country": ctx.country,
        "license": after.get("license"),
        "category": after.get("license_category"),
    }


def _event(ctx: Context, type: str, summary: str, before=None, after=None, data=None, tag: str = "") -> dict:
    return make_event(
        type=type,
        item=ctx.key,
        watch=ctx.watch,
        detected_at=ctx.detected_at,
        summary=summary,
        url=ctx.url,
        dedupe_key=f"{type}:{ctx.key}:{ctx.seq}{tag}",
        before=before,
        after=after,
        data=data,
    )


def added(ctx: Context, after: dict[str, Any]) -> dict:
    return _event(
        ctx,
        "model.added",
        f"{after.get('org')} released {after.get('name')} ({after.get('license')}, {after.get('license_category')})",
        after={k: after.get(k) for k in ("license", "license_category", "gated", "sha", "pipeline_tag", "created_at")},
        data=_base_data(ctx, after),
    )


def model_events(ctx: Context, before: dict[str, Any], after: dict[str, Any]) -> list[dict]:
    """Events for one observed change of an already known model (both states complete)."""
    events = []
    changed = set(changed_fields(before, after))
    model_id = after.get("id")

    if changed & set(LICENSE_FIELDS):  # a new license_link alone is new terms too
        cat_before, cat_after = before.get("license_category"), after.get("license_category")
        move = direction(cat_before, cat_after)
        fields = [f for f in LICENSE_FIELDS if f in changed]
        data = _base_data(ctx, after) | {
            "license_before": before.get("license"),
            "license_after": after.get("license"),
            "category_before": cat_before,
            "category_after": cat_after,
            "direction": move,
        }
        events.append(
            _event(
                ctx,
                "model.license_changed",
                f"{model_id} licence changed: {before.get('license')} → {after.get('license')} ({move.replace('_', ' ')})",
                before={f: before.get(f) for f in fields},
                after={f: after.get(f) for f in fields},
                data=data,
            )
        )

    if "license_files" in changed:
        files_before = before.get("license_files") or {}
        files_after = after.get("license_files") or {}
        names = sorted(n for n in set(files_before) | set(files_after) if files_before.get(n) != files_after.get(n))
        events.append(
            _event(
                ctx,
                "model.license_file_changed",
                f"{model_id} changed {', '.join(names)}",
                before={"license_files": {n: files_before.get(n) for n in names}},
                after={"license_files": {n: files_after.get(n) for n in names}},
                data=_base_data(ctx, after) | {"files": names},
            )
        )

    if "gated" in changed:
        events.append(
            _event(
                ctx,
                "model.gating_changed",
                f"{model_id} is now {_gate_text(after.get('gated'))} (was {_gate_text(before.get('gated'))})",
                before={"gated": before.get("gated")},
                after={"gated": after.get("gated")},
                data=_base_data(ctx, after),
            )
        )

    if not events and "sha" in changed:
        short = (after.get("sha") or "")[:7]
        events.append(
            _event(
                ctx,
                "model.updated",
                f"{model_id} has a new commit {short}",
                before={"sha": before.get("sha"), "last_modified": before.get("last_modified")},
                after={"sha": after.get("sha"), "last_modified": after.get("last_modified")},
                data=_base_data(ctx, after) | {"changed": sorted(changed)},
            )
        )
    return events


def removed(ctx: Context, last: dict[str, Any], detail: str) -> dict:
    return _event(
        ctx,
        "model.removed",
        f"{last.get('id')} was removed or made private ({detail})",
        before={"state": "active"},
        after={"state": "removed"},
        data=_base_data(ctx, last) | {"reason": detail},
        tag=":removed",
    )


def restored(ctx: Context, after: dict[str, Any]) -> dict:
    return _event(
        ctx,
        "model.restored",
        f"{after.get('id')} is back ({after.get('license')})",
        before={"state": "removed"},
        after={"state": "active"},
        data=_base_data(ctx, after),
        tag=":restored",
    )
