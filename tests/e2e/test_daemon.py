"""The daemon end to end: the real `openwatch run` in a subprocess, real crawls against the hub
emulator, a real SQLite file, real signals. Waits are on conditions (database rows, log
lines) with deadlines, never on fixed sleeps."""

from __future__ import annotations

import json
import queue
import re
import signal
import sqlite3
import threading
import time

import pytest

from alerts.receivers import HttpReceiver
from crawler.emulator import Fault
from tests.support.cli import CLI, write_config

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


class Daemon:
    """`openwatch run` in the background; its stderr lines are collected as they come."""

    def __init__(self, cli: CLI, *args: str):
        self.proc = cli.popen(*args, "run")
        self.lines: list[str] = []
        self._new = queue.Queue()
        self._threads = [threading.Thread(target=self._read, args=(self.proc.stderr, True), daemon=True),
                         threading.Thread(target=self._read, args=(self.proc.stdout, False), daemon=True)]
        for thread in self._threads:
            thread.start()

    def _read(self, stream, keep: bool) -> None:
        for line in stream:
            if keep:
                self.lines.append(line.rstrip("\n"))
                self._new.put(line)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def wait_for_line(self, pattern: str, timeout: float = 30) -> str:
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        seen = 0
        while True:
            for line in self.lines[seen:]:
                if regex.search(line):
                    return line
            seen = len(self.lines)
            if self.proc.poll() is not None and self._new.empty():
                raise AssertionError(f"daemon exited {self.proc.returncode} before {pattern!r}:\n" + self.log())
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no log line matching {pattern!r} within {timeout}s:\n" + self.log())
            try:
                self._new.get(timeout=min(remaining, 0.5))
            except queue.Empty:
                pass

    def stop(self, sig=signal.SIGTERM, timeout: float = 30) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        code = self.proc.wait(timeout=timeout)
        for thread in self._threads:
            thread.join(timeout=5)
        return code

    def log(self) -> str:
        return "\n".join(self.lines[-60:])


def rows(cli: CLI, sql: str, params=()):
    path = cli.config.parent / "openwatch.db"
    if not path.exists():
        return []
    conn = sqlite3.connect(path, timeout=30)
    try:
        return conn.execute(sql, params).fetchall()
    except sqlite3.OperationalError as exc:  # tables not created yet
        if "no such table" in str(exc):
            return []
        raise
    finally:
        conn.close()


def wait_until(condition, what: str, timeout: float = 60, daemon: Daemon | None = None):
    """Poll `condition()` until it is truthy; returns its value."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if daemon is not None and daemon.proc.poll() is not None:
            raise AssertionError(f"daemon exited {daemon.proc.returncode} while waiting for {what}:\n{daemon.log()}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}" + (f":\n{daemon.log()}" if daemon else ""))
        time.sleep(0.1)  # polling interval of a condition, not a readiness guess


def _now() -> str:
    from datetime import datetime, timezone

    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def unclaimed_due(cli) -> int:
    """Pending deliveries that are due and held by no dispatcher's claim (a claim is the
    `claimed_until` column where the schema has it, else a due time moved past the lease)."""
    columns = {name for (_, name, *_) in rows(cli, "pragma table_info(deliveries)")}
    now = _now()
    if "claimed_until" in columns:
        sql = ("select count(*) from deliveries where status = 'pending' and next_attempt_at <= ?"
               " and (claimed_until is null or claimed_until <= ?)")
        return rows(cli, sql, (now, now))[0][0]
    return rows(cli, "select count(*) from deliveries where status = 'pending' and next_attempt_at <= ?", (now,))[0][0]


def crawls(cli, watch, status=None):
    sql = "select id, status, errors from crawls where watch = ?" + (" and status = ?" if status else "") + " order by id"
    return rows(cli, sql, (watch, status) if status else (watch,))


def events_of(cli, type_, watch=None):
    sql = "select id, watch, summary from events where type = ?" + (" and watch = ?" if watch else "") + " order by seq"
    return rows(cli, sql, (type_, watch) if watch else (type_,))


@pytest.fixture
def receiver():
    with HttpReceiver() as rx:
        yield rx


def test_raising_and_hanging_watches_leave_the_daemon_serving_the_others(tmp_path, emulator, receiver):
    world = emulator.world
    world.add_model("meta-llama/Llama-3.1-8B", license="llama3.1")
    world.add_model("broken-org/Model", license="mit")
    world.add_model("slow-org/Model", license="mit")
    # A listing row whose `siblings` is a number: the spider's callback raises TypeError.
    broken = emulator.faults.add(Fault("author=broken-org", status=200, body='[{"id": "broken-org/x", "siblings": 5}]',
                                       headers={"Content-Type": "application/json"}))
    emulator.faults.add(Fault("author=slow-org", status=None, delay=60))
    config = write_config(
        tmp_path / "openwatch.toml", hf=emulator.url,
        watches=[
            {"name": "steady", "source": "huggingface", "orgs": ["meta-llama"], "every": "1s", "timeout": "30s",
             "jitter": "0s"},
            {"name": "broken", "source": "huggingface", "orgs": ["broken-org"], "every": "1s", "timeout": "30s",
             "jitter": "0s"},
            {"name": "hung", "source": "huggingface", "orgs": ["slow-org"], "every": "1s", "timeout": "2s",
             "jitter": "0s"},
        ],
        subscriptions=[{"name": "ops", "channel": "webhook", "url": receiver.url("/hook"), "secret": SECRET,
                        "events": ["source.failing", "source.recovered"], "watches": ["broken"]}],
        extra='\n[daemon]\ndispatch_every = "1s"\nshutdown_grace = "5s"\n',
    )
    ow = CLI(config)
    daemon = Daemon(ow)
    try:
        wait_until(lambda: events_of(ow, "source.failing", "broken"), "source.failing of broken", 90, daemon)
        hung = wait_until(lambda: crawls(ow, "hung", "failed"), "a failed crawl of hung", 60, daemon)
        assert "timed out" in hung[0][2]
        steady_before = len(crawls(ow, "steady", "ok"))
        wait_until(lambda: len(crawls(ow, "steady", "ok")) >= steady_before + 2, "steady served on", 60, daemon)
        emulator.faults.remove(broken)
        wait_until(lambda: events_of(ow, "source.recovered", "broken"), "source.recovered of broken", 60, daemon)
        wait_until(lambda: len(receiver.requests) >= 2, "both alerts delivered", 30, daemon)
    finally:
        code = daemon.stop()
    assert code == 0, daemon.log()
    failed = crawls(ow, "broken", "failed")
    assert len(failed) >= 3
    assert any("Spider error processing" in line for line in daemon.lines)  # the callback raised
    assert len(events_of(ow, "source.failing", "broken")) == 1
    assert len(events_of(ow, "source.recovered", "broken")) == 1
    assert [r.json["type"] for r in receiver.requests[:2]] == ["source.failing", "source.recovered"]
    assert receiver.requests[0].json["data"]["failures"] == 3
    assert rows(ow, "select count(*) from crawls where status = 'running'") == [(0,)]


@pytest.mark.parametrize("mode", ["inprocess", "subprocess"])
def test_kill_9_mid_crawl_then_restart_loses_and_duplicates_nothing(tmp_path, emulator, receiver, mode):
    world = emulator.world
    for org in ("deepseek-ai", "Qwen"):
        for i in range(3):
            world.add_model(f"{org}/Base-{i}", license="mit")
    config = write_config(
        tmp_path / "openwatch.toml", hf=emulator.url,
        watches=[{"name": "labs", "source": "huggingface", "orgs": ["deepseek-ai", "Qwen"], "every": "2s",
                  "timeout": "2m", "jitter": "0s"}],
        subscriptions=[{"name": "hook", "channel": "webhook", "url": receiver.url("/hook"), "secret": SECRET}],
        extra='\n[daemon]\ndispatch_every = "1s"\n',
    )
    ow = CLI(config, env={"OPENWATCH_CRAWL_MODE": mode})
    first = Daemon(ow)
    try:
        wait_until(lambda: crawls(ow, "labs", "ok"), "the baseline crawl", 60, first)
        for org in ("deepseek-ai", "Qwen"):
            for i in range(4):
                world.add_model(f"{org}/New-{i}", license="mit")
        # deepseek-ai's listing is answered (its events committed), Qwen's hangs: the crawl
        # is mid-way when the daemon is killed.
        slow = emulator.faults.add(Fault("author=Qwen", status=None, delay=60))
        wait_until(lambda: len(events_of(ow, "model.added")) == 4
                   and rows(ow, "select count(*) from crawls where status = 'running'")[0][0] == 1,
                   "a crawl half-way", 60, first)
        (interrupted,) = rows(ow, "select id from crawls where status = 'running'")[0]
        first.proc.kill()
        first.proc.wait(timeout=10)
    finally:
        first.stop(timeout=10)
    emulator.faults.remove(slow)

    second = Daemon(ow)
    try:
        wait_until(lambda: rows(ow, "select count(*) from crawls where status = 'ok' and id > ?", (interrupted,))[0][0],
                   "a complete crawl after the restart", 90, second)
        # Rows the killed dispatcher had claimed stay leased (alerts.outbox.CLAIM_LEASE), then
        # are resent: at-least-once. Everything else due goes out now.
        wait_until(lambda: unclaimed_due(ow) == 0, "deliveries dispatched", 30, second)
    finally:
        code = second.stop()
    assert code == 0, second.log()
    if mode == "subprocess":  # the killed daemon's crawl child was stopped, not left to race
        assert any("stopped 1 crawl process(es) left by a previous daemon" in line for line in second.lines)

    assert rows(ow, "pragma integrity_check") == [("ok",)]
    assert rows(ow, "select status from crawls where id = ?", (interrupted,)) == [("failed",)]
    (errors,) = rows(ow, "select errors from crawls where id = ?", (interrupted,))[0]
    assert "interrupted" in errors
    added = rows(ow, "select item from events where type = 'model.added' order by item")
    assert [a for (a,) in added] == sorted(f"model:hf/{org}/New-{i}" for org in ("deepseek-ai", "Qwen") for i in range(4))
    assert rows(ow, "select count(*), count(distinct dedupe_key) from events") == [(8, 8)]
    assert rows(ow, "select count(*), count(distinct event_id) from deliveries") == [(8, 8)]
    delivered = {r.json["id"] for r in receiver.requests}
    sent = {e for (e,) in rows(ow, "select event_id from deliveries where status = 'sent'")}
    assert sent <= delivered  # every delivery marked sent did reach the receiver
    assert rows(ow, "select count(*) from crawls where status = 'running'") == [(0,)]


def test_sigterm_stops_within_the_grace_period_and_a_second_daemon_refuses(tmp_path, emulator):
    emulator.world.add_model("meta-llama/Llama-3.1-8B", license="llama3.1")
    # The first crawl's listing takes 3 s: SIGTERM arrives while it runs.
    emulator.faults.add(Fault("author=meta-llama", status=None, delay=3, times=1))
    config = write_config(
        tmp_path / "openwatch.toml", hf=emulator.url,
        watches=[{"name": "labs", "source": "huggingface", "orgs": ["meta-llama"], "every": "1h"}],
        extra='\n[daemon]\nshutdown_grace = "20s"\n',
    )
    ow = CLI(config)
    daemon = Daemon(ow, "--log-format", "json")
    try:
        daemon.wait_for_line(r"crawl labs: starting")
        wait_until(lambda: rows(ow, "select count(*) from crawls where status = 'running'") == [(1,)],
                   "the crawl to start", 30, daemon)
        second = ow("run", check=False, timeout=60)
        assert second.returncode == 1
        assert second.stderr.strip().splitlines() == [
            f"Error: another openwatch daemon (pid {daemon.pid}) is using {tmp_path / 'openwatch.db'}; "
            "stop it first, or point this one at another database"]
        assert ow.json("status")["daemon"] == f"running (pid {daemon.pid})"
        started = time.monotonic()
        daemon.proc.send_signal(signal.SIGTERM)
        code = daemon.proc.wait(timeout=30)
        elapsed = time.monotonic() - started
    finally:
        daemon.stop()
    assert code == 0, daemon.log()
    assert elapsed < 20
    assert rows(ow, "select status from crawls") == [("ok",)]  # finished, not cut
    records = [json.loads(line) for line in daemon.lines]  # every line is one JSON record
    messages = [r["message"] for r in records]
    assert any(m.startswith("SIGTERM: stopping") for m in messages)
    assert messages[-1].startswith("daemon stopped")
    report = ow.json("status")
    assert report["daemon"] == "not running"
    (watch,) = report["watches"]
    assert watch["result"] == "ok" and watch["next_run"] > watch["last_crawl"]


def test_restart_resumes_the_schedule_instead_of_recrawling(tmp_path, emulator):
    emulator.world.add_model("meta-llama/Llama-3.1-8B", license="llama3.1")
    config = write_config(
        tmp_path / "openwatch.toml", hf=emulator.url,
        watches=[{"name": "labs", "source": "huggingface", "orgs": ["meta-llama"], "every": "1h"}],
    )
    ow = CLI(config)
    ow("crawl", "labs")
    daemon = Daemon(ow)
    try:
        line = daemon.wait_for_line(r"watch labs: every 1h, first run")
        daemon.wait_for_line(r"deliveries|daemon started", timeout=5)
    finally:
        code = daemon.stop()
    assert code == 0
    (finished,) = rows(ow, "select last_finished_at from watch_state where watch = 'labs'")[0]
    first_run = line.rsplit(" ", 1)[-1]
    assert first_run[:16] > finished[:16]  # about an hour after the manual crawl, not now
    assert rows(ow, "select count(*) from crawls") == [(1,)]


def _trouble(lines: list[str]) -> list[str]:
    """Lines that should never appear in the log of a clean stop."""
    return [line for line in lines if " ERROR " in line or "Traceback" in line or "CancelledError" in line]


def test_sigterm_during_a_dispatch_round_lets_it_finish_and_stops_cleanly(tmp_path, emulator, receiver):
    from alerts.receivers import Response

    world = emulator.world
    world.add_model("meta-llama/Llama-3.1-8B", license="llama3.1")
    config = write_config(
        tmp_path / "openwatch.toml", hf=emulator.url,
        watches=[{"name": "labs", "source": "huggingface", "orgs": ["meta-llama"], "every": "1h"}],
        subscriptions=[{"name": "hook", "channel": "webhook", "url": receiver.url("/hook"), "secret": SECRET}],
    )
    ow = CLI(config)
    ow("crawl", "labs")                       # the baseline
    world.add_model("meta-llama/Llama-4-Scout", license="llama4")
    ow("crawl", "labs")                       # one model.added, its delivery pending
    assert rows(ow, "select status from deliveries") == [("pending",)]
    receiver.script(Response(200, delay=2))   # the receiver takes 2 s to answer
    daemon = Daemon(ow)
    try:
        receiver.wait_for(1, timeout=30)      # the daemon's first round is sending it
        daemon.proc.send_signal(signal.SIGTERM)
        code = daemon.proc.wait(timeout=30)
    finally:
        daemon.stop()
    assert code == 0, daemon.log()
    assert rows(ow, "select status from deliveries") == [("sent",)]  # the round finished, then the final one
    assert len(receiver.requests) == 1
    assert not _trouble(daemon.lines), daemon.log()
    assert daemon.lines[-1].endswith("daemon stopped: 0 crawls (0 failed) since start")


@pytest.mark.parametrize("mode", ["inprocess", "subprocess"])
def test_sigterm_past_the_grace_cuts_the_crawl_promptly_and_closes_its_row(tmp_path, emulator, mode):
    emulator.world.add_model("meta-llama/Llama-3.1-8B", license="llama3.1")
    emulator.faults.add(Fault("author=meta-llama", status=None, delay=60))  # the listing hangs
    config = write_config(
        tmp_path / "openwatch.toml", hf=emulator.url,
        watches=[{"name": "labs", "source": "huggingface", "orgs": ["meta-llama"], "every": "1h",
                  "timeout": "5m"}],
        extra='\n[daemon]\nshutdown_grace = "1s"\n',
    )
    ow = CLI(config, env={"OPENWATCH_CRAWL_MODE": mode})
    daemon = Daemon(ow)
    try:
        wait_until(lambda: rows(ow, "select count(*) from crawls where status = 'running'") == [(1,)],
                   "the crawl to start", 30, daemon)
        started = time.monotonic()
        daemon.proc.send_signal(signal.SIGTERM)
        code = daemon.proc.wait(timeout=60)
        elapsed = time.monotonic() - started
    finally:
        daemon.stop()
    assert code == 0, daemon.log()
    # 1 s of grace, then at most jobs.scheduler.CUT_WAIT (10 s) for the crawl to stop: not the listing's 60 s.
    assert elapsed < 25, daemon.log()
    ((status, errors),) = rows(ow, "select status, errors from crawls")
    assert status == "failed", daemon.log()
    assert "cut: the daemon stopped before the crawl finished" in errors, errors
    assert any("cutting 1 crawl(s) still running: labs" in line for line in daemon.lines)
    # The cut aborted the listing in flight: the crawl stopped and closed its row itself, it
    # was not left stopping until the daemon gave up on it (Scrapy's stop waits for downloads).
    assert not any("after the cut" in line for line in daemon.lines), daemon.log()
    assert not _trouble(daemon.lines), daemon.log()


def test_a_crawl_cut_at_its_timeout_ends_its_rate_limit_wait_and_exits(tmp_path, emulator):
    """A 429 asking for 200 s (under RATELIMIT_MAX_WAIT, so the crawl waits) in a watch whose
    timeout is 3 s: the cut ends the wait, the crawl is recorded as timed out, the command
    exits (it used to sit out the engine's 30 s stop grace, then cancel it uncleanly)."""
    emulator.world.add_model("meta-llama/Llama-3.1-8B", license="llama3.1")
    emulator.faults.add(Fault("author=meta-llama", status=429, headers={"Retry-After": "200"}))
    config = write_config(
        tmp_path / "openwatch.toml", hf=emulator.url,
        watches=[{"name": "labs", "source": "huggingface", "orgs": ["meta-llama"], "every": "1h",
                  "timeout": "3s"}],
    )
    ow = CLI(config)
    proc = ow("crawl", "labs", check=False, timeout=120)
    assert proc.returncode == 1, proc.stderr
    assert "did not stop cleanly" not in proc.stderr, proc.stderr
    ((status, errors, finished),) = rows(ow, "select status, errors, finished_at from crawls")
    assert status == "failed" and finished is not None, errors
    assert "timed out after 3s" in errors, errors
