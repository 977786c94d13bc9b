"""Events as an Atom feed (RFC 4287): `openwatch feed` for feed readers and dashboards."""

from __future__ import annotations

import json
from xml.etree import ElementTree as ET

ATOM = "http://www.w3.org/2005/Atom"


def events_feed(events: list[dict], *, title: str = "openwatch events", feed_id: str = "urn:openwatch:events",
                updated: str | None = None) -> bytes:
    """Newest first, one entry per event; ElementTree escapes all scraped text."""
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed")
    ET.SubElement(feed, f"{{{ATOM}}}title").text = title
    ET.SubElement(feed, f"{{{ATOM}}}id").text = feed_id
    ET.SubElement(feed, f"{{{ATOM}}}updated").text = _atom_time(
        updated or (events[0]["detected_at"] if events else "1970-01-01T00:00:00Z"))
    author = ET.SubElement(feed, f"{{{ATOM}}}author")
    ET.SubElement(author, f"{{{ATOM}}}name").text = "openwatch"
    for event in events:
        entry = ET.SubElement(feed, f"{{{ATOM}}}entry")
        ET.SubElement(entry, f"{{{ATOM}}}id").text = f"urn:openwatch:event:{event['id']}"
        ET.SubElement(entry, f"{{{ATOM}}}title").text = event["summary"]
        ET.SubElement(entry, f"{{{ATOM}}}updated").text = _atom_time(event["detected_at"])
        ET.SubElement(entry, f"{{{ATOM}}}category", term=event["type"])
        if event.get("url"):
            ET.SubElement(entry, f"{{{ATOM}}}link", href=event["url"], rel="alternate")
        content = ET.SubElement(entry, f"{{{ATOM}}}content", type="text")
        content.text = json.dumps({k: event[k] for k in ("item", "before", "after", "data")}, ensure_ascii=False,
                                  sort_keys=True, indent=1)
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)


def _atom_time(text: str) -> str:
    """RFC 3339 with seconds precision, `Z`."""
    return text[:19] + "Z" if len(text) >= 19 else text
