"""`openwatch report`: one self-contained HTML page (inline SVG charts, no scripts, no
external assets) summarising the history: who publishes what under which licence, and what
changed. Rendered with jinja2, autoescaped: scraped text is hostile."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime, timedelta, timezone

import jinja2

from crawler.history.queries import list_events
from crawler.licenses import CATEGORIES

COLORS = {
    "permissive": "#2e7d32", "copyleft": "#558b2f", "open-weight-restricted": "#f9a825",
    "non-commercial": "#ef6c00", "research-only": "#c62828", "unknown": "#757575",
}


def gather(db, *, weeks: int = 12, now: datetime | None = None) -> dict:
    """Everything the page shows, as plain data (testable without HTML)."""
    now = now or datetime.now(timezone.utc)
    by_country: dict[str, Counter] = defaultdict(Counter)
    for country, category, n in db.execute(
        "select coalesce(country, '??'), coalesce(license_category, 'unknown'), count(*) from items"
        " where kind = 'model' and state != 'removed' group by 1, 2"
    ):
        by_country[country][category] += n
    countries = sorted(by_country, key=lambda c: -sum(by_country[c].values()))
    start = now - timedelta(weeks=weeks)
    events = list_events(db, since=start.strftime("%Y-%m-%dT%H:%M:%S.%fZ"))
    weekly: dict[str, Counter] = defaultdict(Counter)
    for event in events:
        day = datetime.fromisoformat(event["detected_at"].replace("Z", "+00:00"))
        week = (day - timedelta(days=day.weekday())).strftime("%Y-%m-%d")
        weekly[week][event["type"]] += 1
    directions = Counter(e["data"].get("direction") for e in events if e["type"] == "model.license_changed")
    top_orgs = Counter(e["data"].get("org") for e in events if e["type"] == "model.added" and e["data"].get("org"))
    return {
        "generated_at": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "weeks": weeks,
        "countries": [(c, [(cat, by_country[c][cat]) for cat in CATEGORIES if by_country[c][cat]]) for c in countries],
        "max_country": max((sum(by_country[c].values()) for c in countries), default=0),
        "weekly": sorted(weekly.items()),
        "max_week": max((sum(c.values()) for c in weekly.values()), default=0),
        "directions": [(d or "unclear", n) for d, n in directions.most_common()],
        "top_orgs": top_orgs.most_common(10),
        "recent": events[:50],
        "totals": {"models": sum(sum(c.values()) for c in by_country.values()), "events": len(events)},
    }


def render(data: dict) -> str:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("jobs", "templates"), autoescape=True, trim_blocks=True, lstrip_blocks=True
    )
    return env.get_template("report.html.j2").render(colors=COLORS, categories=CATEGORIES, **data)
