"""Read side of the history database: what `events`, `history` and `status` show."""

from __future__ import annotations

import difflib
import json
import zlib
from typing import Any, Iterable

import sqlite_utils

from crawler.events import event_from_row
from crawler.sources import item_key  # noqa: F401 - re-exported for the CLI
from crawler.history.params import placeholders


def list_events(
    db: sqlite_utils.Database,
    *,
    since: str | None = None,
    types: Iterable[str] = (),
    orgs: Iterable[str] = (),
    countries: Iterable[str] = (),
    watches: Iterable[str] = (),
    item: str | None = None,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """Events newest first, filtered; each one the public event object."""
    where, params = [], []
    if since:
        where.append("detected_at >= ?")
        params.append(since)
    for column, values, fold in (("type", types, False), ("org", orgs, True), ("country", countries, True),
                                 ("watch", watches, False)):
        values = list(values)
        if values:
            marks = placeholders(values)
            where.append(f"lower({column}) in ({marks})" if fold else f"{column} in ({marks})")
            params += [v.lower() for v in values] if fold else values
    if item:
        keys = [resolve_key(db, item)]
        keys += aliases(db, keys[0])
        where.append(f"item in ({', '.join('?' for _ in keys)})")
        params += keys
    sql = "select * from events" + (" where " + " and ".join(where) if where else "") + " order by seq desc"
    if limit:
        sql += f" limit {int(limit)}"
    return [event_from_row(row) for row in db.query(sql, params)]


def known_names(db: sqlite_utils.Database) -> dict[str, set[str]]:
    """Watches, orgs (lower-cased) and countries (upper-cased) the history has seen: what a
    filter of `events` may name besides the config and the registry."""
    out: dict[str, set[str]] = {"watches": set(), "orgs": set(), "countries": set()}
    for table, columns in (("events", ("watch", "org", "country")), ("items", ("watch", "org", "country"))):
        if not db[table].exists():
            continue
        for watch, org, country in db.execute(f"select distinct {', '.join(columns)} from {table}"):
            if watch:
                out["watches"].add(watch)
            if org:
                out["orgs"].add(org.lower())
            if country:
                out["countries"].add(country.upper())
    return out


def resolve_key(db: sqlite_utils.Database, key: str) -> str:
    """The current key of an item that may have been renamed (`item_aliases`)."""
    if db["item_aliases"].exists():
        row = db.execute("select new_key from item_aliases where old_key = ?", [key]).fetchone()
        if row:
            return row[0]
    return key


def similar_keys(db: sqlite_utils.Database, key: str, limit: int = 3) -> list[str]:
    """Keys of the history a user may have meant by `key`, which names nothing: the same
    `owner/name` in another case or on another hub (`model:ms/Qwen/…` for `Qwen/…`), else
    the closest spellings of its kind."""
    kind, _, rest = key.partition(":")
    tail = rest.partition("/")[2] if "/" in rest else rest
    keys = [r[0] for r in db.execute("select key from items where kind = ?", [kind])]
    same = [k for k in keys if k.partition(":")[2].partition("/")[2].lower() == tail.lower() and k != key]
    if same:
        return sorted(same)[:limit]
    return difflib.get_close_matches(key, keys, n=limit, cutoff=0.8)


def aliases(db: sqlite_utils.Database, key: str) -> list[str]:
    """The keys an item had before it was renamed, oldest first."""
    if not db["item_aliases"].exists():
        return []
    return [r[0] for r in db.execute("select old_key from item_aliases where new_key = ? order by renamed_at", [key])]


def item_links(db: sqlite_utils.Database, key: str) -> list[dict[str, Any]]:
    """Evidenced relations of an item, both ways: the other item's key, the relation as read
    from this item's side (`cites_paper`, or `cites_paper (of)` for the other direction)."""
    if not db["links"].exists():
        return []
    out = []
    for src, dst, relation, evidence, first_seen in db.execute(
        "select src, dst, relation, evidence, first_seen from links where src = ? or dst = ? order by id", [key, key]
    ):
        outgoing = src == key
        out.append({"key": dst if outgoing else src, "relation": relation if outgoing else f"{relation} (of)",
                    "evidence": evidence, "first_seen": first_seen})
    return out


def _quiet(key: str) -> frozenset[str]:
    from crawler.sources import item_kind_for_key

    found = item_kind_for_key(key)
    return frozenset(found[1].quiet) if found else frozenset()


def license_text(db: sqlite_utils.Database, sha256: str | None) -> str | None:
    if not sha256:
        return None
    row = db.execute("select text_zlib from license_texts where sha256 = ?", [sha256]).fetchone()
    return zlib.decompress(row[0]).decode("utf-8") if row else None


def history(db: sqlite_utils.Database, key: str, *, with_texts: bool = False) -> list[dict[str, Any]]:
    """Snapshots of one item, oldest first: observed fields and what changed since the last.

    Where a LICENSE-like file changed, `license_diffs` holds a unified diff of its text (the
    evidence a legal team needs); `with_texts` adds the full texts as they were.
    """
    out: list[dict[str, Any]] = []
    previous: dict[str, Any] | None = None
    key = resolve_key(db, key)
    quiet = _quiet(key)
    links = item_links(db, key)
    for row in db.query("select * from snapshots where key = ? order by id", [key]):
        fields = {k: v for k, v in json.loads(row["data"]).items() if k != "license_etags"}
        entry: dict[str, Any] = {"observed_at": row["observed_at"], **fields}
        changed = {}
        if previous is not None:
            for name in sorted((set(previous) | set(fields)) - quiet):
                if previous.get(name) != fields.get(name):
                    changed[name] = {"before": previous.get(name), "after": fields.get(name)}
        entry["changed"] = changed
        files_before = (previous or {}).get("license_files") or {}
        files_now = fields.get("license_files") or {}
        if previous is not None and "license_files" in changed:
            diffs = {}
            for name in sorted(set(files_before) | set(files_now)):
                if files_before.get(name) != files_now.get(name):
                    old = license_text(db, files_before.get(name)) or ""
                    new = license_text(db, files_now.get(name)) or ""
                    diffs[name] = "".join(
                        difflib.unified_diff(old.splitlines(True), new.splitlines(True),
                                             f"{name} (before)", f"{name} (after)")
                    )
            entry["license_diffs"] = diffs
        entry["links"] = [link for link in links if link["first_seen"] <= row["observed_at"]]
        if with_texts:
            entry["license_texts"] = {name: license_text(db, digest) for name, digest in files_now.items()}
        out.append(entry)
        previous = fields
    return out


def latest_crawls(db: sqlite_utils.Database) -> dict[str, dict]:
    rows = db.query(
        "select c.* from crawls c join (select watch, max(id) as id from crawls group by watch) m on c.id = m.id"
    )
    return {row["watch"]: row for row in rows}


def watch_states(db: sqlite_utils.Database) -> dict[str, dict]:
    if not db["watch_state"].exists():
        return {}
    return {row["watch"]: row for row in db["watch_state"].rows}


MODEL_SORTS = {"downloads": "downloads desc", "likes": "likes desc", "created": "created desc", "name": "key"}


def list_models(
    db: sqlite_utils.Database,
    *,
    countries: Iterable[str] = (),
    orgs: Iterable[str] = (),
    categories: Iterable[str] = (),
    openness: Iterable[str] = (),
    sources: Iterable[str] = (),
    sort: str = "downloads",
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """Tracked models now (not removed), with licence, openness, parameters and counters."""
    where, params = ["kind = 'model'", "state != 'removed'"], []
    for column, values, fold in (("country", countries, True), ("org", orgs, True),
                                 ("license_category", categories, False), ("openness", openness, False),
                                 ("source", sources, False)):
        values = list(values)
        if values:
            marks = placeholders(values)
            where.append(f"lower({column}) in ({marks})" if fold else f"{column} in ({marks})")
            params += [v.lower() for v in values] if fold else values
    sql = (
        "select key, source, org, country, name, url, license, license_category, openness, gated, state,"
        " json_extract(data, '$.parameters') as parameters, json_extract(data, '$.created_at') as created,"
        " json_extract(counters, '$.downloads') as downloads, json_extract(counters, '$.likes') as likes,"
        " first_seen, last_changed from items where " + " and ".join(where)
        + f" order by {MODEL_SORTS[sort]}, key"
    )
    if limit:
        sql += f" limit {int(limit)}"
    out = []
    for row in db.query(sql, params):
        row["parameters_text"] = parameters_text(row["parameters"])
        out.append(row)
    return out


def parameters_text(count: int | None) -> str | None:
    """72_700_000_000 -> "72.7B", 494_000_000 -> "494M"."""
    if not isinstance(count, int) or count <= 0:
        return None
    for size, unit in ((10**12, "T"), (10**9, "B"), (10**6, "M"), (10**3, "K")):
        if count >= size:
            value = count / size
            return f"{value:.1f}".rstrip("0").rstrip(".") + unit if value < 100 else f"{value:.0f}{unit}"
    return str(count)
