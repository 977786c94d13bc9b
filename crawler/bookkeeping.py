"""One crawl's bookkeeping: its row in `crawls`, the batches it ingested and the status it
ends with. The same for every way a crawl runs (the item pipeline in a Scrapy process, a
Scrapyd job's items ingested by the daemon, a crawl that never started)."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from typing import Any, Iterable

from crawler.items import Batch
from crawler.rules import crawl_status


@dataclass
class CrawlBook:
    """The running counts of one crawl of `watch`, written to its `crawls` row by `finish`.

    `store` is a `crawler.history.store.Store`; `log` is the caller's logger (each new event
    is one INFO line, `event <type> <summary>`)."""

    store: Any
    watch: str
    source: str
    log: logging.Logger
    crawl_id: int | None = None
    items: int = 0
    events: int = 0
    errors: list[str] = field(default_factory=list)
    units_complete: set[str] = field(default_factory=set)

    def start(self, pid: int | None = None) -> int:
        """Open the crawl's row (`running`)."""
        self.crawl_id = self.store.start_crawl(self.watch, self.source, os.getpid() if pid is None else pid)
        return self.crawl_id

    def ingest(self, batch: Batch):
        """One batch in one transaction; the counts follow. Returns the store's result."""
        result = self.store.ingest(batch, self.crawl_id)
        self.items += result.items
        self.events += len(result.events)
        self.errors += result.errors
        self.units_complete.update(result.units_complete)
        for event in result.events:
            self.log.info("event %s %s", event["type"], event["summary"])
        return result

    def status(self, expected: Iterable[str], ran_to_end: bool) -> str:
        """ok, partial or failed (`crawler.rules.crawl_status`)."""
        return crawl_status(set(expected), self.units_complete, ran_to_end, self.errors)

    def finish(self, status: str, *, requests: int) -> str:
        """Close the crawl's row with `status` and the counts."""
        self.store.finish_crawl(self.crawl_id, status, requests=requests, items=self.items, events=self.events,
                                errors=self.errors)
        return status

    @classmethod
    def failed_start(cls, store, watch: str, source: str, errors: list[str], *, pid: int | None = None) -> int:
        """A crawl that never started (its spider could not be loaded, its process died
        first): one `failed` row that says why. Returns its id."""
        book = cls(store, watch, source, logging.getLogger(__name__), errors=list(errors))
        book.start(pid)
        book.finish("failed", requests=0)
        return book.crawl_id
