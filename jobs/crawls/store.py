"""The history store as crawls use it: wired to the alerts outbox, and what is recorded after
a crawl (watch health, the Atom feed)."""

from __future__ import annotations

import logging
from pathlib import Path

from crawler.history.store import Store
from jobs.database import connect
from jobs.health import record_health

logger = logging.getLogger("openwatch.daemon")


def outbox(subscriptions):
    """The store's `on_events` hook: new events become outbox rows in the same transaction.
    The alerts stack is imported only when there is an event and somebody to tell.

    `subscriptions`: the subscriptions, or a callable that returns them. A daemon passes its
    running config's, read at every batch: a subscription added or removed by a reload during
    a crawl applies to what the crawl stores after it (DESIGN.md, rule 8)."""
    current = subscriptions if callable(subscriptions) else (lambda fixed=tuple(subscriptions): fixed)

    def on_events(db, events, now) -> None:
        subs = tuple(current())
        if not subs:
            return
        from alerts.outbox import enqueue

        enqueue(db, events, subs, now)

    return on_events


def open_store(config) -> Store:
    """The history store wired to the alerts outbox, with the config's endpoints and watches."""
    return Store(connect(config.database), on_events=outbox(config.subscriptions), endpoints=config.endpoints,
                 watch_units={w.name: w.units for w in config.watches})


def fail_running(db, reason: str, *, pid: int | None = None, watch: str | None = None) -> int:
    """Mark crawls left `running` (by `pid`, of `watch`) as `failed` with `reason`."""
    return Store(db).fail_running(reason, only_dead=False, pid=pid, watch=watch)


def record_outcome(config, watch, outcome) -> list[dict]:
    """`record_health` with its own connection: what `openwatch crawl` and `run --once` call
    after each crawl (off the event loop: `await asyncio.to_thread(record_outcome, …)`)."""
    store = open_store(config)
    try:
        new = record_health(store, watch, outcome)
        keep_feed(config, store.db, outcome.events + len(new))
        return new
    finally:
        store.db.close()


def keep_feed(config, db, new_events: int) -> None:
    """With `feed_path` set: rewrite the Atom feed when a crawl stored events (or none exists)."""
    path = getattr(config, "feed_path", None)
    if not path or (not new_events and Path(path).exists()):
        return
    from jobs.views.feed import write_feed

    try:
        count = write_feed(db, path)
        logger.info("feed %s: %d entries", path, count)
    except OSError as exc:
        logger.error("feed %s could not be written: %s; check the directory exists and is writable", path, exc)
