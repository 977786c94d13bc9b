"""`openwatch report`: one self-contained HTML page (inline SVG charts drawn by matplotlib, no
scripts, no external assets) that answers the open-model race's questions at a glance: who
released what, from which country, under which licence, how open, adopted how much, and who
became more restrictive. Rendered with jinja2, autoescaped: scraped text is hostile.

`gather` reads the database into plain data (testable without HTML); `render` draws the
charts and fills the template.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from datetime import datetime, timezone
from typing import Any

import jinja2
from markupsafe import Markup

from alerts.render import event_view, one_line, parse_item
from crawler.history.params import placeholders
from crawler.history.queries import latest_crawls, list_events, watch_states
from crawler.licenses import CATEGORIES
from crawler.sources import item_kind_for_key
from crawler.times import iso_seconds
from jobs.views.files import atomic_write

# EU member states (ISO 3166-1 alpha-2; Greece also as the EU's own "EL").
EU = frozenset("AT BE BG HR CY CZ DK EE FI FR DE GR EL HU IE IT LV LT LU MT NL PL PT RO SK SI ES SE".split())
GROUPS = ("US", "CN", "EU", "other")
GROUP_COLORS = {"US": "#3b6fb6", "CN": "#d64541", "EU": "#f2b705", "other": "#9e9e9e"}
CATEGORY_COLORS = {
    "permissive": "#2e7d32", "copyleft": "#7cb342", "open-weight-restricted": "#f9a825",
    "non-commercial": "#ef6c00", "research-only": "#c62828", "unknown": "#9e9e9e",
}
OPENNESS = ("fully-open", "open-weights+code", "open-weights", "restricted", "unknown")
OPENNESS_COLORS = {"fully-open": "#009e73", "open-weights+code": "#0072b2", "open-weights": "#56b4e9",
                   "restricted": "#e69f00", "unknown": "#bdbdbd"}
DIRECTIONS = {"more_restrictive": "more restrictive", "more_open": "more open", "lateral": "lateral",
              "unclear": "unclear"}
DIRECTION_COLORS = {"more restrictive": "#c62828", "more open": "#2e7d32", "lateral": "#757575",
                    "unclear": "#bdbdbd"}
LICENCE_TYPES = ("model.license_changed", "repo.license_changed")
RELEASES_SHOWN = 25
EVENTS_SHOWN = 30
MAX_TEXT = 300  # characters of scraped text in a table cell (errors, summaries)


def country_group(country: str | None) -> str:
    """US, CN, EU (a member state) or other (every other country, and orgs of unknown origin)."""
    code = (country or "").upper()
    if code in ("US", "CN"):
        return code
    return "EU" if code in EU else "other"


def direction_words(direction: str | None) -> str:
    return DIRECTIONS.get(direction or "unclear", one_line(direction).replace("_", " ") or "unclear")


def human_count(n: int | None) -> str:
    """72706203648 -> 72.7B; 1026470731776 -> 1.03T; None -> ''."""
    if not isinstance(n, (int, float)) or isinstance(n, bool) or n <= 0:
        return ""
    units = (("", 1), ("K", 1e3), ("M", 1e6), ("B", 1e9), ("T", 1e12))
    i = max(j for j, (_, size) in enumerate(units) if n >= size or j == 0)
    if i + 1 < len(units) and float(f"{n / units[i][1]:.3g}") >= 1000:
        i += 1  # 999.6M rounds to 1B, not 1000M
    unit, size = units[i]
    text = f"{n / size:.3g}"
    return (f"{n / size:.0f}" if "e" in text else text) + unit


def item_url(key: str, known: dict[str, str] | None = None) -> str | None:
    """The web page of an item: its stored URL, else the public one its key names (its item
    kind's `url`, from the key alone)."""
    if known and known.get(key):
        return known[key]
    found = item_kind_for_key(key)
    return found[1].url(key, {}, {}) if found else None


def _safe_href(url: Any) -> str | None:
    """Only http(s) URLs become links: no `javascript:` from scraped text."""
    text = one_line(url)
    return text if text.lower().startswith(("https://", "http://")) and " " not in text else None


def _clip(text: Any, limit: int = MAX_TEXT) -> str:
    text = one_line(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _has_table(db, name: str) -> bool:
    return db[name].exists()


def _months(since: str, now: datetime) -> list[str]:
    year, month = int(since[:4]), int(since[5:7])
    out = []
    while (year, month) <= (now.year, now.month):
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


# A model's release: HF's createdAt when known, else when openwatch saw it appear (model.added);
# a model of a baseline without createdAt has no known release date and is not counted as new.
_RELEASED = """
    select i.key, i.name, i.url, i.org, i.country, i.license, coalesce(i.license_category, 'unknown') as category,
           {openness} as openness, json_extract(i.data, '$.parameters') as parameters,
           coalesce(json_extract(i.data, '$.created_at'), a.detected_at) as released
    from items i
    left join (select item, min(detected_at) as detected_at from events where type = 'model.added' group by item) a
      on a.item = i.key
    where i.kind = 'model' and i.state != 'removed'
"""


def _released_sql(db) -> str:
    has_openness = "openness" in db["items"].columns_dict
    return _RELEASED.format(openness="coalesce(i.openness, 'unknown')" if has_openness else "'unknown'")


def gather(db, *, since: str, now: datetime | None = None) -> dict[str, Any]:
    """Everything the page shows, as plain data. `since` is ISO UTC (`Z`)."""
    now = now or datetime.now(timezone.utc)
    released_sql = _released_sql(db)
    months = _months(since, now)

    new_by_group: dict[str, Counter] = defaultdict(Counter)
    new_by_category: dict[str, Counter] = defaultdict(Counter)
    new_total = 0
    for row in db.query(f"select * from ({released_sql}) where released >= ?", [since]):
        month = row["released"][:7]
        if month not in months:
            continue
        new_by_group[country_group(row["country"])][month] += 1
        new_by_category[row["category"] if row["category"] in CATEGORIES else "unknown"][month] += 1
        new_total += 1

    openness: dict[str, Counter] = defaultdict(Counter)
    tracked: Counter = Counter()
    for row in db.query(f"select country, openness from ({released_sql})"):
        group = country_group(row["country"])
        openness[row["openness"] if row["openness"] in OPENNESS else "unknown"][group] += 1
        tracked[group] += 1

    events = list_events(db, since=since)
    changes = [_licence_change(e) for e in events if e["type"] in LICENCE_TYPES]
    return {
        "generated_at": iso_seconds(now),
        "since": since[:10],
        "months": months,
        "new_models": {"by_group": {g: [new_by_group[g][m] for m in months] for g in GROUPS},
                       "by_category": {c: [new_by_category[c][m] for m in months] for c in CATEGORIES},
                       "total": new_total},
        "openness": {"groups": [g for g in GROUPS if tracked[g]],
                     "levels": {lvl: [openness[lvl][g] for g in GROUPS if tracked[g]] for lvl in OPENNESS}},
        "downloads": _downloads(db, since),
        "licence_changes": changes,
        "directions": Counter(c["direction"] for c in changes),
        "releases": _releases(db, released_sql),
        "health": _health(db),
        "recent": [_event_row(e) for e in events[:EVENTS_SHOWN]],
        "totals": {"models": sum(tracked.values()), "by_group": {g: tracked[g] for g in GROUPS},
                   "events": len(events), "new_models": new_total, "licence_changes": len(changes)},
    }


def _downloads(db, since: str) -> dict[str, Any]:
    """Share of the 30-day downloads (Hugging Face's `downloads`) by country group, per day
    measured: among the models measured that day."""
    if not _has_table(db, "metrics"):
        return {"days": [], "shares": {}}
    per_day: dict[str, Counter] = defaultdict(Counter)
    for day, country, downloads in db.execute(
        "select m.day, i.country, sum(m.downloads) from metrics m join items i on i.key = m.key"
        " where m.day >= ? and m.downloads is not null and i.kind = 'model' group by 1, 2 order by 1",
        [since[:10]],
    ):
        per_day[day][country_group(country)] += downloads or 0
    days = [d for d in sorted(per_day) if sum(per_day[d].values()) > 0]
    shares = {g: [per_day[d][g] / sum(per_day[d].values()) for d in days] for g in GROUPS}
    latest = {g: shares[g][-1] for g in GROUPS} if days else {}
    return {"days": days, "shares": shares, "latest": latest}


def _licence_change(event: dict) -> dict[str, Any]:
    view = event_view(event)
    data = event.get("data") or {}
    ref = parse_item(event.get("item"))
    return {
        "detected_at": event["detected_at"][:16].replace("T", " "),
        "name": _clip(ref.repo or event.get("item"), 120),
        "href": _safe_href(event.get("url")),
        "org": one_line(data.get("org")),
        "country": one_line(data.get("country")) or "?",
        "licence": view["licence"] or "",
        "categories": view["categories"] or "",
        "direction": direction_words(data.get("direction")),
    }


def _releases(db, released_sql: str) -> list[dict[str, Any]]:
    rows = list(db.query(f"select * from ({released_sql}) order by released is null, released desc limit ?",
                         [RELEASES_SHOWN]))
    links: dict[str, list[dict]] = defaultdict(list)
    if rows and _has_table(db, "links"):
        keys = [r["key"] for r in rows]
        marks = placeholders(keys)
        found = list(db.query(f"select src, dst, relation from links where src in ({marks}) or dst in ({marks})"
                              " order by relation, src, dst", keys + keys))
        others = {r["dst"] if r["src"] in keys else r["src"] for r in found}
        urls = {}
        if others:
            marks2 = placeholders(others)
            urls = {k: u for k, u in db.execute(f"select key, url from items where key in ({marks2})", list(others))}
        for link in found:
            mine, other = (link["src"], link["dst"]) if link["src"] in keys else (link["dst"], link["src"])
            kind = other.partition(":")[0]
            label = {"paper": "paper", "repo": "code", "release": "release", "model": "model"}.get(kind, kind)
            links[mine].append({"label": f"{label} {_clip(other.partition('/')[2], 60)}",
                                "relation": one_line(link["relation"]).replace("_", " "),
                                "href": _safe_href(item_url(other, urls))})
    return [{
        "name": _clip(r["name"] or r["key"], 120),
        "href": _safe_href(r["url"]),
        "org": one_line(r["org"]),
        "country": one_line(r["country"]) or "?",
        "released": (r["released"] or "")[:10] or "unknown",
        "licence": one_line(r["license"]) or "unknown",
        "category": r["category"],
        "openness": r["openness"],
        "parameters": human_count(r["parameters"]),
        "parameters_exact": f"{r['parameters']:,} parameters" if isinstance(r["parameters"], int) else "",
        "links": links.get(r["key"], []),
    } for r in rows]


def _health(db) -> list[dict[str, Any]]:
    crawls, states = latest_crawls(db), watch_states(db)
    out = []
    for watch in sorted(set(crawls) | set(states)):
        crawl, state = crawls.get(watch) or {}, states.get(watch) or {}
        errors = json.loads(crawl.get("errors") or "[]") if crawl else []
        out.append({
            "watch": one_line(watch),
            "source": one_line(crawl.get("source")),
            "status": one_line(state.get("last_status") or crawl.get("status")) or "never run",
            "finished": one_line(state.get("last_finished_at") or crawl.get("finished_at"))[:16].replace("T", " "),
            "last_ok": one_line(state.get("last_ok_at"))[:16].replace("T", " ") or "never",
            "failures": state.get("consecutive_failures") or 0,
            "failing": bool(state.get("failing")),
            "requests": crawl.get("requests"),
            "items": crawl.get("items"),
            "error": _clip(state.get("last_error") or (errors[0] if errors else "")),
        })
    return out


def _event_row(event: dict) -> dict[str, Any]:
    view = event_view(event)
    data = event.get("data") or {}
    detail = view["licence"] or view["gating"] or ""
    if detail and detail in view["headline"]:
        detail = ""
    if event["type"] in LICENCE_TYPES:
        detail = f"{view['categories'] or 'category unknown'}: {direction_words(data.get('direction'))}"
    return {
        "detected_at": event["detected_at"][:16].replace("T", " "),
        "type": event["type"],
        "country": one_line(data.get("country")),
        "headline": _clip(view["headline"]),
        "detail": _clip(detail),
        "href": _safe_href(event.get("url")),
    }


def _month_labels(months: list[str], since: str, now: str) -> list[str]:
    """`2026-09`; the first and last months say when they are partial."""
    labels = list(months)
    if labels and since[8:10] != "01":
        labels[0] += f"\n(from {int(since[8:10])})"
    if labels and now[:7] == months[-1]:
        labels[-1] += "\n(to date)" if len(labels) > 1 else ""
    return labels


def charts(data: dict[str, Any]) -> dict[str, str | None]:
    """Each chart as inline SVG, or None where there is nothing to draw yet."""
    from jobs.views import charts as draw  # matplotlib: imported when a page is drawn, not by `gather`

    months = _month_labels(data["months"], data["since"], data["generated_at"])
    new = data["new_models"]
    out: dict[str, str | None] = {}
    out["new_by_country"] = draw.stacked_bars(
        "new-by-country", "New models per month, by country of origin", months,
        {g: new["by_group"][g] for g in GROUPS}, GROUP_COLORS,
        xlabel="month of release (UTC)", ylabel="new models") if new["total"] else None
    out["new_by_licence"] = draw.stacked_bars(
        "new-by-licence", "New models per month, by licence category", months,
        {c: new["by_category"][c] for c in CATEGORIES}, CATEGORY_COLORS,
        xlabel="month of release (UTC)", ylabel="new models") if new["total"] else None
    op = data["openness"]
    out["openness"] = draw.stacked_bars(
        "openness", "Openness of the models tracked, by country of origin", op["groups"],
        op["levels"], OPENNESS_COLORS, xlabel="models tracked", ylabel="country of origin",
        horizontal=True) if op["groups"] else None
    dl = data["downloads"]
    out["downloads"] = draw.share_area(
        "downloads", "Share of 30-day downloads, by country of origin", dl["days"], dl["shares"],
        GROUP_COLORS, ylabel="share of downloads") if len(dl["days"]) >= 2 else None
    directions = [d for d in DIRECTIONS.values() if data["directions"][d]]
    out["directions"] = draw.stacked_bars(
        "directions", "Licence changes, by direction", directions,
        {d: [data["directions"][d] if x == d else 0 for x in directions] for d in directions},
        DIRECTION_COLORS, xlabel="licence changes", ylabel="direction", horizontal=True,
        legend=False, segment_labels=False) if directions else None
    return out


def render(data: dict[str, Any]) -> str:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("jobs.views", "templates"), autoescape=True, trim_blocks=True, lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    svgs = {name: (Markup(svg) if svg else None) for name, svg in charts(data).items()}
    return env.get_template("report.html.j2").render(
        charts=svgs, groups=GROUPS, group_colors=GROUP_COLORS, openness_colors=OPENNESS_COLORS,
        category_colors=CATEGORY_COLORS, **data)


def write_report(db, path, *, since: str, now: datetime | None = None) -> None:
    """Render and write the page atomically (a reader never sees half a page)."""
    atomic_write(path, render(gather(db, since=since, now=now)).encode("utf-8"))

