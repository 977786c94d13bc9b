"""`openwatch demo`: the whole pipeline offline, in about a minute.

A hub emulator on loopback serves real labs' models (US and Chinese); a Slack-like receiver,
a webhook receiver and an SMTP server print what reaches them; the real daemon
(`openwatch run`, in a child process) crawls every few seconds while a script changes the
Hub: a new DeepSeek model, a Llama licence change, a Qwen model gated, a model deleted
(removed only after 3 not-found checks), and an HTTP 500 outage that removes nothing. Exit 0
only if every scripted kind of alert reached the receivers.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import click

DEMO_SECRET = "whsec_ZGVtby1zZWNyZXQtZm9yLXRoZS1vcGVud2F0Y2gtZGVtbw=="
EVERY = 3.0           # seconds between crawls of a watch, at speed 1
STEP_TIMEOUT = 45.0   # seconds a scripted change may take to show up, at speed 1
EXPECTED = ("model.added", "model.license_changed", "model.gating_changed", "model.removed",
            "source.failing", "source.recovered",
            "release.published", "repo.license_changed", "paper.published", "post.published")

NEW_MODEL = "deepseek-ai/DeepSeek-V4"
RELICENSED = "meta-llama/Llama-3.2-1B"
GATED = "Qwen/Qwen3-8B"
DELETED = "openai/whisper-large-v3"
OUTAGE_WATCH = "cn-labs"


# ---------------------------------------------------------------------------------------------
# Output


class Screen:
    """Thread-safe lines on the terminal (receivers print from their own threads)."""

    def __init__(self, out=None):
        self.out = out or sys.stdout
        self.lock = threading.Lock()
        self.started = time.monotonic()

    def line(self, text: str = "", **style) -> None:
        stamp = f"{time.monotonic() - self.started:5.1f}s "
        with self.lock:
            click.secho(stamp + text if text else "", file=self.out, **style)
            self.out.flush()

    def step(self, text: str) -> None:
        self.line(f"▶ {text}", bold=True)

    def ok(self, text: str) -> None:
        self.line(f"  ✓ {text}", fg="green")

    def fail(self, text: str) -> None:
        self.line(f"  ✗ {text}", fg="red", bold=True)


def _first_line(text: str, limit: int = 110) -> str:
    text = re.sub(r"\s+", " ", text or "").strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass
class Arrivals:
    """What the receivers got, by channel."""

    screen: Screen
    webhook_types: Counter = field(default_factory=Counter)
    webhook_items: Counter = field(default_factory=Counter)  # (type, item): each step checks its own
    slack: int = 0
    email: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def http(self, request) -> None:
        payload = request.json if isinstance(request.json, dict) else {}
        if request.path.startswith("/webhook"):
            with self.lock:
                self.webhook_types[payload.get("type")] += 1
                self.webhook_items[(payload.get("type"), payload.get("item"))] += 1
            self.screen.line(f"    webhook ← {payload.get('type')}: {_first_line(payload.get('summary', ''), 90)}",
                             fg="cyan")
        else:
            with self.lock:
                self.slack += 1
            self.screen.line(f"    slack   ← {_first_line(payload.get('text', ''))}", fg="magenta")

    def mail(self, envelope) -> None:
        with self.lock:
            self.email += 1
        self.screen.line(f"    email   ← {_first_line(str(envelope.message['Subject']))}", fg="yellow")


# ---------------------------------------------------------------------------------------------
# The world, the config, the daemon


def split_by_country(model_ids: list[str], registry) -> dict[str, list[str]]:
    """Orgs of the seeded models, US and CN, in order of appearance."""
    out: dict[str, list[str]] = {"US": [], "CN": []}
    for model_id in model_ids:
        org = model_id.split("/", 1)[0]
        country = registry.country(org)
        if country in out and org not in out[country]:
            out[country].append(org)
    return out


def demo_config(folder: Path, *, hub: str, http: str, smtp_port: int, orgs: dict[str, list[str]],
                every: float, kept: bool = False, endpoints: dict | None = None,
                sources: dict | None = None) -> Path:
    """A complete openwatch.toml pointing at the local emulator and receivers.

    `kept`: the file left for the user after the demo, which every command must load as it
    is: intervals at openwatch's minimum (the demo's daemon ran with short intervals allowed).
    """
    from jobs.config.loader import MIN_EVERY

    seconds = f"{max(every, MIN_EVERY) if kept else every:g}s"
    header = ['# Written by `openwatch demo`: everything points at loopback servers.']
    if kept:
        header = ["# Left by `openwatch demo` for queries (events, status, history): its hub emulator and",
                  "# receivers are gone, so `openwatch run` on this file would only record failures."]
    lines = [*header, 'database = "openwatch.db"', "", "[endpoints]", f"huggingface = {json.dumps(hub)}"]
    lines += [f"{key} = {json.dumps(url)}" for key, url in (endpoints or {}).items() if key != "huggingface"] + [""]
    for name, source, keys in _source_watches(hub, sources or {}):
        lines += ["[[watch]]", f'name = "{name}"', f'source = "{source}"',
                  *(f"{k} = {json.dumps(v)}" for k, v in keys.items()),
                  f'every = "{seconds}"', 'timeout = "60s"', 'jitter = "0s"', ""]
    for name, country in (("us-labs", "US"), ("cn-labs", "CN")):
        lines += ["[[watch]]", f'name = "{name}"', 'source = "huggingface"', f"orgs = {json.dumps(orgs[country])}",
                  f'every = "{seconds}"', 'timeout = "60s"', 'jitter = "0s"',
                  '# complete listings every crawl, so removals show within seconds (the default is "1d")',
                  'reconcile_every = "0s"', ""]
    lines += [
        "[smtp]", 'host = "127.0.0.1"', f"port = {smtp_port}", "starttls = false",
        'sender = "openwatch demo <openwatch@localhost>"', "",
        "[[subscription]]", 'name = "team-slack"', 'channel = "slack"', f"url = {json.dumps(http + '/slack')}", "",
        "[[subscription]]", 'name = "licences-email"', 'channel = "email"', 'to = ["you@example.org"]', "",
        "[[subscription]]", 'name = "pipeline-webhook"', 'channel = "webhook"',
        f"url = {json.dumps(http + '/webhook')}", f'secret = "{DEMO_SECRET}"', "",
        "[daemon]", 'dispatch_every = "1s"', 'shutdown_grace = "10s"', "",
    ]
    path = folder / "openwatch.toml"
    path.write_text("\n".join(lines))
    return path


class DaemonProcess:
    """`openwatch run` as users run it; its log goes to daemon.log, crawl lines to the screen."""

    CRAWL = re.compile(r"crawl (\S+): (ok|partial|failed) - (\d+) items, (\d+) events")

    def __init__(self, config: Path, screen: Screen, *, debug: bool = False):
        # Everything the demo talks to is on loopback: no proxy could reach it.
        env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "OPENWATCH_CONFIG"))
               and k.lower() not in ("http_proxy", "https_proxy", "all_proxy")}
        env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
        env["OPENWATCH_ALLOW_SHORT_INTERVALS"] = "1"
        self.screen = screen
        self.log_path = config.parent / "daemon.log"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "jobs", "--config", str(config), *(["--debug"] if debug else []), "run"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env,
            cwd=config.parent,
        )
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        with self.log_path.open("w") as log:
            for line in self.proc.stderr:
                log.write(line)
                log.flush()
                match = self.CRAWL.search(line)
                if match:
                    watch, status, items, events = match.groups()
                    color = {"ok": None, "partial": "yellow", "failed": "red"}[status]
                    noun = "event" if events == "1" else "events"
                    self.screen.line(f"  · crawl {watch}: {status}, {items} models, {events} new {noun}", fg=color,
                                     dim=status == "ok")

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self, timeout: float = 30) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        self.thread.join(timeout=5)
        return code


# ---------------------------------------------------------------------------------------------
# Waiting on the database


class History:
    """Read-only queries on the demo's database (the daemon is the only writer)."""

    def __init__(self, path: Path):
        self.path = path

    def query(self, sql: str, params=()) -> list[tuple]:
        if not self.path.exists():
            return []
        conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=10)
        try:
            return conn.execute(sql, params).fetchall()
        except sqlite3.OperationalError:  # tables not created yet
            return []
        finally:
            conn.close()

    def crawls(self, watch: str, statuses=("ok", "partial", "failed")) -> int:
        marks = ", ".join("?" * len(statuses))
        rows = self.query(f"select count(*) from crawls where watch = ? and status in ({marks})", (watch, *statuses))
        return rows[0][0] if rows else 0

    def missing(self, key: str) -> int:
        rows = self.query("select missing_count from items where key = ?", (key,))
        return (rows[0][0] or 0) if rows else 0

    def events(self, type_: str, item: str | None = None, watch: str | None = None) -> int:
        sql, params = "select count(*) from events where type = ?", [type_]
        if item:
            sql, params = sql + " and item = ?", params + [item]
        if watch:
            sql, params = sql + " and watch = ?", params + [watch]
        rows = self.query(sql, params)
        return rows[0][0] if rows else 0


def wait_for(condition: Callable[[], bool], timeout: float, daemon: DaemonProcess) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        if not daemon.alive():
            return False
        time.sleep(0.2)  # polling interval of a condition
    return condition()


# ---------------------------------------------------------------------------------------------
# The script


def _source_watches(hub: str, sources: dict) -> list[tuple[str, str, dict]]:
    """The demo's watches of the other sources, over what `seed_demo_sources` put there."""
    if not sources:
        return []
    owners = sorted({m.split("/", 1)[0] for m in sources.get("modelscope", ())})
    return [
        ("lab-releases", "github", {"repos": list(sources.get("github", ()))}),
        ("papers", "arxiv", {"query": "all:model OR all:language OR all:open", "max_results": 50,
                             "cache": "0s"}),  # every crawl asks: the demo's papers arrive in seconds
        ("daily-papers", "hf_papers", {"min_upvotes": 10}),
        ("lab-blogs", "feed", {"urls": [f"{hub}/feeds/{name}" for name in sources.get("feeds", ())]}),
        ("cn-modelscope", "modelscope", {"orgs": owners}),
    ]


# What step 2b's changes (crawler/emulator/demo_world.py) make: type, and the item when one
# is known before the crawl (a post's key hashes its entry id: any post will do).
DEMO_SOURCE_EVENTS = (
    ("release.published", "release:github/openai/gpt-oss/v0.0.9"),
    ("repo.license_changed", "repo:github/moonshotai/Kimi-K2"),
    ("paper.published", "paper:arxiv/2507.20534"),
    ("post.published", None),
    ("model.added", "model:ms/Qwen/Qwen3-Next-80B-A3B-Instruct"),
    ("model.license_changed", "model:ms/baichuan-inc/Baichuan2-7B-Chat"),
)


def run_demo(*, keep: bool = False, speed: float = 1.0, debug: bool = False, out=None) -> int:
    """Play the scripted timeline; 0 if every kind of alert arrived, 1 otherwise."""
    from alerts.receivers import HttpReceiver, SmtpReceiver
    from crawler.emulator import Fault, HubEmulator, HubWorld, seed_demo_world
    from crawler.emulator.demo_world import APACHE, MIT, apply_demo_source_changes, seed_demo_sources
    from crawler.orgs import default_orgs

    screen = Screen(out)
    every = max(1.0, round(EVERY / speed, 1))
    step_timeout = STEP_TIMEOUT / min(speed, 1.0)
    folder = Path(tempfile.mkdtemp(prefix="openwatch-demo-"))
    arrivals = Arrivals(screen)
    world = HubWorld()
    registry = default_orgs()
    seeded = seed_demo_world(world, registry)
    orgs = split_by_country(seeded, registry)
    emulator = HubEmulator(world)
    http = HttpReceiver(echo=arrivals.http)
    smtp = SmtpReceiver(echo=arrivals.mail)
    daemon = None
    config = None
    sources: dict = {}
    problems: list[str] = []
    code = 1
    try:
        hub = emulator.start()
        http.start()
        smtp.start()
        sources = seed_demo_sources(emulator)
        config = demo_config(folder, hub=hub, http=http.base_url, smtp_port=smtp.port, orgs=orgs, every=every,
                             endpoints=emulator.endpoints(), sources=sources)
        history = History(folder / "openwatch.db")
        count = sum(1 for m in seeded if m.split("/", 1)[0] in orgs["US"] + orgs["CN"])
        screen.line(f"openwatch demo: {count} models from {len(orgs['US'])} US labs ({', '.join(orgs['US'])}) "
                    f"and {len(orgs['CN'])} Chinese labs ({', '.join(orgs['CN'])})", bold=True)
        screen.line(f"  hub emulator {hub}; Slack-like and webhook receiver {http.base_url}; "
                    f"SMTP 127.0.0.1:{smtp.port}; crawls every {every:g}s")
        daemon = DaemonProcess(config, screen, debug=debug)
        screen.line(f"  daemon started: pid {daemon.proc.pid}, log {daemon.log_path}")

        def expect(what: str, condition: Callable[[], bool], timeout: float = step_timeout) -> bool:
            if wait_for(condition, timeout, daemon):
                screen.ok(what)
                return True
            problems.append(what)
            screen.fail(f"{what}: not seen within {timeout:.0f}s" + ("" if daemon.alive() else " (daemon exited)"))
            return False

        def delivered(type_: str, item: str | None = None) -> Callable[[], bool]:
            """The step's own event arrived (another step's event of the same type does not count)."""
            if item is None:
                return lambda: arrivals.webhook_types[type_] > 0
            return lambda: arrivals.webhook_items[(type_, item)] > 0

        screen.step("1. Baseline: the first crawl records everything and alerts on nothing")
        if not expect("both watches baselined", lambda: history.crawls("us-labs", ("ok",)) >= 1
                      and history.crawls("cn-labs", ("ok",)) >= 1):
            raise _Abort
        source_watches = [name for name, _, _ in _source_watches(hub, sources)]
        expect("the other sources baselined (GitHub, arXiv, daily papers, feeds, ModelScope)",
               lambda: all(history.crawls(name, ("ok", "partial")) >= 1 for name in source_watches))
        items = history.query("select count(*) from items")[0][0]
        screen.ok(f"{items} models recorded, {history.query('select count(*) from events')[0][0]} events")

        screen.step(f"2. DeepSeek publishes {NEW_MODEL}")
        world.add_model(NEW_MODEL, license="mit", downloads=0, parameters=671_000_000_000,
                        files={"LICENSE": MIT.format(year=2026, holder="DeepSeek")})
        expect("model.added alert delivered", delivered("model.added", f"model:hf/{NEW_MODEL}"))

        screen.step("2b. Elsewhere: a GitHub release naming a model, a repo relicensed, a paper, a blog post, "
                    "a ModelScope model")
        for change in apply_demo_source_changes(emulator):
            screen.line(f"  {change}")
        for type_, item in DEMO_SOURCE_EVENTS:
            expect(f"{type_} alert delivered" + (f" ({item})" if item else ""), delivered(type_, item))

        screen.step(f"3. Meta relicenses {RELICENSED} from llama3.2 to Apache-2.0")
        world.relicense(RELICENSED, "apache-2.0", license_text=APACHE)
        expect("model.license_changed alert delivered", delivered("model.license_changed", f"model:hf/{RELICENSED}"))

        screen.step(f"4. Qwen gates {GATED} behind manual approval")
        world.set_gated(GATED, "manual")
        expect("model.gating_changed alert delivered", delivered("model.gating_changed", f"model:hf/{GATED}"))

        screen.step(f"5. {DELETED} is deleted, and the Hub answers HTTP 500 to every {OUTAGE_WATCH} listing")
        world.delete(DELETED)
        outage = emulator.faults.add(Fault(_author_regex(orgs["CN"]), status=500))
        outage_from = history.crawls(OUTAGE_WATCH)
        if expect(f"{DELETED} not found by a direct check: marked missing, no alert (3 checks are needed)",
                  lambda: history.missing(f"model:hf/{DELETED}") >= 1):
            if history.events("model.removed"):
                problems.append("removed after one not-found check")
        expect("model.removed alert delivered after the 3rd check", delivered("model.removed", f"model:hf/{DELETED}"),
               step_timeout * 2)
        expect(f"source.failing alert delivered: {OUTAGE_WATCH} failed 3 crawls in a row", delivered("source.failing"),
               step_timeout * 2)
        failed = history.crawls(OUTAGE_WATCH) - outage_from
        removed_cn = history.events("model.removed", watch=OUTAGE_WATCH)
        if removed_cn:
            problems.append("the outage removed models")
            screen.fail(f"{removed_cn} {OUTAGE_WATCH} models marked removed during the outage")
        else:
            screen.ok(f"{failed} crawls during the outage, 0 models removed: transient is not gone")

        screen.step("6. The outage ends")
        emulator.faults.remove(outage)
        expect("source.recovered alert delivered", delivered("source.recovered"))
        expect("slack and email received messages too", lambda: arrivals.slack > 0 and arrivals.email > 0, 15)
        code = 0
    except _Abort:
        pass
    except KeyboardInterrupt:
        problems.append("interrupted")
    finally:
        stopped = daemon.stop() if daemon is not None else None
        for server in (http, smtp):
            try:
                server.close()
            except Exception:  # noqa: BLE001 - closing a receiver that never started
                pass
        emulator.stop()
    if stopped not in (0, None):
        problems.append(f"the daemon exited with {stopped}")
        screen.fail(f"the daemon exited with code {stopped}; see {folder / 'daemon.log'}")
    elif stopped == 0:
        screen.line("daemon stopped cleanly (SIGTERM, exit 0)")
    _summary(screen, History(folder / "openwatch.db"), arrivals)
    missing = [t for t in EXPECTED if not arrivals.webhook_types[t]]
    if missing:
        problems.append("missing alerts: " + ", ".join(missing))
    ok = code == 0 and not problems
    if keep or not ok:
        db = folder / "openwatch.db"
        if config is not None:
            config = demo_config(folder, hub=hub, http=http.base_url, smtp_port=smtp.port, orgs=orgs, every=every,
                                 kept=True, endpoints=emulator.endpoints(), sources=sources)
        if config is None:
            screen.line(f"kept {folder} (daemon.log)")
        else:
            screen.line(f"kept {folder} (database {db.name}, config openwatch.toml, daemon.log); try:")
            for command in suggestions(folder):
                screen.line(f"  {command}")
    else:
        shutil.rmtree(folder, ignore_errors=True)
    if ok:
        screen.line("demo complete: every scripted kind of alert arrived", fg="green", bold=True)
        return 0
    screen.line("demo failed: " + "; ".join(problems), fg="red", bold=True)
    return 1


def openwatch_command(argv0: str | None = None) -> str:
    """openwatch as the user can run it again, for a shell: `openwatch` where PATH finds the
    executable they ran, else its absolute path (a venv not activated, `make demo`), else
    `python -m jobs` with this interpreter."""
    exe = Path(argv0 if argv0 is not None else sys.argv[0])
    if exe.name.startswith("openwatch") and exe.exists():
        found = shutil.which(exe.name)
        if found and Path(found).resolve() == exe.resolve():
            return exe.name
        return shlex.quote(str(exe.absolute()))
    return f"{shlex.quote(sys.executable)} -m jobs"


def suggestions(folder: Path) -> list[str]:
    """Commands to explore what the demo left in `folder`, each runnable as printed."""
    config = shlex.quote(str(folder / "openwatch.toml"))
    ow = f"{openwatch_command()} --config {config}"
    commands = [f"{ow} events", f"{ow} history {RELICENSED}", f"{ow} status"]
    if shutil.which("sqlite3"):
        commands.append(f"sqlite3 {shlex.quote(str(folder / 'openwatch.db'))} "
                        "\"select detected_at, type, summary from events order by seq\"")
    return commands


class _Abort(Exception):
    """The demo cannot go on (the daemon never baselined)."""


def _author_regex(orgs: list[str]) -> str:
    return r"author=(" + "|".join(re.escape(o) for o in orgs) + r")(&|$)"


def _summary(screen: Screen, history: History, arrivals: Arrivals) -> None:
    rows = history.query("select type, count(*) from events group by type order by count(*) desc, type")
    screen.line()
    screen.line("events by type                   count   webhook", bold=True)
    for type_, n in rows:
        screen.line(f"  {type_:<30} {n:>5}   {arrivals.webhook_types.get(type_, 0):>7}")
    if not rows:
        screen.line("  (none)")
    screen.line(f"messages: slack {arrivals.slack}, email {arrivals.email}, "
                f"webhook {sum(arrivals.webhook_types.values())}")
