"""Read side of the history database: what `events`, `history` and `status` show."""

from __future__ import annotations

import difflib
import json
import zlib
from typing import Any, Iterable

import sqlite_utils

from crawler.events import event_from_row
from crawler.normalize import VOLATILE


def item_key(text: str) -> str:
    """A bare `owner/name` means the Hugging Face model; a full key is kept as it is."""
    text = text.strip()
    for prefix in ("https://huggingface.co/", "http://huggingface.co/", "huggingface.co/"):
        if text.startswith(prefix):
            return "model:hf/" + "/".join(text.removeprefix(prefix).split("/")[:2])
    if ":" in text.split("/", 1)[0]:
        return text
    return f"model:hf/{text}"


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
            marks = ", ".join("?" for _ in values)
            where.append(f"lower({column}) in ({marks})" if fold else f"{column} in ({marks})")
            params += [v.lower() for v in values] if fold else values
    if item:
        where.append("item = ?")
        params.append(item)
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
    for row in db.query("select * from snapshots where key = ? order by id", [key]):
        fields = {k: v for k, v in json.loads(row["data"]).items() if k != "license_etags"}
        entry: dict[str, Any] = {"observed_at": row["observed_at"], **fields}
        changed = {}
        if previous is not None:
            for name in sorted((set(previous) | set(fields)) - VOLATILE):
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
