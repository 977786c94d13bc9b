"""Cutting a crawl: what is in flight ends now instead of being waited for.

Scrapy's `crawler.stop()` is graceful: `engine.close_spider` waits until every request in
progress has its answer (`scrapy/core/engine.py`, `_Slot.close`), so a crawl cut at its
timeout or at shutdown went on waiting for a slow download (up to `DOWNLOAD_TIMEOUT`) or a
rate-limit wait (up to `RATELIMIT_MAX_WAIT`). Whoever cuts a crawl sends `crawl_cut` on its
signals (`cut(crawler, reason)`); every download and wait awaited through `until_cut` is then
cancelled and fails with `CrawlCut`, an ordinary request failure: the spider's errback
records its unit as incomplete, the engine drains at once and the pipeline closes the crawl's
row (`partial` or `failed`, with the cut's reason). What was ingested before stays committed:
a batch is one transaction, never half-written.
"""

from __future__ import annotations

import asyncio
from typing import Any, Awaitable, TypeVar

from scrapy.core.downloader.handlers.http11 import HTTP11DownloadHandler
from scrapy.exceptions import IgnoreRequest

from crawler.exceptions import OpenwatchError

T = TypeVar("T")

crawl_cut = object()  # Scrapy signal: sent with `reason=` when the crawl is cut


class CrawlCut(IgnoreRequest, OpenwatchError):
    """A request abandoned because its crawl was cut (timeout or shutdown); never retried."""


class _Cut:
    """One crawl's cut: its reason once cut, and the tasks to cancel then."""

    def __init__(self, crawler) -> None:
        self.reason: str | None = None
        self.tasks: set[asyncio.Future] = set()
        crawler.signals.connect(self.fire, signal=crawl_cut)

    def fire(self, reason: str = "cut", **_: Any) -> None:
        if self.reason is None:
            self.reason = reason
        for task in list(self.tasks):
            task.cancel()


def _state(crawler) -> _Cut:
    state = getattr(crawler, "_openwatch_cut", None)
    if state is None:
        state = crawler._openwatch_cut = _Cut(crawler)
    return state


def cut(crawler, reason: str) -> None:
    """Cut `crawler`: every download and wait in flight fails now with `CrawlCut(reason)`,
    and so does every one started after. Call it once the engine is stopping."""
    _state(crawler)  # connected before the signal goes out, even if nothing awaited yet
    crawler.signals.send_catch_log(signal=crawl_cut, reason=reason)


async def until_cut(crawler, awaitable: Awaitable[T]) -> T:
    """Await `awaitable`, unless the crawl is (or gets) cut: then it is cancelled and
    `CrawlCut` raised. A cancel of the caller itself goes through unchanged."""
    state = _state(crawler)
    if state.reason is not None:
        if asyncio.iscoroutine(awaitable):
            awaitable.close()
        raise CrawlCut(state.reason)
    task = asyncio.ensure_future(awaitable)
    state.tasks.add(task)
    try:
        return await task
    except asyncio.CancelledError:
        me = asyncio.current_task()
        if state.reason is None or (me is not None and me.cancelling()):
            raise
        raise CrawlCut(state.reason) from None
    finally:
        state.tasks.discard(task)


async def pause(crawler, seconds: float) -> None:
    """`asyncio.sleep(seconds)` that a cut ends at once with `CrawlCut` (a rate-limit or
    quota wait of a component built without a crawler just sleeps)."""
    if crawler is None:
        await asyncio.sleep(seconds)
    else:
        await until_cut(crawler, asyncio.sleep(seconds))


class CuttableHTTPDownloadHandler(HTTP11DownloadHandler):
    """Scrapy's HTTP/1.1 handler whose downloads a cut cancels: the connection is aborted
    (cancelling the agent's Deferred, as Scrapy's own `DOWNLOAD_TIMEOUT` does) rather than
    waited for."""

    async def download_request(self, request):
        return await until_cut(self.crawler, super().download_request(request))
