"""Shared fixtures: a clean environment, the hub emulator, a config writer, the real CLI."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

try:  # keep Hypothesis from writing its example database into the repository
    from hypothesis import settings as _hypothesis_settings

    _hypothesis_settings.register_profile("openwatch", database=None)
    _hypothesis_settings.load_profile("openwatch")
except ImportError:  # pragma: no cover - hypothesis is a test dependency
    pass
STRIP = ("HF_", "GITHUB_", "SLACK_", "SMTP_", "OPENWATCH_")


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch):
    for name in list(os.environ):
        # Proxies too: every server in these tests is on loopback, and a proxy cannot reach it.
        if name.startswith(STRIP) or name.lower() in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
            monkeypatch.delenv(name, raising=False)


@pytest.fixture
def http():
    """A loopback HTTP receiver (Slack-like, webhooks) recording every request."""
    from alerts.receivers import HttpReceiver

    with HttpReceiver() as receiver:
        yield receiver


@pytest.fixture
def smtp():
    """A real SMTP server (aiosmtpd) on loopback recording every message."""
    from alerts.receivers import SmtpReceiver

    with SmtpReceiver() as receiver:
        yield receiver


@pytest.fixture
def emulator():
    from crawler.emulator import HubEmulator

    emu = HubEmulator(page_size=5)
    emu.start()
    try:
        yield emu
    finally:
        emu.stop()


def write_config(path: Path, *, hf: str, watches: list[dict], subscriptions: list[dict] = (), extra: str = "",
                 endpoints: dict | None = None) -> Path:
    """Write an openwatch.toml; values are JSON-encoded, which TOML accepts for strings and lists.

    Hugging Face org watches read complete listings on every crawl here (`reconcile_every =
    "0s"`) unless a test says otherwise: these tests are about what one crawl finds; the
    incremental listings between reconciliations have tests of their own.
    """
    lines = ['database = "openwatch.db"', "", "[endpoints]", f"huggingface = {json.dumps(hf)}"]
    lines += [f"{k} = {json.dumps(v)}" for k, v in (endpoints or {}).items()] + [""]
    for table, entries in (("watch", watches), ("subscription", subscriptions)):
        for entry in entries:
            if table == "watch" and entry.get("source") == "huggingface" and "orgs" in entry:
                entry = {"reconcile_every": "0s", **entry}
            lines.append(f"[[{table}]]")
            lines += [f"{k} = {json.dumps(v)}" for k, v in entry.items()]
            lines.append("")
    path.write_text("\n".join(lines) + extra)
    return path


def rows(cli: "CLI", sql: str, params=()) -> list[tuple]:
    """The rows of `sql` on the database of `cli`'s config (`openwatch.db` beside it)."""
    conn = sqlite3.connect(cli.config.parent / "openwatch.db")
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


class CLI:
    """Runs the real `openwatch` command in a subprocess, as users do."""

    def __init__(self, config: Path, env: dict | None = None):
        self.config = config
        self.env = {**os.environ, "OPENWATCH_ALLOW_SHORT_INTERVALS": "1", **(env or {})}

    def __call__(self, *args, check: bool = True, timeout: float = 180) -> subprocess.CompletedProcess:
        proc = subprocess.run(
            [sys.executable, "-m", "jobs", "--config", str(self.config), *args],
            capture_output=True, text=True, env=self.env, cwd=self.config.parent, timeout=timeout,
        )
        if check and proc.returncode != 0:
            raise AssertionError(f"openwatch {' '.join(args)} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
        return proc

    def json(self, *args):
        return json.loads(self(*args, "--json").stdout)

    def popen(self, *args, **kwargs) -> subprocess.Popen:
        return subprocess.Popen(
            [sys.executable, "-m", "jobs", "--config", str(self.config), *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=self.env, cwd=self.config.parent,
            **kwargs,
        )
