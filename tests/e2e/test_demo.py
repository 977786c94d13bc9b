"""`openwatch demo` as users run it: a subprocess, no network, no config."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys

from jobs.demo import EXPECTED


def test_demo_runs_offline_and_every_scripted_alert_arrives(tmp_path):
    env = {**os.environ, "TMPDIR": str(tmp_path)}  # the kept folder lands in tmp_path
    proc = subprocess.run(
        [sys.executable, "-m", "jobs", "demo", "--keep", "--speed", "2"],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=180, stdin=subprocess.DEVNULL,
    )
    out = proc.stdout
    assert proc.returncode == 0, out + proc.stderr
    for kind in EXPECTED:
        assert f"webhook ← {kind}:" in out, kind
    assert "slack   ← deepseek-ai released DeepSeek-V4" in out
    assert "email   ← [openwatch]" in out
    assert "0 models removed: transient is not gone" in out
    assert "daemon stopped cleanly (SIGTERM, exit 0)" in out
    assert out.rstrip().endswith("demo complete: every scripted kind of alert arrived")
    assert "\x1b[" not in out  # no colour codes when not on a terminal

    (folder,) = tmp_path.glob("openwatch-demo-*")
    assert f"kept {folder}" in out
    conn = sqlite3.connect(folder / "openwatch.db")
    try:
        counts = dict(conn.execute("select type, count(*) from events group by type"))
        assert conn.execute("pragma integrity_check").fetchone() == ("ok",)
    finally:
        conn.close()
    # One of each, but two new models (DeepSeek on the Hub, Qwen on ModelScope), two licence
    # changes (Llama on the Hub, Baichuan on ModelScope) and the archived OLMo repo.
    assert counts == {kind: 1 for kind in EXPECTED} | {"model.added": 2, "model.license_changed": 2,
                                                         "repo.archived": 1}
    for kind in EXPECTED:
        assert any(line.split()[1:3] == [kind, str(counts[kind])] for line in out.splitlines() if line.strip()), kind
