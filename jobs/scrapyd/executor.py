"""A watch's crawl as a Scrapyd job (`ScrapydExecutor`): the prior state is read here and
served by URL, each batch the job wrote is ingested here, in order, one transaction each
(the one writer)."""

from __future__ import annotations

import asyncio
import logging
import os
import time

from crawler.bookkeeping import CrawlBook
from crawler.items import Batch
from crawler.sources import SourceError, source_for
from jobs.crawls.base import CUT_REASON, CrawlExecutor, CrawlOutcome
from jobs.crawls.settings import job_settings
from jobs.crawls.store import open_store
from jobs.scrapyd.exceptions import MAX_ERROR
from jobs.scrapyd.pool import JobOutcome, ScrapydPool

logger = logging.getLogger("openwatch.scrapyd")


class ScrapydExecutor(CrawlExecutor):
    """Crawls as jobs of the config's `[scrapyd]` servers, through one `ScrapydPool` for the
    executor's life (`close()` stops its prior server). `log_level` is not passed on: a job
    logs at INFO at least, as its end is read from its log."""

    alias = "scrapyd"

    def __init__(self, config, *, debug: bool = False, log_format: str = "text", log_level: str | None = None,
                 pool: ScrapydPool | None = None):
        super().__init__(config, debug=debug, log_format=log_format)
        self.pool = pool
        self._own_pool = pool is None

    async def crawl(self, watch, *, progress=None):
        if self.pool is None:
            self.pool = ScrapydPool(self.config.scrapyd)
        try:
            return await crawl_watch_via_scrapyd(self.config, watch, pool=self.pool), False
        except asyncio.CancelledError:
            # Cut at shutdown: the crawl's row must not stay `running`.
            await asyncio.shield(asyncio.to_thread(self.fail_cut, watch))
            raise

    def close(self) -> None:
        if self._own_pool and self.pool is not None:
            self.pool.close()
            self.pool = None


async def crawl_watch_via_scrapyd(config, watch, *, pool: ScrapydPool) -> CrawlOutcome:
    """One crawl of `watch` as a Scrapyd job, ingested here. Never raises for a crawl failure.
    Its status follows the pipeline's rule (`CrawlBook.status`): ok when the job finished and
    every unit ended complete, partial when some did, else failed."""
    started = time.monotonic()
    outcome = CrawlOutcome(watch=watch.name, status="failed")
    store = await asyncio.to_thread(open_store, config)
    book = CrawlBook(store, watch.name, watch.source, logger)
    try:
        outcome.crawl_id = await asyncio.to_thread(book.start, os.getpid())
        try:
            source = source_for(watch.source)
            spider = source.spider_class().name
            prior = await asyncio.to_thread(source.prior, store, watch)
        except (SourceError, ImportError) as exc:
            book.errors.append(str(exc)[:MAX_ERROR])
            outcome.errors = book.errors
            await asyncio.to_thread(book.finish, "failed", requests=0)
            return outcome
        args = dict(source.spider_args(watch, config.endpoints, prior)) | source.watchlist_args(watch, config.subscriptions)
        prior = args.pop("prior", prior)
        expected = set(watch.units)

        async def on_items(dicts: list[dict]) -> None:
            for data in dicts:
                try:
                    batch = Batch.from_dict(data)
                except (KeyError, TypeError, ValueError) as exc:
                    book.errors.append(f"unreadable batch from the job: {type(exc).__name__}: {exc}"[:MAX_ERROR])
                    continue
                if batch.watch != watch.name or batch.unit not in expected or batch.source != watch.source:
                    book.errors.append(f"a batch for {batch.watch}/{batch.unit} is not this watch's: ignored"[:MAX_ERROR])
                    continue
                await asyncio.to_thread(book.ingest, batch)

        try:
            job = await pool.crawl(spider, args, timeout=watch.timeout, on_items=on_items, prior=prior,
                                   job_settings=job_settings(config, watch))
        except asyncio.CancelledError:  # the daemon is stopping: close the crawl's row, let it through
            book.errors.append(CUT_REASON)
            await asyncio.shield(asyncio.to_thread(
                book.finish, "partial" if book.units_complete else "failed", requests=0))
            raise
        except Exception as exc:  # ingest failed (the job itself never raises): the crawl failed
            job = JobOutcome(errors=[f"ingest failed: {type(exc).__name__}: {exc}"[:MAX_ERROR]])
            logger.exception("ingest of %s failed", watch.name)
        book.errors[:0] = job.errors  # the job's own errors first, then what ingesting found
        outcome.requests = job.requests
        outcome.status = book.status(expected, job.status == "ok")
        await asyncio.to_thread(book.finish, outcome.status, requests=outcome.requests)
        if job.job:
            logger.info("crawl of %s: job %s on %s: %s", watch.name, job.job, job.server, outcome.status)
    finally:
        outcome.items, outcome.events, outcome.errors = book.items, book.events, book.errors
        store.db.close()
        outcome.seconds = time.monotonic() - started
    return outcome
