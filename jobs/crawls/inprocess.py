"""Crawls in this process, on its asyncio loop: Scrapy's `AsyncCrawlerRunner`.

A crawl that hangs is cut at the watch's timeout; a spider that raises ends its crawl as
`failed`; neither escapes to the caller (the daemon keeps serving other watches).
"""

from __future__ import annotations

import asyncio
import logging
import time

from scrapy.crawler import AsyncCrawlerRunner

from crawler.bookkeeping import CrawlBook
from crawler.cut import cut
from crawler.sources import SourceError, source_for
from jobs.crawls.base import CUT_REASON, CrawlExecutor, CrawlOutcome
from jobs.crawls.settings import crawler_settings
from jobs.crawls.store import open_store, outbox
from jobs.database import connect as connect_database

logger = logging.getLogger("openwatch.runner")

STOP_GRACE = 30.0  # seconds a cut crawl gets to close its engine (its downloads are aborted)


class InProcessExecutor(CrawlExecutor):
    """Crawls in the daemon's own process, on its loop (`crawl_in_process`)."""

    alias = "inprocess"

    def __init__(self, config, *, debug: bool = False, log_format: str = "text", log_level: str | None = None):
        super().__init__(config, debug=debug, log_format=log_format)
        self.log_level = log_level or ("DEBUG" if debug else "WARNING")

    async def crawl(self, watch, *, progress=None):
        try:
            # Subscriptions are read from the running config at every batch (a reload during the
            # crawl applies to what it stores after); the rest of the crawl keeps its config.
            return await crawl_in_process(self.config, watch, log_level=self.log_level, progress=progress,
                                          subscriptions=lambda: self.config.subscriptions), False
        except asyncio.CancelledError:
            # Cut at shutdown: the crawl's row must not stay `running`.
            await asyncio.shield(asyncio.to_thread(self.fail_cut, watch))
            raise


def _prior(config, watch) -> dict:
    store = open_store(config)
    try:
        # A `crawl` or `run --once` killed mid-crawl left its row `running`: failed now, as the
        # daemon does at start (never counted as ok, never left for ever).
        store.fail_running("interrupted: the process ended mid-crawl", only_dead=True, watch=watch.name)
        return source_for(watch.source).prior(store, watch)
    finally:
        store.db.close()


async def crawl_in_process(config, watch, *, log_level: str = "WARNING", progress=None,
                           subscriptions=None) -> CrawlOutcome:
    """Run one crawl of `watch` here; never raises for crawl failures, returns the outcome.
    `progress` is called with (items, units complete, units) after each batch; `subscriptions`
    (a callable) replaces `config.subscriptions` for the outbox (a daemon's live ones)."""
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
    crawler.openwatch_on_events = outbox(subscriptions or config.subscriptions)
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
    """A cut crawl's row, closed again with the counts the pipeline had: partial, or failed."""
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
        outcome.crawl_id = CrawlBook.failed_start(store, watch.name, watch.source, outcome.errors)
    finally:
        store.db.close()
