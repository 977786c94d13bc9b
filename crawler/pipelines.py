"""Item pipelines: normalise ► classify ► ingest (DESIGN.md, "Data flow")."""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path

from scrapy import signals
from scrapy.exceptions import NotConfigured

from crawler.items import ListingResult, ModelObservation, ModelProbe
from crawler.normalize import model_fields, model_key
from crawler.registry import default_registry

logger = logging.getLogger(__name__)

BATCH_SIZE = 500


class NormalisePipeline:
    """Raw API objects -> tracked fields (licence vocabulary, sentinels, capped text)."""

    def process_item(self, item, spider=None):
        if isinstance(item, ModelObservation):
            item.fields = model_fields(item.raw)
            item.key = model_key(item.fields["id"])
        elif isinstance(item, ModelProbe):
            item.key = model_key(item.model_id)
        return item


class ClassifyPipeline:
    """Organisation -> country and kind, from the registry."""

    def __init__(self):
        self.registry = default_registry()

    def process_item(self, item, spider=None):
        if isinstance(item, ModelObservation) and item.fields is not None:
            org = self.registry.lookup(item.fields.get("org"))
            item.fields["country"] = org.country if org else None
            item.fields["org_kind"] = org.kind if org else None
        return item


class IngestPipeline:
    """Writes items to the history database in batches, off the event loop.

    Needs OPENWATCH_DATABASE (the job runner sets it; with `scrapy crawl` pass
    `-s OPENWATCH_DATABASE=openwatch.db`), else it switches itself off. Owns the crawl's row in
    `crawls`: started when the spider opens, finished with its status when it closes.
    """

    def __init__(self, crawler, database: str, subscriptions):
        self.crawler = crawler
        self.database = database
        self.subscriptions = subscriptions
        self.batch: list = []
        self.watch_units = None
        self.lock = asyncio.Lock()
        self.store = None
        self.crawl_id = None
        self.items = 0
        self.events = 0
        self.errors: list[str] = []
        self.units_complete: set[str] = set()

    @classmethod
    def from_crawler(cls, crawler):
        settings = crawler.settings
        database = settings.get("OPENWATCH_DATABASE")
        if not database:
            raise NotConfigured("OPENWATCH_DATABASE not set")
        subscriptions = getattr(crawler, "openwatch_subscriptions", None)
        if subscriptions is None and settings.get("OPENWATCH_CONFIG"):
            from jobs.config import load_config

            subscriptions = load_config(settings.get("OPENWATCH_CONFIG"), os.environ).subscriptions
        pipeline = cls(crawler, database, subscriptions or ())
        pipeline.watch_units = getattr(crawler, "openwatch_watch_units", None)
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

        settings = self.crawler.settings
        self.store = Store(
            connect(Path(self.database)),
            subscriptions=self.subscriptions,
            hf_web=settings.get("OPENWATCH_HF_ENDPOINT") or "https://huggingface.co",
            short_listing_ratio=settings.getfloat("OPENWATCH_SHORT_LISTING_RATIO", 0.5),
            watch_units=self.watch_units,
        )
        self.crawl_id = self.store.start_crawl(spider.watch, spider.source, os.getpid())
        self.crawler.stats.set_value("openwatch/crawl_id", self.crawl_id)
        if not spider.prior:
            spider.prior = self.store.prior_state(spider.watch, spider.units)

    async def process_item(self, item, spider=None):
        # Appended before any await: the batch keeps the order items were yielded in. Items of
        # different responses are processed concurrently, so flushes take turns on the lock
        # (one connection, one transaction at a time).
        self.batch.append(item)
        if isinstance(item, ListingResult) or len(self.batch) >= BATCH_SIZE:
            await self.flush()
        return item

    async def flush(self):
        async with self.lock:
            if not self.batch:
                return
            batch, self.batch = self.batch, []
            result = await asyncio.to_thread(self.store.ingest, batch, self.crawl_id)
            self.items += result.items
            self.events += len(result.events)
            self.errors += result.errors
            self.units_complete.update(result.units_complete)
            for event in result.events:
                logger.info("event %s %s", event["type"], event["summary"])

    async def close_spider(self, spider=None):
        await self.flush()

    def spider_error(self, failure, response, spider):
        """A callback that raised: its unit's listing never completes; say why in `crawls.errors`."""
        self.errors.append(f"spider error on {response.url}: {type(failure.value).__name__}: "
                           f"{failure.getErrorMessage()}"[:300])

    def spider_closed(self, spider, reason):
        if self.store is None or self.crawl_id is None:
            return
        expected = set(spider.units)
        if reason != "finished":
            self.errors.append(f"crawl ended early: {reason}")
        if self.units_complete >= expected and reason == "finished" and not self.errors:
            status = "ok"
        elif self.units_complete:
            status = "partial"
        else:
            status = "failed"
        missing = sorted(expected - self.units_complete)
        if missing and reason == "finished" and not any(m in " ".join(self.errors) for m in missing):
            self.errors.append(f"no complete listing for: {', '.join(missing)}")
        stats = self.crawler.stats
        self.store.finish_crawl(
            self.crawl_id, status,
            requests=stats.get_value("downloader/request_count", 0) or 0,
            items=self.items, events=self.events, errors=self.errors,
        )
        stats.set_value("openwatch/status", status)
        stats.set_value("openwatch/events", self.events)
        stats.set_value("openwatch/items", self.items)
        stats.set_value("openwatch/errors", list(self.errors))
        self.store.db.close()
