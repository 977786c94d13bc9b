"""Events as an Atom feed (RFC 4287): `openwatch feed` for feed readers and dashboards, and
`write_feed` for the daemon, which keeps one file (`feed_path`) up to date for a static host.

Each entry reads as text: the headline, what changed (`field: before → after`), where. Ids
are the events' ids, so a reader never sees an event twice; the feed's `updated` is the
newest event's time, so the same events always make the same bytes (an empty feed's, now).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any, Callable, Iterable
from xml.etree import ElementTree as ET

from alerts.render import event_view, one_line
from crawler.history.queries import list_events
from crawler.times import utcnow
from jobs.views.files import atomic_write

ATOM = "http://www.w3.org/2005/Atom"
FEED_ID = "urn:openwatch:events"
MAX_VALUE = 200    # characters of one before/after value
MAX_CONTENT = 4000  # characters of one entry's text
# Characters XML 1.0 cannot carry at all (ElementTree would write them and break the feed).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def xml_text(value: Any) -> str:
    """Scraped text as XML can hold it: the characters XML forbids are dropped."""
    return _NOT_XML.sub("", "" if value is None else str(value))


def _value(value: Any) -> str:
    if value is None or value == "":
        return "(none)"
    text = (json.dumps(value, ensure_ascii=False, sort_keys=True) if isinstance(value, (dict, list, bool))
            else str(value))
    text = one_line(text)
    return text if len(text) <= MAX_VALUE else text[: MAX_VALUE - 1] + "…"


def entry_text(event: dict) -> str:
    """An event as a few lines of plain text, for a feed reader."""
    view = event_view(event)
    lines = [view["headline"]]
    if view["summary"]:
        lines.append(view["summary"])
    before, after = event.get("before") or {}, event.get("after") or {}
    changed = [name for name in sorted(set(before) | set(after)) if before.get(name) != after.get(name)]
    if changed:
        lines.append("")
        for name in changed:
            lines.append(f"{name}: {_value(before.get(name))} → {_value(after.get(name))}")
    if event.get("type") in ("model.license_changed", "repo.license_changed"):
        if view["categories"]:
            lines.append(f"category: {view['categories']}")
        lines.append(f"direction: {view['direction'] or 'unclear'}")  # in words: "more restrictive"
    lines.append("")
    where = [f"item: {one_line(event.get('item'))}"]
    if view["org"]:
        where.append(f"org: {view['org']}" + (f" ({view['country']})" if view["country"] else ""))
    if view["watch"]:
        where.append(f"watch: {view['watch']}")
    lines.append(" · ".join(where))
    text = "\n".join(lines)
    return text if len(text) <= MAX_CONTENT else text[: MAX_CONTENT - 1] + "…"


def events_feed(events: list[dict], *, title: str = "openwatch events", feed_id: str = FEED_ID,
                updated: str | None = None, self_url: str | None = None) -> bytes:
    """Newest first, one entry per event; ElementTree escapes, `xml_text` drops what XML forbids."""
    ET.register_namespace("", ATOM)

    def add(parent, tag: str, text: Any = None, **attrs) -> ET.Element:
        element = ET.SubElement(parent, f"{{{ATOM}}}{tag}", {k: xml_text(v) for k, v in attrs.items()})
        if text is not None:
            element.text = xml_text(text)
        return element

    feed = ET.Element(f"{{{ATOM}}}feed")
    add(feed, "title", title)
    add(feed, "id", feed_id)
    if updated is None:  # the newest event's time; with none yet, now (RFC 4287 4.2.15: last significant change)
        updated = events[0]["detected_at"] if events else utcnow()
    add(feed, "updated", _atom_time(updated))
    if self_url:
        add(feed, "link", rel="self", href=self_url, type="application/atom+xml")
    add(add(feed, "author"), "name", "openwatch")
    add(feed, "generator", "openwatch")
    for event in events:
        view = event_view(event)
        entry = add(feed, "entry")
        add(entry, "id", f"urn:openwatch:event:{event['id']}")
        add(entry, "title", view["headline"])
        add(entry, "updated", _atom_time(event["detected_at"]))
        add(entry, "published", _atom_time(event["detected_at"]))
        add(entry, "category", term=event["type"], label=view["type_label"])
        if view["href"]:
            add(entry, "link", rel="alternate", href=view["href"])
        add(entry, "summary", view["summary"] or view["headline"], type="text")
        add(entry, "content", entry_text(event), type="text")
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)


def _atom_time(text: str) -> str:
    """RFC 3339 with seconds precision, `Z`."""
    return text[:19] + "Z" if len(text) >= 19 else text


def write_feed(db, path: str | os.PathLike, *, since: str | None = None, types: Iterable[str] = (),
               limit: int | None = 200, title: str = "openwatch events", self_url: str | None = None) -> int:
    """Write the Atom feed of the newest events to `path` atomically; returns the entry count.

    The daemon calls this (through `feed_keeper`) after each ingest when `feed_path` is set.
    """
    events = list_events(db, since=since, types=types, limit=limit)
    atomic_write(path, events_feed(events, title=title, self_url=self_url))
    return len(events)


def feed_keeper(path: str | os.PathLike, *, limit: int | None = 200, **options) -> Callable[..., int | None]:
    """A hook for the scheduler: `hook(db, new_events)` after each ingest rewrites the feed at
    `path` when there are new events (or when the file does not exist yet); returns the
    entry count written, or None when nothing needed writing."""
    target = Path(path)

    def hook(db, new_events: list | None = None) -> int | None:
        if new_events is not None and not new_events and target.exists():
            return None
        return write_feed(db, target, limit=limit, **options)

    return hook
