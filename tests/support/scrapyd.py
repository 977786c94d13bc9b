"""A real Scrapyd server for tests: its own scrapyd.conf and directories under a tmp folder.

Scrapyd cannot bind port 0 (`app.py` starts no TCP server when `http_port` is falsy), so a
free port is picked by binding one and closing it; if Scrapyd then loses the race for it the
process exits and `start()` tries another port. Readiness is twistd's "Site starting on PORT"
log line (read from its output, with a bound on the wait), confirmed by one
`daemonstatus.json`; no sleep.

By default the server runs in a *bare* interpreter: a venv with no packages of its own whose
one `.pth` line puts this environment's site-packages on `sys.path`. `.pth` files are read
only in site directories, so this environment's editable install of openwatch (a `.pth`
hook) is not: `crawler` can only come from the deployed egg, as on a worker machine where
only Scrapyd is installed.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import sysconfig
import threading
from pathlib import Path

import httpx

READY_WITHIN = 60.0  # seconds Scrapyd gets to answer daemonstatus.json after it starts


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def bare_python(folder: Path) -> str:
    """A venv whose interpreter sees this environment's packages but not its `.pth` hooks."""
    python = folder / "bin" / "python"
    if python.exists():
        return str(python)
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder)], check=True)
    purelib = Path(sysconfig.get_paths(vars={"base": str(folder), "platbase": str(folder)})["purelib"])
    purelib.mkdir(parents=True, exist_ok=True)
    ours = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (purelib / "openwatch-test-deps.pth").write_text("".join(f"{path}\n" for path in sorted(ours)))
    return str(python)


def worker_environ() -> dict[str, str]:
    """This environment less what a worker machine would not have: tokens, proxies (every
    server here is on loopback), Scrapy/Scrapyd/openwatch variables. A module-scoped server
    starts before the per-test `clean_environ` fixture runs, so it cleans for itself."""
    from tests.support.cli import STRIP

    drop = (*STRIP, "SCRAPY_", "SCRAPYD_")
    return {k: v for k, v in os.environ.items()
            if not k.startswith(drop) and k.lower() not in ("http_proxy", "https_proxy", "all_proxy", "no_proxy")}


class ScrapydServer:
    """`scrapyd` in a subprocess on 127.0.0.1, every directory inside `root`.

    `items_dir=False` leaves Scrapyd's default (no items feed), for the client's error path.
    """

    def __init__(
        self,
        root: Path,
        *,
        python: str | None = None,
        max_proc: int = 2,
        poll_interval: float = 0.5,
        username: str = "",
        password: str = "",
        items_dir: bool = True,
        jobs_to_keep: int = 100,
    ):
        self.root = Path(root)
        self.python = python or sys.executable
        self.max_proc = max_proc
        self.poll_interval = poll_interval
        self.username = username
        self.password = password
        self.items_dir = items_dir
        self.jobs_to_keep = jobs_to_keep
        self.port: int | None = None
        self.url: str | None = None
        self.process: subprocess.Popen | None = None

    def write_conf(self, port: int) -> Path:
        lines = [
            "[scrapyd]",
            "bind_address = 127.0.0.1",
            f"http_port = {port}",
            f"eggs_dir = {self.root / 'eggs'}",
            f"logs_dir = {self.root / 'logs'}",
            f"items_dir = {self.root / 'items' if self.items_dir else ''}",
            f"dbs_dir = {self.root / 'dbs'}",
            f"max_proc = {self.max_proc}",
            f"poll_interval = {self.poll_interval}",
            f"jobs_to_keep = {self.jobs_to_keep}",
            f"username = {self.username}",
            f"password = {self.password}",
        ]
        conf = self.root / "scrapyd.conf"
        conf.write_text("\n".join(lines) + "\n")
        return conf

    def start(self) -> str:
        self.root.mkdir(parents=True, exist_ok=True)
        errors = []
        for _ in range(5):
            port = free_port()
            self.write_conf(port)
            env = worker_environ()
            self.process = subprocess.Popen(
                [self.python, "-m", "scrapyd", "--pidfile", ""],
                cwd=self.root, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env,
                start_new_session=True,  # its crawl processes go with it (see kill())
            )
            self.port, self.url = port, f"http://127.0.0.1:{port}"
            listening = threading.Event()
            drain = threading.Thread(target=self._copy_log, args=(self.process.stdout, listening), daemon=True)
            drain.start()
            if listening.wait(READY_WITHIN) and self.process.poll() is None and self._answers():
                return self.url
            errors.append(self._log_tail())
            self.stop()
        raise RuntimeError("scrapyd did not start:\n" + "\n---\n".join(errors))

    def _copy_log(self, stream, listening: threading.Event) -> None:
        """Scrapyd's log to `scrapyd.log`; `listening` is set once twistd says the port is bound
        (or the process ended), so start() waits on an event, not a clock."""
        with open(self.root / "scrapyd.log", "ab") as log:
            for line in stream:
                log.write(line)
                log.flush()
                if b"Site starting on" in line:
                    listening.set()
        listening.set()

    def _answers(self) -> bool:
        auth = (self.username, self.password) if self.username else None
        try:
            with httpx.Client(timeout=10.0, auth=auth, trust_env=False) as client:
                return client.get(f"{self.url}/daemonstatus.json").json().get("status") == "ok"
        except (httpx.HTTPError, ValueError):
            return False

    def _log_tail(self) -> str:
        path = self.root / "scrapyd.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else "(no log)"

    def kill(self) -> None:
        """SIGKILL Scrapyd and the crawl processes it started (a worker machine that died)."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=30)
            except ProcessLookupError:
                pass
        # Crawl processes left in the group (SIGTERM reaches Scrapyd, which does not wait for them).
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass

    def __enter__(self) -> "ScrapydServer":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
