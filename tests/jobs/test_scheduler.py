"""The daemon's decisions, without waiting: first runs, source health, and APScheduler itself
driven by a fake clock (intervals, no overlap, coalescing), and shutdown with fake crawls.

APScheduler 3 reads the time with `datetime.now()` in `schedulers/base.py` (which jobs are
due) and `executors/base.py` (misfire check), and has no clock hook; the `fake_clock` fixture
replaces that module-level name with a `datetime` whose `now()` is the test's clock. The
scheduler, its triggers, coalescing and `max_instances` all run unchanged; the test only
decides what time it is and when to look (`scheduler.wakeup()`).
"""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from jobs import scheduler as sched
from jobs import health
from jobs.crawls import base as crawls_base, process as crawls_process, store as crawls_store
from jobs.crawls.base import CrawlOutcome

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


@dataclass(frozen=True)
class W:
    name: str
    every: float
    enabled: bool = True
    jitter: float = 0.0
    timeout: float = 30.0
    failing_after: int = 3
    source: str = "huggingface"


# -- first runs ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "last, every, expected",
    [
        (None, 60, T0),                                     # never crawled: now
        (T0 - timedelta(seconds=20), 60, T0 + timedelta(seconds=40)),  # resume the interval
        (T0 - timedelta(seconds=60), 60, T0),               # exactly due
        (T0 - timedelta(days=3), 60, T0),                   # down for days: once, now
        (T0 + timedelta(seconds=5), 60, T0 + timedelta(seconds=65)),  # clock skew: still after
    ],
    ids=["never", "resume", "due", "overdue", "future"],
)
def test_plan_next_runs(last, every, expected):
    plan = sched.plan_next_runs([W("a", every)], {"a": last}, T0)
    assert plan == {"a": expected}


def test_plan_skips_disabled_watches_and_keeps_others_apart():
    watches = [W("a", 60), W("b", 3600, enabled=False), W("c", 300)]
    plan = sched.plan_next_runs(watches, {"c": T0 - timedelta(seconds=100)}, T0)
    assert plan == {"a": T0, "c": T0 + timedelta(seconds=200)}


def test_job_options_mean_what_the_design_says():
    options = sched.watch_job_options(W("a", 30 * 60, jitter=60), T0)
    assert options["max_instances"] == 1 and options["coalesce"] is True
    assert options["misfire_grace_time"] == 30 * 60 and options["next_run_time"] == T0
    assert options["trigger"].interval == timedelta(minutes=30) and options["trigger"].jitter == 60
    assert sched.watch_job_options(W("b", 5), T0)["misfire_grace_time"] == sched.MIN_MISFIRE_GRACE


def test_last_finished_prefers_watch_state_and_ignores_interrupted_crawls(tmp_path):
    from jobs.database import connect

    db = connect(tmp_path / "ow.db")
    db["crawls"].insert_all([
        {"watch": "a", "status": "ok", "finished_at": "2026-01-01T00:00:00.000000Z"},
        {"watch": "a", "status": "failed", "finished_at": "2026-01-01T05:00:00.000000Z"},
        {"watch": "b", "status": "partial", "finished_at": "2026-01-01T01:00:00.000000Z"},
        {"watch": "c", "status": "running", "finished_at": None},
    ])
    db["watch_state"].insert({"watch": "b", "last_finished_at": "2026-01-01T02:00:00.000000Z"})
    assert sched.last_finished(db) == {"a": T0, "b": T0 + timedelta(hours=2)}


def test_a_watch_that_never_succeeded_is_due_at_start_and_a_running_daemon_goes_on_from_its_failure(tmp_path):
    from jobs.database import connect

    db = connect(tmp_path / "ow.db")
    db["crawls"].insert({"watch": "papers", "status": "failed", "finished_at": "2026-01-01T00:00:00.000000Z"})
    db["watch_state"].insert_all([
        {"watch": "papers", "last_finished_at": "2026-01-01T00:00:00.000000Z", "last_status": "failed"},
        {"watch": "labs", "last_finished_at": "2026-01-01T01:00:00.000000Z", "last_status": "failed",
         "last_ok_at": "2025-12-31T00:00:00.000000Z"},
    ])
    assert sched.last_finished(db) == {"labs": T0 + timedelta(hours=1)}
    assert sched.plan_next_runs([W("papers", 6 * 3600)], sched.last_finished(db), T0 + timedelta(minutes=5)) == {
        "papers": T0 + timedelta(minutes=5)}
    assert sched.last_finished(db, at_start=False) == {"papers": T0, "labs": T0 + timedelta(hours=1)}


# -- source health ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "status, failures, failing, after, expected",
    [
        ("failed", 1, False, 3, None),
        ("failed", 2, False, 3, None),
        ("failed", 3, False, 3, health.FAILING),
        ("failed", 4, True, 3, None),        # already failing: no second event
        ("failed", 7, False, 3, health.FAILING),  # a crash lost the flag: decided again (same key)
        ("failed", 1, False, 1, health.FAILING),
        ("ok", 0, True, 3, health.RECOVERED),
        ("partial", 0, True, 3, health.RECOVERED),  # the source answered
        ("ok", 0, False, 3, None),
        ("partial", 0, False, 3, None),
    ],
)
def test_health_transition(status, failures, failing, after, expected):
    assert health.health_transition(status, failures, failing, after) == expected


def test_health_events_are_well_formed_and_keyed_per_episode():
    watch = W("labs", 60)
    a = health.failing_event(watch, failures=3, error="HTTP 500\nfrom x", episode="never", detected_at="2026-01-01T00:00:00Z")
    b = health.failing_event(watch, failures=4, error="other", episode="never", detected_at="2026-01-01T00:01:00Z")
    c = health.failing_event(watch, failures=3, error="x", episode="2026-01-02T00:00:00Z", detected_at="…")
    assert a["id"] == b["id"] != c["id"]
    assert a["type"] == "source.failing" and a["item"] == "source:labs" and a["watch"] == "labs"
    assert "HTTP 500 from x" in a["summary"] and "\n" not in a["summary"]
    assert a["data"] == {"org": None, "country": None, "source": "huggingface", "failures": 3, "error": "HTTP 500 from x"}
    r = health.recovered_event(watch, failing_key=a["dedupe_key"], failing_since="2026-01-01T00:00:00Z", detected_at="…")
    assert r["type"] == "source.recovered" and r["dedupe_key"] == f"source.recovered:{a['dedupe_key']}"
    assert len(health.failing_event(watch, failures=3, error="x" * 5000, episode="e", detected_at="…")["summary"]) < 500


def _config(tmp_path: Path, subscriptions: str = ""):
    from jobs.config.loader import load_config

    path = tmp_path / "openwatch.toml"
    path.write_text(
        'database = "ow.db"\n[[watch]]\nname = "labs"\nsource = "huggingface"\norgs = ["meta-llama"]\nevery = "1h"\n'
        + subscriptions
    )
    return load_config(path, {})


def _outcome(status: str, crawl_id=None, error="HTTP 500 from the listing"):
    return CrawlOutcome(watch="labs", status=status, crawl_id=crawl_id, errors=[error] if status == "failed" else [])


def test_record_health_three_failures_one_failing_then_one_recovered(tmp_path):
    config = _config(tmp_path, '[[subscription]]\nname = "hook"\nchannel = "webhook"\nurl = "http://127.0.0.1:9/x"\n'
                               'secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"\n')
    watch = config.watch("labs")
    emitted = []
    for status in ["ok", "failed", "failed", "failed", "failed", "failed", "ok", "ok", "failed"]:
        emitted += [e["type"] for e in crawls_store.record_outcome(config, watch, _outcome(status))]
    assert emitted == ["source.failing", "source.recovered"]
    store = crawls_store.open_store(config)
    rows = store.db.execute("select type, summary, item from events order by seq").fetchall()
    assert [r[0] for r in rows] == ["source.failing", "source.recovered"]
    assert "3 crawls in a row failed; last error: HTTP 500 from the listing" in rows[0][1]
    assert rows[0][2] == "source:labs"
    # The outbox rows were written with the events.
    assert store.db.execute("select count(*) from deliveries where subscription = 'hook'").fetchone() == (2,)
    state = store.db.execute("select consecutive_failures, failing from watch_state").fetchone()
    assert state == (1, 0)


def test_record_health_crash_between_event_and_flag_does_not_duplicate(tmp_path):
    config = _config(tmp_path)
    watch = config.watch("labs")
    for _ in range(3):
        crawls_store.record_outcome(config, watch, _outcome("failed"))
    store = crawls_store.open_store(config)
    store.set_failing("labs", False)  # as if the process died after emit, before set_failing
    assert crawls_store.record_outcome(config, watch, _outcome("failed")) == []  # same episode key: ignored
    assert store.db.execute("select count(*) from events").fetchone() == (1,)
    assert store.db.execute("select failing from watch_state").fetchone() == (1,)
    # recovery crashing after its event: the next success does not emit it twice
    assert [e["type"] for e in crawls_store.record_outcome(config, watch, _outcome("ok"))] == ["source.recovered"]
    store.set_failing("labs", True)
    assert crawls_store.record_outcome(config, watch, _outcome("ok")) == []
    assert store.db.execute("select type from events order by seq").fetchall() == [("source.failing",), ("source.recovered",)]


def _health(store):
    return store.db.execute("select consecutive_failures, failing from watch_state where watch = 'labs'").fetchone()


def test_failing_event_and_failing_flag_are_one_transaction(tmp_path, monkeypatch):
    import alerts.outbox
    from crawler.history.store import Store

    config = _config(tmp_path, '[[subscription]]\nname = "hook"\nchannel = "webhook"\nurl = "http://127.0.0.1:9/x"\n'
                               'secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"\n')
    watch = config.watch("labs")
    for _ in range(2):
        crawls_store.record_outcome(config, watch, _outcome("failed"))

    def killed(*args, **kwargs):
        raise SystemExit("killed inside the transaction")

    # Killed while writing the third failure's event: nothing of it is stored, flag included.
    monkeypatch.setattr(alerts.outbox, "enqueue", killed)
    with pytest.raises(SystemExit):
        crawls_store.record_outcome(config, watch, _outcome("failed"))
    monkeypatch.undo()
    store = crawls_store.open_store(config)
    assert store.db.execute("select count(*) from events").fetchone() == (0,)
    assert _health(store) == (3, None)  # never set
    # `set_failing` is no longer a step of its own: were it to fail, nothing would change.
    monkeypatch.setattr(Store, "set_failing", killed)
    assert [e["type"] for e in crawls_store.record_outcome(config, watch, _outcome("failed"))] == ["source.failing"]
    assert _health(store) == (4, 1)
    assert [e["type"] for e in crawls_store.record_outcome(config, watch, _outcome("ok"))] == ["source.recovered"]
    assert _health(store) == (0, 0)
    per_event = store.db.execute("select e.type, count(d.id) from events e left join deliveries d"
                                 " on d.event_id = e.id group by e.id order by e.seq").fetchall()
    assert per_event == [("source.failing", 1), ("source.recovered", 1)]  # each with its delivery


def test_emit_sets_the_flag_even_when_the_event_is_already_stored(tmp_path):
    config = _config(tmp_path)
    watch = config.watch("labs")
    store = crawls_store.open_store(config)
    event = health.failing_event(watch, failures=3, error="x", episode="never", detected_at="2026-01-01T00:00:00Z")
    assert [e["id"] for e in store.emit([event], failing=True)] == [event["id"]]
    store.db.execute("update watch_state set failing = 0")
    assert store.emit([event], failing=True) == []  # the same episode: no second event, the flag set
    assert store.db.execute("select failing from watch_state").fetchone() == (1,)
    with pytest.raises(ValueError):
        store.emit([], failing=False)  # the flag needs the events' one watch


def test_fail_running_only_touches_the_given_process(tmp_path):
    from jobs.database import connect

    db = connect(tmp_path / "ow.db")
    db["crawls"].insert_all([
        {"watch": "a", "status": "running", "pid": 10, "errors": "[]"},
        {"watch": "b", "status": "running", "pid": 11, "errors": "[]"},
        {"watch": "c", "status": "ok", "pid": 10, "errors": "[]"},
    ])
    assert crawls_store.fail_running(db, "cut", pid=10) == 1
    rows = db.execute("select watch, status, errors from crawls order by id").fetchall()
    assert rows == [("a", "failed", '["cut"]'), ("b", "running", "[]"), ("c", "ok", "[]")]


# -- APScheduler on a fake clock -----------------------------------------------------------


class FakeClock:
    def __init__(self, start: datetime):
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def at(self, seconds: float) -> None:
        self.now = T0 + timedelta(seconds=seconds)


@pytest.fixture
def fake_clock(monkeypatch):
    import apscheduler.executors.base
    import apscheduler.schedulers.base

    clock = FakeClock(T0)

    class ClockedDatetime(datetime):
        @classmethod
        def now(cls, tz=None):
            return clock.now.astimezone(tz) if tz else clock.now.replace(tzinfo=None)

    monkeypatch.setattr(apscheduler.schedulers.base, "datetime", ClockedDatetime)
    monkeypatch.setattr(apscheduler.executors.base, "datetime", ClockedDatetime)
    return clock


class FakeCrawls:
    """Crawls that take as long as the test says: `hold(name)` keeps the next ones running
    until `release(name)`."""

    mode = "fake"

    def __init__(self, clock, origin: datetime = T0):
        self.clock = clock
        self.origin = origin
        self.starts: dict[str, list[float]] = {}
        self.running: dict[str, int] = {}
        self.most_at_once: dict[str, int] = {}
        self.gates: dict[str, asyncio.Event] = {}
        self.status = "ok"
        self.stubborn = False  # a cut crawl that does not stop (Scrapy waiting for a download)
        self.abandoned: list[str] = []

    async def abandon(self, watches):
        self.abandoned += [w.name for w in watches]

    def hold(self, name):
        self.gates[name] = asyncio.Event()

    def release(self, name):
        self.gates.pop(name).set()

    def seconds(self, name):
        return self.starts.get(name, [])

    async def crawl(self, watch):
        name = watch.name
        self.starts.setdefault(name, []).append((self.clock() - self.origin).total_seconds())
        self.running[name] = self.running.get(name, 0) + 1
        self.most_at_once[name] = max(self.most_at_once.get(name, 0), self.running[name])
        try:
            if name in self.gates:
                try:
                    await self.gates[name].wait()
                except asyncio.CancelledError:
                    if self.stubborn:
                        await asyncio.shield(asyncio.Event().wait())
                    raise
            if self.status == "raise":
                raise RuntimeError("boom")
            return CrawlOutcome(watch=name, status=self.status), True
        finally:
            self.running[name] -= 1


@dataclass(frozen=True)
class FakeDaemonSettings:
    dispatch_every: float = 5.0
    shutdown_grace: float = 30.0
    log_format: str = "text"


@dataclass(frozen=True)
class FakeConfig:
    watches: tuple
    subscriptions: tuple = ()
    daemon: FakeDaemonSettings = field(default_factory=FakeDaemonSettings)
    path: Path = Path("openwatch.toml")
    database: Path = Path("unused.db")

    @property
    def alerts(self):
        """What `Config.alerts` hands the outbox."""
        from alerts.settings import AlertSettings

        return AlertSettings(self.subscriptions)


class FakeDispatch:
    """`alerts.outbox.dispatch`'s stand-in (same signature): records each round's transport;
    `hold()` keeps the rounds that start running until `release()`. With `inner`, each round
    runs that function (the real `dispatch`) too."""

    def __init__(self, inner=None):
        self.inner = inner
        self.transports: list = []
        self.finished = 0
        self.active = 0
        self.most_at_once = 0
        self.gate: threading.Event | None = None
        self._changed = threading.Condition()

    def hold(self):
        self.gate = threading.Event()

    def release(self):
        if self.gate is not None:
            self.gate.set()

    def __call__(self, db, config, *, now, transport, **options):
        from alerts.outbox import DispatchReport

        gate = self.gate
        with self._changed:
            self.transports.append(transport)
            self.active += 1
            self.most_at_once = max(self.most_at_once, self.active)
            self._changed.notify_all()
        try:
            if gate is not None:
                gate.wait(60)  # bounded: a failing test must not hang the suite
            return self.inner(db, config, now=now, transport=transport, **options) if self.inner else DispatchReport()
        finally:
            with self._changed:
                self.active -= 1
                self.finished += 1
                self._changed.notify_all()

    async def started(self, n: int) -> None:
        await self._wait(lambda: len(self.transports) >= n, f"{n} round(s) to start")

    async def done(self, n: int) -> None:
        await self._wait(lambda: self.finished >= n, f"{n} round(s) to finish")

    async def _wait(self, condition, what):
        def wait():
            with self._changed:
                if not self._changed.wait_for(condition, timeout=10):
                    raise AssertionError(f"timed out waiting for {what}")

        await asyncio.to_thread(wait)


class FakeTransport:
    def __init__(self):
        self.closed = 0

    def close(self):
        self.closed += 1


def _errors(caplog) -> list[str]:
    return [f"{r.name}: {r.getMessage()}" for r in caplog.records if r.levelno >= logging.ERROR]


async def _settle():
    """Let the tasks the scheduler just created run until they block (no wall-clock wait)."""
    for _ in range(20):
        await asyncio.sleep(0)


def test_two_watches_run_on_time_never_overlap_and_missed_runs_coalesce(fake_clock, caplog, tmp_path):
    caplog.set_level("INFO", logger="openwatch.daemon")
    fast, slow = W("fast", 60), W("slow", 150)
    crawls = FakeCrawls(fake_clock)
    daemon = sched.Daemon(FakeConfig(watches=(fast, slow), database=tmp_path / "ow.db"), crawls=crawls,
                          clock=fake_clock, dispatch=FakeDispatch())
    # `slow` last finished 100 s before start: it resumes 50 s in; `fast` never ran: now.
    daemon.plan = sched.plan_next_runs([fast, slow], {"slow": T0 - timedelta(seconds=100)}, T0)

    async def scenario():
        scheduler = sched.build_scheduler(asyncio.get_running_loop())
        daemon.add_jobs(scheduler, fake_clock())
        scheduler.start()

        async def tick(seconds):
            fake_clock.at(seconds)
            scheduler.wakeup()
            await _settle()

        await _settle()
        assert crawls.seconds("fast") == [0] and crawls.seconds("slow") == []
        await tick(50)
        assert crawls.seconds("slow") == [50]
        crawls.hold("fast")          # the crawl at 60 hangs past the runs at 120 and 180
        await tick(60)
        await tick(120)
        await tick(180)
        assert crawls.seconds("fast") == [0, 60]   # 120 and 180 skipped: never two at once
        await tick(200)
        assert crawls.seconds("slow") == [50, 200]
        crawls.release("fast")
        await tick(210)
        await tick(240)
        assert crawls.seconds("fast") == [0, 60, 240]
        # The loop was blocked (or the host asleep) from 240 until 1230: 16 runs of `fast`
        # and 6 of `slow` were missed. Each runs once, at once, 30 s late (within the grace).
        await tick(1230)
        assert crawls.seconds("fast") == [0, 60, 240, 1230]
        assert crawls.seconds("slow") == [50, 200, 1230]
        await tick(1259)
        assert len(crawls.seconds("fast")) == 4
        await tick(1260)  # back on its grid: 0 + 21 × 60
        assert crawls.seconds("fast")[-1] == 1260
        scheduler.shutdown(wait=False)
        await _settle()

    asyncio.run(scenario())
    assert crawls.most_at_once == {"fast": 1, "slow": 1}
    skipped = [r.getMessage() for r in caplog.records if "that run is skipped" in r.getMessage()]
    assert skipped == ["fast: still running at 2026-01-01T00:02:00Z; that run is skipped",
                       "fast: still running at 2026-01-01T00:03:00Z; that run is skipped"]


def test_a_job_that_raises_is_logged_and_the_next_run_happens(fake_clock, caplog, tmp_path):
    watch = W("flaky", 60)
    crawls = FakeCrawls(fake_clock)
    crawls.status = "raise"
    daemon = sched.Daemon(FakeConfig(watches=(watch,), database=tmp_path / "ow.db"), crawls=crawls,
                          clock=fake_clock, dispatch=FakeDispatch())
    daemon.plan = {"flaky": T0}

    async def scenario():
        scheduler = sched.build_scheduler(asyncio.get_running_loop())
        daemon.add_jobs(scheduler, fake_clock())
        scheduler.start()
        await _settle()
        crawls.status = "ok"
        fake_clock.at(60)
        scheduler.wakeup()
        await _settle()
        scheduler.shutdown(wait=False)
        await _settle()

    asyncio.run(scenario())
    assert crawls.seconds("flaky") == [0, 60]
    assert daemon.stats.job_errors == 1 and daemon.stats.crawls == 1
    assert "crawl flaky: the job failed; the daemon goes on" in caplog.text and "RuntimeError: boom" in caplog.text


# -- stopping -----------------------------------------------------------------------------


def test_dispatch_rounds_every_interval_or_once_without_subscriptions():
    from apscheduler.triggers.date import DateTrigger
    from apscheduler.triggers.interval import IntervalTrigger

    every = sched.dispatch_job_options(5, T0)
    assert isinstance(every["trigger"], IntervalTrigger) and every["trigger"].interval == timedelta(seconds=5)
    once = sched.dispatch_job_options(None, T0)
    assert isinstance(once["trigger"], DateTrigger) and once["trigger"].run_date == T0
    assert once["trigger"].get_next_fire_time(T0, T0 + timedelta(seconds=1)) is None
    assert once["max_instances"] == 1 and once["misfire_grace_time"] == sched.MIN_MISFIRE_GRACE


def _daemon_for_shutdown(tmp_path, grace: float, transport=None):
    """A daemon on the real clock (APScheduler's too): `a` is due now, `b` tomorrow."""
    now = datetime.now(timezone.utc)
    clock = FakeClock(now)
    crawls = FakeCrawls(clock, origin=now)
    dispatch = FakeDispatch()
    config = FakeConfig(watches=(W("a", 60), W("b", 60)), subscriptions=("sub",),
                        daemon=FakeDaemonSettings(shutdown_grace=grace), database=tmp_path / "ow.db")
    daemon = sched.Daemon(config, crawls=crawls, clock=clock, dispatch=dispatch, transport=transport)
    daemon.plan = {"a": now, "b": now + timedelta(days=1)}
    return daemon, crawls, dispatch


def test_stop_lets_running_crawls_finish_then_flushes_deliveries_once(tmp_path, caplog):
    transport = FakeTransport()
    daemon, crawls, dispatch = _daemon_for_shutdown(tmp_path, grace=30, transport=transport)

    async def scenario():
        crawls.hold("a")
        run = asyncio.ensure_future(daemon.run())
        while not crawls.seconds("a"):
            await asyncio.sleep(0)
        await dispatch.started(1)  # the dispatcher's own first round
        await daemon.dispatch_job()  # joins it: never two rounds at once
        await daemon.dispatch_job()  # another round
        daemon.request_stop("SIGTERM")
        await _settle()
        assert not run.done()           # waiting for the crawl of `a`
        assert transport.closed == 0
        crawls.release("a")
        assert await asyncio.wait_for(run, timeout=10) == 0

    asyncio.run(scenario())
    assert crawls.seconds("a") == [0] and crawls.seconds("b") == []
    assert dispatch.finished == 3  # two rounds, then the final one
    assert daemon.stats.crawls == 1
    # One transport for the daemon's life (the Slack rate limiter survives between rounds),
    # closed once at the end.
    assert dispatch.transports == [transport] * 3 and transport.closed == 1
    assert not _errors(caplog)


def test_stop_cuts_crawls_still_running_after_the_grace_period(tmp_path, caplog):
    from alerts.transport import Transport

    caplog.set_level("INFO")
    daemon, crawls, dispatch = _daemon_for_shutdown(tmp_path, grace=0.2)

    async def scenario():
        crawls.hold("a")  # never released
        run = asyncio.ensure_future(daemon.run())
        while not crawls.seconds("a"):
            await asyncio.sleep(0)
        daemon.request_stop("SIGTERM")
        return await asyncio.wait_for(run, timeout=10)

    assert asyncio.run(scenario()) == 0
    # The cut crawl is recorded `failed`, and the stop summary counts it so (issue 10).
    assert crawls.running == {"a": 0} and (daemon.stats.crawls, daemon.stats.failed) == (1, 1)
    assert dispatch.finished >= 1 and caplog.text.count("deliveries (final)") == 1  # flushed even so
    assert isinstance(dispatch.transports[0], Transport) and set(map(id, dispatch.transports)) == {id(daemon.transport)}
    assert daemon.transport.http is None  # closed
    assert "crawl a: cut at shutdown" in caplog.text
    assert not _errors(caplog)  # a cut crawl is not a job error (APScheduler logs a raised cancel as one)


def test_a_crawl_still_stopping_after_its_cut_is_recorded_as_cut_and_the_daemon_exits(tmp_path, caplog):
    daemon, crawls, dispatch = _daemon_for_shutdown(tmp_path, grace=0)
    daemon.cut_wait = 0.05
    crawls.stubborn = True

    async def scenario():
        crawls.hold("a")
        run = asyncio.ensure_future(daemon.run())
        while not crawls.seconds("a"):
            await asyncio.sleep(0)
        daemon.request_stop("SIGTERM")
        return await asyncio.wait_for(run, timeout=10)

    assert asyncio.run(scenario()) == 0
    assert crawls.abandoned == ["a"]
    assert "a still stopping 0s after the cut: recorded as cut" in caplog.text
    assert dispatch.finished >= 1
    assert not _errors(caplog)


def test_second_signal_cuts_at_once(tmp_path):
    daemon, crawls, _ = _daemon_for_shutdown(tmp_path, grace=3600)

    async def scenario():
        crawls.hold("a")
        run = asyncio.ensure_future(daemon.run())
        while not crawls.seconds("a"):
            await asyncio.sleep(0)
        daemon.request_stop("SIGTERM")
        await _settle()
        daemon.request_stop("SIGINT")
        return await asyncio.wait_for(run, timeout=10)

    assert asyncio.run(scenario()) == 0


def test_stop_during_a_dispatch_round_waits_for_it_then_flushes_without_errors(tmp_path, caplog):
    caplog.set_level("INFO")
    transport = FakeTransport()
    daemon, crawls, dispatch = _daemon_for_shutdown(tmp_path, grace=30, transport=transport)

    async def scenario():
        dispatch.hold()
        run = asyncio.ensure_future(daemon.run())
        await dispatch.started(1)       # the first round is sending
        daemon.request_stop("SIGTERM")  # the scheduler's shutdown cancels its job
        await _settle()
        assert not run.done()           # waiting for the round in flight,
        assert len(dispatch.transports) == 1  # not starting another beside it
        dispatch.release()
        return await asyncio.wait_for(run, timeout=10)

    assert asyncio.run(scenario()) == 0
    assert dispatch.finished == 2 and dispatch.most_at_once == 1
    assert dispatch.transports == [transport] * 2 and transport.closed == 1
    assert "deliveries (final)" in caplog.text
    assert not _errors(caplog)  # before: `Job "dispatch deliveries" raised an exception` (CancelledError)


@pytest.mark.parametrize("how", ["time limit", "second signal"])
def test_final_dispatch_is_bounded(tmp_path, caplog, how):
    transport = FakeTransport()
    daemon, crawls, dispatch = _daemon_for_shutdown(tmp_path, grace=30, transport=transport)
    daemon.final_dispatch_limit = 0.05 if how == "time limit" else 3600

    async def scenario():
        dispatch.hold()  # the receiver never answers
        run = asyncio.ensure_future(daemon.run())
        await dispatch.started(1)
        daemon.request_stop("SIGTERM")
        if how == "second signal":
            await _settle()
            assert not run.done()
            daemon.request_stop("SIGINT")
        return await asyncio.wait_for(run, timeout=10)

    try:
        assert asyncio.run(scenario()) == 0
        assert "the round still running at shutdown is left unfinished" in caplog.text
        assert dispatch.finished == 0 and len(dispatch.transports) == 1
        assert transport.closed == 0  # the round still uses it; it goes with the process
        assert not _errors(caplog)
    finally:
        dispatch.release()


def test_a_daemon_never_suppresses_what_waits_for_a_subscription_it_never_had(tmp_path):
    """Rows of `hook`, queued by a process whose config has it: this daemon never loaded a
    config with `hook`, so they wait for one that has (DESIGN.md rule 8)."""
    from alerts.outbox import dispatch as real_dispatch

    hook = ('[[subscription]]\nname = "hook"\nchannel = "webhook"\nurl = "http://127.0.0.1:9/x"\n'
            'secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"\n')
    other = _config(tmp_path, hook)
    for _ in range(3):
        crawls_store.record_outcome(other, other.watch("labs"), _outcome("failed"))
    config = _config(tmp_path)  # this daemon's config has no subscription
    dispatch = FakeDispatch(inner=real_dispatch)
    crawls = FakeCrawls(sched.utc_now, origin=sched.utc_now())
    daemon = sched.Daemon(config, crawls=crawls, dispatch=dispatch, transport=FakeTransport())
    daemon.prepare()

    async def scenario():
        run = asyncio.ensure_future(daemon.run())
        await dispatch.done(1)
        daemon.request_stop("SIGTERM")
        return await asyncio.wait_for(run, timeout=10)

    assert asyncio.run(scenario()) == 0
    assert dispatch.finished == 1  # once at start; no periodic or final round without subscriptions
    store = crawls_store.open_store(config)
    assert store.db.execute("select subscription, status, last_error from deliveries").fetchall() == [
        ("hook", "pending", None)]
    # `status` with this config (no subscription at all) says what waits, and for whom.
    from jobs.views.status import status_report

    waiting = status_report(config, store.db)["subscriptions"]
    assert [(s["name"], s["target"], s["pending"]) for s in waiting] == [
        ("hook", "(not in this config: waiting for a process that knows it)", 1)]


# -- crawl children left by a killed daemon --------------------------------------------------


def _running_crawl(db, pid: int) -> None:
    db["crawls"].insert({"watch": "labs", "source": "huggingface", "started_at": "2026-01-01T00:00:00Z",
                         "status": "running", "pid": pid, "errors": "[]"})


# What `ps` shows for a crawl child: `python -m jobs --config … crawl labs` (`-c` runs a stand-in).
CRAWL_ARGV = [sys.executable, "-c", "import time; time.sleep(600)", "-m", "jobs", "crawl", "labs"]


def _gone(pid: int) -> bool:
    import psutil

    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_stop_orphans_leaves_a_manual_crawl_and_a_live_daemons_child_alone(tmp_path):
    from jobs.database import connect

    env = {k: v for k, v in os.environ.items() if k != crawls_process.PARENT_ENV}
    manual = subprocess.Popen(CRAWL_ARGV, env=env)  # a user's `openwatch crawl` in another terminal
    child = subprocess.Popen(CRAWL_ARGV, env={**env, crawls_process.PARENT_ENV: str(os.getpid())})  # our own child
    db = connect(tmp_path / "ow.db")
    try:
        _running_crawl(db, manual.pid)
        _running_crawl(db, child.pid)
        assert sched.stop_orphans(db, me=1) == []
        assert manual.poll() is None and child.poll() is None
    finally:
        for proc in (manual, child):
            proc.kill()
            proc.wait()


def test_stop_orphans_stops_a_crawl_child_whose_daemon_died(tmp_path):
    from jobs.database import connect

    # A "daemon" starts a crawl child the way SubprocessExecutor does, then dies.
    spawn = ("import os, subprocess, sys\n"
             f"argv = {CRAWL_ARGV!r}\n"
             f"env = {{**os.environ, {crawls_process.PARENT_ENV!r}: str(os.getpid())}}\n"
             "child = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,"
             " stderr=subprocess.DEVNULL)\n"
             "print(child.pid)\n")
    daemon = subprocess.run([sys.executable, "-c", spawn], capture_output=True, text=True, check=True, timeout=30)
    orphan = int(daemon.stdout)
    db = connect(tmp_path / "ow.db")
    try:
        _running_crawl(db, orphan)
        assert sched.stop_orphans(db, kill_after=5) == [orphan]
        assert _gone(orphan)
    finally:
        if not _gone(orphan):
            os.kill(orphan, 9)


def test_subprocess_crawls_tell_their_child_the_daemons_pid():
    crawls = crawls_process.SubprocessExecutor(FakeConfig(watches=()))
    env = crawls.env({"PATH": "/bin", crawls_process.PARENT_ENV: "1"})
    assert env == {"PATH": "/bin", crawls_process.PARENT_ENV: str(os.getpid())}


def test_nothing_to_run_is_refused(tmp_path):
    from jobs.exceptions import OpenwatchError

    config = FakeConfig(watches=(W("a", 60, enabled=False),), database=tmp_path / "ow.db")
    with pytest.raises(OpenwatchError, match="nothing to run"):
        sched.Daemon(config, crawls=FakeCrawls(FakeClock(T0))).prepare()


def test_crawl_mode_choice():
    config = FakeConfig(watches=())
    assert crawls_base.crawl_mode(config, environ={}) == crawls_base.DEFAULT_MODE
    assert crawls_base.crawl_mode(config, environ={"OPENWATCH_CRAWL_MODE": "inprocess"}) == "inprocess"
    assert crawls_base.crawl_mode(config, "subprocess", environ={"OPENWATCH_CRAWL_MODE": "inprocess"}) == "subprocess"
    from jobs.exceptions import ConfigError

    with pytest.raises(ConfigError):
        crawls_base.crawl_mode(config, environ={"OPENWATCH_CRAWL_MODE": "threads"})
