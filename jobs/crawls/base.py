"""The crawl executor interface, its outcome, and the choice of one by alias (as APScheduler
chooses its executors: `apscheduler/executors/base.py`, plugins found by name)."""

from __future__ import annotations

import asyncio
import importlib
import os
from dataclasses import dataclass, field
from typing import Any, ClassVar, Mapping

from jobs.crawls.store import fail_running, open_store
from jobs.exceptions import ConfigError

CUT_REASON = "cut: the daemon stopped before the crawl finished"
MODES = ("subprocess", "inprocess")
DEFAULT_MODE = "inprocess"
MODE_ENV = "OPENWATCH_CRAWL_MODE"

# alias -> "module:Class", imported when chosen: Scrapyd's client pulls in httpx, the
# in-process executor Scrapy's engine; neither is paid for by a process that does not use it.
EXECUTORS = {
    "inprocess": "jobs.crawls.inprocess:InProcessExecutor",
    "subprocess": "jobs.crawls.process:SubprocessExecutor",
    "scrapyd": "jobs.scrapyd.executor:ScrapydExecutor",
}


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


class CrawlExecutor:
    """Runs one crawl of a watch at a time per call; several calls may run at once.

    `crawl(watch)` returns `(outcome, health_recorded)` and never raises for a crawl that
    failed; cancelled (the daemon stopping past its grace), it closes the crawl's row, then
    lets the cancel through. `config` is replaced on a reload."""

    alias: ClassVar[str]
    mode: ClassVar[str] = DEFAULT_MODE  # the crawl mode it serves (`crawl_mode`), as the daemon's log says

    def __init__(self, config, *, debug: bool = False, log_format: str = "text"):
        self.config = config
        self.debug = debug
        self.log_format = log_format

    async def crawl(self, watch, *, progress=None) -> tuple[CrawlOutcome, bool]:
        raise NotImplementedError

    async def abandon(self, watches) -> None:
        """Crawls that did not stop after their cut: their rows are closed now, as the daemon
        is about to exit."""
        for watch in watches:
            await asyncio.to_thread(self.fail_cut, watch)

    def fail_cut(self, watch) -> None:
        """This process's crawl of `watch` left `running` by a cut: failed, saying so."""
        store = open_store(self.config)
        try:
            fail_running(store.db, CUT_REASON, pid=os.getpid(), watch=watch.name)
        finally:
            store.db.close()

    def close(self) -> None:
        """Release what the executor holds for its life (none by default)."""


def crawl_mode(config, explicit: str | None = None, environ: Mapping[str, str] = os.environ) -> str:
    """`inprocess` or `subprocess`: `explicit` (`run --mode`), else `$OPENWATCH_CRAWL_MODE`."""
    mode = explicit or environ.get(MODE_ENV) or DEFAULT_MODE
    if mode not in MODES:
        raise ConfigError(f"crawl mode {mode!r} is not one of {', '.join(MODES)}", f"set {MODE_ENV} to one of them")
    return mode


def executor_alias(config, mode: str = DEFAULT_MODE) -> str:
    """The executor of a crawl in `mode`: with a `[scrapyd]` section a crawl of this process
    runs as a Scrapyd job (a `subprocess` child runs its own crawl through Scrapyd)."""
    if mode == "inprocess" and getattr(config, "scrapyd", None) is not None:
        return "scrapyd"
    return mode


def executor_class(alias: str) -> type[CrawlExecutor]:
    module, _, name = EXECUTORS[alias].partition(":")
    return getattr(importlib.import_module(module), name)


def executor_for(config, mode: str = DEFAULT_MODE, **options: Any) -> CrawlExecutor:
    """The executor that runs `config`'s crawls in `mode` (see `executor_alias`)."""
    return executor_class(executor_alias(config, mode))(config, **options)
