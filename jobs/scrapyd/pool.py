"""The servers of one `[scrapyd]` section (`ScrapydPool`): a crawl scheduled on the least
loaded, followed to its end, its items handed over in order (`JobOutcome`)."""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Mapping

import httpx

from jobs.scrapyd.args import check_arg_sizes, encode_spider_args, job_settings_args
from jobs.scrapyd.client import ScrapydClient, http_client
from jobs.scrapyd.exceptions import MAX_ERROR, ScrapydError
from jobs.scrapyd.joblog import JobLog, json_lines, parse_job_log, tail
from jobs.scrapyd.prior import PriorServer
from jobs.scrapyd.settings import ScrapydSettings

logger = logging.getLogger("openwatch.scrapyd")

ITEMS_PER_CALL = 500            # JSON objects handed to on_items at a time
UNREACHABLE_POLLS = 3           # consecutive failed looks at a job before its server counts as gone
STOP_GRACE = 30.0               # seconds a cancelled job gets to close its feed before SIGKILL


@dataclass
class JobOutcome:
    """How one crawl through Scrapyd went. `status` is "ok" only when the job ran to its end
    (`finish_reason` "finished") and every item it scraped was read and handed over."""

    status: str = "failed"               # ok | failed
    server: str | None = None
    job: str | None = None
    items: int = 0                       # JSON objects handed to on_items
    requests: int = 0                    # the crawl's downloader/request_count
    finish_reason: str | None = None
    timed_out: bool = False
    seconds: float = 0.0
    log_url: str | None = None
    errors: list[str] = field(default_factory=list)


OnItems = Callable[[list[dict]], Awaitable[None] | None]


class ScrapydPool:
    """The servers of one `[scrapyd]` section, shared by every crawl of one process.

    Keep one for the daemon's life: scheduling takes turns on a lock, so concurrent crawls
    see each other's jobs in `daemonstatus.json`, and servers equally loaded take turns.
    `close()` stops the prior server.
    """

    def __init__(self, settings: ScrapydSettings, *, transport: httpx.AsyncBaseTransport | None = None):
        self.settings = settings
        self.transport = transport
        self.turn = 0
        self._lock: tuple[asyncio.AbstractEventLoop, asyncio.Lock] | None = None
        self._prior: PriorServer | None = None

    def prior_server(self) -> PriorServer:
        if self._prior is None:
            self._prior = PriorServer(self.settings.prior_bind, self.settings.prior_url)
        return self._prior

    def close(self) -> None:
        if self._prior is not None:
            self._prior.close()
            self._prior = None

    async def loads(self, http: httpx.AsyncClient | None = None) -> dict[str, int | ScrapydError]:
        """pending + running jobs of each server (all projects), or why it could not say."""
        if http is None:
            async with http_client(self.settings, self.transport) as own:
                return await self.loads(own)

        async def one(url: str):
            try:
                status = await ScrapydClient(http, url, self.settings.project).daemonstatus()
                return int(status.get("pending") or 0) + int(status.get("running") or 0)
            except (ScrapydError, ValueError, TypeError) as exc:
                return exc if isinstance(exc, ScrapydError) else ScrapydError(f"{url}: daemonstatus.json: {exc}")

        return dict(zip(self.settings.urls, await asyncio.gather(*(one(u) for u in self.settings.urls))))

    async def schedule(self, http: httpx.AsyncClient, spider: str, args: list[tuple[str, str]],
                       job_settings: Mapping[str, str], errors: list[str]) -> tuple[ScrapydClient, str] | None:
        """Schedule on the least loaded server (ties: each in turn); the next one if it refuses."""
        loop = asyncio.get_running_loop()
        if self._lock is None or self._lock[0] is not loop:  # a lock serves one event loop
            self._lock = (loop, asyncio.Lock())
        async with self._lock[1]:
            loads = await self.loads(http)
            n = len(self.settings.urls)
            turn, self.turn = self.turn, self.turn + 1
            ranked = sorted(
                (load, (i - turn) % n, url) for i, (url, load) in enumerate(loads.items()) if isinstance(load, int)
            )
            errors.extend(str(load) for load in loads.values() if isinstance(load, ScrapydError))
            for _, _, url in ranked:
                client = ScrapydClient(http, url, self.settings.project)
                jobid = uuid.uuid4().hex
                try:
                    return client, await client.schedule(spider, jobid, args, job_settings)
                except ScrapydError as exc:
                    hint = "; run `openwatch deploy`" if f"project '{self.settings.project}' not found" in str(exc) \
                        or "spider '" in str(exc) else ""
                    errors.append(f"{exc}{hint}")
            return None

    async def crawl(
        self,
        spider: str,
        spider_args: Mapping[str, Any],
        *,
        timeout: float,
        on_items: OnItems,
        prior: Any = None,
        job_settings: Mapping[str, Any] | None = None,
    ) -> JobOutcome:
        """Run `spider` as a Scrapyd job and hand its items to `on_items`, in order, in lists.

        `prior` (JSON-serialisable) is served by URL and passed as the `prior_url` argument.
        `job_settings` become `-s KEY=VALUE` (`setting=` of schedule.json); LOG_LEVEL is at
        least INFO (the job's end is read from its log). `timeout` covers the whole job,
        pending time included: past it the job is cancelled and the outcome is failed, with
        whatever it had written handed over. Raises only what `on_items` raises, and
        CancelledError (after cancelling the job on its server).
        """
        started = time.monotonic()
        outcome = JobOutcome()
        token = None
        prior_server = self.prior_server() if prior is not None else None
        try:
            args = encode_spider_args(spider_args)
            settings = job_settings_args(job_settings or {})
            if prior_server is not None:
                url, token = await asyncio.to_thread(prior_server.publish, prior)
                args.append(("prior_url", url))
            check_arg_sizes(args, settings)
        except (ValueError, TypeError, OSError) as exc:
            outcome.errors.append(str(exc)[:MAX_ERROR])
            return outcome
        try:
            async with http_client(self.settings, self.transport) as http:
                await self._run(http, spider, args, settings, started + timeout, timeout, on_items, outcome)
        finally:
            if token is not None:
                prior_server.withdraw(token)
            outcome.seconds = time.monotonic() - started
        return outcome

    async def _run(self, http, spider, args, settings, deadline, timeout, on_items, outcome: JobOutcome) -> None:
        scheduled = await self.schedule(http, spider, args, settings, outcome.errors)
        if scheduled is None:
            outcome.errors.insert(0, "no Scrapyd server took the job")
            return
        client, job = scheduled
        outcome.server, outcome.job = client.url, job
        logger.info("crawl %s scheduled on %s as job %s", spider, client.url, job)
        try:
            state = await self._follow(client, job, deadline, timeout, outcome)
        except asyncio.CancelledError:
            await asyncio.shield(_cancel_quietly(client, job))
            raise
        if state != "finished":
            return
        try:
            entry = await client.job(job)
        except ScrapydError as exc:
            outcome.errors.append(str(exc))
            return
        if entry is None or entry["state"] != "finished":
            outcome.errors.append(f"job {job} vanished from {client.url} after it finished")
            return
        await self._collect(client, entry, on_items, outcome)

    async def _follow(self, client: ScrapydClient, job: str, deadline: float, timeout: float,
                      outcome: JobOutcome) -> str | None:
        """Wait for the job to finish; cancel it at the deadline. Returns "finished", or None
        when the job vanished or its server stopped answering (errors say which)."""
        misses = 0
        cancelled_at = None
        killed = False
        while True:
            try:
                state = await client.status(job)
                misses = 0
            except ScrapydError as exc:
                misses += 1
                if misses >= UNREACHABLE_POLLS:
                    outcome.errors.append(f"server stopped answering while job {job} ran: {exc}"[:MAX_ERROR])
                    return None
                state = "unknown"
            if state is None:
                outcome.errors.append(f"job {job} vanished from {client.url} (server restarted, or the "
                                      "job could not start)")
                return None
            if state == "finished":
                return state
            now = time.monotonic()
            if state != "unknown" and now >= deadline and cancelled_at is None:
                outcome.timed_out = True
                outcome.errors.append(f"timed out after {timeout:.0f}s while {state}: cancelled on {client.url}")
                cancelled_at = now
                await _cancel_quietly(client, job)
                if state == "pending":
                    return None  # removed from the queue: it never ran
            elif cancelled_at is not None and not killed and now >= cancelled_at + STOP_GRACE:
                killed = True
                await _cancel_quietly(client, job, signal="KILL")
            elif cancelled_at is not None and now >= cancelled_at + 2 * STOP_GRACE:
                outcome.errors.append(f"job {job} did not stop after SIGKILL")
                return None
            await asyncio.sleep(self.settings.poll_interval)

    async def _collect(self, client: ScrapydClient, entry: dict, on_items: OnItems, outcome: JobOutcome) -> None:
        """Hand over the finished job's items, then judge from its log how it ended."""
        read_errors: list[str] = []
        items_url = entry.get("items_url")
        if items_url:
            batch: list[dict] = []
            try:
                async with client.http.stream("GET", client.absolute(items_url)) as response:
                    if response.status_code != 200:
                        read_errors.append(f"items file: HTTP {response.status_code} (jobs_to_keep on the "
                                           "server too low for the jobs running at once?)")
                    else:
                        async for item in json_lines(response, read_errors):
                            batch.append(item)
                            if len(batch) >= ITEMS_PER_CALL:
                                await _deliver(on_items, batch)
                                outcome.items += len(batch)
                                batch = []
            except httpx.HTTPError as exc:
                read_errors.append(f"reading items: {type(exc).__name__}: {exc}"[:MAX_ERROR])
            if batch:
                await _deliver(on_items, batch)
                outcome.items += len(batch)
        else:
            read_errors.append(f"{client.url} serves no items file for job {outcome.job}: set items_dir in its "
                               "scrapyd.conf (e.g. items_dir = items)")

        log = JobLog()
        if entry.get("log_url"):
            outcome.log_url = client.absolute(entry["log_url"])
            try:
                log = parse_job_log(await tail(client.http, outcome.log_url))
            except httpx.HTTPError as exc:
                read_errors.append(f"reading the job log: {type(exc).__name__}: {exc}"[:MAX_ERROR])
        else:
            read_errors.append(f"{client.url} has no log for job {outcome.job} (logs_dir off?): cannot tell "
                               "a finished crawl from a dead one")
        outcome.finish_reason = log.finish_reason
        outcome.requests = log.requests or 0
        if not log.closed and entry.get("log_url"):
            outcome.errors.append("the crawl process died before the spider closed"
                                  + (f": {log.last_error}" if log.last_error else ""))
        elif log.closed and log.finish_reason != "finished" and not outcome.timed_out:
            outcome.errors.append(f"the job ended early: {log.finish_reason} (cancelled, or its worker shut down)")
        if log.items is not None and log.items > outcome.items and not read_errors:
            read_errors.append(f"read {outcome.items} items of the {log.items} the job scraped")
        outcome.errors += read_errors
        if log.closed and log.finish_reason == "finished" and not read_errors and not outcome.timed_out:
            outcome.status = "ok"


async def _deliver(on_items: OnItems, batch: list[dict]) -> None:
    result = on_items(batch)
    if inspect.isawaitable(result):
        await result


async def _cancel_quietly(client: ScrapydClient, job: str, signal: str = "INT") -> None:
    try:
        await asyncio.wait_for(client.cancel(job, signal=signal), timeout=10)
    except (ScrapydError, TimeoutError) as exc:
        logger.warning("could not cancel job %s on %s: %s", job, client.url, exc)


async def crawl_via_scrapyd(
    settings: ScrapydSettings,
    spider: str,
    spider_args: Mapping[str, Any],
    *,
    timeout: float,
    on_items: OnItems,
    prior: Any = None,
    job_settings: Mapping[str, Any] | None = None,
    pool: ScrapydPool | None = None,
) -> JobOutcome:
    """One crawl through Scrapyd (see `ScrapydPool.crawl`). Pass the daemon's `pool` so that
    crawls spread; without one, a pool lives for this call only."""
    if pool is not None:
        return await pool.crawl(spider, spider_args, timeout=timeout, on_items=on_items, prior=prior,
                                job_settings=job_settings)
    own = ScrapydPool(settings)
    try:
        return await own.crawl(spider, spider_args, timeout=timeout, on_items=on_items, prior=prior,
                               job_settings=job_settings)
    finally:
        own.close()

