"""The daemon (`openwatch run`): every enabled watch on its interval, deliveries as they fall
due, in one process.

APScheduler 3's `AsyncIOScheduler` runs on the asyncio loop under Scrapy's reactor
(`jobs.runner.run_in_reactor`). Each watch is one job that `await`s its whole crawl, so
`max_instances=1` really means "never two crawls of a watch at once" and `coalesce=True` turns
runs missed while the loop was busy (or the machine asleep) into one. The outbox dispatcher is
one more job; it works in a thread with its own database connection, never on the loop.

What is decided here is kept pure and tested with explicit times: when each watch runs first
(`plan_next_runs`, resuming from the database) and what a config reload changes
(`config_change`; the daemon reloads on SIGHUP and when the file changes). When a source
starts or stops failing is `jobs.health`'s.

Crawls run through one executor (`jobs.crawls`), in the daemon's process by default:
bench/memory_crawls.py measured RSS flat after warm-up over 200 consecutive crawls (no leak to
run away from), and a crawl starts in 0.2 s instead of the 1.2 s a fresh interpreter takes.
`OPENWATCH_CRAWL_MODE=subprocess` runs each crawl as `python -m jobs crawl WATCH` (as Scrapyd
runs one process per job): a crawl can then be killed outright, and a crash or leak in it
cannot reach the daemon. With a `[scrapyd]` section crawls run as Scrapyd jobs.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import threading
from dataclasses import dataclass, field
from pathlib import Path
from datetime import datetime, timezone
from typing import Any, Callable, Iterable, Mapping

from jobs.crawls.base import crawl_mode, executor_for
from jobs.crawls.process import KILL_AFTER, PARENT_ENV
from jobs.crawls.store import record_outcome
from jobs.health import one_line
from jobs.views.status import last_finished, next_run  # one rule for the daemon and `status`
from jobs.exceptions import OpenwatchError

logger = logging.getLogger("openwatch.daemon")

MIN_MISFIRE_GRACE = 60      # seconds; APScheduler's default (1 s) silently drops late runs
CUT_WAIT = 10.0             # seconds to wait for crawls cancelled at the end of the grace period
FINAL_DISPATCH_LIMIT = 30.0  # seconds the deliveries at shutdown may take (a round in flight included)

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


from crawler.times import iso_seconds as iso  # noqa: E402 - seconds, for people


# ---------------------------------------------------------------------------------------------
# When things run (pure)


def plan_next_runs(watches: Iterable[Any], last_finished: Mapping[str, datetime | None],
                   now: datetime) -> dict[str, datetime]:
    """First run of each enabled watch: `every` after its last finished crawl, else now.

    `last_finished` is `jobs.views.status.last_finished`: a watch that never succeeded has none. A
    watch never crawled, never successfully, or overdue (the daemon was down for several
    intervals) runs once now, not once per missed interval; the same rule as `openwatch
    status`'s "next run".
    """
    plan = {}
    for watch in watches:
        if not watch.enabled:
            continue
        plan[watch.name] = next_run(watch, last_finished.get(watch.name), now)
    return plan


def misfire_grace(watch) -> int:
    """Seconds a run may start late and still run (APScheduler wants a whole number)."""
    return max(MIN_MISFIRE_GRACE, int(watch.every))


def watch_job_options(watch, first_run: datetime) -> dict[str, Any]:
    """`add_job` keyword arguments of a watch's job (its function and args aside)."""
    from apscheduler.triggers.interval import IntervalTrigger

    return {
        "trigger": IntervalTrigger(seconds=watch.every, jitter=watch.jitter or None, start_date=first_run,
                                   timezone=timezone.utc),
        "id": f"watch:{watch.name}",
        "name": f"crawl {watch.name}",
        "max_instances": 1,
        "coalesce": True,
        "misfire_grace_time": misfire_grace(watch),
        "next_run_time": first_run,
        "replace_existing": True,
    }


def dispatch_job_options(every: float | None, first_run: datetime) -> dict[str, Any]:
    """`add_job` keyword arguments of the dispatcher: every `every` seconds, or once at
    `first_run` if `every` is None."""
    from apscheduler.triggers.date import DateTrigger
    from apscheduler.triggers.interval import IntervalTrigger

    trigger = (DateTrigger(run_date=first_run, timezone=timezone.utc) if every is None
               else IntervalTrigger(seconds=every, start_date=first_run, timezone=timezone.utc))
    return {
        "trigger": trigger,
        "id": "dispatch",
        "name": "dispatch deliveries",
        "max_instances": 1,
        "coalesce": True,
        "misfire_grace_time": max(MIN_MISFIRE_GRACE, int(every or 0)),
        "next_run_time": first_run,
        "replace_existing": True,
    }


def build_scheduler(loop=None):
    from apscheduler.events import EVENT_JOB_MAX_INSTANCES
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    scheduler = AsyncIOScheduler(timezone=timezone.utc, **({"event_loop": loop} if loop is not None else {}))
    scheduler.add_listener(_skipped, EVENT_JOB_MAX_INSTANCES)
    return scheduler


def _skipped(event) -> None:
    """A run due while the previous one still runs is skipped (`max_instances=1`): say so once,
    in our words (APScheduler's own warning is filtered out by `QuietSkips`)."""
    what = event.job_id.removeprefix("watch:")
    logger.info("%s: still running at %s; that run is skipped", what if what != event.job_id else event.job_id,
                iso(event.scheduled_run_times[-1]))


class QuietSkips(logging.Filter):
    """Drops APScheduler's "maximum number of running instances reached" warning: a crawl
    that outlasts its interval is expected (the daemon logs the skip at INFO)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "maximum number of running instances reached" not in record.getMessage()

# ---------------------------------------------------------------------------------------------
# The database at start: what a killed daemon left behind, and when each watch last ran



def stop_orphans(db, *, me: int | None = None, kill_after: float = KILL_AFTER) -> list[int]:
    """Terminate crawl children a killed daemon left behind, so they do not race the new
    daemon. Returns their pids.

    A candidate is the live pid of a crawl left `running`. It is stopped only if it is an
    `openwatch crawl` that a daemon started (`SubprocessExecutor` puts the daemon's pid in its
    environment as `OPENWATCH_PARENT_PID`) and that daemon is no longer its parent: a
    child's parent pid changes only when its parent dies (it is re-parented to init or a
    subreaper), which also holds if the dead daemon's pid has since been reused. A user's
    manual `openwatch crawl` has no such variable, and a live daemon's child still has its
    parent: both are left alone (as `Store.interrupt_running` leaves their rows).
    """
    import psutil

    me = os.getpid() if me is None else me
    pids = {row[0] for row in db.execute("select distinct pid from crawls where status = 'running' and pid is not null")}
    stopped = []
    for pid in sorted(pids - {me}):
        try:
            proc = psutil.Process(pid)
            cmdline = proc.cmdline()
            parent = proc.environ().get(PARENT_ENV, "")
            ppid = proc.ppid()
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
        if "crawl" not in cmdline or not any(part in ("jobs", "openwatch") or part.endswith("/openwatch")
                                             for part in cmdline):
            continue
        if not parent.isdigit() or int(parent) == ppid:
            continue
        try:
            proc.terminate()
            try:
                proc.wait(kill_after)
            except psutil.TimeoutExpired:
                proc.kill()
                proc.wait(kill_after)
        except psutil.NoSuchProcess:
            pass
        except psutil.TimeoutExpired:  # killed, but not yet reaped by its new parent
            pass
        stopped.append(pid)
    return stopped


# ---------------------------------------------------------------------------------------------
# Running a crawl


def outcome_line(outcome) -> str:
    return (f"crawl {outcome.watch}: {outcome.status} - {outcome.items} items, {outcome.events} events, "
            f"{outcome.requests} requests, {outcome.seconds:.1f}s")


# ---------------------------------------------------------------------------------------------
# Reloading the config (pure: what changed, what a reload applies)

# Settings a running daemon cannot change: it keeps its own until restarted.
RESTART_ONLY = ("database", "scrapyd", "daemon.log_format")
CONFIG_POLL = 1.0  # seconds between looks at the config file (a stat and a read of a few KB)


def _setting(config, dotted: str) -> Any:
    value = config
    for part in dotted.split("."):
        value = getattr(value, part, None)
    return value


@dataclass
class ConfigChange:
    """What a reload from `old` to `new` does. `applied` is `new` with `old`'s restart-only
    settings (`restart` names those that differ: they wait for a restart)."""

    applied: Any
    added: list = field(default_factory=list)         # enabled watches new to the daemon
    removed: list = field(default_factory=list)       # names of watches removed or disabled
    rescheduled: list = field(default_factory=list)   # watches whose `every` or `jitter` changed
    changed: list = field(default_factory=list)       # watches changed otherwise (same schedule)
    subscribed: list = field(default_factory=list)    # subscriptions enabled now, not before
    retired: list = field(default_factory=list)       # subscriptions enabled before, not now
    edited: list = field(default_factory=list)        # subscriptions enabled before and now, changed
    restart: list = field(default_factory=list)
    other: list = field(default_factory=list)         # other top-level settings that changed

    def __bool__(self) -> bool:
        return any((self.added, self.removed, self.rescheduled, self.changed, self.subscribed, self.retired,
                    self.edited, self.restart, self.other))

    def __str__(self) -> str:
        def names(items) -> str:
            return ", ".join(getattr(item, "name", item) for item in items)

        parts = [f"{label} {names(items)}" for label, items in (
            ("watches added:", self.added), ("watches removed:", self.removed),
            ("watches rescheduled:", self.rescheduled), ("watches changed:", self.changed),
            ("subscriptions added:", self.subscribed), ("subscriptions removed:", self.retired),
            ("subscriptions changed:", self.edited), ("settings changed:", self.other)) if items]
        return "; ".join(parts) or "no change"


def config_change(old, new) -> ConfigChange:
    """Compare the running config with a newly loaded one (both valid)."""
    from dataclasses import replace

    keep = {"database": old.database, "scrapyd": getattr(old, "scrapyd", None)}
    restart = [key for key in RESTART_ONLY if _setting(old, key) != _setting(new, key)]
    applied = replace(new, **keep, daemon=replace(new.daemon, log_format=old.daemon.log_format))
    change = ConfigChange(applied=applied, restart=restart)
    before = {w.name: w for w in old.watches if w.enabled}
    after = {w.name: w for w in new.watches if w.enabled}
    for name, watch in after.items():
        was = before.get(name)
        if was is None:
            change.added.append(watch)
        elif (was.every, was.jitter) != (watch.every, watch.jitter):
            change.rescheduled.append(watch)
        elif was != watch:
            change.changed.append(watch)
    change.removed = [name for name in before if name not in after]
    subs_before = {s.name: s for s in old.subscriptions if s.enabled}
    subs_after = {s.name: s for s in new.subscriptions if s.enabled}
    change.subscribed = [name for name in subs_after if name not in subs_before]
    change.retired = [name for name in subs_before if name not in subs_after]
    change.edited = [name for name in subs_after if name in subs_before and subs_after[name] != subs_before[name]]
    change.other = [key for key in ("endpoints", "smtp", "daemon", "feed_path")
                    if _setting(applied, key) != _setting(old, key)]
    return change


def file_digest(path) -> str | None:
    """The config file's content hash, or None while it cannot be read (an editor replacing it)."""
    import hashlib

    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        return None


# ---------------------------------------------------------------------------------------------
# The daemon


@dataclass
class DaemonStats:
    crawls: int = 0
    failed: int = 0
    job_errors: int = 0


class Daemon:
    """The scheduled loop of `openwatch run`. `prepare()` (sync, before the loop), then
    `await run()`; SIGTERM/SIGINT stop it: no new work, running crawls get
    `daemon.shutdown_grace` seconds, then are cut; deliveries are flushed once, within
    `final_dispatch_limit` seconds.

    Deliveries go through one `alerts.transport.Transport` for the daemon's lifetime (its
    HTTP connections and per-webhook rate limiters outlive each round), one round at a time,
    in a thread. `dispatch` (tests) replaces `alerts.outbox.dispatch`, same signature.

    The config reloads on SIGHUP and when the file's content changes (looked at every
    `config_poll` seconds; applied once it reads the same twice, so a file caught mid-write is
    not taken): watches' jobs are added, removed, rescheduled; subscriptions and the other
    settings apply to the next crawl and round (`config_change`). A file that does not
    validate is refused with its one-line error; the running config stays. `retired` holds
    the subscriptions a reload removed or disabled, with the last delivery queued then: only
    those rows are ever suppressed (`alerts.outbox._suppress_retired`).
    """

    def __init__(self, config, *, crawls=None, clock: Clock = utc_now, dispatch: Callable | None = None,
                 transport=None, debug: bool = False):
        self.config = config
        self.clock = clock
        self.crawls = crawls or executor_for(config, debug=debug)
        self._dispatch = dispatch
        self.transport = transport
        self.final_dispatch_limit = FINAL_DISPATCH_LIMIT
        self.cut_wait = CUT_WAIT
        self.watches = [w for w in config.watches if w.enabled]
        self.plan: dict[str, datetime] = {}
        self.stats = DaemonStats()
        self.scheduler = None
        self._running: dict[str, asyncio.Task] = {}
        self._dispatching: asyncio.Future | None = None
        self._stopping: asyncio.Event | None = None
        self._cut: asyncio.Event | None = None
        self._cut_counted: set[str] = set()
        self._crawling: dict[str, Any] = {}   # watch name -> the Watch its running crawl started with
        self.retired: dict[str, int] = {}
        self.config_poll = CONFIG_POLL
        self._loaded_digest: str | None = None
        self._refused_digest: str | None = None
        self._settling: str | None = None
        self._reloading: asyncio.Lock | None = None
        self._background: set[asyncio.Task] = set()

    # -- before the loop -----------------------------------------------------------------------

    def prepare(self) -> None:
        """Repair what a killed predecessor left, and plan each watch's first run."""
        if not self.watches and not any(sub.enabled for sub in self.config.subscriptions):
            raise OpenwatchError(f"{self.config.path}: nothing to run: no enabled [[watch]] and no [[subscription]]")
        from jobs.database import connect
        from crawler.history.store import Store

        db = connect(self.config.database)
        try:
            orphans = stop_orphans(db)
            if orphans:
                logger.warning("stopped %d crawl process(es) left by a previous daemon: %s", len(orphans),
                               ", ".join(map(str, orphans)))
            interrupted = Store(db).interrupt_running()
            if interrupted:
                logger.warning("%d crawl(s) left running by a previous process marked failed; they run again",
                               interrupted)
            last = last_finished(db)
        finally:
            db.close()
        self.plan = plan_next_runs(self.watches, last, self.clock())
        self._loaded_digest = file_digest(self.config.path)

    # -- the loop ------------------------------------------------------------------------------

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        self._cut = asyncio.Event()
        if self.transport is None:
            from alerts.transport import Transport

            self.transport = Transport()
        self._reloading = asyncio.Lock()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.request_stop, sig.name)
        loop.add_signal_handler(signal.SIGHUP, self.request_reload, "SIGHUP")
        watcher = None
        try:
            self.scheduler = build_scheduler(loop)
            self.add_jobs(self.scheduler, self.clock())
            self.scheduler.start()
            self._log_started()
            watcher = asyncio.ensure_future(self._watch_config())
            await self._stopping.wait()
            await self.shutdown()
        finally:
            for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
                loop.remove_signal_handler(sig)
            if watcher is not None:
                watcher.cancel()
            if self._dispatching is None or self._dispatching.done():
                self.transport.close()  # else a round still uses it: it goes with the process
        return 0

    def add_jobs(self, scheduler, now: datetime) -> None:
        for watch in self.watches:
            first = self.plan.get(watch.name, now)
            scheduler.add_job(self.crawl_job, args=[watch], **watch_job_options(watch, first))
        # Without subscriptions one round still runs: it suppresses the rows left pending by
        # subscriptions removed from the config (`alerts.outbox.dispatch` does that first).
        every = self.config.daemon.dispatch_every if self.config.subscriptions else None
        scheduler.add_job(self.dispatch_job, **dispatch_job_options(every, now))

    def _log_started(self) -> None:
        from jobs.config import format_duration

        logger.info("daemon started (pid %d, %s crawls, database %s)", os.getpid(), self.crawls.mode,
                    self.config.database)
        for watch in self.watches:
            logger.info("watch %s: every %s, first run %s", watch.name, format_duration(watch.every),
                        iso(self.plan.get(watch.name) or self.clock()))
        for watch in self.config.watches:
            if not watch.enabled:
                logger.info("watch %s: disabled", watch.name)
        if self.config.subscriptions:
            logger.info("deliveries: %d subscription(s), checked every %s", len(self.config.subscriptions),
                        format_duration(self.config.daemon.dispatch_every))
        if not any(getattr(sub, "enabled", True) for sub in self.config.subscriptions):
            logger.warning("%s: no [[subscription]]%s: events are recorded but nobody hears of them; add one "
                           "(openwatch alerts channels lists the channels), or query with openwatch events",
                           self.config.path, " enabled" if self.config.subscriptions else "")

    def request_stop(self, signame: str = "stop") -> None:
        if self._stopping is None:
            return
        if self._stopping.is_set():
            logger.warning("%s again: cutting running crawls now", signame)
            self._cut.set()
            return
        logger.info("%s: stopping; no new crawls, %d running", signame, len(self._running))
        self._stopping.set()

    # -- reloading the config ------------------------------------------------------------------

    def request_reload(self, why: str = "SIGHUP") -> None:
        if self._stopping is None or self._stopping.is_set():
            return
        task = asyncio.ensure_future(self.reload(why))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _watch_config(self) -> None:
        """Reload when the file's content changed and reads the same at the next look."""
        while not self._stopping.is_set():
            try:
                await asyncio.wait_for(self._stopping.wait(), timeout=self.config_poll)
                return
            except TimeoutError:
                pass
            seen = await asyncio.to_thread(file_digest, self.config.path)
            if seen is None or seen in (self._loaded_digest, self._refused_digest):
                self._settling = None
                continue
            if seen != self._settling:  # changed since the last look: maybe still being written
                self._settling = seen
                continue
            self._settling = None
            await self.reload("the file changed")

    async def reload(self, why: str) -> bool:
        """Load the config file again and apply it; False (one error line) if it is refused."""
        from jobs.config.loader import load_config
        from jobs.exceptions import ConfigError

        async with self._reloading:
            if self._stopping.is_set():
                return False
            path = self.config.path
            digest = await asyncio.to_thread(file_digest, path)
            try:
                new = await asyncio.to_thread(load_config, path, dict(os.environ))
                change = config_change(self.config, new)
                await self._apply(change)
            except Exception as exc:  # noqa: BLE001 - nothing in a reload may stop the daemon
                self._refused_digest = digest  # the watcher does not refuse the same file again
                problem = exc if isinstance(exc, ConfigError) else one_line(f"{type(exc).__name__}: {exc}")
                logger.error("config not reloaded (%s), the running config stays: %s", why, problem)
                return False
            self._loaded_digest, self._refused_digest = digest, None
            logger.info("config reloaded (%s): %s", why, change)
            if change.restart:
                logger.warning("config: %s changed: needs a restart; until then the daemon keeps the running %s",
                               " and ".join(change.restart), "value" if len(change.restart) == 1 else "values")
            return True

    async def _apply(self, change: ConfigChange) -> None:
        """Make `change` the running config. What can fail (reading the database) comes
        before anything is changed."""
        from jobs.config import format_duration
        from jobs.database import connect

        old, new = self.config, change.applied
        now = self.clock()

        def read_db():
            db = connect(new.database)
            try:
                mark = db.execute("select coalesce(max(id), 0) from deliveries").fetchone()[0] if change.retired else 0
                return mark, last_finished(db)
            finally:
                db.close()

        mark, last = await asyncio.to_thread(read_db)
        self.config = new
        self.crawls.config = new
        self.watches = [w for w in new.watches if w.enabled]
        for name in change.retired:
            self.retired[name] = mark
        for sub in new.subscriptions:
            if sub.enabled:
                self.retired.pop(sub.name, None)
        scheduler = self.scheduler
        for name in change.removed:
            if scheduler.get_job(f"watch:{name}") is not None:
                scheduler.remove_job(f"watch:{name}")
        for watch in change.changed:
            scheduler.modify_job(f"watch:{watch.name}", args=[watch])
        plan = plan_next_runs(change.added + change.rescheduled, last, now)
        for watch in change.added + change.rescheduled:
            first = plan[watch.name]
            self.plan[watch.name] = first
            scheduler.add_job(self.crawl_job, args=[watch], **watch_job_options(watch, first))
            logger.info("watch %s: every %s, next run %s", watch.name, format_duration(watch.every), iso(first))
        every_before = old.daemon.dispatch_every if old.subscriptions else None
        every = new.daemon.dispatch_every if new.subscriptions else None
        if every != every_before or change.retired:  # a round now suppresses what waited for the retired
            scheduler.add_job(self.dispatch_job, **dispatch_job_options(every, now))

    async def shutdown(self) -> None:
        loop = asyncio.get_running_loop()
        if self.scheduler is not None and self.scheduler.running:
            self.scheduler.pause()  # shutdown() would cancel the running jobs at once
        pending = {t for t in self._running.values() if not t.done()}
        if pending:
            grace = self.config.daemon.shutdown_grace
            logger.info("waiting up to %.0fs for %d running crawl(s): %s", grace, len(pending),
                        ", ".join(sorted(self._running)))
            deadline = loop.time() + grace
            while pending and not self._cut.is_set() and loop.time() < deadline:
                await self._wait_first(pending, deadline)
                pending = {t for t in pending if not t.done()}
            if pending:
                logger.warning("cutting %d crawl(s) still running: %s", len(pending), ", ".join(sorted(
                    name for name, task in self._running.items() if task in pending)))
                for task in pending:
                    task.cancel()
                # Cancelled crawls close their engine, aborting what is in flight (crawler/cut.py):
                # up to `cut_wait`, unless a second signal said to stop at once (the README's promise).
                cut_deadline = loop.time() + self.cut_wait
                while pending and not self._cut.is_set() and loop.time() < cut_deadline:
                    await self._wait_first(pending, cut_deadline)
                    pending = {t for t in pending if not t.done()}
                await asyncio.sleep(0)  # crawls that stopped at the cancel record it themselves
                stuck = [self._crawling[name] for name, task in self._running.items()
                         if task in pending and not task.done()]
                if stuck:
                    if self._cut.is_set():
                        logger.warning("%s cut at once (second signal): recorded as cut",
                                       ", ".join(w.name for w in stuck))
                    else:
                        logger.warning("%s still stopping %.0fs after the cut: recorded as cut",
                                       ", ".join(w.name for w in stuck), self.cut_wait)
                    await self.crawls.abandon(stuck)
                    for watch in stuck:
                        self._count_cut(watch)
        if self.scheduler is not None and self.scheduler.running:
            self.scheduler.shutdown(wait=False)  # cancels a dispatch job awaiting its round
        await self._final_dispatch()
        logger.info("daemon stopped: %d crawls (%d failed) since start", self.stats.crawls, self.stats.failed)

    async def _wait_first(self, futures, deadline: float) -> None:
        """Until one of `futures` is done, `deadline` (loop time) passes, or a second signal."""
        cut = asyncio.ensure_future(self._cut.wait())
        try:
            await asyncio.wait({*futures, cut}, timeout=max(0.0, deadline - asyncio.get_running_loop().time()),
                               return_when=asyncio.FIRST_COMPLETED)
        finally:
            cut.cancel()

    async def _final_dispatch(self) -> None:
        """The round in flight finishes, then one last round sends what is due; both within
        `final_dispatch_limit` (a second signal ends the wait at once). A round still running
        then is left to the process's end: the rows it claimed are sent again after their
        lease (`alerts.outbox.CLAIM_LEASE`), never lost."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.final_dispatch_limit
        final = False
        while True:
            current = self._dispatching
            if current is not None and (final or not current.done()):  # a finished round was logged by its job
                while not current.done() and not self._cut.is_set() and loop.time() < deadline:
                    await self._wait_first({current}, deadline)
                if not current.done():
                    logger.warning("deliveries: the round still running at shutdown is left unfinished; what it"
                                   " claimed is retried after its lease")
                    return
                self._log_round(current, final=final)
            if final or not self.config.subscriptions or self._cut.is_set() or loop.time() >= deadline:
                return
            self._start_dispatch()
            final = True

    def _log_round(self, done: asyncio.Future, *, final: bool) -> None:
        if done.cancelled():
            return
        exc = done.exception()
        if exc is not None:
            logger.error("dispatching deliveries failed%s: %s", " at shutdown" if final else "",
                         one_line(f"{type(exc).__name__}: {exc}"))
        else:
            self._log_report(done.result(), final=final)

    # -- jobs ----------------------------------------------------------------------------------

    async def crawl_job(self, watch) -> None:
        """One crawl and its health record; nothing raised here reaches the scheduler (a
        crawl cut at shutdown included: APScheduler would log the cancellation as an error)."""
        if self._stopping is not None and self._stopping.is_set():
            return
        self._running[watch.name] = asyncio.current_task()
        self._crawling[watch.name] = watch
        try:
            logger.info("crawl %s: starting", watch.name)
            outcome, recorded = await self.crawls.crawl(watch)
            self.stats.crawls += 1
            if not recorded:
                await asyncio.to_thread(record_outcome, self.config, watch, outcome)
            line = outcome_line(outcome)
            problems = self._problems(watch, outcome)
            if outcome.status == "failed":
                self.stats.failed += 1
                logger.warning("%s; %s", line, one_line(problems or "no error recorded"))
                self._log_next_run(watch)
            elif problems:
                logger.info("%s; %s", line, one_line(problems))
            else:
                logger.info("%s", line)
        except asyncio.CancelledError:
            if self._stopping is None or not self._stopping.is_set():
                raise
            logger.warning("crawl %s: cut at shutdown", watch.name)
            self._count_cut(watch)
        except Exception:  # a bug or a database problem in one job must not stop the daemon
            self.stats.job_errors += 1
            logger.exception("crawl %s: the job failed; the daemon goes on", watch.name)
        finally:
            self._running.pop(watch.name, None)
            self._crawling.pop(watch.name, None)

    def _problems(self, watch, outcome) -> str:
        """The crawl's errors as the reader can act on them (`jobs.views.explain`), in one line."""
        from crawler.orgs import default_orgs
        from jobs.views.explain import explain, headline

        return headline(explain(outcome.errors, status=outcome.status, watch=watch,
                                endpoints=getattr(self.config, "endpoints", None), registry=default_orgs()))

    def _log_next_run(self, watch) -> None:
        """After a failure, when the next try is: a silent half hour reads as a dead daemon."""
        from jobs.config import format_duration

        job = self.scheduler.get_job(f"watch:{watch.name}") if self.scheduler is not None else None
        when = getattr(job, "next_run_time", None)
        if when is None or (self._stopping is not None and self._stopping.is_set()):
            return
        wait = max(0.0, (when - self.clock()).total_seconds())
        logger.info("next crawl of %s at %s (in %s)", watch.name, iso(when), format_duration(round(wait / 60) * 60))

    def _count_cut(self, watch) -> None:
        """A crawl cut at shutdown is recorded `failed`: the stop summary counts it so, once."""
        if watch.name not in self._cut_counted:
            self._cut_counted.add(watch.name)
            self.stats.crawls += 1
            self.stats.failed += 1

    async def dispatch_job(self) -> None:
        """One round of deliveries (in a thread: SMTP and HTTP block). Cancelled at shutdown,
        the job ends quietly and the round goes on: `shutdown` waits for it."""
        try:
            report = await asyncio.shield(self._start_dispatch())
        except asyncio.CancelledError:
            if self._stopping is None or not self._stopping.is_set():
                raise
            return
        except Exception:
            logger.exception("dispatching deliveries failed; retrying at the next round")
            return
        self._log_report(report)

    def _log_report(self, report, final: bool = False) -> None:
        if report is not None and (report.attempted or report.suppressed or final):
            logger.info("deliveries%s: %s", " (final)" if final else "", report)

    def _start_dispatch(self) -> asyncio.Future:
        """The round in flight, else a new one: never two at once (they share the transport)."""
        if self._dispatching is None or self._dispatching.done():
            self._dispatching = in_thread(self._dispatch_once, name="openwatch-dispatch")
        return self._dispatching

    def _dispatch_once(self):
        from jobs.database import connect

        if self._dispatch is not None:
            dispatch = self._dispatch
        else:
            from alerts.outbox import dispatch
        db = connect(self.config.database)
        try:
            config, retired = self.config.alerts, dict(self.retired)  # seam: alerts get AlertSettings
            if retired:
                return dispatch(db, config, now=self.clock, transport=self.transport, retired=retired)
            return dispatch(db, config, now=self.clock, transport=self.transport)
        finally:
            db.close()


def in_thread(fn: Callable[[], Any], *, name: str) -> asyncio.Future:
    """`fn()` in a daemon thread; its result (or exception) in a future of the running loop.

    Unlike `asyncio.to_thread`, whose pool threads the interpreter joins at exit, a call the
    daemon gave up waiting for does not hold the process open. Cancelling the future does
    not stop the call.
    """
    loop = asyncio.get_running_loop()
    future = loop.create_future()

    def settle(ok: bool, value: Any) -> None:
        if not future.done():
            (future.set_result if ok else future.set_exception)(value)

    def work() -> None:
        try:
            ok, value = True, fn()
        except BaseException as exc:  # noqa: BLE001 - handed to the awaiting side
            ok, value = False, exc
        try:
            loop.call_soon_threadsafe(settle, ok, value)
        except RuntimeError:  # the loop is closed: nobody waits any more
            pass

    threading.Thread(target=work, name=name, daemon=True).start()
    return future


def run_daemon(config, debug: bool = False, *, mode: str | None = None, log_format: str | None = None) -> int:
    """`openwatch run`: hold the database's daemon lock, resume, run until SIGTERM/SIGINT.

    Returns 0 after a clean stop. A second daemon on the same database raises `AlreadyRunning`
    (the CLI prints its one line and exits 1: nothing could run).
    """
    from jobs.lock import DaemonLock
    from jobs.runner import run_in_reactor

    fmt = log_format or config.daemon.log_format
    crawls = executor_for(config, crawl_mode(config, mode), debug=debug, log_format=fmt)
    lock = DaemonLock(config.database)
    lock.acquire()
    # A reload asked before the loop handles SIGHUP must not end the daemon (SIGHUP's default);
    # the file watcher sees an edit made meanwhile.
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    quiet = QuietSkips()
    logging.getLogger("apscheduler.scheduler").addFilter(quiet)
    try:
        daemon = Daemon(config, crawls=crawls, debug=debug)
        daemon.prepare()
        return run_in_reactor(daemon.run)
    finally:
        logging.getLogger("apscheduler.scheduler").removeFilter(quiet)
        crawls.close()
        lock.release()

