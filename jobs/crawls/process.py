"""One child process per crawl: `python -m jobs --config PATH crawl WATCH` (as Scrapyd runs
one process per job): a crawl can be killed outright, and a crash or leak in it cannot reach
the daemon."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import signal
import sys
import time
from collections import deque
from typing import Any, Mapping

from crawler.bookkeeping import CrawlBook
from jobs.crawls.base import CUT_REASON, CrawlExecutor, CrawlOutcome
from jobs.crawls.store import fail_running, keep_feed, open_store
from jobs.health import record_health

logger = logging.getLogger("openwatch.daemon")

PARENT_ENV = "OPENWATCH_PARENT_PID"  # set in a crawl child's environment: the daemon that started it
CHILD_MARGIN = 35.0         # a child stops its own crawl at the watch's timeout (+30 s to close)
KILL_AFTER = 10.0           # seconds between SIGTERM and SIGKILL for a child that must stop

_LOG_LINE = re.compile(r"^(\d{4}-\d\d-\d\dT|\{)")


class SubprocessExecutor(CrawlExecutor):
    """One child process per crawl: `python -m jobs --config PATH crawl WATCH`.

    The child writes the crawl's row and its watch health to the database, as a manual
    `openwatch crawl` does; the daemon reads the outcome back from the database. A child
    that outlives the watch's timeout (plus time to close) is terminated, then killed, and
    its crawl recorded as failed here.
    """

    alias = "subprocess"
    mode = "subprocess"

    def __init__(self, config, *, debug: bool = False, log_format: str = "text", python: str | None = None):
        super().__init__(config, debug=debug, log_format=log_format)
        self.python = python or sys.executable
        self._children: dict[str, Any] = {}  # watch name -> its running child

    def argv(self, watch) -> list[str]:
        return [self.python, "-m", "jobs", "--config", str(self.config.path), "--log-format", self.log_format,
                *(["--debug"] if self.debug else []), "crawl", watch.name]

    def env(self, environ: Mapping[str, str] = os.environ) -> dict[str, str]:
        """The child's environment: ours, and our pid (`stop_orphans` finds children whose
        daemon died by it)."""
        return {**environ, PARENT_ENV: str(os.getpid())}

    async def crawl(self, watch, *, progress=None):
        """Returns `(outcome, health_recorded)`; health is always recorded by then. The child
        shows no progress (it is not on a terminal)."""
        started = time.monotonic()
        proc = await asyncio.create_subprocess_exec(
            *self.argv(watch), stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE, env=self.env(),
        )
        self._children[watch.name] = proc
        tail: deque[str] = deque(maxlen=5)
        relay = asyncio.ensure_future(self._relay(proc.stderr, tail))
        problem = None
        try:
            await asyncio.wait_for(proc.wait(), timeout=watch.timeout + CHILD_MARGIN)
        except TimeoutError:
            problem = f"timed out after {watch.timeout:.0f}s: crawl process {proc.pid} killed"
            logger.error("crawl %s: child %d still running %.0fs after its timeout; killing it",
                         watch.name, proc.pid, CHILD_MARGIN)
            await self._terminate(proc)
        except asyncio.CancelledError:
            await asyncio.shield(self._cut(proc, watch))
            raise
        finally:
            self._children.pop(watch.name, None)
            try:
                await asyncio.wait_for(relay, timeout=5)
            except (TimeoutError, asyncio.CancelledError):
                relay.cancel()
        if problem is None and proc.returncode not in (0, 1):
            problem = f"crawl process ended with {_exit_text(proc.returncode)}"
        outcome, recorded = await asyncio.to_thread(self._collect, watch, proc.pid, problem, list(tail))
        outcome.seconds = time.monotonic() - started
        return outcome, recorded

    async def _relay(self, stream, tail: deque) -> None:
        """The child's log lines go to our stderr as they are (one line per record);
        anything else (its closing error line) is kept for the failure message."""
        while True:
            line = await stream.readline()
            if not line:
                return
            text = line.decode("utf-8", errors="replace").rstrip("\n")
            if self.debug or _LOG_LINE.match(text):
                sys.stderr.write(text + "\n")
                sys.stderr.flush()
            elif text.strip():
                tail.append(text.strip())

    async def _terminate(self, proc) -> None:
        if proc.returncode is not None:
            return
        try:
            proc.terminate()
            await asyncio.wait_for(proc.wait(), timeout=KILL_AFTER)
        except ProcessLookupError:
            return
        except TimeoutError:
            try:
                proc.kill()
            except ProcessLookupError:
                return
            await proc.wait()

    async def abandon(self, watches) -> None:
        """Children still there after their cut (one that ignores SIGTERM): killed, and their
        crawls recorded as cut, as the daemon is about to exit."""
        for watch in watches:
            proc = self._children.get(watch.name)
            if proc is None:
                continue
            if proc.returncode is None:
                try:
                    proc.kill()
                except ProcessLookupError:
                    pass
            await asyncio.to_thread(self._fail_child, proc.pid)

    async def _cut(self, proc, watch) -> None:
        await self._terminate(proc)
        await asyncio.to_thread(self._fail_child, proc.pid)

    def _fail_child(self, pid: int) -> None:
        store = open_store(self.config)
        try:
            fail_running(store.db, CUT_REASON, pid=pid)
        finally:
            store.db.close()

    def _collect(self, watch, pid: int, problem: str | None, tail: list[str]):
        """The child's crawl as recorded in the database; a failure recorded here when the
        child could not record it itself. Returns `(outcome, health_recorded)`."""
        store = open_store(self.config)
        try:
            db = store.db
            if problem:
                fail_running(db, problem, pid=pid, watch=watch.name)
            row = store.last_crawl_of(pid, watch.name)
            if row is None:
                # The child never started its crawl (bad config, import error, …).
                error = problem or (tail[-1] if tail else "crawl process ended before crawling")
                outcome = CrawlOutcome(watch=watch.name, status="failed", errors=[error])
                outcome.crawl_id = CrawlBook.failed_start(store, watch.name, watch.source, [error], pid=pid)
                record_health(store, watch, outcome)
                return outcome, True
            outcome = CrawlOutcome(watch=watch.name, status=row["status"], crawl_id=row["id"],
                                   events=row["events"] or 0, items=row["items"] or 0,
                                   requests=row["requests"] or 0, errors=row["errors"])
            finished, recorded = row["finished_at"], store.last_finished_at(watch.name)
            if not (finished and recorded and recorded >= finished):  # the child died before recording it
                record_health(store, watch, outcome)
            keep_feed(self.config, db, outcome.events)
            return outcome, True
        finally:
            store.db.close()


def _exit_text(code: int | None) -> str:
    if code is not None and code < 0:
        try:
            return f"signal {signal.Signals(-code).name}"
        except ValueError:
            return f"signal {-code}"
    return f"exit code {code}"
