"""Config reloads (DESIGN.md rule 8) through the real CLI: a real `openwatch run` in a
subprocess against the hub emulator, the config file edited while it runs, real loopback
webhook receivers. Waits are on conditions (log lines, database rows, requests) with deadlines.
"""

from __future__ import annotations

import signal
from datetime import datetime, timezone

import pytest

from alerts.receivers import HttpReceiver, Response
from crawler.emulator import Fault
from jobs import scheduler as sched
from tests.support.cli import CLI, write_config
from tests.e2e.test_daemon import Daemon, rows, wait_until

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
DAEMON = '\n[daemon]\ndispatch_every = "1s"\nshutdown_grace = "30s"\n'


def hook(name: str, receiver: HttpReceiver, **extra) -> dict:
    return {"name": name, "channel": "webhook", "url": receiver.url(f"/{name}"), "secret": SECRET,
            "events": ["model.added"], **extra}


def labs(every: str = "1h") -> dict:
    return {"name": "labs", "source": "huggingface", "orgs": ["deepseek-ai"], "every": every, "jitter": "0s",
            "timeout": "1m"}


def deliveries(ow: CLI) -> list[tuple]:
    return rows(ow, "select d.subscription, e.item, d.status, d.last_error from deliveries d"
                    " join events e on e.id = d.event_id order by d.id")


def received(receiver: HttpReceiver, path: str) -> list[str]:
    return [r.json["item"] for r in receiver.requests if r.path == path]


def started(daemon: Daemon, ow: CLI) -> None:
    """The daemon is up and its first crawl of labs (the baseline) is over."""
    daemon.wait_for_line(r"daemon started")
    wait_until(lambda: rows(ow, "select count(*) from crawls where watch = 'labs' and status = 'ok'")[0][0] >= 1,
               "the baseline crawl", 60, daemon)


@pytest.fixture
def receiver():
    with HttpReceiver() as rx:
        yield rx


def test_a_subscription_added_while_the_daemon_runs_gets_the_next_event(tmp_path, emulator, receiver):
    """The issue's report: a subscription added to the file, then a crawl from a shell with the
    new file stores an event; the daemon (still on the old config for a moment) must not
    suppress it, and once it reloaded it sends it. Then a watch rescheduled by an edit runs on
    its new interval, and the daemon's own crawls queue for the new subscription too."""
    world = emulator.world
    world.add_model("deepseek-ai/Base-0", license="mit")
    path = tmp_path / "openwatch.toml"
    write_config(path, hf=emulator.url, watches=[labs()], subscriptions=[hook("old", receiver)], extra=DAEMON)
    ow = CLI(path)
    daemon = Daemon(ow)
    try:
        started(daemon, ow)
        write_config(path, hf=emulator.url, watches=[labs()],
                     subscriptions=[hook("old", receiver), hook("new", receiver)], extra=DAEMON)
        world.add_model("deepseek-ai/New-1", license="mit")
        assert "1 events" in ow("crawl", "labs").stdout
        daemon.wait_for_line(r"config reloaded \(the file changed\): subscriptions added: new$")
        wait_until(lambda: received(receiver, "/new"), "the new subscription's delivery", 30, daemon)

        # An edit of the watch's interval: the daemon's own next crawl comes at the new one.
        write_config(path, hf=emulator.url, watches=[labs("1s")],
                     subscriptions=[hook("old", receiver), hook("new", receiver)], extra=DAEMON)
        daemon.wait_for_line(r"config reloaded \(the file changed\): watches rescheduled: labs$")
        world.add_model("deepseek-ai/New-2", license="mit")
        wait_until(lambda: len(received(receiver, "/new")) >= 2, "the daemon's own event, delivered", 60, daemon)
    finally:
        code = daemon.stop()
    assert code == 0, daemon.log()
    assert received(receiver, "/new") == ["model:hf/deepseek-ai/New-1", "model:hf/deepseek-ai/New-2"]
    assert sorted(received(receiver, "/old")) == ["model:hf/deepseek-ai/New-1", "model:hf/deepseek-ai/New-2"]
    assert {status for _, _, status, _ in deliveries(ow)} == {"sent"}
    assert not [line for line in daemon.lines if "suppressed" in line]


def test_sighup_with_an_invalid_file_is_refused_in_one_line_and_the_running_config_stays(
    tmp_path, emulator, receiver
):
    world = emulator.world
    world.add_model("deepseek-ai/Base-0", license="mit")
    path = tmp_path / "openwatch.toml"
    write_config(path, hf=emulator.url, watches=[labs("1s")], subscriptions=[hook("team", receiver)], extra=DAEMON)
    good = path.read_text()
    ow = CLI(path)
    daemon = Daemon(ow)
    try:
        started(daemon, ow)
        path.write_text(good.replace('every = "1s"', 'every = "soon"'))
        error = ow("status", check=False).stderr.strip()  # what a start with this file says
        assert error.startswith(f"Error: {path}:") and "every" in error, error
        daemon.proc.send_signal(signal.SIGHUP)
        line = daemon.wait_for_line(r"config not reloaded \(SIGHUP\)")
        assert line.endswith("config not reloaded (SIGHUP), the running config stays: " + error.removeprefix("Error: "))
        # The running config goes on: labs every second, deliveries to team.
        world.add_model("deepseek-ai/New-1", license="mit")
        wait_until(lambda: received(receiver, "/team"), "a delivery under the running config", 60, daemon)
        write_config(path, hf=emulator.url, watches=[labs("1s")],  # fixed, with one more subscription
                     subscriptions=[hook("team", receiver), hook("more", receiver)], extra=DAEMON)
        daemon.wait_for_line(r"config reloaded \(the file changed\): subscriptions added: more$")
    finally:
        code = daemon.stop()
    assert code == 0, daemon.log()
    refusals = [line for line in daemon.lines if "not reloaded" in line]
    assert [line for line in refusals if "(SIGHUP)" in line] == [line]
    # Each refusal is one line, once per trigger: the file watcher may have seen the bad file
    # before the signal arrived, never twice.
    assert len(refusals) <= 2 and len({r.split(" (", 1)[1] for r in refusals}) == len(refusals), refusals
    assert received(receiver, "/team") == ["model:hf/deepseek-ai/New-1"]


def test_only_a_removal_the_daemon_loaded_suppresses_and_retry_brings_back(tmp_path, emulator, receiver):
    """`gone` is down (503: its deliveries wait, failed); removed from the file, the daemon
    that ran it suppresses what was queued for it. A one-shot with the old file queues one
    more for `gone` afterwards: that one waits (`status` says for what). Added back, the
    waiting one is sent; `alerts retry gone` brings back the suppressed one."""
    world = emulator.world
    world.add_model("deepseek-ai/Base-0", license="mit")
    path = tmp_path / "openwatch.toml"
    with HttpReceiver(default=Response(503)) as down:
        both = [hook("keep", receiver), hook("gone", down)]
        write_config(path, hf=emulator.url, watches=[labs()], subscriptions=both, extra=DAEMON)
        write_config(tmp_path / "old.toml", hf=emulator.url, watches=[labs()], subscriptions=both)
        ow, old = CLI(path), CLI(tmp_path / "old.toml")
        daemon = Daemon(ow)
        try:
            started(daemon, ow)
            world.add_model("deepseek-ai/New-1", license="mit")
            ow("crawl", "labs")
            wait_until(lambda: down.requests and received(receiver, "/keep"), "the first attempts", 30, daemon)
            write_config(path, hf=emulator.url, watches=[labs()], subscriptions=[hook("keep", receiver)], extra=DAEMON)
            daemon.wait_for_line(r"config reloaded \(the file changed\): subscriptions removed: gone$")
            daemon.wait_for_line(r"suppressed 1 deliveries of 'gone': subscription no longer in the config")

            world.add_model("deepseek-ai/New-2", license="mit")
            old("crawl", "labs")  # a process that still has `gone`
            wait_until(lambda: len(received(receiver, "/keep")) >= 2, "keep's second delivery", 30, daemon)
            assert deliveries(ow) == [
                ("keep", "model:hf/deepseek-ai/New-1", "sent", None),
                ("gone", "model:hf/deepseek-ai/New-1", "suppressed", "subscription no longer in the config"),
                ("keep", "model:hf/deepseek-ai/New-2", "sent", None),
                ("gone", "model:hf/deepseek-ai/New-2", "pending", None)]
            gone = {s["name"]: s for s in ow.json("status")["subscriptions"]}["gone"]
            assert (gone["target"], gone["pending"], gone["suppressed"]) == (
                "(not in this config: waiting for a process that knows it)", 1, 1)
            # A one-shot with the current file leaves it too, and says so.
            assert ow("deliver").stdout == (
                "deliveries: 0 sent, 1 waiting for a process that knows their subscription (see status)\n")

            # Added back (its receiver fixed): what waited is sent; the suppressed one stays so.
            write_config(path, hf=emulator.url, watches=[labs()],
                         subscriptions=[hook("keep", receiver), hook("gone", receiver)], extra=DAEMON)
            daemon.wait_for_line(r"config reloaded \(the file changed\): subscriptions added: gone$")
            wait_until(lambda: received(receiver, "/gone"), "gone's waiting delivery", 30, daemon)
            assert "0 dead letters queued again, 1 suppressed deliveries queued again" in ow("alerts", "retry", "gone").stdout
            wait_until(lambda: len(received(receiver, "/gone")) >= 2, "the suppressed one, retried", 30, daemon)
        finally:
            code = daemon.stop()
    assert code == 0, daemon.log()
    assert received(receiver, "/gone") == ["model:hf/deepseek-ai/New-2", "model:hf/deepseek-ai/New-1"]
    assert {status for _, _, status, _ in deliveries(ow)} == {"sent"}


def test_a_watch_that_never_succeeded_runs_at_daemon_start(tmp_path, emulator):
    emulator.world.add_model("deepseek-ai/Base-0", license="mit")
    path = write_config(tmp_path / "openwatch.toml", hf=emulator.url, watches=[labs("6h")], extra=DAEMON)
    ow = CLI(path)
    down = emulator.faults.add(Fault("/api/", status=500))
    assert ow("crawl", "labs", check=False).returncode == 1
    assert rows(ow, "select status from crawls") == [("failed",)]
    emulator.faults.remove(down)
    (watch,) = ow.json("status")["watches"]
    after = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")  # status's "now" came before
    assert watch["next_run"] <= after  # due now, not 6 h after the failure
    daemon = Daemon(ow)
    try:
        wait_until(lambda: rows(ow, "select status from crawls where status = 'ok'"), "a crawl at start", 60, daemon)
    finally:
        code = daemon.stop()
    assert code == 0, daemon.log()
    assert rows(ow, "select status from crawls order by id") == [("failed",), ("ok",)]


# -- what a reload applies (pure) ------------------------------------------------------------


def _load(tmp_path, body: str):
    from jobs.config.loader import load_config

    path = tmp_path / "openwatch.toml"
    path.write_text(body)
    return load_config(path, {"OPENWATCH_ALLOW_SHORT_INTERVALS": "1"})


WATCH = '[[watch]]\nname = "{name}"\nsource = "huggingface"\norgs = ["{org}"]\nevery = "{every}"\n'
SUB = '[[subscription]]\nname = "{name}"\nchannel = "webhook"\nurl = "http://127.0.0.1:9/{name}"\n' \
      'secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"\nenabled = {enabled}\n'


def test_config_change_says_what_a_reload_applies_and_what_waits_for_a_restart(tmp_path):
    old = _load(tmp_path, 'database = "a.db"\n' + WATCH.format(name="a", org="x", every="1h")
                + WATCH.format(name="b", org="x", every="1h") + WATCH.format(name="c", org="x", every="1h")
                + SUB.format(name="s1", enabled="true") + SUB.format(name="s2", enabled="true")
                + SUB.format(name="s3", enabled="false"))
    new = _load(tmp_path, 'database = "b.db"\n' + WATCH.format(name="a", org="x", every="2h")
                + WATCH.format(name="b", org="y", every="1h") + WATCH.format(name="d", org="x", every="1h")
                + SUB.format(name="s1", enabled="true") + SUB.format(name="s2", enabled="false")
                + SUB.format(name="s3", enabled="true") + '[daemon]\ndispatch_every = "9s"\n')
    change = sched.config_change(old, new)
    assert [w.name for w in change.rescheduled] == ["a"] and [w.name for w in change.changed] == ["b"]
    assert [w.name for w in change.added] == ["d"] and change.removed == ["c"]
    assert (change.subscribed, change.retired, change.edited) == (["s3"], ["s2"], [])
    assert change.restart == ["database"] and change.other == ["daemon"]
    assert change.applied.database == old.database and change.applied.daemon.dispatch_every == 9
    assert str(change) == ("watches added: d; watches removed: c; watches rescheduled: a; watches changed: b; "
                           "subscriptions added: s3; subscriptions removed: s2; settings changed: daemon")
    assert not sched.config_change(old, old) and str(sched.config_change(old, old)) == "no change"


def test_the_file_watcher_applies_a_change_once_it_reads_the_same_twice(monkeypatch):
    """A file caught mid-write (a truncated one may be valid and lack subscriptions) is never
    applied: a change is taken when two looks in a row read the same content."""
    import asyncio

    from tests.jobs.test_scheduler import FakeConfig

    looks = ["A", "B", "B", "B", "C", None, "C"]  # content hashes, one per look; None: unreadable
    seen: list[str | None] = []
    reloads: list[int] = []
    daemon = sched.Daemon(FakeConfig(watches=()), crawls=object())
    daemon.config_poll = 0
    daemon._loaded_digest = "L"

    def look(path):
        if len(seen) == len(looks):
            daemon._stopping.set()
            return None
        seen.append(looks[len(seen)])
        return seen[-1]

    async def reload(why):
        reloads.append(len(seen))
        daemon._loaded_digest = seen[-1]
        return True

    monkeypatch.setattr(sched, "file_digest", look)
    monkeypatch.setattr(daemon, "reload", reload)

    async def scenario():
        daemon._stopping = asyncio.Event()
        await asyncio.wait_for(daemon._watch_config(), timeout=10)

    asyncio.run(scenario())
    assert seen == looks
    assert reloads == [3]  # B read twice in a row; A never, C not yet (the unreadable look between)
