"""Secrets and exposure (issue 10 A6, SECURITY.md): webhook URLs, signing secrets, the SMTP
password and API tokens never reach a log, an error, `status`, the database or the output of a
killed process, even when receivers fail or echo them back; the database, its WAL and the lock
file are the owner's alone (0600); a crawl opens no listening port.

Real processes throughout: the `openwatch` CLI and daemon in subprocesses, the hub emulator,
loopback HTTP receivers, a hostile SMTP server on loopback, the real SQLite file.
"""

from __future__ import annotations

import base64
import os
import signal
import socket
import socketserver
import sqlite3
import stat
import subprocess
import sys
import threading
import time
import zlib
from pathlib import Path

import psutil
import pytest

from alerts.receivers import HttpReceiver, Response
from crawler.emulator import Fault
from tests.support.cli import CLI, write_config

# Every secret and every part of one that could be echoed on its own.
SLACK_PARTS = ("T0SECRETTEAM", "B0SECRETBOT", "slackPathTok3nXYZ")
HOOK_PATH = "hookPathS3cretABC"
HOOK_QUERY = "qS3cretValue42"
REFUSED_PATH = "refusedPathS3cretDEF"
WEBHOOK_KEY = base64.b64encode(b"openwatch-exposure-test-key-0123").decode()
WEBHOOK_SECRET = "whsec_" + WEBHOOK_KEY
SMTP_PASSWORD = "smtpPassw0rdS3cretGHI"
HF_TOKEN = "hf_SecretHubTok3nJKLmnopqrstuvwx"
GITHUB_TOKEN = "ghp_SecretGitHubTok3nMNOpqrstuvw"


def secret_strings(env: dict[str, str]) -> list[str]:
    """What must never be seen: each secret whole, and each of its parts (path segments, query
    values, the key inside a `whsec_` secret)."""
    return [
        env["SLACK_WEBHOOK_URL"], *SLACK_PARTS, "/".join(SLACK_PARTS),
        env["WEBHOOK_URL"], HOOK_PATH, HOOK_QUERY,
        env["REFUSED_URL"], REFUSED_PATH,
        WEBHOOK_SECRET, WEBHOOK_KEY,
        SMTP_PASSWORD, HF_TOKEN, HF_TOKEN.removeprefix("hf_"), GITHUB_TOKEN, GITHUB_TOKEN.removeprefix("ghp_"),
    ]


def leaks(text: str, secrets: list[str]) -> list[str]:
    return [s for s in secrets if s in text]


def free_port() -> int:
    """A loopback port nobody listens on (bound, then closed): "connection refused"."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class EchoingSmtp:
    """A hostile mail relay on loopback: offers AUTH PLAIN and refuses the login with a reply
    that echoes the username and password it was sent (535, permanent)."""

    def __init__(self):
        class Handler(socketserver.StreamRequestHandler):
            def handle(self):
                self.wfile.write(b"220 evil.example ESMTP\r\n")
                for raw in self.rfile:
                    line = raw.decode("latin-1").strip()
                    verb = line.split(" ", 1)[0].upper()
                    if verb == "EHLO":
                        self.wfile.write(b"250-evil.example\r\n250-AUTH PLAIN\r\n250 8BITMIME\r\n")
                    elif verb == "HELO":
                        self.wfile.write(b"250 evil.example\r\n")
                    elif verb == "AUTH":
                        blob = line.split(" ")[-1]
                        try:
                            _, user, password = base64.b64decode(blob).decode("latin-1").split("\0")
                        except ValueError:
                            user = password = "?"
                        self.wfile.write(f"535 5.7.8 no user {user} with password {password}\r\n".encode())
                    elif verb == "QUIT":
                        self.wfile.write(b"221 bye\r\n")
                        return
                    else:
                        self.wfile.write(b"502 5.5.2 no\r\n")

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def dump_database(path: Path) -> str:
    """Every row of every table, as text (LICENSE texts decompressed)."""
    conn = sqlite3.connect(path, timeout=30)
    try:
        out = []
        tables = [name for (name,) in conn.execute("select name from sqlite_master where type = 'table'")]
        for table in tables:
            for row in conn.execute(f'select * from "{table}"'):
                for value in row:
                    if isinstance(value, bytes):
                        try:
                            value = zlib.decompress(value).decode("utf-8", "replace")
                        except zlib.error:
                            value = value.decode("latin-1")
                    out.append(f"{table}: {value}")
        return "\n".join(out)
    finally:
        conn.close()


def files_text(folder: Path) -> str:
    """Every file under `folder` (database, WAL, config, anything a library wrote), as text."""
    return "\n".join(
        f"{path}: " + path.read_bytes().decode("latin-1") for path in sorted(folder.rglob("*")) if path.is_file()
    )


def start(cli: CLI, *args: str, logs: Path) -> subprocess.Popen:
    """The real CLI in the background, its output going to files (read after it ends)."""
    out = open(logs.with_suffix(".out"), "w")
    err = open(logs.with_suffix(".err"), "w")
    try:
        return subprocess.Popen([sys.executable, "-m", "jobs", "--config", str(cli.config), *args],
                                stdout=out, stderr=err, env=cli.env, cwd=cli.config.parent)
    finally:
        out.close()
        err.close()


def wait_until(condition, what: str, timeout: float = 60, proc: subprocess.Popen | None = None):
    deadline = time.monotonic() + timeout
    while not condition():
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"process exited {proc.returncode} while waiting for {what}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)  # polling a condition, not guessing readiness


@pytest.mark.slow
def test_no_secret_reaches_logs_errors_status_database_or_crash_output(tmp_path, emulator):
    world = emulator.world
    for org in ("deepseek-ai", "meta-llama"):
        for i in range(3):
            world.add_model(f"{org}/M-{i}", license="mit")
    with (HttpReceiver() as slack, HttpReceiver() as hook, EchoingSmtp() as mail):
        slack_url = slack.url("/services/" + "/".join(SLACK_PARTS))
        hook_url = hook.url(f"/hooks/{HOOK_PATH}?token={HOOK_QUERY}")
        env = {
            "SLACK_WEBHOOK_URL": slack_url,
            "WEBHOOK_URL": hook_url,
            "REFUSED_URL": f"http://127.0.0.1:{free_port()}/hooks/{REFUSED_PATH}",
            "OPENWATCH_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "SMTP_PASSWORD": SMTP_PASSWORD,
            "HF_TOKEN": HF_TOKEN,
            "GITHUB_TOKEN": GITHUB_TOKEN,
            # Anything a library writes to the user's home or state directory lands here, and is read.
            "HOME": str(tmp_path / "home"),
            "XDG_STATE_HOME": str(tmp_path / "state"),
            "XDG_CACHE_HOME": str(tmp_path / "cache"),
        }
        secrets = secret_strings(env)
        config = write_config(
            tmp_path / "openwatch.toml", hf=emulator.url,
            watches=[{"name": "labs", "source": "huggingface", "orgs": ["deepseek-ai", "meta-llama"], "every": "1s",
                      "timeout": "1m", "jitter": "0s"}],
            subscriptions=[
                {"name": "team", "channel": "slack", "url": "${SLACK_WEBHOOK_URL}"},
                {"name": "hook", "channel": "webhook", "url": "${WEBHOOK_URL}", "secret": "${OPENWATCH_WEBHOOK_SECRET}",
                 "events": ["*"]},
                {"name": "down", "channel": "webhook", "url": "${REFUSED_URL}", "secret": "${OPENWATCH_WEBHOOK_SECRET}"},
                {"name": "mail", "channel": "email", "to": ["ops@example.org"]},
            ],
            extra=(f'\n[smtp]\nhost = "127.0.0.1"\nport = {mail.port}\nusername = "openwatch"\n'
                   'password = "${SMTP_PASSWORD}"\nsender = "openwatch <ow@example.org>"\n'
                   '\n[daemon]\ndispatch_every = "1s"\nshutdown_grace = "2s"\n'),
        )
        ow = CLI(config, env=env)
        seen: list[str] = []

        def run(*args, check=True):
            proc = ow(*args, check=check)
            seen.append(f"$ openwatch {' '.join(args)}\n{proc.stdout}\n{proc.stderr}")
            return proc

        run("run", "--once")  # the baseline
        world.add_model("deepseek-ai/New-1", license="mit")
        world.relicense("meta-llama/M-0", "cc-by-nc-4.0")
        world.delete("deepseek-ai/M-2")  # a direct check of the missing model
        # Receivers that fail and echo what they were sent: the URL and its token, the secret.
        slack.script(Response(500, body=f"no_service: POST {slack_url} /services/{'/'.join(SLACK_PARTS)}"),
                     Response(404, body=f"invalid_token {SLACK_PARTS[2]}"))
        hook.script(Response(500, body=f"bad signature for {WEBHOOK_SECRET} at {hook_url}"),
                    Response(503, body=f"token {HOOK_QUERY} expired", headers={"Retry-After": "1"}))
        run("--debug", "run", "--once")
        run("deliver", check=False)  # exits 1: the 404 makes a dead letter
        for args in (("status",), ("status", "--json"), ("alerts", "list"), ("events", "--json"),
                     ("history", "meta-llama/M-0", "--json"), ("feed",)):
            run(*args)
        for name in ("team", "hook", "down", "mail"):
            run("--debug", "alerts", "test", name, check=False)

        # A crash: the daemon killed while it crawls and sends (the receiver answers slowly).
        world.add_model("deepseek-ai/New-2", license="mit")
        hook.script(Response(200, delay=3))
        before = len(hook.requests)
        daemon = start(ow, "--debug", "run", logs=tmp_path / "daemon")
        try:
            wait_until(lambda: len(hook.requests) > before, "the daemon sending to the hook", 60, daemon)
        finally:
            daemon.send_signal(signal.SIGKILL)
            daemon.wait(timeout=30)
        seen.append((tmp_path / "daemon.out").read_text() + (tmp_path / "daemon.err").read_text())
        run("--debug", "deliver", check=False)
        run("status")

    output = "\n".join(seen)
    assert leaks(output, secrets) == [], "in command output"
    assert "failed" in output and "dead" in output  # the failures did happen, and were reported
    assert leaks(dump_database(tmp_path / "openwatch.db"), secrets) == [], "in the database"
    assert "${SLACK_WEBHOOK_URL}" in config.read_text()  # the config names variables, holds no secret
    assert leaks(files_text(tmp_path), secrets) == [], "in a file (database, WAL, config, logs, home)"


def test_a_redirect_to_another_origin_does_not_carry_the_token(tmp_path, emulator):
    """A mirror that sends the crawler elsewhere (a 302 to another host or port) does not get
    the Hugging Face token there: Scrapy drops Authorization on a cross-origin redirect."""
    emulator.world.add_model("deepseek-ai/A", license="mit")
    with HttpReceiver() as elsewhere:
        emulator.faults.add(Fault("author=deepseek-ai", status=302,
                                  headers={"Location": elsewhere.url("/api/models?author=deepseek-ai")}))
        config = write_config(tmp_path / "openwatch.toml", hf=emulator.url,
                              watches=[{"name": "labs", "source": "huggingface", "orgs": ["deepseek-ai"],
                                        "every": "1h"}])
        ow = CLI(config, env={"HF_TOKEN": HF_TOKEN})
        proc = ow("crawl", "labs", check=False)
        assert emulator.requests.log[0].headers.get("Authorization") == f"Bearer {HF_TOKEN}"  # the token was used
        assert [r.header("Authorization") for r in elsewhere.requests] == [None] * len(elsewhere.requests)
    assert HF_TOKEN not in proc.stdout + proc.stderr


def test_an_endpoint_echoing_the_token_does_not_get_it_stored_or_shown(tmp_path, emulator):
    """A mirror that echoes the token in an error header (here on a direct check of a missing
    model): the crawl's errors, `crawl` and `status` output and the database stay clean."""
    for i in range(3):
        emulator.world.add_model(f"deepseek-ai/M-{i}", license="mit")
    config = write_config(tmp_path / "openwatch.toml", hf=emulator.url,
                          watches=[{"name": "labs", "source": "huggingface", "orgs": ["deepseek-ai"], "every": "1h"}])
    ow = CLI(config, env={"HF_TOKEN": HF_TOKEN})
    ow("crawl", "labs")
    emulator.world.delete("deepseek-ai/M-2")
    emulator.faults.add(Fault("/api/models/deepseek-ai/M-2", status=403,
                              headers={"X-Error-Code": f"Forbidden token={HF_TOKEN}"}))
    crawled = ow("crawl", "labs", check=False)
    shown = crawled.stdout + crawled.stderr + ow("status").stdout + ow("status", "--json").stdout
    assert "direct check failed" in shown  # the error is reported, without the token
    assert leaks(shown, [HF_TOKEN]) == []
    assert leaks(dump_database(tmp_path / "openwatch.db"), [HF_TOKEN]) == []


def test_a_next_link_to_another_origin_does_not_carry_the_token(tmp_path, emulator):
    """The Hub's cursor always points at the Hub; a `Link: <elsewhere>; rel="next"` from a
    hostile endpoint must not send the token elsewhere."""
    emulator.world.add_model("deepseek-ai/A", license="mit")
    with HttpReceiver() as elsewhere:
        emulator.faults.add(Fault("author=deepseek-ai", status=200, body="[]", times=1,
                                  headers={"Content-Type": "application/json",
                                           "Link": f'<{elsewhere.url("/api/models?cursor=x")}>; rel="next"'}))
        config = write_config(tmp_path / "openwatch.toml", hf=emulator.url,
                              watches=[{"name": "labs", "source": "huggingface", "orgs": ["deepseek-ai"],
                                        "every": "1h"}])
        CLI(config, env={"HF_TOKEN": HF_TOKEN})("crawl", "labs", check=False)
        assert [r.header("Authorization") for r in elsewhere.requests] == [None] * len(elsewhere.requests)


# -- a hostile receiver ------------------------------------------------------------------------


def test_a_receiver_redirect_is_not_followed(tmp_path):
    """A webhook receiver answering 302 elsewhere does not get our signed payload sent there."""
    with HttpReceiver() as receiver, HttpReceiver() as elsewhere:
        receiver.script(Response(302, headers={"Location": elsewhere.url("/collect")}))
        config = write_config(tmp_path / "openwatch.toml", hf="http://127.0.0.1:9",
                              watches=[{"name": "labs", "source": "huggingface", "orgs": ["a"], "every": "1h"}],
                              subscriptions=[{"name": "hook", "channel": "webhook", "url": receiver.url("/hook"),
                                              "secret": WEBHOOK_SECRET}])
        answer = CLI(config)("alerts", "test", "hook", check=False)
        assert answer.returncode == 1 and "302" in answer.stdout + answer.stderr
        assert len(receiver.requests) == 1 and elsewhere.requests == []


class TricklingReceiver:
    """Answers 200 and then a body of one byte every half second, for ever (until closed);
    with `headers=True` it trickles a header instead, so no status line ever completes."""

    def __init__(self, headers: bool = False):
        self.closing = threading.Event()
        start, piece = ((b"HTTP/1.1 200 OK\r\nX-Slow: ", b"x") if headers else
                        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", b"1\r\nx\r\n"))

        class Handler(socketserver.BaseRequestHandler):
            def handle(handler):
                handler.request.recv(65536)
                handler.request.sendall(start)
                while not self.closing.wait(0.5):
                    try:
                        handler.request.sendall(piece)
                    except OSError:
                        return

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def close(self):
        self.closing.set()
        self.server.shutdown()
        self.server.server_close()


def _post_to(receiver: TricklingReceiver, *, timeout: float = 1.0, wait: float = 4.0) -> list:
    """POST to `receiver` in a thread; what came back within `wait` seconds: [status] or
    [DeliveryError], or [] when the POST was still going (the receiver is closed after)."""
    from alerts.exceptions import DeliveryError
    from alerts.transport import Transport

    outcome: list = []

    def send():
        try:
            with Transport(timeout=timeout) as transport:
                outcome.append(transport.post(receiver.url, content=b"{}", headers={}).status_code)
        except DeliveryError as exc:
            outcome.append(exc)

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    sender.join(timeout=wait)
    got = list(outcome)
    receiver.close()
    sender.join(timeout=5)
    return got


def test_a_trickling_receiver_cannot_hold_a_delivery_past_the_timeout():
    outcome = _post_to(TricklingReceiver())
    assert outcome, "the POST was still reading the answer 4 s after it began (timeout 1 s)"
    # The status line came at once: it is the answer (a 2xx taken as a timeout would be
    # retried and posted twice); the trickled body is what arrived before the cut.
    assert outcome == [200]


def test_a_receiver_trickling_its_headers_cannot_hold_a_delivery_past_the_timeout():
    from alerts.exceptions import DeliveryError

    outcome = _post_to(TricklingReceiver(headers=True))
    assert outcome, "the POST was still reading the headers 4 s after it began (timeout 1 s)"
    (error,) = outcome  # no status line in time: a timeout, retried like any other
    assert isinstance(error, DeliveryError) and error.retryable and "timed out" in str(error), error


def test_a_2xx_whose_body_is_cut_short_is_an_acceptance_not_a_retry():
    """Review finding: a receiver answering 200 and then closing before its Content-Length
    was a retryable "unreachable" error, so the message was posted again."""
    from alerts.transport import Transport

    class Handler(socketserver.BaseRequestHandler):
        def handle(handler):
            handler.request.recv(65536)
            handler.request.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nok")

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        with Transport(timeout=5.0) as transport:
            answer = transport.post(f"http://127.0.0.1:{server.server_address[1]}/hook", content=b"{}", headers={})
        assert answer.status_code == 200 and answer.content == b"ok"
    finally:
        server.shutdown()
        server.server_close()


def test_a_huge_answer_is_cut_to_the_excerpt_cap_and_its_status_kept(tmp_path):
    """A receiver answering 500 with 20 MB: the delivery is a retryable error whose excerpt is
    one short scrubbed line, and the transport keeps at most MAX_ANSWER_BYTES of the body."""
    from alerts.transport import MAX_ANSWER_BYTES, Transport

    with HttpReceiver() as receiver:
        receiver.script(Response(500, body="x" * (20 * 1024 * 1024)))
        with Transport(timeout=10.0) as transport:
            answer = transport.post(receiver.url("/hook"), content=b"{}", headers={})
        assert answer.status_code == 500 and answer.reason_phrase == "Internal Server Error"
        assert 0 < len(answer.content) <= MAX_ANSWER_BYTES and set(answer.text) == {"x"}


# -- file modes --------------------------------------------------------------------------------


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_database_wal_shm_and_lock_are_created_0600_whatever_the_umask(tmp_path, emulator):
    emulator.world.add_model("deepseek-ai/A", license="mit")
    hold = emulator.faults.add(Fault("author=deepseek-ai", status=None, delay=30))  # the listing hangs
    config = write_config(tmp_path / "openwatch.toml", hf=emulator.url,
                          watches=[{"name": "labs", "source": "huggingface", "orgs": ["deepseek-ai"],
                                    "every": "1h", "jitter": "0s"}],
                          extra='\n[daemon]\nshutdown_grace = "1s"\n')
    ow = CLI(config)
    db = tmp_path / "openwatch.db"
    files = [db, Path(f"{db}-wal"), Path(f"{db}-shm"), Path(f"{db}.lock")]
    out, err = open(tmp_path / "d.out", "w"), open(tmp_path / "d.err", "w")
    # umask 0: whatever SQLite or Python would do by default would be world-readable.
    daemon = subprocess.Popen([sys.executable, "-m", "jobs", "--config", str(config), "run"], stdout=out, stderr=err,
                              env=ow.env, cwd=tmp_path, umask=0)
    out.close(), err.close()
    try:
        wait_until(lambda: hold.fired >= 1 and all(p.exists() for p in files), "a crawl holding the database open",
                   60, daemon)
        assert {p.name: oct(mode(p)) for p in files} == {p.name: "0o600" for p in files}
    finally:
        daemon.send_signal(signal.SIGKILL)
        daemon.wait(timeout=30)
    emulator.faults.remove(hold)
    # After a kill -9 the WAL is left behind; the next process keeps it private too.
    proc = subprocess.run([sys.executable, "-m", "jobs", "--config", str(config), "crawl", "labs"],
                          env=ow.env, cwd=tmp_path, umask=0, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert {p.name: oct(mode(p)) for p in files if p.exists()} == {p.name: "0o600" for p in files if p.exists()}


def test_connect_keeps_an_existing_mode_and_never_widens_the_side_files(tmp_path):
    from jobs.database import connect

    old = os.umask(0)
    try:
        path = tmp_path / "shared.db"
        path.touch(mode=0o640)  # an operator's deliberate choice (a group that reads it)
        db = connect(path)
        assert mode(path) == 0o640
        assert all(mode(Path(f"{path}{s}")) & ~0o640 == 0 for s in ("-wal", "-shm"))
        db.close()
        fresh = tmp_path / "sub" / "fresh.db"
        db = connect(fresh)
        assert [oct(mode(Path(f"{fresh}{s}"))) for s in ("", "-wal", "-shm")] == ["0o600"] * 3
        db.close()
    finally:
        os.umask(old)


# -- no port into the crawler ------------------------------------------------------------------


def test_crawler_settings_switch_off_telnet_and_remote_control(tmp_path):
    from scrapy.utils.conf import build_component_list

    from jobs.config.loader import load_config
    from jobs.crawls.settings import crawler_settings

    config = load_config(write_config(tmp_path / "openwatch.toml", hf="http://127.0.0.1:9",
                                      watches=[{"name": "labs", "source": "huggingface", "orgs": ["a"],
                                                "every": "1h"}]), {})
    settings = crawler_settings(config, config.watches[0])
    enabled = build_component_list(settings.getwithbase("EXTENSIONS"))
    assert not any("telnet" in str(e).lower() or "remote_control" in str(e).lower() for e in enabled), enabled
    assert settings.getbool("TELNETCONSOLE_ENABLED") is False
    assert settings.getbool("REMOTE_CONTROL_ENABLED") is False


def listening(pids: list[int]) -> list:
    found = []
    for pid in pids:
        try:
            found += [c for c in psutil.Process(pid).net_connections(kind="inet") if c.status == psutil.CONN_LISTEN]
        except psutil.NoSuchProcess:
            continue
    return found


@pytest.mark.parametrize("mode_", ["inprocess", "subprocess"])
def test_a_crawl_opens_no_listening_socket(tmp_path, emulator, mode_):
    emulator.world.add_model("deepseek-ai/A", license="mit")
    hold = emulator.faults.add(Fault("author=deepseek-ai", status=None, delay=30))  # mid-crawl while we look
    config = write_config(tmp_path / "openwatch.toml", hf=emulator.url,
                          watches=[{"name": "labs", "source": "huggingface", "orgs": ["deepseek-ai"],
                                    "every": "1h", "jitter": "0s"}])
    ow = CLI(config, env={"OPENWATCH_CRAWL_MODE": mode_, "HOME": str(tmp_path / "home"),
                          "XDG_STATE_HOME": str(tmp_path / "state")})
    daemon = start(ow, "run", logs=tmp_path / "daemon")
    try:
        wait_until(lambda: hold.fired >= 1, "the crawl's first request", 60, daemon)
        family = [daemon.pid] + [c.pid for c in psutil.Process(daemon.pid).children(recursive=True)]
        assert listening(family) == []
    finally:
        children = [c for c in psutil.Process(daemon.pid).children(recursive=True)] if daemon.poll() is None else []
        daemon.send_signal(signal.SIGKILL)
        daemon.wait(timeout=30)
        for child in children:  # a crawl child of the killed daemon: ours to end
            try:
                child.kill()
            except psutil.NoSuchProcess:
                pass
    assert not (tmp_path / "state" / "scrapy").exists()  # no remote-control job file with its token


def test_behind_a_proxy_from_the_environment_deliveries_go_through_it(monkeypatch):
    """Review finding: with a transport of ours httpx ignores HTTP(S)_PROXY, and every delivery
    of a daemon behind a corporate proxy failed. A real loopback proxy receives the POST."""
    from alerts.transport import Transport

    seen: list[bytes] = []

    class Proxy(socketserver.BaseRequestHandler):
        def handle(handler):
            seen.append(handler.request.recv(65536))
            handler.request.sendall(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n")

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Proxy)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{server.server_address[1]}")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    try:
        with Transport(timeout=5.0) as transport:
            answer = transport.post("http://receiver.invalid/hook", content=b"{}", headers={})
        assert answer.status_code == 204
        assert seen and seen[0].startswith(b"POST http://receiver.invalid/hook ")  # the proxy's request form
    finally:
        server.shutdown()
        server.server_close()
