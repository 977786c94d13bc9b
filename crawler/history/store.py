"""Items in, rows out: current state, snapshots on content change, events, deliveries.

Every batch is one transaction (items + snapshots + events + deliveries), so a crash never
leaves an event without its deliveries, nor a change recorded without its event.
"""

from __future__ import annotations

import hashlib
import json
import os
import zlib
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

import sqlite_utils

from crawler import diff
from crawler.events import event_to_row
from crawler.history.schema import immediate, utcnow
from crawler.items import ListingResult, ModelObservation, ModelProbe
from crawler.normalize import content_hash
from crawler.registry import Registry, default_registry

REMOVAL_AFTER = 3  # consecutive not-found answers before `model.removed` (DESIGN.md rule 2)


@dataclass
class BatchResult:
    events: list[dict] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    units_complete: list[str] = field(default_factory=list)
    units_incomplete: list[str] = field(default_factory=list)
    items: int = 0


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class Store:
    """The history layer. Knows nothing of HTTP; takes items, writes rows."""

    def __init__(
        self,
        db: sqlite_utils.Database,
        *,
        subscriptions: Iterable[Any] = (),
        registry: Registry | None = None,
        clock: Callable[[], str] = utcnow,
        hf_web: str = "https://huggingface.co",
        short_listing_ratio: float = 0.5,
        watch_units: dict[str, Iterable[str]] | None = None,
    ):
        self.db = db
        self.subscriptions = tuple(subscriptions)
        self.registry = registry or default_registry()
        self.clock = clock
        self.hf_web = hf_web.rstrip("/")
        self.short_listing_ratio = short_listing_ratio
        # unit -> the watches that cover it (an org may be in several watches)
        self.covering: dict[str, list[str]] = {}
        for watch, units in (watch_units or {}).items():
            for unit in units:
                self.covering.setdefault(unit, []).append(watch)

    # -- crawls -------------------------------------------------------------------------

    def start_crawl(self, watch: str, source: str, pid: int | None = None) -> int:
        with immediate(self.db):
            table = self.db["crawls"]
            table.insert(
                {"watch": watch, "source": source, "started_at": self.clock(), "status": "running",
                 "requests": 0, "items": 0, "events": 0, "errors": "[]", "pid": pid}
            )
            crawl_id = table.last_pk
            self.db["watch_state"].upsert({"watch": watch, "last_started_at": self.clock()}, pk="watch")
        return crawl_id

    def finish_crawl(self, crawl_id: int, status: str, *, requests: int, items: int, events: int,
                     errors: list[str]) -> None:
        with immediate(self.db):
            self.db["crawls"].update(
                crawl_id,
                {"finished_at": self.clock(), "status": status, "requests": requests, "items": items,
                 "events": events, "errors": json.dumps(errors[:50])},
            )

    def interrupt_running(self, reason: str = "interrupted: the process ended mid-crawl") -> int:
        """Crawls left `running` by a process that is gone become `failed` (never counted as
        ok); a crawl still running in a live process (a manual `openwatch crawl`) is left."""
        import psutil

        with immediate(self.db):
            rows = [row for row in self.db["crawls"].rows_where("status = 'running'")
                    if not (row["pid"] and row["pid"] != os.getpid() and psutil.pid_exists(row["pid"]))]
            for row in rows:
                errors = json.loads(row["errors"] or "[]") + [reason]
                self.db["crawls"].update(row["id"], {"status": "failed", "finished_at": self.clock(),
                                                     "errors": json.dumps(errors)})
        return len(rows)

    # -- what the spider needs to know of the past --------------------------------------

    def prior_state(self, watch: str, units: Iterable[str]) -> dict[str, dict]:
        prior: dict[str, dict] = {}
        for unit in units:
            row = self.db.execute(
                "select last_complete_count from units where watch = ? and unit = ?", [watch, unit]
            ).fetchone()
            models = {}
            for key, sha, data in self.db.execute(
                "select key, sha, data from items where kind = 'model' and unit = ? and state != 'removed'",
                [unit],
            ):
                fields = json.loads(data)
                models[fields["id"]] = {"sha": sha, "files": fields.get("license_etags") or {},
                                        "gated": fields.get("gated") or False,
                                        "read_sha": fields.get("license_read_sha", sha)}
            prior[unit] = {"last_complete_count": row[0] if row else None, "models": models}
        return prior

    # -- ingest -------------------------------------------------------------------------

    def ingest(self, batch: list[Any], crawl_id: int | None = None) -> BatchResult:
        result = BatchResult()
        baselined: dict[str, bool] = {}

        def is_baselined(watch: str, unit: str) -> bool:
            # Items are shared by every watch covering a unit, so is its baseline: a second
            # watch on an org already baselined reports changes at once, never swallows them.
            if unit not in baselined:
                row = self.db.execute(
                    "select 1 from units where unit = ? and baselined_at is not null limit 1", [unit]
                ).fetchone()
                baselined[unit] = row is not None
            return baselined[unit]

        with immediate(self.db):
            for item in batch:
                if isinstance(item, ModelObservation):
                    result.items += 1
                    result.events += self._stamp(item, self._observe(item, crawl_id, is_baselined(item.watch, item.unit), result))
                elif isinstance(item, ModelProbe):
                    result.events += self._stamp(item, self._probe(item, is_baselined(item.watch, item.unit), result))
                elif isinstance(item, ListingResult):
                    self._listing(item, result)
            new_events = self._insert_events(result.events, crawl_id)
            if new_events and self.subscriptions:
                from alerts.outbox import enqueue  # the outbox rows share this transaction

                enqueue(self.db, new_events, self.subscriptions, _parse_time(self.clock()))
        result.events = new_events
        return result

    def _stamp(self, item, events: list[dict]) -> list[dict]:
        """Every watch covering the item's unit hears of its events (subscription filters)."""
        for event in events:
            event["data"]["watches"] = sorted(set(self.covering.get(item.unit, [])) | {item.watch})
        return events

    def _country(self, org: str | None) -> str | None:
        return self.registry.country(org)

    def _context(self, key: str, watch: str, fields: dict, seq: int) -> diff.Context:
        return diff.Context(
            key=key, watch=watch, url=f"{self.hf_web}/{fields.get('id')}", org=fields.get("org"),
            country=self._country(fields.get("org")), detected_at=self.clock(), seq=seq,
        )

    def _license_files(self, item: ModelObservation, previous: dict | None, result: BatchResult):
        """Merge fetched LICENSE-like files into the last known hashes and ETags.

        Returns (hashes, etags, read_sha): `read_sha` is the commit at which every file was
        read (or known unreadable because the repo is gated); a transient error keeps the old
        one, so the next crawl fetches again instead of losing the change. A file that could
        not be read keeps its last hash: gating is its own event, an error is not a change.
        A file the repo no longer lists is gone, gated or not (file lists stay visible).
        """
        prev = previous or {}
        prev_files = dict(prev.get("license_files") or {})
        prev_etags = dict(prev.get("license_etags") or {})
        prev_read = prev.get("license_read_sha", prev.get("sha"))
        if item.license_files is None:
            return prev_files, prev_etags, prev_read
        files, etags, complete = {}, {}, True
        for name, got in sorted(item.license_files.items()):
            status = got.get("status")
            if status == "ok":
                text = got.get("text") or ""
                digest = _sha256(text)
                self.db.execute(
                    "insert or ignore into license_texts (sha256, size, first_seen, text_zlib) values (?, ?, ?, ?)",
                    [digest, len(text), self.clock(), zlib.compress(text.encode("utf-8"))],
                )
                files[name], etags[name] = digest, got.get("etag")
            elif name in prev_files:
                files[name], etags[name] = prev_files[name], prev_etags.get(name)
            if status == "error":
                complete = False
                result.errors.append(f"{item.fields.get('id')}/{name}: {got.get('error')}")
        return files, etags, (item.fields.get("sha") if complete else prev_read)

    def _observe(self, item: ModelObservation, crawl_id, baselined: bool, result: BatchResult) -> list[dict]:
        key, fields = item.key, dict(item.fields)
        row = self.db.execute("select state, data, content_hash from items where key = ?", [key]).fetchone()
        previous = json.loads(row[1]) if row else None
        files, etags, read_sha = self._license_files(item, previous, result)
        fields["license_files"] = files
        fields["license_etags"] = etags
        fields["license_read_sha"] = read_sha
        digest = content_hash(fields)
        now = self.clock()
        events: list[dict] = []

        seq = None
        if row is None or row[2] != digest:
            seq = self.db.execute("select count(*) from snapshots where key = ?", [key]).fetchone()[0] + 1
            changed = diff.changed_fields(previous, fields)
            self.db["snapshots"].insert(
                {"key": key, "observed_at": now, "crawl_id": crawl_id, "content_hash": digest,
                 "data": json.dumps(fields, sort_keys=True), "changed": json.dumps(changed)}
            )
            if baselined:
                ctx = self._context(key, item.watch, fields, seq)
                if previous is None:
                    events.append(diff.added(ctx, fields))
                else:
                    events += diff.model_events(ctx, _readable_before(previous, fields), fields)

        if row is not None and row[0] == "removed" and baselined:
            n = self._count_events("model.restored", key) + 1
            events.append(diff.restored(self._context(key, item.watch, fields, n), fields))

        if row is not None and seq is None and row[0] == "active":
            # Unchanged (the common case): refresh the counters, no snapshot, no event.
            self.db.execute(
                "update items set last_seen = ?, missing_count = 0, watch = ?, unit = ?, data = ? where key = ?",
                [now, item.watch, item.unit, json.dumps(fields, sort_keys=True), key],
            )
            return events
        self.db["items"].upsert(
            {
                "key": key, "kind": "model", "source": "huggingface", "watch": item.watch, "unit": item.unit,
                "org": fields.get("org"), "country": self._country(fields.get("org")), "name": fields.get("id"),
                "url": f"{self.hf_web}/{fields.get('id')}", "license": fields.get("license"),
                "license_category": fields.get("license_category"),
                "gated": str(fields.get("gated")).lower(), "sha": fields.get("sha"), "state": "active",
                "missing_count": 0, "content_hash": digest, "last_seen": now,
                "data": json.dumps(fields, sort_keys=True),
                **({"last_changed": now} if seq else {}),
                **({"first_seen": now} if row is None else {}),
            },
            pk="key",
        )
        return events

    def _probe(self, item: ModelProbe, baselined: bool, result: BatchResult) -> list[dict]:
        if item.status != "not_found":
            result.errors.append(f"{item.model_id}: direct check failed: {item.detail}")
            return []
        row = self.db.execute("select state, missing_count, data from items where key = ?", [item.key]).fetchone()
        if row is None or row[0] == "removed":
            return []
        missing = (row[1] or 0) + 1
        events = []
        state = "missing"
        if missing >= REMOVAL_AFTER:
            state = "removed"
            if baselined:
                fields = json.loads(row[2])
                n = self._count_events("model.removed", item.key) + 1
                detail = f"not found on {missing} consecutive checks"
                events.append(diff.removed(self._context(item.key, item.watch, fields, n), fields, detail))
        self.db["items"].update(item.key, {"state": state, "missing_count": missing})
        return events

    def _listing(self, item: ListingResult, result: BatchResult) -> None:
        row = self.db.execute(
            "select last_complete_count, baselined_at from units where watch = ? and unit = ?",
            [item.watch, item.unit],
        ).fetchone()
        last = row[0] if row else None
        complete = item.complete
        error = item.error
        if complete and not item.confirmed and last and item.count < self.short_listing_ratio * last:
            complete, error = False, f"suspiciously short listing: {item.count} items, last complete had {last}"
        if not complete:
            result.units_incomplete.append(item.unit)
            result.errors.append(f"{item.unit}: {error or 'listing incomplete'}")
            return
        result.units_complete.append(item.unit)
        self.db["units"].upsert(
            {"watch": item.watch, "unit": item.unit, "last_complete_count": item.count,
             "last_complete_at": item.observed_at,
             **({} if row and row[1] else {"baselined_at": item.observed_at})},
            pk=("watch", "unit"),
        )

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

    def emit(self, events: list[dict], crawl_id: int | None = None, *, failing: bool | None = None) -> list[dict]:
        """Store events made outside a crawl batch (source health), with their deliveries.

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
            if new and self.subscriptions:
                from alerts.outbox import enqueue

                enqueue(self.db, new, self.subscriptions, _parse_time(self.clock()))
            if watch is not None:
                self.db["watch_state"].upsert({"watch": watch, "failing": int(failing)}, pk="watch")
        return new

    def set_failing(self, watch: str, failing: bool) -> None:
        with immediate(self.db):
            self.db["watch_state"].upsert({"watch": watch, "failing": int(failing)}, pk="watch")


def _readable_before(previous: dict, fields: dict) -> dict:
    """LICENSE files of a gated repo could not be read: one that first becomes readable is
    recorded, not reported as a licence-file change (the gating event said it)."""
    if not previous.get("gated"):
        return previous
    files = dict(previous.get("license_files") or {})
    for name, digest in (fields.get("license_files") or {}).items():
        files.setdefault(name, digest)
    return previous | {"license_files": files}


def _parse_time(text: str):
    from datetime import datetime

    return datetime.fromisoformat(text.replace("Z", "+00:00"))
