"""Running crawls from the CLI: the asyncio reactor that Scrapy and the daemon share, one
crawl of a watch now (`crawl_watch`, through the executor the config chooses:
`jobs.crawls`), and the process's log format.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, Awaitable, Callable

# Imported here, near the bottom of the stack, not by the engine inside the reactor: at import
# Scrapy's TLS module runs create_deprecated_class three times, and each walks inspect.stack()
# with source context, reading every frame's file; 123 frames deep in a crawl that was
# 0.34 s under the profiler (bench/RESULTS.md, "after2").
import scrapy.core.downloader.handlers.http11  # noqa: F401  # the http/https handler

from jobs.crawls.base import CrawlOutcome, executor_for

logger = logging.getLogger("openwatch.runner")

ASYNCIO_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"


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


async def crawl_watch(config, watch, *, log_level: str = "WARNING", pool=None, progress=None) -> CrawlOutcome:
    """Run one crawl of `watch` now; never raises for crawl failures, returns the outcome.

    With a `[scrapyd]` section the crawl runs as a Scrapyd job and its batches are ingested
    here; `pool` is the process's `ScrapydPool` (one is made for this crawl when none is given)."""
    executor = executor_for(config, log_level=log_level, **({"pool": pool} if pool is not None else {}))
    try:
        outcome, _ = await executor.crawl(watch, progress=progress)
        return outcome
    finally:
        executor.close()


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
