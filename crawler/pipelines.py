"""The item pipeline: batches into the history store (DESIGN.md, "Data flow").

Normalising and classifying happen inside the store, per batch and only for items whose
fingerprint changed: normalising an unchanged model again is the cost this design removes.
The crawl's counts and status are `crawler.bookkeeping`'s, as for every way a crawl runs.
"""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path

from scrapy import signals
from scrapy.exceptions import NotConfigured

from crawler.bookkeeping import CrawlBook
from crawler.items import Batch
from crawler.rules import SHORT_LISTING_RATIO
from crawler.sources import source_for

logger = logging.getLogger(__name__)


class IngestPipeline:
    """Writes each batch to the history database in one transaction, off the event loop.

    Needs OPENWATCH_DATABASE (the job runner sets it; with `scrapy crawl` pass
    `-s OPENWATCH_DATABASE=openwatch.db`), else it switches itself off. Owns the crawl's row in
    `crawls`: started when the spider opens, finished with its status when it closes. The job
    runner hands it, as crawler attributes, what the history layer must not look up itself:
    `openwatch_on_events` (the outbox), `openwatch_connect` (opens the database with the tables
    of the layers above: the outbox the hook writes to), `openwatch_watch_units`,
    `openwatch_endpoints`.
    """

    def __init__(self, crawler, database: str):
        self.crawler = crawler
        self.database = database
        self.wired = hasattr(crawler, "openwatch_on_events")
        self.on_events = getattr(crawler, "openwatch_on_events", None)
        self.connect = getattr(crawler, "openwatch_connect", None)
        self.watch_units = getattr(crawler, "openwatch_watch_units", None)
        self.endpoints = getattr(crawler, "openwatch_endpoints", None)
        self.progress = getattr(crawler, "openwatch_progress", None)
        self.lock = asyncio.Lock()
        self.store = None
        self.book: CrawlBook | None = None
        self.errors: list[str] = []  # spider errors before the crawl's book is open

    @classmethod
    def from_crawler(cls, crawler):
        database = crawler.settings.get("OPENWATCH_DATABASE")
        if not database:
            raise NotConfigured("OPENWATCH_DATABASE not set")
        pipeline = cls(crawler, database)
        crawler.signals.connect(pipeline.spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(pipeline.spider_error, signal=signals.spider_error)
        return pipeline

    async def open_spider(self, spider=None):
        spider = spider or self.crawler.spider
        # Opening (and migrating) the database and reading the prior state are blocking work.
        await asyncio.to_thread(self._open, spider)

    def _open(self, spider) -> None:
        from crawler.history.schema import connect
        from crawler.history.store import Store

        connect = self.connect or connect
        settings = self.crawler.settings
        if not self.wired:
            logger.warning("%s: events are recorded in %s but nobody is told (no subscriptions are read by"
                           " `scrapy crawl`); use `openwatch crawl WATCH` to queue alerts", spider.watch,
                           self.database)
        endpoints = self.endpoints or _spider_endpoints(spider)
        self.store = Store(
            connect(Path(self.database)),
            on_events=self.on_events,
            endpoints=endpoints,
            short_listing_ratio=settings.getfloat("OPENWATCH_SHORT_LISTING_RATIO", SHORT_LISTING_RATIO),
            watch_units=self.watch_units,
        )
        self.book = CrawlBook(self.store, spider.watch, spider.source, logger, errors=self.errors)
        self.crawl_id = self.book.start(os.getpid())
        self.crawler.stats.set_value("openwatch/crawl_id", self.crawl_id)
        if not spider.prior:  # `scrapy crawl`: nobody handed the spider its past
            source = source_for(spider.source)
            spider.prior = self.store.prior_state(spider.watch, spider.units, files=any(
                kind.has_files for kind in source.item_kinds), source=spider.source)

    async def process_item(self, item, spider=None):
        if isinstance(item, Batch):
            # Batches of different responses may arrive concurrently: they take turns on the
            # lock (one connection, one transaction at a time), in the order they were yielded.
            async with self.lock:
                await asyncio.to_thread(self.book.ingest, item)
            if self.progress is not None:
                self.progress(self.book.items, len(self.book.units_complete),
                              len((spider or self.crawler.spider).units or ()))
        return item

    def spider_error(self, failure, response, spider):
        """A callback that raised: its unit's listing never completes; say why in `crawls.errors`."""
        self.errors.append(f"spider error on {response.url}: {type(failure.value).__name__}: "
                           f"{failure.getErrorMessage()}"[:300])

    def spider_closed(self, spider, reason):
        if self.store is None or self.crawl_id is None:
            return
        book = self.book
        expected = set(spider.units)
        if reason != "finished":
            cut = getattr(self.crawler, "openwatch_cut_reason", None)
            book.errors.append(cut or f"crawl ended early: {reason}")
        stats = self.crawler.stats
        status = book.finish(book.status(expected, reason == "finished"),
                             requests=stats.get_value("downloader/request_count", 0) or 0)
        self.store.record_budget(spider.source, stats.get_value("openwatch/budget") or {})
        if self.progress is not None:
            self.progress(book.items, len(book.units_complete), len(expected), True)
        stats.set_value("openwatch/status", status)
        stats.set_value("openwatch/events", book.events)
        stats.set_value("openwatch/items", book.items)
        stats.set_value("openwatch/errors", list(book.errors))
        self.store.db.close()


def _spider_endpoints(spider) -> dict[str, str]:
    """`scrapy crawl`'s endpoints: the crawled source's own one as its spider resolved it (its
    `endpoint` argument, the environment, or its Scrapy setting); the others' web defaults."""
    endpoints: dict[str, str] = {}
    own = source_for(spider.source).endpoints
    endpoint = getattr(spider, "endpoint", None)
    if own and isinstance(endpoint, str) and endpoint:
        endpoints[next(iter(own))] = endpoint
    return endpoints
