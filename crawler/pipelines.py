"""The item pipeline: batches into the history store (DESIGN.md, "Data flow").

Normalising and classifying happen inside the store, per batch and only for items whose
fingerprint changed: normalising an unchanged model again is the cost this design removes.
"""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path

from scrapy import signals
from scrapy.exceptions import NotConfigured

from crawler.items import Batch
from crawler.rules import SHORT_LISTING_RATIO, crawl_status

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
        self.crawl_id = None
        self.items = 0
        self.events = 0
        self.errors: list[str] = []
        self.units_complete: set[str] = set()

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
        endpoints = self.endpoints or {"huggingface": settings.get("OPENWATCH_HF_ENDPOINT") or "https://huggingface.co"}
        self.store = Store(
            connect(Path(self.database)),
            on_events=self.on_events,
            endpoints=endpoints,
            short_listing_ratio=settings.getfloat("OPENWATCH_SHORT_LISTING_RATIO", SHORT_LISTING_RATIO),
            watch_units=self.watch_units,
        )
        self.crawl_id = self.store.start_crawl(spider.watch, spider.source, os.getpid())
        self.crawler.stats.set_value("openwatch/crawl_id", self.crawl_id)
        if not spider.prior:  # `scrapy crawl`: nobody handed the spider its past
            from crawler.sources import source_for

            source = source_for(spider.source)
            spider.prior = self.store.prior_state(spider.watch, spider.units, files=any(
                kind.has_files for kind in source.item_kinds), source=spider.source)

    async def process_item(self, item, spider=None):
        if isinstance(item, Batch):
            # Batches of different responses may arrive concurrently: they take turns on the
            # lock (one connection, one transaction at a time), in the order they were yielded.
            async with self.lock:
                result = await asyncio.to_thread(self.store.ingest, item, self.crawl_id)
            self.items += result.items
            self.events += len(result.events)
            self.errors += result.errors
            self.units_complete.update(result.units_complete)
            if self.progress is not None:
                self.progress(self.items, len(self.units_complete), len((spider or self.crawler.spider).units or ()))
            for event in result.events:
                logger.info("event %s %s", event["type"], event["summary"])
        return item

    def spider_error(self, failure, response, spider):
        """A callback that raised: its unit's listing never completes; say why in `crawls.errors`."""
        self.errors.append(f"spider error on {response.url}: {type(failure.value).__name__}: "
                           f"{failure.getErrorMessage()}"[:300])

    def spider_closed(self, spider, reason):
        if self.store is None or self.crawl_id is None:
            return
        expected = set(spider.units)
        if reason != "finished":
            cut = getattr(self.crawler, "openwatch_cut_reason", None)
            self.errors.append(cut or f"crawl ended early: {reason}")
        status = crawl_status(expected, self.units_complete, reason == "finished", self.errors)
        stats = self.crawler.stats
        self.store.finish_crawl(
            self.crawl_id, status,
            requests=stats.get_value("downloader/request_count", 0) or 0,
            items=self.items, events=self.events, errors=self.errors,
        )
        self.store.record_budget(spider.source, stats.get_value("openwatch/budget") or {})
        if self.progress is not None:
            self.progress(self.items, len(self.units_complete), len(expected), True)
        stats.set_value("openwatch/status", status)
        stats.set_value("openwatch/events", self.events)
        stats.set_value("openwatch/items", self.items)
        stats.set_value("openwatch/errors", list(self.errors))
        self.store.db.close()
