"""What `openwatch status` shows: watches, the daemon, deliveries, dead letters."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from crawler.history.queries import latest_crawls, watch_states
from crawler.sources import all_sources
from crawler.times import iso_seconds, parse
from jobs.config import format_duration
from jobs.lock import daemon_pid


def _parse(text: str | None) -> datetime | None:
    return parse(text) if text else None


def next_run(watch, last: datetime | None, now: datetime) -> datetime:
    """Due `every` after the last finished crawl (`last_finished`); else due now."""
    if last is None:
        return now
    return max(now, last + timedelta(seconds=watch.every))


def last_finished(db, *, at_start: bool = True) -> dict[str, datetime | None]:
    """The last finished crawl of each watch, what its schedule goes on from: `watch_state`,
    else the `crawls` table (a database filled before watch health was recorded). Crawls that
    a killed process left `running` do not count: they are re-run.

    `at_start` (a daemon starting now): a watch whose every crawl failed is left out, so it
    runs at once, not a whole `every` (6 h for papers) after its failure. A running daemon
    goes on from its last crawl, failed or not (`at_start=False`, what `status` shows then).
    """
    out: dict[str, datetime | None] = {}
    if db is None:
        return out
    if db["crawls"].exists():
        for watch, finished in db.execute(
            "select watch, max(finished_at) from crawls where status in ('ok', 'partial') group by watch"
        ):
            out[watch] = _parse(finished)
    if db["watch_state"].exists():
        for watch, finished, ok in db.execute("select watch, last_finished_at, last_ok_at from watch_state"):
            if finished and (ok or watch in out or not at_start):
                out[watch] = _parse(finished)
    return out


def status_report(config, db, now: datetime | None = None) -> dict:
    now = now or datetime.now(timezone.utc)
    crawls = latest_crawls(db) if db is not None else {}
    states = watch_states(db) if db is not None else {}
    pid = daemon_pid(config.database)
    finished = last_finished(db, at_start=not pid)  # a running daemon's schedule, else a start's
    # Items belong to units (orgs), which several watches of one source may share; a unit is
    # named within its source (`Qwen` on Hugging Face and on ModelScope are two): count by both.
    per_unit: dict[tuple[str, str], int] = {}
    if db is not None:
        for source, unit, n in db.execute(
                "select source, unit, count(*) from items where state != 'removed' group by source, unit"):
            per_unit[(source, unit)] = n
    reconciled: dict[tuple[str, str], dict] = {}
    if db is not None and db["units"].exists() and "state" in db["units"].columns_dict:
        for watch_name, unit, last, count, unit_state in db.execute(
                "select watch, unit, last_reconciled_at, last_complete_count, state from units"):
            reconciled[(watch_name, unit)] = {"last_reconciled_at": last, "last_complete_count": count,
                                              "state": unit_state}
    watches = []
    for watch in config.watches:
        crawl = crawls.get(watch.name) or {}
        state = states.get(watch.name) or {}
        due = next_run(watch, finished.get(watch.name), now)
        errors = json.loads(crawl.get("errors") or "[]")
        watches.append(
            {
                "watch": watch.name,
                "source": watch.source,
                "every": format_duration(watch.every),
                "enabled": watch.enabled,
                "last_crawl": crawl.get("started_at"),
                "result": crawl.get("status") or "never run",
                "items": sum(per_unit.get((watch.source, unit), 0) for unit in watch.units),
                "events": crawl.get("events"),
                "requests": crawl.get("requests"),
                "failures": state.get("consecutive_failures") or 0,
                "failing": bool(state.get("failing")),
                "next_run": iso_seconds(due) if watch.enabled else "disabled",
                **_reconciliation(watch, reconciled, now),
                "last_error": errors[-1] if errors else None,
                "errors": errors,  # every error of the last crawl (summaries show the first few)
            }
        )
    budgets = []
    if db is not None and db["budgets"].exists():
        budgets = [dict(row) for row in db.query(
            "select source, bucket, remaining, quota, reset_at, observed_at from budgets order by source, bucket")]
    report = {
        "database": str(config.database),
        "daemon": f"running (pid {pid})" if pid else "not running",
        "watches": watches,
        "budgets": budgets,
        "subscriptions": [],
        "dead_letters": [],
        "failing_receivers": [],
    }
    # The alerts stack is imported only when asked for: the daemon imports this module for
    # `next_run`, and `run --once` with nothing to deliver never loads it (tests/e2e/test_huggingface.py).
    from alerts.schema import anything_waiting

    # Deliveries waiting for subscriptions this config lacks show too (queued by another config).
    if db is not None and (config.subscriptions or anything_waiting(db)):
        from alerts.commands import dead_letters, failing_receivers, subscription_stats

        report["subscriptions"] = subscription_stats(db, config.alerts)
        report["dead_letters"] = dead_letters(db, limit=20)
        report["failing_receivers"] = failing_receivers(db)
    return report


def _reconciliation(watch, reconciled: dict, now: datetime) -> dict:
    """Org watches: the oldest complete listing of their units, and when each is next read
    completely: "every crawl" (orgs whose complete listing is one request), "next crawl", or
    the time a multi-page org's reconciliation is due (sooner if its settings check moves);
    the source says which (`Source.complete_read`)."""
    source = all_sources().get(watch.source)
    if source is None or not watch.units:
        return {"reconciled": None, "next_reconcile": None}
    units = {}
    for unit in watch.units:
        row = dict(reconciled.get((watch.name, unit)) or {})
        row["state"] = json.loads(row["state"]) if row.get("state") else {}
        units[unit] = row
    when = {unit: source.complete_read(u, watch.options or {}, now) for unit, u in units.items()}
    if any(due is None for due in when.values()):
        return {"reconciled": None, "next_reconcile": None}
    lasts = [_parse(u.get("last_reconciled_at")) for u in units.values()]
    oldest = None if any(last is None for last in lasts) else min(lasts)
    timed = sorted((due, unit) for unit, due in when.items() if isinstance(due, datetime))
    plain = sorted({due for due in when.values() if isinstance(due, str)})
    if not timed:
        text = "next crawl" if "next crawl" in plain else "every crawl"
    elif len(units) == 1:
        text = iso_seconds(timed[0][0])
    else:
        text = ", ".join(f"{unit} {iso_seconds(due)}" for due, unit in timed)
        if plain:
            text += "; " + ("the others at the next crawl" if "next crawl" in plain else "the others every crawl")
    return {"reconciled": iso_seconds(oldest) if oldest else None, "next_reconcile": text}
