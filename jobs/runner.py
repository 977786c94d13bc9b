"""Running crawls in this process: Scrapy's asyncio reactor and AsyncCrawlerRunner.

A crawl that hangs is cut at the watch's timeout; a spider that raises ends its crawl as
`failed`; neither escapes to the caller (the daemon keeps serving other watches).
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable

# Imported here, near the bottom of the stack, not by the engine inside the reactor: at import
# Scrapy's TLS module runs create_deprecated_class three times, and each walks inspect.stack()
# with source context, reading every frame's file; 123 frames deep in a crawl that was
# 0.34 s under the profiler (bench/RESULTS.md, "after2").
import scrapy.core.downloader.handlers.http11  # noqa: F401  # the http/https handler
from scrapy.settings import Settings
from scrapy.utils.project import get_project_settings

from jobs.database import connect as connect_database

logger = logging.getLogger("openwatch.runner")

ASYNCIO_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"
STOP_GRACE = 30.0  # seconds a cut crawl gets to close its engine (its downloads are aborted)
CUT_REASON = "cut: the daemon stopped before the crawl finished"


@dataclass
class CrawlOutcome:
    watch: str
    status: str               # ok | partial | failed
    crawl_id: int | None = None
    events: int = 0
    items: int = 0
    requests: int = 0
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)


def run_in_reactor(main: Callable[[], Awaitable[Any]]) -> Any:
    """Install the asyncio reactor, run `main()` to completion on its loop, return its result."""
    from scrapy.utils.reactor import install_reactor

    install_reactor(ASYNCIO_REACTOR)
    from twisted.internet import reactor

    outcome: dict[str, Any] = {}

    async def wrapper():
        try:
            outcome["value"] = await main()
        except BaseException as exc:  # noqa: BLE001 - re-raised below, outside the reactor
            outcome["error"] = exc
        finally:
            reactor.callLater(0, reactor.stop)

    reactor.callWhenRunning(lambda: asyncio.ensure_future(wrapper()))
    reactor.run(installSignalHandlers=False)
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")


def crawler_settings(config, watch, *, log_level: str = "WARNING") -> Settings:
    from crawler.sources import source_for

    os.environ.setdefault("SCRAPY_SETTINGS_MODULE", "crawler.settings")
    settings = get_project_settings()
    settings.setmodule("crawler.settings", priority="project")
    settings.setdict(source_for(watch.source).crawl_settings(watch), priority="spider")
    settings.setdict(
        {
            "OPENWATCH_DATABASE": str(config.database),
            "OPENWATCH_HF_ENDPOINT": config.endpoints.get("huggingface"),
            "USER_AGENT": config.daemon.user_agent,
            "DOWNLOAD_TIMEOUT": watch.request_timeout,
            # Sources that cache (arXiv: a day) keep it beside the database.
            "HTTPCACHE_DIR": str(config.database.parent / ".openwatch-cache"),
            "LOG_LEVEL": log_level,
        },
        priority="cmdline",
    )
    return settings


def outbox(subscriptions):
    """The store's `on_events` hook: new events become outbox rows in the same transaction.
    The alerts stack is imported only when there is an event and somebody to tell."""
    subscriptions = tuple(subscriptions)

    def on_events(db, events, now) -> None:
        if not subscriptions:
            return
        from alerts.outbox import enqueue

        enqueue(db, events, subscriptions, now)

    return on_events


def open_store(config):
    """The history store wired to the alerts outbox, with the config's endpoints and watches."""
    from jobs.database import connect
    from crawler.history.store import Store

    return Store(connect(config.database), on_events=outbox(config.subscriptions), endpoints=config.endpoints,
                 watch_units={w.name: w.units for w in config.watches})


def _prior(config, watch) -> dict:
    from crawler.sources import source_for

    store = open_store(config)
    try:
        # A `crawl` or `run --once` killed mid-crawl left its row `running`: failed now, as the
        # daemon does at start (never counted as ok, never left for ever).
        store.fail_running("interrupted: the process ended mid-crawl", only_dead=True, watch=watch.name)
        return source_for(watch.source).prior(store, watch)
    finally:
        store.db.close()


async def crawl_watch(config, watch, *, log_level: str = "WARNING", pool=None, progress=None) -> CrawlOutcome:
    """Run one crawl of `watch`; never raises for crawl failures, returns the outcome.

    With a `[scrapyd]` section the crawl runs as a Scrapyd job and its batches are ingested
    here (`jobs/scrapyd.py`); `pool` is the process's `ScrapydPool` (one is made for this crawl
    when none is given)."""
    if getattr(config, "scrapyd", None) is not None:
        from jobs.scrapyd import ScrapydPool, crawl_watch_via_scrapyd

        own = pool is None
        pool = pool or ScrapydPool(config.scrapyd)
        try:
            return await crawl_watch_via_scrapyd(config, watch, pool=pool)
        finally:
            if own:
                pool.close()
    from scrapy.crawler import AsyncCrawlerRunner

    from crawler.sources import SourceError, source_for

    started = time.monotonic()
    outcome = CrawlOutcome(watch=watch.name, status="failed")
    try:
        source = source_for(watch.source)
        spidercls = source.spider_class()
        prior = await asyncio.to_thread(_prior, config, watch)
    except (SourceError, ImportError) as exc:
        outcome.errors.append(str(exc))
        _record_failed_start(config, watch, outcome)
        return outcome
    runner = AsyncCrawlerRunner(crawler_settings(config, watch, log_level=log_level))
    crawler = runner.create_crawler(spidercls)
    # Python objects, not settings: Scrapy deep-copies settings, and these need not be copied.
    crawler.openwatch_on_events = outbox(config.subscriptions)
    crawler.openwatch_connect = connect_database  # the outbox's table migrated with the history's
    # The watches covering this crawl's units: of the same source (units are named per source).
    crawler.openwatch_watch_units = {w.name: w.units for w in config.watches if w.source == watch.source}
    crawler.openwatch_endpoints = dict(config.endpoints)
    crawler.openwatch_progress = progress  # (items, units complete, units) after each batch, or None
    args = source.spider_args(watch, config.endpoints, prior) | source.watchlist_args(watch, config.subscriptions)
    task = runner.crawl(crawler, **args)
    timed_out = False
    try:
        await asyncio.wait_for(asyncio.shield(task), timeout=watch.timeout)
    except asyncio.CancelledError:
        # The caller gave up (daemon shutdown past its grace): stop the engine so what was
        # ingested stays committed and the crawl's row is closed, then let the cancel through.
        logger.warning("crawl of %s cancelled: stopping it", watch.name)
        crawler.openwatch_cut_reason = CUT_REASON
        await asyncio.shield(_stop(crawler, task, CUT_REASON))
        raise
    except TimeoutError:
        timed_out = True
        logger.warning("crawl of %s passed its timeout (%.0fs): stopping it", watch.name, watch.timeout)
        # The pipeline closes the crawl's row as the engine stops: it says why, in the same write.
        crawler.openwatch_cut_reason = f"timed out after {watch.timeout:.0f}s"
        await _stop(crawler, task, crawler.openwatch_cut_reason)
    except Exception as exc:  # a spider that raises at start: the crawl fails, the caller goes on
        logger.error("crawl of %s failed: %s", watch.name, exc)
        outcome.errors.append(f"{type(exc).__name__}: {exc}"[:300])
    stats = crawler.stats
    outcome.crawl_id = stats.get_value("openwatch/crawl_id")
    outcome.status = stats.get_value("openwatch/status") or "failed"
    outcome.events = stats.get_value("openwatch/events") or 0
    outcome.items = stats.get_value("openwatch/items") or 0
    outcome.requests = stats.get_value("downloader/request_count") or 0
    outcome.errors += stats.get_value("openwatch/errors") or []
    if timed_out:
        # What completed before the cut is committed and counts: partial, or failed if nothing did.
        if not any(e.startswith("timed out after") for e in outcome.errors):
            outcome.errors.append(f"timed out after {watch.timeout:.0f}s")
        _record_timeout(config, outcome)
    elif outcome.crawl_id is None and outcome.errors:
        _record_failed_start(config, watch, outcome)
    outcome.seconds = time.monotonic() - started
    return outcome


async def _stop(crawler, task, reason: str) -> None:
    """Stop the engine and abort what is in flight (`crawler.cut`): Scrapy's stop waits for
    every request in progress, which for a slow download or a rate-limit wait is the very
    thing the cut is for. The engine stops scheduling first, so nothing new starts."""
    from crawler.cut import cut

    stopping = asyncio.ensure_future(crawler.stop_async())
    await asyncio.sleep(0)  # the engine stops scheduling (stop_async's first step), then the cut
    cut(crawler, reason)
    try:
        await asyncio.wait_for(stopping, timeout=STOP_GRACE)
        await asyncio.wait_for(asyncio.shield(task), timeout=STOP_GRACE)
    except (TimeoutError, Exception) as exc:  # noqa: BLE001 - a wedged engine must not wedge us
        logger.error("crawl did not stop cleanly: %s", exc)
        task.cancel()


def _record_timeout(config, outcome: CrawlOutcome) -> None:
    if outcome.crawl_id is None:
        return
    if outcome.status not in ("partial", "failed"):
        outcome.status = "failed"
    store = open_store(config)
    try:
        store.finish_crawl(outcome.crawl_id, outcome.status, requests=outcome.requests, items=outcome.items,
                           events=outcome.events, errors=outcome.errors)
    finally:
        store.db.close()


def _record_failed_start(config, watch, outcome: CrawlOutcome) -> None:
    store = open_store(config)
    try:
        outcome.crawl_id = store.start_crawl(watch.name, watch.source, os.getpid())
        store.finish_crawl(outcome.crawl_id, "failed", requests=0, items=0, events=0, errors=outcome.errors)
    finally:
        store.db.close()


def configure_logging(level: str = "INFO", fmt: str = "text") -> None:
    """Logs go to stderr, one line per record, UTC timestamps (`--log-format json` for machines)."""
    import json
    import sys

    from alerts.redaction import visible

    class UTCFormatter(logging.Formatter):
        converter = time.gmtime

        def format(self, record):
            if fmt == "json":
                return json.dumps(
                    {"time": self.formatTime(record, "%Y-%m-%dT%H:%M:%SZ"), "level": record.levelname,
                     "logger": record.name, "message": record.getMessage()}
                )
            # One line per record whatever a message quotes (a scraped title with CR/LF would
            # forge a line; an escape sequence or a bidi override would rewrite the terminal).
            message = record.getMessage()
            shown = visible(message)
            if shown != message:
                record = logging.makeLogRecord({**record.__dict__, "msg": shown, "args": None})
            return super().format(record)

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(UTCFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%Y-%m-%dT%H:%M:%SZ"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    if level != "DEBUG":
        for noisy in ("scrapy", "twisted", "py.warnings", "apscheduler", "httpx", "httpcore"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
        # "Gave up retrying <GET …>" repeats what the spider's one line per failed org says.
        logging.getLogger("scrapy.downloadermiddlewares.retry").setLevel(logging.CRITICAL)
