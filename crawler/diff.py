"""Pure diff helpers shared by every item kind: which fields changed, and the event record.

What a change *means* (which events it makes) belongs to each item kind (`crawler/sources/`);
this module only knows fields and the event shape.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

from crawler.events import make_event
from crawler.sources import Context

__all__ = ["Context", "changed_fields", "event", "merge_known"]


def changed_fields(before: Mapping[str, Any] | None, after: Mapping[str, Any],
                   ignore: Iterable[str] = ()) -> list[str]:
    """Fields whose value differs. A field `after` does not carry is unknown: not a change."""
    if before is None:
        return []
    skip = set(ignore)
    return sorted(n for n in after if n not in skip and before.get(n) != after.get(n))


def merge_known(previous: Mapping[str, Any] | None, observed: Mapping[str, Any],
                first_sight: Mapping[str, Any] = {}) -> dict[str, Any]:
    """The current state: the last known fields, overwritten by what this answer carried; at
    first sight (no `previous`), a field not carried reads as `first_sight` says."""
    return {**(first_sight if previous is None else previous), **observed}


def event(ctx: Context, type: str, summary: str, before=None, after=None, data=None, tag: str = "") -> dict:
    """An event of `ctx`'s item; the dedupe key is type, key and snapshot ordinal (+ tag)."""
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
        data={"org": ctx.org, "country": ctx.country, **(data or {}),
              **({"links": list(ctx.links)} if ctx.links else {})},
    )
