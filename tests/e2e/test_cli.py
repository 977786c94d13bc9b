"""What a new user ran into (issue 10, part B), each one reproduced with the real `openwatch`
command in a subprocess, real files and the hub emulator on loopback."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shlex
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from crawler.emulator import Fault
from tests.support.cli import CLI, write_config

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
LICENSE = "LLAMA 3.1 COMMUNITY LICENSE AGREEMENT\nLlama 3.1 Version Release Date: July 23, 2024\n"


def seed(world) -> None:
    world.add_model("meta-llama/Llama-3.1-8B", license="llama3.1", files={"LICENSE": LICENSE})
    world.add_model("deepseek-ai/DeepSeek-R1", license="mit", files={"LICENSE": "MIT License"})


def one_error_line(proc: subprocess.CompletedProcess) -> str:
    """The only line on stderr, which must be an `Error: …` line without a traceback."""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), proc.stderr
    return lines[0]


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def labs(tmp_path, emulator):
    """A config with one Hugging Face watch over the emulator, crawled once (the baseline)."""
    seed(emulator.world)
    config = write_config(
        tmp_path / "openwatch.toml", hf=emulator.url,
        watches=[{"name": "labs", "source": "huggingface", "orgs": ["meta-llama", "deepseek-ai"], "every": "1h"}],
    )
    ow = CLI(config)
    ow("crawl", "labs")
    return ow


# ---------------------------------------------------------------------------------------------
# Read-only commands need no secrets


SECRET_CONFIG = """
[smtp]
host = "127.0.0.1"
port = 2525
sender = "openwatch <openwatch@example.org>"
username = "openwatch"
password = "${OW_TEST_SMTP_PASSWORD}"

[[subscription]]
name = "team"
channel = "slack"
url = "${OW_TEST_SLACK_URL}"

[[subscription]]
name = "pipeline"
channel = "webhook"
url = "https://example.org/hooks/openwatch"
secret = "${OW_TEST_HOOK_SECRET}"

[[subscription]]
name = "legal"
channel = "email"
to = ["legal@example.org"]
"""
SECRET_ENV = {"OW_TEST_SMTP_PASSWORD": "hunter2-hunter2", "OW_TEST_SLACK_URL": "https://hooks.slack.com/services/T/B/x",
              "OW_TEST_HOOK_SECRET": SECRET}


@pytest.fixture
def secretive(tmp_path, emulator):
    """Subscriptions whose secrets come from variables; the baseline crawled with them set."""
    seed(emulator.world)
    config = write_config(
        tmp_path / "openwatch.toml", hf=emulator.url,
        watches=[{"name": "labs", "source": "huggingface", "orgs": ["meta-llama", "deepseek-ai"], "every": "1h"}],
        extra=SECRET_CONFIG,
    )
    CLI(config, env=SECRET_ENV)("crawl", "labs")
    emulator.world.add_model("deepseek-ai/DeepSeek-V4", license="mit")
    CLI(config, env=SECRET_ENV)("crawl", "labs")
    return CLI(config)  # without the variables


def test_read_only_commands_run_without_the_secrets_of_subscriptions(secretive, tmp_path):
    ow = secretive
    (event,) = ow.json("events")
    assert event["type"] == "model.added"
    assert "DeepSeek-V4" in ow("events").stdout
    assert ow("history", "meta-llama/Llama-3.1-8B").returncode == 0
    assert b"DeepSeek-V4" in ow("feed").stdout.encode()
    ow("report", "-o", str(tmp_path / "report.html"))
    assert (tmp_path / "report.html").exists()
    report = ow.json("status")
    targets = {s["name"]: s["target"] for s in report["subscriptions"]}
    assert targets["team"] == "${OW_TEST_SLACK_URL} (not set)"
    assert "OW_TEST_SLACK_URL" in ow("status").stdout
    assert ow("alerts", "list").returncode == 0


def test_sending_without_the_secret_names_the_variable(secretive):
    ow = secretive
    for command in (["deliver"], ["run", "--once"], ["alerts", "test", "team"]):
        proc = ow(*command, check=False)
        assert proc.returncode == 2, proc.stderr
        assert "environment variable OW_TEST_SMTP_PASSWORD is not set" in proc.stderr.splitlines()[-1]
    env_but_slack = {k: v for k, v in SECRET_ENV.items() if k != "OW_TEST_SLACK_URL"}
    proc = CLI(secretive.config, env=env_but_slack)("deliver", check=False)
    assert proc.returncode == 2
    line = 1 + next(i for i, text in enumerate(secretive.config.read_text().splitlines())
                    if "${OW_TEST_SLACK_URL}" in text)
    assert one_error_line(proc) == (
        f"Error: {secretive.config}:{line}: subscription[1].url: environment variable OW_TEST_SLACK_URL is not set;"
        " set OW_TEST_SLACK_URL in openwatch's environment (secrets live there, not in the file)")


def test_a_variable_outside_secrets_is_still_needed_by_every_command(tmp_path, emulator):
    config = write_config(
        tmp_path / "openwatch.toml", hf=emulator.url,
        watches=[{"name": "labs", "source": "huggingface", "orgs": ["${OW_TEST_ORG}"], "every": "1h"}],
    )
    proc = CLI(config)("events", check=False)
    assert proc.returncode == 2
    assert "watch[1].orgs[1]: environment variable OW_TEST_ORG is not set" in one_error_line(proc)


# ---------------------------------------------------------------------------------------------
# Databases that cannot be used: one line naming the path, what is wrong and the fix


def test_a_file_that_is_not_a_database(labs):
    db = labs.config.parent / "openwatch.db"
    db.write_text("this is a shopping list, not a database\n")
    before = sha(db)
    for command in (["events"], ["status"], ["crawl", "labs"], ["run", "--once"], ["deliver"]):
        proc = labs(*command, check=False)
        assert proc.returncode == 1, (command, proc.stderr)
        assert one_error_line(proc) == (
            f"Error: {db}: not an SQLite database (SQLite: file is not a database); "
            "move it away, or point `database` in openwatch.toml at the history database")
    assert sha(db) == before


def test_an_empty_file(tmp_path, emulator):
    config = write_config(tmp_path / "openwatch.toml", hf=emulator.url,
                          watches=[{"name": "labs", "source": "huggingface", "orgs": ["meta-llama"], "every": "1h"}])
    db = tmp_path / "openwatch.db"
    db.touch()
    ow = CLI(config)
    for command in (["events"], ["history", "meta-llama/Llama-3.1-8B"], ["feed"]):
        proc = ow(*command, check=False)
        assert proc.returncode == 1
        assert one_error_line(proc) == (
            f"Error: {db}: empty file (0 bytes), no history in it yet; run \"openwatch run --once\" or "
            "\"openwatch crawl WATCH\" to fill it")
    seed(emulator.world)
    ow("crawl", "labs")  # an empty file is an empty database: writing commands create the tables
    assert ow.json("events") == []


def corrupt(db: Path) -> None:
    """Overwrite every page but the first (the header and the schema stay readable)."""
    data = bytearray(db.read_bytes())
    page = int.from_bytes(data[16:18], "big")
    assert len(data) >= 4 * page
    for start in range(2 * page, len(data), page):
        data[start:start + page] = bytes([0xA5]) * page
    db.write_bytes(bytes(data))


def test_a_damaged_database_is_never_written_to(tmp_path, emulator, http):
    seed(emulator.world)
    config = write_config(
        tmp_path / "openwatch.toml", hf=emulator.url,
        watches=[{"name": "labs", "source": "huggingface", "orgs": ["meta-llama", "deepseek-ai"], "every": "1h"}],
        subscriptions=[{"name": "hook", "channel": "webhook", "url": http.url("/hook"), "secret": SECRET}],
    )
    ow = CLI(config)
    ow("crawl", "labs")
    emulator.world.add_model("deepseek-ai/DeepSeek-V4", license="mit")
    db = tmp_path / "openwatch.db"
    corrupt(db)
    before = sha(db)
    fix = (f"restore it from a backup, or salvage what is left: sqlite3 {db} .recover | sqlite3 recovered.db, "
           "then point `database` in openwatch.toml at recovered.db")
    for command in (["run", "--once"], ["crawl", "labs"], ["deliver"], ["events"], ["status"]):
        proc = ow(*command, check=False)
        assert proc.returncode == 1, (command, proc.stdout, proc.stderr)
        line = one_error_line(proc)
        assert line.startswith(f"Error: {db}: the database is damaged ("), line
        assert line.endswith(fix), line
        assert sha(db) == before, command
    assert http.requests == []
    debug = ow("--debug", "events", check=False)
    assert "Traceback" in debug.stderr and debug.returncode == 1


def unprivileged(cli: CLI) -> CLI:
    """`cli` run without the power to ignore file permissions (root has it: tests run as root
    in containers); skipped where that cannot be dropped."""
    if os.geteuid() != 0:
        return cli
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv: file permissions cannot be tested")

    class Unprivileged(CLI):
        def __call__(self, *args, check=True, timeout=180):
            proc = subprocess.run(
                [setpriv, "--bounding-set=-dac_override,-dac_read_search", "--", sys.executable, "-m", "jobs",
                 "--config", str(self.config), *args],
                capture_output=True, text=True, env=self.env, cwd=self.config.parent, timeout=timeout,
            )
            if check and proc.returncode != 0:
                raise AssertionError(f"openwatch {' '.join(args)} exited {proc.returncode}\n{proc.stderr}")
            return proc

    return Unprivileged(cli.config, env={k: v for k, v in cli.env.items() if k not in os.environ})


def test_a_read_only_database_is_read_but_not_written(labs):
    db = labs.config.parent / "openwatch.db"
    db.chmod(0o444)
    before = sha(db)
    ow = unprivileged(labs)
    assert ow.json("events") == []   # queries work on a read-only file
    proc = ow("crawl", "labs", check=False)
    assert proc.returncode == 1
    assert one_error_line(proc) == (
        f"Error: {db}: read-only file, openwatch cannot write to it; make it writable (chmod u+w {db}) "
        "or run openwatch as the user who owns it")
    assert sha(db) == before


def test_a_database_folder_that_is_not_writable(tmp_path, emulator):
    folder = tmp_path / "locked"
    folder.mkdir()
    config = write_config(tmp_path / "openwatch.toml", hf=emulator.url,
                          watches=[{"name": "labs", "source": "huggingface", "orgs": ["meta-llama"], "every": "1h"}])
    config.write_text(config.read_text().replace('database = "openwatch.db"', 'database = "locked/openwatch.db"'))
    folder.chmod(0o555)
    try:
        ow = unprivileged(CLI(config))
        proc = ow("crawl", "labs", check=False)
        assert proc.returncode == 1
        assert one_error_line(proc) == (
            f"Error: {folder / 'openwatch.db'}: cannot be created: the folder {folder} is not writable "
            "(the database and its -wal and -shm files live there); make the folder writable, or point "
            "`database` in openwatch.toml at a writable place")
        assert list(folder.iterdir()) == []
    finally:
        folder.chmod(0o755)


# ---------------------------------------------------------------------------------------------
# Broken pipes: `openwatch status | head -n 1`


def run_into_closed_pipe(cli: CLI, *args: str) -> subprocess.CompletedProcess:
    """Run with stdout a pipe whose reader has already gone (as `| head` ends up)."""
    read, write = os.pipe()
    os.close(read)
    try:
        return subprocess.run([sys.executable, "-m", "jobs", "--config", str(cli.config), *args],
                              stdout=write, stderr=subprocess.PIPE, text=True, env=cli.env,
                              cwd=cli.config.parent, timeout=120)
    finally:
        os.close(write)


@pytest.mark.parametrize("command", [["status"], ["feed"], ["events", "--json"], ["history", "meta-llama/Llama-3.1-8B"]])
def test_a_closed_pipe_ends_the_output_quietly(labs, command):
    proc = run_into_closed_pipe(labs, *command)
    assert (proc.returncode, proc.stderr) == (0, "")


def test_status_into_head_prints_one_line_and_no_error(labs):
    exe = shlex.join([sys.executable, "-m", "jobs", "--config", str(labs.config)])
    proc = subprocess.run(f"set -o pipefail; {exe} status | head -n 1; {exe} feed | head -n 2",
                          shell=True, executable="/bin/bash", capture_output=True, text=True, env=labs.env,
                          timeout=120)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    assert proc.stdout.splitlines()[0].split()[:3] == ["watch", "source", "every"]


# ---------------------------------------------------------------------------------------------
# Options where users put them; filters that say when they match nothing known


def test_global_options_work_after_the_command(labs, tmp_path):
    proc = labs("crawl", "labs", "--log-format", "json")
    records = [json.loads(line) for line in proc.stderr.splitlines()]
    assert records and all({"time", "level", "logger", "message"} <= set(r) for r in records)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    proc = subprocess.run([sys.executable, "-m", "jobs", "events", "--json", "--config", str(labs.config)],
                          capture_output=True, text=True, env=labs.env, cwd=elsewhere, timeout=120)
    assert (proc.returncode, json.loads(proc.stdout)) == (0, []), proc.stderr
    proc = labs("crawl", "labs", "--debug")
    assert " DEBUG " in proc.stderr
    assert " DEBUG " not in labs("crawl", "labs").stderr


def test_h_is_help(labs):
    assert labs("-h").stdout == labs("--help").stdout
    out = labs("events", "-h").stdout
    assert out.startswith("Usage: openwatch events [OPTIONS]") and "--since" in out
    assert "Usage: openwatch alerts list" in labs("alerts", "list", "-h").stdout


def test_history_texts_are_shown_without_json(labs):
    out = labs("history", "meta-llama/Llama-3.1-8B", "--texts").stdout
    assert "LICENSE:" in out and "LLAMA 3.1 COMMUNITY LICENSE AGREEMENT" in out
    assert "LLAMA 3.1 COMMUNITY" not in labs("history", "meta-llama/Llama-3.1-8B").stdout
    csv_out = labs("history", "meta-llama/Llama-3.1-8B", "--texts", "--csv").stdout
    assert csv_out.splitlines()[0].endswith(",license_texts") and "LLAMA 3.1 COMMUNITY" in csv_out


@pytest.fixture
def eventful(labs, emulator):
    world = emulator.world
    world.add_model("deepseek-ai/DeepSeek-V4", license="mit")
    world.relicense("meta-llama/Llama-3.1-8B", "apache-2.0")
    labs("crawl", "labs")
    return labs


def test_events_type_takes_the_patterns_of_the_config(eventful):
    types = {e["type"] for e in eventful.json("events", "--type", "model.*")}
    assert types == {"model.added", "model.license_changed"}
    assert [e["type"] for e in eventful.json("events", "--type", "model.added")] == ["model.added"]
    assert len(eventful.json("events", "--type", "*")) == 2
    proc = eventful("events", "--type", "modle.*", check=False)
    assert proc.returncode == 2
    assert one_error_line(proc).startswith("Error: --type \"modle.*\" is not an event type;")


def test_filters_that_match_nothing_known_say_so(eventful):
    cases = {
        ("--watch", "nope"): 'Error: --watch "nope" is not a watch of the config or the history; watches: labs',
        ("--country", "China"): 'Error: --country "China" is not a country code; did you mean "CN"?',
        ("--country", "ZZ"): 'Error: --country "ZZ" is the country of no known org; known: ',
        ("--org", "deepseek"): 'Error: --org "deepseek" is not a known org (not in the registry, the history '
                               'or the config); did you mean "deepseek-ai"?',
    }
    for args, start in cases.items():
        proc = eventful("events", *args, check=False)
        assert proc.returncode == 2, (args, proc.stderr)
        assert one_error_line(proc).startswith(start), (args, proc.stderr)
    assert len(eventful.json("events", "--country", "cn")) == 1      # known, in any case
    assert eventful.json("events", "--country", "FR") == []          # known, nothing happened there
    assert len(eventful.json("events", "--org", "DeepSeek-AI")) == 1
    assert eventful.json("events", "--watch", "labs", "--org", "mistralai") == []  # in the registry


def test_an_org_known_only_from_the_history_or_the_config_is_accepted(tmp_path, emulator):
    emulator.world.add_model("tiny-lab/tiny-1", license="mit")
    config = write_config(tmp_path / "openwatch.toml", hf=emulator.url,
                          watches=[{"name": "small", "source": "huggingface", "orgs": ["tiny-lab"], "every": "1h"}])
    ow = CLI(config)
    ow("crawl", "small")
    assert ow.json("events", "--org", "tiny-lab") == []
    config.write_text(config.read_text().replace('"tiny-lab"', '"other-lab"'))
    assert ow.json("events", "--org", "tiny-lab") == []   # in the history's items
    assert ow.json("events", "--org", "other-lab") == []  # in the config


def test_limit_zero_means_all(eventful):
    assert len(eventful.json("events", "--limit", "0")) == 2
    assert len(eventful.json("events", "--limit", "1")) == 1
    proc = eventful("events", "--limit", "-1", check=False)
    assert proc.returncode == 2 and "-1" in one_error_line(proc)
    assert eventful("feed", "--limit", "0").stdout.count("<entry>") == 2


# ---------------------------------------------------------------------------------------------
# Crawl summaries that explain: a misspelled org, many failing orgs, no network


def crawl_problems(proc: subprocess.CompletedProcess) -> list[str]:
    """The explained problems under a crawl's result line (indented, on stderr)."""
    return [line.strip() for line in proc.stderr.splitlines() if line.startswith("  ")]


def test_a_misspelled_org_is_named_with_the_registry_match(tmp_path, emulator):
    seed(emulator.world)
    config = write_config(tmp_path / "openwatch.toml", hf=emulator.url,
                          watches=[{"name": "labs", "source": "huggingface", "orgs": ["meta-llama", "deepseek"],
                                    "every": "1h"}])
    ow = CLI(config)
    expected = [f"deepseek: no models listed: the org has no public models, or does not exist on "
                f"{emulator.url.removeprefix('http://')}; did you mean deepseek-ai?"]
    for _ in range(2):  # not only the first time: every crawl says it
        proc = ow("crawl", "labs")
        assert proc.stdout.startswith("labs: partial - 1 items")
        assert crawl_problems(proc) == expected, proc.stderr
    proc = ow("run", "--once")
    assert crawl_problems(proc) == expected, proc.stderr


def test_every_failing_org_is_accounted_for(tmp_path, emulator):
    orgs = [f"lab-{i}" for i in range(8)]
    emulator.faults.add(Fault("author=lab-", status=500))
    config = write_config(tmp_path / "openwatch.toml", hf=emulator.url,
                          watches=[{"name": "labs", "source": "huggingface", "orgs": orgs, "every": "1h"}])
    ow = CLI(config)
    proc = ow("run", "--once", check=False)
    assert proc.returncode == 1
    problems = crawl_problems(proc)
    assert len(problems) == 6, proc.stderr
    assert problems[-1] == "… and 3 more: openwatch status --json lists them all"
    (watch,) = ow.json("status")["watches"]
    assert sorted(error.split(":")[0] for error in watch["errors"]) == orgs
    assert {p.split(":")[0] for p in problems[:5]} <= set(orgs)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("hub, host, why", [
    ("http://hub.invalid", "hub.invalid", "its name does not resolve"),
    (None, "127.0.0.1:{port}", "connection refused"),
])
def test_an_unreachable_hub_is_named_once(tmp_path, hub, host, why):
    port = free_port()
    hub = hub or f"http://127.0.0.1:{port}"
    config = write_config(tmp_path / "openwatch.toml", hf=hub,
                          watches=[{"name": "labs", "source": "huggingface",
                                    "orgs": ["meta-llama", "deepseek-ai", "Qwen"], "every": "1h"}])
    proc = CLI(config)("crawl", "labs", check=False)
    assert proc.returncode == 1
    assert crawl_problems(proc) == [
        f"{host.format(port=port)} is unreachable ({why}): every request of the crawl failed; check the network "
        "connection, or [endpoints] huggingface in openwatch.toml"], proc.stderr


# ---------------------------------------------------------------------------------------------
# The daemon: without network, without subscriptions, and stopped twice


def test_the_daemon_without_network_or_subscriptions_says_so(tmp_path):
    from tests.e2e.test_daemon import Daemon

    config = write_config(tmp_path / "openwatch.toml", hf="http://hub.invalid",
                          watches=[{"name": "labs", "source": "huggingface", "orgs": ["meta-llama", "Qwen"],
                                    "every": "30m"}])
    daemon = Daemon(CLI(config))
    try:
        warning = daemon.wait_for_line(r"subscription")
        failed = daemon.wait_for_line(r"crawl labs: failed")
        retry = daemon.wait_for_line(r"next crawl of labs")
    finally:
        code = daemon.stop()
    assert code == 0, daemon.log()
    assert warning.split(" ", 1)[1] == (
        f"WARNING openwatch.daemon: {config}: no [[subscription]]: events are recorded but nobody hears of "
        "them; add one (openwatch alerts channels lists the channels), or query with openwatch events")
    assert "WARNING" in failed and failed.endswith(
        "; hub.invalid is unreachable (its name does not resolve): every request of the crawl failed; check the "
        "network connection, or [endpoints] huggingface in openwatch.toml")
    assert re.search(r"INFO openwatch\.daemon: next crawl of labs at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \(in \d+m\)$",
                     retry), retry
    assert daemon.lines.index(warning) < daemon.lines.index(failed) < daemon.lines.index(retry)


@pytest.mark.parametrize("mode", ["inprocess", "subprocess"])
def test_a_second_sigterm_stops_at_once_and_the_summary_counts_the_cut_crawl(tmp_path, emulator, mode):
    from jobs.scheduler import CUT_WAIT
    from tests.e2e.test_daemon import Daemon, rows, wait_until

    emulator.world.add_model("meta-llama/Llama-3.1-8B", license="llama3.1")
    emulator.faults.add(Fault("author=meta-llama", status=None, delay=120))  # the listing hangs
    config = write_config(
        tmp_path / "openwatch.toml", hf=emulator.url,
        watches=[{"name": "labs", "source": "huggingface", "orgs": ["meta-llama"], "every": "1h", "timeout": "5m"}],
        extra='\n[daemon]\nshutdown_grace = "2m"\n',
    )
    ow = CLI(config, env={"OPENWATCH_CRAWL_MODE": mode})
    daemon = Daemon(ow)
    try:
        wait_until(lambda: rows(ow, "select count(*) from crawls where status = 'running'") == [(1,)],
                   "the crawl to start", 30, daemon)
        daemon.proc.send_signal(signal.SIGTERM)
        daemon.wait_for_line(r"waiting up to 120s for 1 running crawl")
        started = time.monotonic()
        daemon.proc.send_signal(signal.SIGTERM)
        code = daemon.proc.wait(timeout=60)
        elapsed = time.monotonic() - started
    finally:
        daemon.stop()
    assert code == 0, daemon.log()
    assert elapsed < CUT_WAIT, daemon.log()  # the old code waited CUT_WAIT (10 s) for the cut crawl
    assert not any("after the cut" in line for line in daemon.lines), daemon.log()
    ((status, errors),) = rows(ow, "select status, errors from crawls")
    assert status == "failed" and "cut: the daemon stopped before the crawl finished" in errors
    assert daemon.lines[-1].endswith("daemon stopped: 1 crawls (1 failed) since start"), daemon.log()


# ---------------------------------------------------------------------------------------------
# The demo's suggestions work as printed


def test_every_command_the_demo_suggests_works_as_printed(tmp_path):
    exe = Path(sys.executable).with_name("openwatch")  # the console script, as `make demo` runs it
    assert exe.exists()
    bin_dir = str(exe.parent)
    path = os.pathsep.join(p for p in os.environ.get("PATH", "").split(os.pathsep) if p != bin_dir)
    env = {**os.environ, "TMPDIR": str(tmp_path), "PATH": path}  # openwatch is not on PATH
    proc = subprocess.run([str(exe), "demo", "--keep", "--speed", "3"], capture_output=True, text=True, env=env,
                          cwd=tmp_path, timeout=240, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = [re.sub(r"^\s*\d+\.\d+s ", "", line) for line in proc.stdout.splitlines()]
    start = next(i for i, line in enumerate(lines) if line.endswith("try:"))
    commands = []
    for line in lines[start + 1:]:
        if not line.startswith("  "):
            break
        commands.append(line.strip())
    assert len(commands) >= 3, proc.stdout
    assert all(shlex.split(c)[0] in (str(exe), "sqlite3") for c in commands), commands
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    for command in commands:  # in a fresh shell: no OPENWATCH_ALLOW_SHORT_INTERVALS, another folder
        ran = subprocess.run(command, shell=True, executable="/bin/bash", capture_output=True, text=True,
                             env={**env, "PATH": path}, cwd=elsewhere, timeout=120)
        assert ran.returncode == 0 and ran.stdout.strip(), (command, ran.stdout, ran.stderr)
        assert ran.stderr == "", (command, ran.stderr)
