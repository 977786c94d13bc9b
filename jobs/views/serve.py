"""`openwatch serve`: Datasette on the history database, live and read-only.

Live: the file is opened as a mutable database (`immutable=1`, which lets SQLite assume
nobody writes it, only where nobody can: a folder that this process cannot write and no
-wal file; see `readonly_uri`).
Read-only: every connection Datasette opens on it, its write connection included, is
`mode=ro` with `PRAGMA query_only`, so no canned query, plugin or API can write; Datasette
itself allows only SELECT as arbitrary SQL, and only GET/HEAD/OPTIONS requests reach it.
Datasette runs in this process under uvicorn: SIGTERM stops the server gracefully and
nothing is left holding the port.

Metadata (descriptions, facets, canned queries) lives in `metadata()`; the LICENSE-text
rendering in `jobs/views/datasette_plugin.py`.
"""

from __future__ import annotations

import asyncio
import signal
import socket
import sqlite3
from pathlib import Path
from typing import Any, Callable

import uvicorn
from datasette.app import Datasette
from datasette.database import Database
from datasette.plugins import pm

from crawler.history.schema import readonly_uri
from crawler.sources import all_sources
from jobs.views import datasette_plugin

EU_CODES = "'AT','BE','BG','HR','CY','CZ','DK','EE','FI','FR','DE','GR','EL','HU','IE','IT','LV','LT','LU','MT'," \
           "'NL','PL','PT','RO','SK','SI','ES','SE'"
ORIGIN = (f"case when country in ('US', 'CN') then country when country in ({EU_CODES}) then 'EU' "
          "else 'other' end")

_RELEASED = """select i.*, coalesce(json_extract(i.data, '$.created_at'), a.detected_at) as released
  from items i left join (select item, min(detected_at) as detected_at from events
                          where type = 'model.added' group by item) a on a.item = i.key
  where i.kind = 'model'"""

QUERIES: dict[str, dict[str, Any]] = {
    "latest_events": {
        "title": "Latest events",
        "description": "The 200 newest events; licence changes with their direction in words.",
        "sql": """select detected_at, type, item, org, country, summary,
  replace(json_extract(data, '$.direction'), '_', ' ') as direction, url
from events order by seq desc limit 200""",
    },
    "licence_changes": {
        "title": "Licence changes",
        "description": "Licence changes, newest first. direction: more restrictive, more open, lateral, "
                       "unclear (empty for all).",
        "sql": """select detected_at, item, org, country,
  json_extract(data, '$.license_before') as license_before, json_extract(data, '$.license_after') as license_after,
  json_extract(data, '$.category_before') as category_before,
  json_extract(data, '$.category_after') as category_after,
  replace(coalesce(json_extract(data, '$.direction'), 'unclear'), '_', ' ') as direction, url
from events
where type in ('model.license_changed', 'repo.license_changed')
  and (:direction = '' or coalesce(json_extract(data, '$.direction'), 'unclear') = replace(trim(:direction), ' ', '_'))
order by seq desc limit 1000""",
    },
    "licence_changes_by_direction": {
        "title": "Licence changes by direction, per month",
        "description": "How many licences became more restrictive or more open, month by month.",
        "sql": """select substr(detected_at, 1, 7) as month,
  replace(coalesce(json_extract(data, '$.direction'), 'unclear'), '_', ' ') as direction, count(*) as changes
from events where type in ('model.license_changed', 'repo.license_changed')
group by 1, 2 order by 1 desc, 3 desc""",
    },
    "new_models_by_country_and_month": {
        "title": "New models by country and month",
        "description": "Models by month of release (Hugging Face createdAt, else when openwatch saw them "
                       "appear) and country of origin; origin groups US, CN, EU (member states), other.",
        "sql": f"""select substr(released, 1, 7) as month, {ORIGIN} as origin, coalesce(country, '?') as country,
  count(*) as new_models
from ({_RELEASED}) where released is not null
group by 1, 2, 3 order by 1 desc, 4 desc""",
    },
    "model_history": {
        "title": "A model's history",
        "description": "Every snapshot and event of one item, oldest first. key: an item key "
                       "(model:hf/Qwen/Qwen3-8B) or a Hugging Face owner/name.",
        "sql": """select observed_at as at, 'snapshot' as record, json_extract(data, '$.license') as license,
  json_extract(data, '$.license_category') as category, json_extract(data, '$.gated') as gated,
  json_extract(data, '$.sha') as sha, changed as detail
from snapshots where key in (:key, 'model:hf/' || :key)
union all
select detected_at, type, json_extract(after, '$.license'), json_extract(data, '$.category_after'),
  json_extract(after, '$.gated'), json_extract(after, '$.sha'), summary
from events where item in (:key, 'model:hf/' || :key)
order by at""",
    },
    "fully_open_models": {
        "title": "Fully open models",
        "description": "Weights, training code and training data all public (openness = fully-open), "
                       "with the evidence.",
        "sql": """select name, org, country, license, json_extract(data, '$.parameters') as parameters,
  openness_evidence, url
from items where kind = 'model' and openness = 'fully-open' and state != 'removed' order by org, name""",
    },
    "license_texts_as_text": {
        "title": "LICENSE texts",
        "description": "Every distinct LICENSE-like text seen, as text. sha256: one text (empty for all).",
        "sql": """select sha256, size, first_seen, zlib_text(text_zlib) as text from license_texts
where :sha256 = '' or sha256 = :sha256 order by first_seen desc limit 100""",
    },
}

TABLES: dict[str, dict[str, Any]] = {
    "items": {
        "description": "The current state of every tracked thing (models, repos, releases, papers, posts), "
                       "one row per key.",
        "facets": ["kind", "source", "country", "license_category", "openness", "state"],
        "sort": "key",
        "label_column": "name",
        "columns": {
            "key": "model:hf/<owner>/<name>, model:ms/…, repo:github/<owner>/<repo>, "
                   "release:github/<owner>/<repo>/<tag>, paper:arxiv/<id>, post:<watch>/<sha1>",
            "kind": lambda: " | ".join(dict.fromkeys(k.name for s in all_sources().values() for k in s.item_kinds)),
            "source": lambda: " | ".join(all_sources()),
            "watch": "the watch that last saw it", "unit": "the watched unit it was found under (org, repo, …)",
            "country": "ISO 3166 alpha-2 of the organisation (registry), or empty when unknown",
            "license": "normalised licence id", "license_category":
                "permissive | copyleft | open-weight-restricted | non-commercial | research-only | unknown",
            "gated": "false | auto | manual", "state": "active | missing | removed",
            "missing_count": "consecutive direct checks that answered not found",
            "openness": "restricted | open-weights | open-weights+code | fully-open | unknown",
            "openness_evidence": "JSON list of the reasons for the openness level",
            "data": "JSON: every observed field", "counters": "JSON: volatile counters (downloads, likes, …)",
            "first_seen": "UTC", "last_seen": "UTC", "last_changed": "UTC, last new snapshot",
        },
    },
    "events": {
        "description": "Every meaningful change, newest first. before/after: the changed fields; data: org, "
                       "country and, for licence changes, direction.",
        "facets": ["type", "country", "org", "watch"],
        "sort_desc": "seq",
        "label_column": "summary",
        "columns": {
            "id": "stable event id (the webhook-id)", "seq": "insertion order",
            "dedupe_key": "one change, one event: re-crawls never duplicate it",
            "type": "model.added, model.license_changed, … (see the README)",
            "detected_at": "UTC", "summary": "one human line", "before": "JSON: changed fields before",
            "after": "JSON: changed fields after", "data": "JSON: org, country, direction, links, …",
        },
    },
    "snapshots": {
        "description": "Append-only: a row each time an item's observed content changed.",
        "sort_desc": "id",
        "columns": {"data": "JSON: the observed fields", "changed": "JSON list of fields changed since the last"},
    },
    "license_texts": {
        "description": "Each distinct LICENSE-like text once (shown as text; stored zlib-compressed). "
                       "As SQL: zlib_text(text_zlib).",
        "columns": {"text_zlib": "the text, zlib-compressed; SQL: zlib_text(text_zlib)"},
    },
    "links": {
        "description": "Evidenced relations between items: a model's paper, code, weights; a post announcing it.",
        "facets": ["relation"],
        "columns": {"relation": "cites_paper | code_of | weights_of | announces | …",
                    "evidence": "where the relation was read"},
    },
    "metrics": {
        "description": "One row per model per day: Hugging Face's 30-day downloads and likes (adoption).",
        "sort_desc": "day",
        "columns": {"day": "YYYY-MM-DD (UTC)", "downloads": "downloads over the last 30 days, as reported"},
    },
    "crawls": {
        "description": "One row per crawl.",
        "facets": ["watch", "status"],
        "sort_desc": "id",
        "columns": {"status": "running | ok | partial | failed", "errors": "JSON list of one-line errors"},
    },
    "watch_state": {"description": "Per watch: last run, consecutive failures, failing flag (source health)."},
    "units": {"description": "Per watched unit: baseline time, last complete listing count, watermark."},
    "deliveries": {
        "description": "The outbox: one row per event × subscription.",
        "facets": ["subscription", "status", "channel"],
        "sort_desc": "id",
        "columns": {"status": "pending | sent | failed | dead | suppressed"},
    },
    "item_aliases": {"description": "Renamed items: the old key, the new one, when."},
    "_migrations": {"hidden": True},
}

SETTINGS = {"sql_time_limit_ms": 5000, "facet_time_limit_ms": 1000, "default_page_size": 50,
            "allow_download": False, "default_cache_ttl": 0}


def metadata(db_name: str, columns: dict[str, set[str]] | None = None) -> dict[str, Any]:
    """Datasette metadata for the history database served as `db_name`; with `columns` (the
    file's tables and their columns), facets and sorts name only columns that exist."""
    tables = {}
    for table, meta in TABLES.items():
        meta = dict(meta)
        if "columns" in meta:  # what the source registry knows is read from it when served
            meta["columns"] = {c: text() if callable(text) else text for c, text in meta["columns"].items()}
        if columns is not None:
            have = columns.get(table, set())
            if "facets" in meta:
                meta["facets"] = [f for f in meta["facets"] if f in have]
            for key in ("sort", "sort_desc", "label_column"):
                if key in meta and meta[key] not in have:
                    del meta[key]
        tables[table] = meta
    return {
        "title": "openwatch history",
        "description": "What openwatch recorded: models, licences, events, crawls. Read-only, live.",
        "databases": {db_name: {"tables": tables, "queries": QUERIES}},
    }


class ReadOnlyDatabase(Database):
    """A mutable (live) database whose every connection is read-only, the write one included."""

    def connect(self, write: bool = False):
        conn = sqlite3.connect(readonly_uri(self.path), uri=True, check_same_thread=False)
        conn.execute("PRAGMA query_only = 1")
        self._all_file_connections.append(conn)
        return conn


def build_datasette(path: str | Path) -> Datasette:
    """A Datasette serving `path` live and read-only, with openwatch's metadata and plugin."""
    if pm.get_plugin("openwatch") is None:
        pm.register(datasette_plugin, name="openwatch")
    path = Path(path).resolve()
    ds = Datasette([], metadata=metadata(path.stem, _columns(path)), settings=SETTINGS)
    ds.add_database(ReadOnlyDatabase(ds, path=str(path), is_mutable=True), name=path.stem)
    return ds


def _columns(path: Path) -> dict[str, set[str]]:
    """The tables and columns the file has now (a database not yet migrated lacks some)."""
    conn = sqlite3.connect(readonly_uri(path), uri=True)
    try:
        tables = [r[0] for r in conn.execute("select name from sqlite_master where type = 'table'")]
        return {t: {r[1] for r in conn.execute(f"pragma table_info([{t}])")} for t in tables}
    finally:
        conn.close()


def read_only_http(app):
    """ASGI wrapper: only GET, HEAD and OPTIONS reach Datasette; anything else is 405. Nothing
    served here takes a POST (no write queries, no logins), and Datasette 0.65 answers a POST
    to a read-only canned query with a 500."""

    async def wrapper(scope, receive, send):
        if scope["type"] == "http" and scope["method"] not in ("GET", "HEAD", "OPTIONS"):
            body = b"openwatch serve is read-only\n"
            await send({"type": "http.response.start", "status": 405,
                        "headers": [(b"allow", b"GET, HEAD, OPTIONS"), (b"content-type", b"text/plain"),
                                    (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})
            return
        await app(scope, receive, send)

    return wrapper


class _Stop(Exception):
    pass


def _stop(signum, frame):  # noqa: ARG001 - signal handler signature
    raise _Stop


def serve(path: str | Path, *, host: str = "127.0.0.1", port: int = 8001,
          ready: Callable[[str], None] = print) -> None:
    """Serve until SIGTERM or SIGINT; `ready(url)` once the socket listens (port 0: any free port).

    uvicorn handles the signal (graceful shutdown, connections closed, socket released) and
    then re-raises it, which ends up here as a clean return.
    """
    ds = build_datasette(path)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    previous = {sig: signal.signal(sig, _stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        sock.bind((host, port))
        sock.listen(128)
        bound = sock.getsockname()[1]
        server = uvicorn.Server(uvicorn.Config(read_only_http(ds.app()), log_level="warning", access_log=False, lifespan="on",
                                               timeout_graceful_shutdown=5))

        async def main():
            await ds.invoke_startup()
            shown = f"[{host}]" if family == socket.AF_INET6 else host
            ready(f"http://{shown}:{bound}/")
            await server.serve(sockets=[sock])

        asyncio.run(main())
    except _Stop:
        pass
    finally:
        sock.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
