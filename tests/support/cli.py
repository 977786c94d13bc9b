"""The real CLI as users run it, the config writer and a database reader for tests; the
project's root and the environment variables tests strip (tests/conftest.py's fixtures use them)."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
STRIP = ("HF_", "GITHUB_", "SLACK_", "SMTP_", "OPENWATCH_")


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
