"""Batches in, rows out: current state, snapshots on content change, events, links, metrics.

Generic over sources: what an item's fields are and what a change means comes from its item
kind in the source registry (`crawler/sources/`). Every batch is one transaction; new events
are handed to `on_events(db, events, now)` inside it (jobs wires that to the alerts outbox),
so a crash never leaves an event without its deliveries, nor a change without its event.

Per batch, the stored state of all its items is read in one indexed query. An item whose
fingerprint (a cheap digest of the raw observation, volatile counters left out) is the
stored one is unchanged: its counters are refreshed in bulk (and once a UTC day its
`last_seen` and a `metrics` row), nothing else; only changed items are normalised and
diffed. Writes are `executemany`.
"""

from __future__ import annotations

import difflib
import functools
import hashlib
import json
import os
import zlib
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping

import sqlite_utils

from crawler.diff import Context, changed_fields, merge_known
from crawler.events import event_to_row
from crawler.history.params import CHUNK, chunks, placeholders
from crawler.history.schema import immediate
from crawler.items import Batch, Observation, Probe, UnitEnd
from crawler.normalize import content_hash
from crawler.orgs import OrgTable, default_orgs
from crawler.rules import REMOVAL_AFTER, SHORT_LISTING_RATIO
from crawler.sources import ItemKind, item_kind_for_key, source_for
from crawler.times import iso, parse, utcnow

ITEM_COLUMNS = ("key", "kind", "source", "watch", "unit", "org", "country", "name", "url", "license",
                "license_category", "gated", "sha", "state", "missing_count", "content_hash", "first_seen",
                "last_seen", "last_changed", "data", "fingerprint", "counters", "openness", "openness_evidence")
_UPSERT_ITEM = (
    f"insert into items ({', '.join(ITEM_COLUMNS)}) values ({', '.join('?' for _ in ITEM_COLUMNS)}) "
    "on conflict(key) do update set " + ", ".join(f"{c} = excluded.{c}" for c in ITEM_COLUMNS if c != "key")
)
_INSERT_SNAPSHOT = ("insert into snapshots (key, observed_at, crawl_id, content_hash, data, changed)"
                    " values (?, ?, ?, ?, ?, ?)")
_UPSERT_METRIC = ("insert into metrics (key, day, downloads, likes, counters) values (?, ?, ?, ?, ?)"
                  " on conflict(key, day) do update set downloads = excluded.downloads,"
                  " likes = excluded.likes, counters = excluded.counters")

OnEvents = Callable[[sqlite_utils.Database, list[dict], Any], None]


@dataclass
class BatchResult:
    events: list[dict] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    units_complete: list[str] = field(default_factory=list)
    units_incomplete: list[str] = field(default_factory=list)
    items: int = 0
    changed: int = 0
    touched: list[str] = field(default_factory=list)  # keys normalised and written this batch
    levels: dict[str, str] = field(default_factory=dict)  # openness of the models written


@dataclass
class _Row:
    key: str
    state: str
    fingerprint: str | None
    content_hash: str | None
    data: str | None
    counters: str | None
    missing_count: int
    first_seen: str | None
    last_seen: str | None
    last_changed: str | None
    unit: str | None = None
    org: str | None = None


# The text `json.dumps(value, sort_keys=True)` gives, without building an encoder per call
# (six per new model in a first crawl) nor checking for cycles (fields are parsed JSON trees).
_sorted_json = json.JSONEncoder(sort_keys=True, check_circular=False).encode
_json = json.JSONEncoder(check_circular=False).encode  # `json.dumps(value)`


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class Store:
    """The history layer. Knows nothing of HTTP nor of alerts; takes batches, writes rows."""

    def __init__(
        self,
        db: sqlite_utils.Database,
        *,
        on_events: OnEvents | None = None,
        registry: OrgTable | None = None,
        clock: Callable[[], str] = utcnow,
        endpoints: Mapping[str, str] | None = None,
        short_listing_ratio: float = SHORT_LISTING_RATIO,
        watch_units: dict[str, Iterable[str]] | None = None,
    ):
        self.db = db
        self.on_events = on_events
        self.registry = registry or default_orgs()
        self.clock = clock
        self.endpoints = dict(endpoints or {})
        self.short_listing_ratio = short_listing_ratio
        # unit -> the watches that cover it (an org may be in several watches)
        self.covering: dict[str, list[str]] = {}
        for watch, units in (watch_units or {}).items():
            for unit in units:
                self.covering.setdefault(unit, []).append(watch)

    # -- crawls -------------------------------------------------------------------------

    def start_crawl(self, watch: str, source: str, pid: int | None = None) -> int:
        now = self.clock()
        with immediate(self.db):
            cursor = self.db.execute(
                "insert into crawls (watch, source, started_at, status, requests, items, events, errors, pid)"
                " values (?, ?, ?, 'running', 0, 0, 0, '[]', ?)", [watch, source, now, pid])
            crawl_id = cursor.lastrowid
            self.db.execute("insert into watch_state (watch, last_started_at) values (?, ?)"
                            " on conflict(watch) do update set last_started_at = excluded.last_started_at",
                            [watch, now])
        return crawl_id

    def finish_crawl(self, crawl_id: int, status: str, *, requests: int, items: int, events: int,
                     errors: list[str]) -> None:
        with immediate(self.db):
            self.db.execute(
                "update crawls set finished_at = ?, status = ?, requests = ?, items = ?, events = ?, errors = ?"
                " where id = ?", [self.clock(), status, requests, items, events, json.dumps(errors[:50]), crawl_id])

    def fail_running(self, reason: str = "interrupted: the process ended mid-crawl", *,
                     only_dead: bool = True, pid: int | None = None, watch: str | None = None) -> int:
        """Crawls left `running` (by `pid`, of `watch`) become `failed` (never counted as ok).
        With `only_dead`, a crawl still running in another live process (a manual
        `openwatch crawl`) is left."""
        with immediate(self.db):
            where, params = "status = 'running'", []
            for column, value in (("pid", pid), ("watch", watch)):
                if value is not None:
                    where, params = where + f" and {column} = ?", params + [value]
            rows = self.db.execute(f"select id, pid, errors from crawls where {where}", params).fetchall()
            if rows and only_dead:
                import psutil  # only when there is a crawl to check (~30 ms of every start otherwise)

                rows = [row for row in rows
                        if not (row[1] and row[1] != os.getpid() and psutil.pid_exists(row[1]))]
            for crawl, _, errors in rows:
                self.db.execute("update crawls set status = 'failed', finished_at = ?, errors = ? where id = ?",
                                [self.clock(), json.dumps((json.loads(errors or "[]") + [reason])[-50:]), crawl])
        return len(rows)

    interrupt_running = fail_running

    def record_budget(self, source: str, budget: Mapping[str, Mapping[str, Any]]) -> None:
        """What the servers last said of the quota of each bucket (`host bucket` -> numbers)."""
        if not budget:
            return
        from datetime import timedelta

        now = self.clock()
        rows = [(source, bucket, b.get("remaining"), b.get("limit"),
                 iso(parse(now) + timedelta(seconds=float(b.get("reset_in") or 0))), now)
                for bucket, b in budget.items()]
        with immediate(self.db):
            self.db.conn.executemany(
                "insert into budgets (source, bucket, remaining, quota, reset_at, observed_at) values (?, ?, ?, ?, ?, ?)"
                " on conflict(source, bucket) do update set remaining = excluded.remaining, quota = excluded.quota,"
                " reset_at = excluded.reset_at, observed_at = excluded.observed_at", rows)

    # -- what the spider needs to know of the past --------------------------------------

    def prior_state(self, watch: str, units: Iterable[str], *, files: bool = False,
                    source: str | None = None) -> dict[str, dict]:
        """Per unit: the last complete count, the watermark, the spider's saved state, and each
        known item: by key (`sha`), or with `files` (hub models) by model id with the
        LICENSE-file ETags, gating and read sha."""
        prior: dict[str, dict] = {}
        for unit in units:
            row = self.db.execute(
                "select last_complete_count, watermark, last_reconciled_at, baselined_at, state from units"
                " where watch = ? and unit = ?", [watch, unit]).fetchone()
            known = {}
            if files:
                sql = ("select name, sha, json_extract(data, '$.license_etags'), gated,"
                       " json_extract(data, '$.license_read_sha'), json_extract(data, '$.private'),"
                       " json_extract(data, '$.disabled') from items where unit = ? and state != 'removed'"
                       " and (? is null or source = ?)")
                for name, sha, etags, gated, read_sha, private, disabled in self.db.execute(sql, [unit, source, source]):
                    # `settings`: what an incremental crawl's settings check compares (None: unknown).
                    known[name] = {"sha": sha, "files": json.loads(etags) if etags else {},
                                   "gated": gated not in (None, "false"), "read_sha": read_sha or sha,
                                   "settings": {"gated": gated, "private": None if private is None else bool(private),
                                                "disabled": None if disabled is None else bool(disabled)}}
            else:
                for key, sha in self.db.execute(
                        "select key, sha from items where unit = ? and state != 'removed'"
                        " and (? is null or source = ?)", [unit, source, source]):
                    known[key] = {"sha": sha}
            prior[unit] = {"last_complete_count": row[0] if row else None, "watermark": row[1] if row else None,
                           "last_reconciled_at": row[2] if row else None,
                           "baselined": bool(row and row[3]), "state": json.loads(row[4]) if row and row[4] else {},
                           "models": known}
        return prior

    # -- ingest -------------------------------------------------------------------------

    def ingest(self, batch: Batch, crawl_id: int | None = None) -> BatchResult:
        result = BatchResult()
        source = source_for(batch.source)
        now = self.clock()
        with immediate(self.db):
            baselined = self._baselined(batch.unit, batch.source)
            keys = [o.key for o in batch.observations] + [o.renamed_from for o in batch.observations if o.renamed_from]
            rows = self._rows(keys + [p.key for p in batch.probes])
            pending: list[tuple[Observation, ItemKind, _Row | None]] = []
            refresh: list[tuple] = []
            metrics: list[tuple] = []
            today = now[:10]
            kinds = {k.name: k for k in source.item_kinds}
            for obs in batch.observations:
                kind = kinds[obs.kind]
                row = rows.get(obs.key)
                result.items += 1
                # Listed by its own org's listing while recorded under another unit (moved there
                # from another org of the watch): not the fast path, so its unit follows. A
                # hub-wide search or a second feed showing it never takes an org's item away.
                if (row is not None and row.state == "active" and obs.files is None and not obs.renamed_from
                        and (row.unit == batch.unit or row.org != batch.unit)
                        and row.fingerprint == kind.fingerprint(obs.raw)):
                    counters = kind.counters(obs.raw)
                    text = _sorted_json(counters) if counters else None
                    if text != row.counters or (row.last_seen or "")[:10] != today:
                        refresh.append((text, now, obs.key))
                        if counters:
                            metrics.append(_metric(obs.key, today, counters, text))
                    continue
                pending.append((obs, kind, row))
            if refresh:
                self.db.conn.executemany("update items set counters = ?, last_seen = ? where key = ?", refresh)
            events: list[dict] = []
            if pending:
                events += self._changed(batch, pending, rows, baselined, crawl_id, now, metrics, result)
            if metrics:
                self.db.conn.executemany(_UPSERT_METRIC, metrics)
            for probe in batch.probes:
                events += self._probe(batch, source, probe, rows.get(probe.key), baselined, result)
            if batch.end is not None:
                self._end(batch, batch.end, result)
            levels = result.levels | self._openness(result.touched, set(result.levels), now, crawl_id)
            for event in events:
                event["data"]["watches"] = sorted(set(self.covering.get(batch.unit, [])) | {batch.watch})
            self._aliases(events)
            self._links(events)
            self._diff_excerpts(events)
            for event in events:
                if event["item"] in levels:
                    event["data"]["openness"] = levels[event["item"]]
            new_events = self._insert_events(events, crawl_id)
            if new_events and self.on_events:
                self.on_events(self.db, new_events, parse(now))
        result.events = new_events
        return result

    def _baselined(self, unit: str, source: str) -> bool:
        # Items are shared by every watch covering a unit, so is its baseline: a second watch
        # on an org already baselined reports changes at once, never swallows them. A unit is
        # named within its source (`Qwen` on Hugging Face is not `Qwen` on ModelScope).
        return self.db.execute("select 1 from units where unit = ? and source = ? and baselined_at is not null"
                               " limit 1", [unit, source]).fetchone() is not None

    def _rows(self, keys: list[str]) -> dict[str, _Row]:
        out: dict[str, _Row] = {}
        for part in chunks(list(dict.fromkeys(keys))):
            marks = placeholders(part)
            for values in self.db.execute(
                "select key, state, fingerprint, content_hash, data, counters, missing_count, first_seen,"
                f" last_seen, last_changed, unit, org from items where key in ({marks})", part,
            ):
                out[values[0]] = _Row(*values)
        return out

    def _changed(self, batch: Batch, pending, rows, baselined: bool, crawl_id, now: str, metrics: list,
                 result: BatchResult) -> list[dict]:
        events: list[dict] = []
        upserts, snapshots, links = [], [], []
        keep = functools.partial(self._keep_text, now=now)
        for obs, kind, row in pending:
            key = obs.key
            unit = batch.unit
            renamed_before = None  # the old item's fields, when the new key was recorded first
            if obs.renamed_from and obs.renamed_from != key:
                old = rows.get(obs.renamed_from)
                if old is not None and row is None:
                    row = self._move(obs.renamed_from, key, old, now)
                elif old is not None and old.key != key:
                    # Moved to another org of the watch whose listing was read before the old
                    # id's redirect: the new key is an item already. One item, under the new key.
                    renamed_before = json.loads(old.data) if old.data else {}
                    unit = self._merge(obs.renamed_from, key, old, now) or unit
                    row.first_seen = min(filter(None, (old.first_seen, row.first_seen)), default=now)
            previous = json.loads(row.data) if row is not None and row.data else None
            if previous is not None and kind.counter_fields:
                previous = {k: v for k, v in previous.items() if k not in kind.counter_fields}
            fields = merge_known(previous, kind.normalise(obs.raw), kind.first_sight)
            result.errors += kind.merge_files(fields, obs.files, previous, keep)
            org = kind.org(fields)
            country = self.registry.country(org)
            evidence = None
            assessed = kind.openness(fields)
            if assessed is not None:
                # From the item's own fields; linked code may raise it (`_openness`, after links).
                fields["openness"], evidence = assessed
                result.levels[key] = fields["openness"]
            digest = content_hash(fields, kind.quiet)
            counters = kind.counters(obs.raw)
            counters_text = _sorted_json(counters) if counters else None
            seq = None
            data_text = _sorted_json(fields)
            if row is None or row.content_hash != digest:
                seq = 1 if row is None else self._next_seq(key)
                changed = changed_fields(previous, fields, kind.quiet) if previous is not None else []
                snapshots.append((key, now, crawl_id, digest, data_text, json.dumps(changed) if changed else "[]"))
            item_links = kind.links(key, fields)
            links += [((other, key) if rest[2:3] == ("in",) else (key, other)) + (rest[0], rest[1], now)
                      for other, *rest in item_links]
            url = kind.url(key, fields, self.endpoints)
            if baselined:
                ctx = Context(key=key, watch=batch.watch, url=url, org=org,
                              country=country, detected_at=now, seq=seq or self._next_seq(key) - 1,
                              links=tuple(sorted({link[0] for link in item_links})))
                if obs.renamed_from and obs.renamed_from != key and previous is not None:
                    events += kind.renamed(ctx, obs.renamed_from, renamed_before or previous, fields)
                if seq is not None:
                    events += (kind.added(ctx, fields) if previous is None
                               else kind.changed(ctx, kind.before_diff(previous, fields), fields))
                if row is not None and row.state == "removed":
                    n = self._count_events(kind.name + ".restored", key) + 1
                    events += kind.restored(Context(**{**ctx.__dict__, "seq": n}), fields)
            cols = kind.columns(key, fields)
            upserts.append((
                key, kind.name, batch.source, batch.watch, unit, org, country, cols.get("name"),
                url, cols.get("license"), cols.get("license_category"),
                cols.get("gated"), cols.get("sha"), "active", 0, digest,
                (row.first_seen if row is not None else None) or now, now,
                now if seq is not None else (row.last_changed if row is not None else now),
                data_text, kind.fingerprint(obs.raw), counters_text,
                fields.get("openness"), _json(evidence) if evidence else None,
            ))
            if counters:
                metrics.append(_metric(key, now[:10], counters, counters_text))
            result.changed += 1
            result.touched.append(key)
        self.db.conn.executemany(_UPSERT_ITEM, upserts)
        if snapshots:
            self.db.conn.executemany(_INSERT_SNAPSHOT, snapshots)
        if links:
            self.db.conn.executemany(
                "insert or ignore into links (src, dst, relation, evidence, first_seen) values (?, ?, ?, ?, ?)", links)
        return events

    def _openness(self, touched: list[str], assessed: set[str], now: str, crawl_id) -> dict[str, str]:
        """Openness of every item the batch's evidence concerns (its own changed items, the
        models a new release, paper or repo is linked to), stored with its evidence, for the
        kinds that have one (`ItemKind.openness`; `assessed`: the touched items that have one);
        a change of level is a snapshot, so `history` shows it. A few queries per batch, not per
        item."""
        levels: dict[str, str] = {}
        has_code = self.db.execute(
            "select 1 from links where relation in ('code_of', 'release_of') limit 1").fetchone() is not None
        if not touched or not has_code:
            return levels  # without linked code, `_changed` already decided from the model's own fields
        models = set(assessed)
        for part in chunks(touched, CHUNK // 4):
            marks = placeholders(part)
            if has_code:
                # A release announcing a model, a paper it cites, a repo that is a paper's code.
                for sql in (f"select dst from links where src in ({marks}) and relation = 'announces'",
                            f"select src from links where dst in ({marks}) and relation = 'cites_paper'",
                            "select m.src from links m join links c on c.src = m.dst and c.relation = 'code_of'"
                            f" where m.relation = 'cites_paper' and c.dst in ({marks})",
                            "select a.dst from links a join links r on r.src = a.src and r.relation = 'release_of'"
                            f" where a.relation = 'announces' and r.dst in ({marks})"):
                    models |= {k for (k,) in self.db.execute(sql, part)}
        for part in chunks(sorted(models), CHUNK // 4):
            marks = placeholders(part)
            code: dict[str, list[dict]] = {}
            if has_code:
                pairs = self.db.execute(
                    f"select src, dst from links where src in ({marks}) and relation = 'code_of'"
                    " union select m.src, c.dst from links m join links c on c.src = m.dst and c.relation = 'code_of'"
                    f" where m.relation = 'cites_paper' and m.src in ({marks})"
                    " union select a.dst, r.dst from links a join links r on r.src = a.src and r.relation = 'release_of'"
                    f" where a.relation = 'announces' and a.dst in ({marks})", part * 3).fetchall()
                # `code_of` and `release_of` point at the code's own item (a repo).
                repos = {k: json.loads(d) for k, d in self.db.execute(
                    f"select key, data from items where key in ({placeholders(pairs)})",
                    [r for _, r in pairs])} if pairs else {}
                for model, repo in pairs:
                    if repo in repos:
                        code.setdefault(model, []).append(repos[repo])
            for key, data, current, _ in self.db.execute(
                    f"select key, data, openness, content_hash from items where key in ({marks})", part).fetchall():
                found = item_kind_for_key(key)
                fields = json.loads(data or "{}")
                assessed = found[1].openness(fields, code.get(key, ())) if found else None
                if assessed is None:
                    continue
                level, evidence = assessed
                levels[key] = level
                if level == current:
                    continue
                fields["openness"] = level
                digest = content_hash(fields, found[1].quiet)
                text = json.dumps(fields, sort_keys=True)
                self.db.execute("update items set openness = ?, openness_evidence = ?, data = ?, content_hash = ?"
                                " where key = ?", [level, json.dumps(evidence), text, digest, key])
                # A change of level is in history: in the snapshot this batch made of the item
                # (the licence change that caused it, or the first sight), else one of its own.
                same = self.db.execute("select id, changed from snapshots where key = ? and observed_at = ?"
                                       " order by id desc limit 1", [key, now]).fetchone()
                if same:
                    changed = set(json.loads(same[1] or "[]")) | ({"openness"} if current is not None else set())
                    self.db.execute("update snapshots set data = ?, content_hash = ?, changed = ? where id = ?",
                                    [text, digest, json.dumps(sorted(changed)), same[0]])
                elif current is not None:
                    self.db.execute(_INSERT_SNAPSHOT, (key, now, crawl_id, digest, text, json.dumps(["openness"])))
        return levels

    def _move(self, old_key: str, new_key: str, old: _Row, now: str) -> _Row:
        """A renamed item: one item whose key changes; its snapshots follow, the old key stays
        an alias (`history <old id>` and subscriptions naming it still find it)."""
        self.db.execute("update items set key = ? where key = ?", [new_key, old_key])
        self.db.execute("update snapshots set key = ? where key = ?", [new_key, old_key])
        self._move_metrics(old_key, new_key)
        self.db.execute("update links set src = ? where src = ?", [new_key, old_key])
        self._alias(old_key, new_key, now)
        old.key = new_key
        return old

    def _move_metrics(self, old_key: str, new_key: str) -> None:
        """The daily counters follow the item (a day the new key has already is kept as is)."""
        self.db.execute("update or ignore metrics set key = ? where key = ?", [new_key, old_key])
        self.db.execute("delete from metrics where key = ?", [old_key])

    def _alias(self, old_key: str, new_key: str, now: str) -> None:
        """`old_key` (and every key that led to it) now names `new_key`."""
        self.db.execute("update item_aliases set new_key = ? where new_key = ?", [new_key, old_key])
        self.db.execute("insert or replace into item_aliases (old_key, new_key, renamed_at) values (?, ?, ?)",
                        [old_key, new_key, now])
        self.db.execute("delete from item_aliases where old_key = ?", [new_key])

    def _merge(self, old_key: str, new_key: str, old: _Row, now: str) -> str | None:
        """A renamed item whose new key was recorded before the rename was seen: the old item's
        snapshots, links and aliases join the new one, the old key becomes an alias, and the
        old row goes. Returns the new item's unit (where it is listed now)."""
        self.db.execute("update snapshots set key = ? where key = ?", [new_key, old_key])
        self._move_metrics(old_key, new_key)
        for column in ("src", "dst"):
            self.db.execute(f"update or ignore links set {column} = ? where {column} = ?", [new_key, old_key])
            self.db.execute(f"delete from links where {column} = ?", [old_key])
        self._alias(old_key, new_key, now)
        self.db.execute("delete from items where key = ?", [old_key])
        old.key = new_key  # the batch's probes of the old key concern the item under its new key
        found = self.db.execute("select unit from items where key = ?", [new_key]).fetchone()
        return found[0] if found else None

    def _next_seq(self, key: str) -> int:
        return self.db.execute("select count(*) from snapshots where key = ?", [key]).fetchone()[0] + 1

    def _keep_text(self, text: str, now: str) -> str:
        """Store a text an item carries (a LICENSE file) once by content; returns its sha256."""
        digest = _sha256(text)
        self.db.execute(
            "insert or ignore into license_texts (sha256, size, first_seen, text_zlib) values (?, ?, ?, ?)",
            [digest, len(text), now, zlib.compress(text.encode("utf-8"))])
        return digest

    def _probe(self, batch: Batch, source, probe: Probe, row: _Row | None, baselined: bool,
               result: BatchResult) -> list[dict]:
        if probe.status != "not_found":
            result.errors.append(f"{probe.key.split('/', 1)[-1]}: direct check failed: {probe.detail}")
            return []
        if row is None or row.state == "removed":
            return []
        kind = next((k for k in source.item_kinds if k.removable and probe.key.startswith(k.prefix)), None)
        if kind is None:
            return []
        missing = (row.missing_count or 0) + 1
        events: list[dict] = []
        state = "missing"
        if missing >= REMOVAL_AFTER:
            state = "removed"
            if baselined:
                fields = json.loads(row.data or "{}")
                org = kind.org(fields)
                ctx = Context(key=probe.key, watch=batch.watch, url=kind.url(probe.key, fields, self.endpoints),
                              org=org, country=self.registry.country(org), detected_at=self.clock(),
                              seq=self._count_events(kind.name + ".removed", probe.key) + 1)
                events += kind.removed(ctx, fields, f"not found on {missing} consecutive checks")
        self.db.execute("update items set state = ?, missing_count = ? where key = ?", [state, missing, probe.key])
        return events

    def _end(self, batch: Batch, end: UnitEnd, result: BatchResult) -> None:
        row = self.db.execute(
            "select last_complete_count, baselined_at from units where watch = ? and unit = ?",
            [batch.watch, batch.unit]).fetchone()
        last = row[0] if row else None
        complete, error = end.complete, end.error
        if complete and not end.incremental and not end.confirmed and last and end.count < self.short_listing_ratio * last:
            complete, error = False, f"suspiciously short listing: {end.count} items, last complete had {last}"
        if not complete:
            if end.state is not None and row:  # ETags of what was read are still good
                self.db.execute("update units set state = ? where watch = ? and unit = ?",
                                [json.dumps(end.state, sort_keys=True), batch.watch, batch.unit])
            result.units_incomplete.append(batch.unit)
            result.errors.append(f"{batch.unit}: {error or 'listing incomplete'}")
            return
        result.units_complete.append(batch.unit)
        values = {"watch": batch.watch, "unit": batch.unit, "source": batch.source}
        if not end.incremental:
            values |= {"last_complete_count": end.count, "last_complete_at": batch.observed_at,
                       "last_reconciled_at": batch.observed_at}
        if end.watermark:
            values["watermark"] = end.watermark
        if end.state is not None:
            values["state"] = json.dumps(end.state, sort_keys=True)
        if not (row and row[1]):
            values["baselined_at"] = batch.observed_at
        names = list(values)
        updates = [f"{n} = excluded.{n}" for n in names if n not in ("watch", "unit")]
        self.db.execute(
            f"insert into units ({', '.join(names)}) values ({', '.join('?' for _ in names)})"
            " on conflict(watch, unit) do " + ("update set " + ", ".join(updates) if updates else "nothing"),
            [values[n] for n in names])

    def _aliases(self, events: list[dict]) -> None:
        """Events of a renamed item carry its old keys: subscriptions naming them still match."""
        keys = sorted({e["item"] for e in events})
        if not keys:
            return
        found: dict[str, list[str]] = {}
        for part in chunks(keys):
            marks = placeholders(part)
            for old, new in self.db.execute(
                    f"select old_key, new_key from item_aliases where new_key in ({marks})", part):
                found.setdefault(new, []).append(old)
        for event in events:
            if event["item"] in found:
                event["data"]["aliases"] = sorted(found[event["item"]])

    def _diff_excerpts(self, events: list[dict]) -> None:
        """An event that changes kept texts (`ItemKind.text_changes`: a LICENSE file) carries
        the start of their unified diff: the evidence, in the alert."""
        for event in events:
            found = item_kind_for_key(event["item"])
            changes = found[1].text_changes(event) if found else None
            if changes is None:
                continue
            before, after = changes
            parts = []
            for name in sorted(set(before) | set(after)):
                old, new = (self._text(before.get(name)), self._text(after.get(name)))
                parts += difflib.unified_diff(old.splitlines(True), new.splitlines(True), f"{name} (before)",
                                              f"{name} (after)", n=1)
            if parts:
                event["data"]["diff"] = "".join(parts)[:2000]

    def _text(self, digest: str | None) -> str:
        if not digest:
            return ""
        row = self.db.execute("select text_zlib from license_texts where sha256 = ?", [digest]).fetchone()
        return zlib.decompress(row[0]).decode("utf-8", "replace") if row else ""

    def _links(self, events: list[dict]) -> None:
        """Every event's `data.links`: the keys of the items linked to its item, either way."""
        keys = sorted({e["item"] for e in events})
        if not keys:
            return
        found: dict[str, set[str]] = {}
        for part in chunks(keys, CHUNK // 2):
            marks = placeholders(part)
            for src, dst in self.db.execute(
                    f"select src, dst from links where src in ({marks}) or dst in ({marks})", part + part):
                found.setdefault(src, set()).add(dst)
                found.setdefault(dst, set()).add(src)
        for event in events:
            linked = found.get(event["item"], set()) | set(event["data"].get("links") or ())
            if linked:
                event["data"]["links"] = sorted(linked)

    def _count_events(self, type: str, key: str) -> int:
        return self.db.execute("select count(*) from events where type = ? and item = ?", [type, key]).fetchone()[0]

    def _insert_events(self, events: list[dict], crawl_id: int | None) -> list[dict]:
        """Insert events not already recorded (by dedupe key); returns the new ones."""
        new = []
        for event in events:
            cursor = self.db.execute(
                "insert or ignore into events (id, seq, dedupe_key, type, item, watch, org, country, detected_at,"
                " summary, url, before, after, data, crawl_id) values (:id, (select coalesce(max(seq), 0) + 1"
                " from events), :dedupe_key, :type, :item, :watch, :org, :country, :detected_at, :summary, :url,"
                " :before, :after, :data, :crawl_id)",
                event_to_row(event, crawl_id),
            )
            if cursor.rowcount:
                new.append({k: v for k, v in event.items() if k != "dedupe_key"})
        return new

    # -- source health (used by the scheduler) ------------------------------------------

    def record_watch_result(self, watch: str, status: str, error: str | None) -> dict:
        """Update the watch's run of failures; returns the new watch_state row."""
        with immediate(self.db):
            row = self.db.execute(
                "select consecutive_failures, failing from watch_state where watch = ?", [watch]
            ).fetchone()
            failures = (row[0] or 0) if row else 0
            failing = (row[1] or 0) if row else 0
            now = self.clock()
            update = {"watch": watch, "last_finished_at": now, "last_status": status}
            if status == "failed":
                update |= {"consecutive_failures": failures + 1, "last_error": error}
            else:
                update |= {"consecutive_failures": 0, "last_ok_at": now}
            self.db["watch_state"].upsert(update, pk="watch")
        return {"consecutive_failures": update.get("consecutive_failures", 0), "failing": failing}

    def last_crawl_of(self, pid: int, watch: str) -> dict | None:
        """The latest crawl of `watch` by process `pid` (its `crawls` row, `errors` decoded), or None."""
        row = self.db.execute(
            "select id, status, requests, items, events, errors, finished_at from crawls"
            " where pid = ? and watch = ? order by id desc limit 1", [pid, watch]).fetchone()
        if row is None:
            return None
        keys = ("id", "status", "requests", "items", "events", "errors", "finished_at")
        return dict(zip(keys, row)) | {"errors": json.loads(row[5] or "[]")}

    def last_finished_at(self, watch: str) -> str | None:
        """When the watch's last crawl, of any status, was recorded in `watch_state`, or None."""
        row = self.db.execute("select last_finished_at from watch_state where watch = ?", [watch]).fetchone()
        return row[0] if row else None

    def last_ok_at(self, watch: str) -> str | None:
        """When the watch's last successful crawl finished, or None."""
        row = self.db.execute("select last_ok_at from watch_state where watch = ?", [watch]).fetchone()
        return row[0] if row else None

    def last_event(self, type: str, watch: str) -> tuple[str, str] | None:
        """`(dedupe_key, detected_at)` of the watch's latest event of `type`, or None."""
        return self.db.execute(
            "select dedupe_key, detected_at from events where type = ? and watch = ? order by seq desc limit 1",
            [type, watch],
        ).fetchone()

    def emit(self, events: list[dict], crawl_id: int | None = None, *, failing: bool | None = None) -> list[dict]:
        """Store events made outside a crawl batch (source health), handed to `on_events`.

        `failing` also sets the watch's `failing` flag (the events' one watch) in the same
        transaction: a `source.failing` stored without the flag would never be followed by
        its `source.recovered`.
        """
        watch = None
        if failing is not None:
            watches = {event["watch"] for event in events}
            if len(watches) != 1:
                raise ValueError(f"failing= needs events of exactly one watch, got {sorted(map(str, watches))}")
            (watch,) = watches
        with immediate(self.db):
            new = self._insert_events(events, crawl_id)
            if new and self.on_events:
                self.on_events(self.db, new, parse(self.clock()))
            if watch is not None:
                self.db["watch_state"].upsert({"watch": watch, "failing": int(failing)}, pk="watch")
        return new

    def set_failing(self, watch: str, failing: bool) -> None:
        with immediate(self.db):
            self.db["watch_state"].upsert({"watch": watch, "failing": int(failing)}, pk="watch")


def _metric(key: str, day: str, counters: Mapping[str, int], text: str | None = None) -> tuple:
    """A `metrics` row; `text` is `counters` as sorted JSON when the caller has it already."""
    return (key, day, counters.get("downloads"), counters.get("likes"),
            text if text is not None else _sorted_json(dict(counters)))
