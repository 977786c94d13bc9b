"""A history database nobody may write (file 0444 in a folder 0555: a backup, a shared copy)
is read by every command that only reads, through the real CLI, and never migrated.

Permission bits do not stop root, and CI runs as root: there the commands run as the
unprivileged `nobody` (setpriv), so the folder is as unwritable for them as for a user.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import stat
import subprocess
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

import httpx
import pytest

from tests.support import history_world
from tests.support.cli import ROOT, write_config

NOBODY = 65534


def _reader_mode() -> tuple[str, list[str]]:
    """How the folder is made unwritable for the commands, and the prefix they run with.

    Not root: permission bits. Root: as the unprivileged user `nobody` (setpriv), when that
    user can run this checkout's Python; else the immutable attribute (`chattr +i`), which
    stops root too, where the file system has it. Skipped, saying why, when neither works.
    """
    if os.geteuid() != 0:
        return "bits", []
    setpriv = shutil.which("setpriv")
    if setpriv is not None:
        prefix = [setpriv, f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]
        probe = subprocess.run(prefix + [sys.executable, "-c", "import jobs.cli"], cwd=ROOT, capture_output=True)
        if probe.returncode == 0:
            return "bits", prefix
    with tempfile.TemporaryDirectory() as folder:
        probe = subprocess.run(["chattr", "+i", folder], capture_output=True, text=True) \
            if shutil.which("chattr") else None
        if probe is not None and probe.returncode == 0:
            subprocess.run(["chattr", "-i", folder], check=True)
            return "chattr", []
    pytest.skip(f"running as root, user {NOBODY} cannot run this checkout's Python and chattr +i is not "
                "supported here: an unwritable folder cannot be made real")


class Shared:
    """A folder like a shared copy's: readable by everyone, writable by nobody."""

    def __init__(self):
        self.mode, self.prefix = _reader_mode()
        self.folder = Path(tempfile.mkdtemp(prefix="openwatch-ro-"))  # not under tmp_path: root's is 0700
        self.folder.chmod(0o755)
        self.out = Path(tempfile.mkdtemp(prefix="openwatch-out-"))  # where the reader may write its report
        self.out.chmod(0o777)
        self.db = self.folder / "openwatch.db"
        self.config = write_config(self.folder / "openwatch.toml", hf="http://127.0.0.1:9", watches=[
            {"name": "labs", "source": "huggingface", "orgs": ["meta-llama", "deepseek-ai"], "every": "1h"}])

    def seal(self):
        for path in self.folder.iterdir():
            path.chmod(0o444)
        self.folder.chmod(0o555)
        if self.mode == "chattr":
            subprocess.run(["chattr", "+i", *self.folder.iterdir(), self.folder], check=True)

    def unseal(self):
        if self.mode == "chattr":
            subprocess.run(["chattr", "-i", self.folder, *self.folder.iterdir()], check=True)
        self.folder.chmod(0o755)

    def remove(self):
        self.unseal()
        shutil.rmtree(self.folder)
        shutil.rmtree(self.out)


@pytest.fixture
def shared():
    place = Shared()
    try:
        yield place
    finally:
        place.remove()


def reader(shared: Shared):
    prefix = shared.prefix
    config = shared.config
    env = {**os.environ, "HOME": str(shared.out), "MPLCONFIGDIR": str(shared.out)}

    def run(*args, check=True, popen=False):
        argv = prefix + [sys.executable, "-m", "jobs", "--config", str(config), *args]
        if popen:
            return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                                    cwd=ROOT)
        proc = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=ROOT, timeout=180)
        if check:
            assert proc.returncode == 0, f"openwatch {' '.join(args)} exited {proc.returncode}\n{proc.stderr}"
        return proc

    return run


def build(path: Path) -> None:
    """The history world, with one snapshot for `history` to show."""
    history_world.build(path, now=datetime.now(timezone.utc))
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("insert into snapshots (key, observed_at, content_hash, data, changed) values "
                     "('model:hf/meta-llama/Llama-3.3-70B-Instruct', '2026-01-02T03:04:05Z', 'h', "
                     "'{\"license\": \"llama3.3\", \"gated\": \"manual\"}', '[]')")
    conn.close()


def _migrations(path: Path) -> set[str]:
    conn = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True)
    try:
        return {r[0] for r in conn.execute("select name from _migrations")}
    finally:
        conn.close()


def test_every_reading_command_reads_a_database_in_a_folder_nobody_may_write(shared):
    build(shared.db)
    before = _migrations(shared.db)
    shared.seal()
    ow = reader(shared)

    events = ow("events", "--json").stdout
    assert '"type": "model.license_changed"' in events
    assert "Llama" in ow("models").stdout
    assert "labs" in ow("status").stdout
    assert "observed_at" in ow("history", "meta-llama/Llama-3.3-70B-Instruct").stdout
    assert ow("feed").stdout.startswith("<?xml")
    assert ow("alerts", "list").stdout.startswith("(none)")
    report = shared.out / "report.html"
    assert ow("report", "-o", str(report)).stdout == f"wrote {report}\n"
    assert report.read_text().startswith("<!doctype html>")

    proc = ow("serve", "--port", "0", popen=True)
    try:
        line = proc.stdout.readline()
        assert line.startswith("serving "), line + proc.stderr.read()
        url = line.split(" at ")[1].strip()
        answer = httpx.get(url + "openwatch/items.json?_shape=objects&_size=1", timeout=30, trust_env=False)
        assert answer.status_code == 200, answer.text
        assert len(answer.json()["rows"]) == 1
    finally:
        proc.kill()
        proc.wait()

    assert sorted(p.name for p in shared.folder.iterdir()) == ["openwatch.db", "openwatch.toml"]  # no -wal, -shm
    assert _migrations(shared.db) == before  # read-only: the alerts' migrations are not applied


def test_changes_waiting_in_the_wal_are_read_or_refused_in_one_line(shared):
    build(shared.db)
    writer = sqlite3.connect(shared.db)  # a writer that has not checkpointed: its change is in -wal only
    writer.execute("PRAGMA wal_autocheckpoint = 0")
    with writer:
        writer.execute("update items set license = 'wal-only' where key = 'model:hf/meta-llama/Llama-3.3-70B-Instruct'")
    copy = shared.folder / "copy"
    copy.mkdir()
    for suffix in ("", "-wal", "-shm"):
        shutil.copyfile(f"{shared.db}{suffix}", copy / f"openwatch.db{suffix}")
    writer.close()
    shutil.move(copy / "openwatch.db", shared.db)
    shutil.move(copy / "openwatch.db-wal", f"{shared.db}-wal")
    shutil.move(copy / "openwatch.db-shm", f"{shared.db}-shm")
    copy.rmdir()
    shared.seal()
    ow = reader(shared)
    out = ow("models", "--org", "meta-llama", "--csv").stdout
    assert "wal-only" in out  # -wal and -shm readable: read with the changes

    shared.unseal()
    os.remove(f"{shared.db}-shm")
    shared.seal()
    proc = ow("models", check=False)
    assert proc.returncode == 1
    assert proc.stderr == (
        f"Error: {shared.db}: changes are waiting in openwatch.db-wal, which cannot be read without "
        f"openwatch.db-shm, and the folder {shared.folder} is not writable to create it; copy the database "
        f"with its -wal file to a writable folder and read it there, or have its owner run: "
        f"sqlite3 {shared.db} 'PRAGMA wal_checkpoint'\n")


def test_a_database_older_than_the_code_is_read_and_not_migrated(shared):
    build(shared.db)
    conn = sqlite3.connect(shared.db)
    with conn:
        conn.execute("delete from _migrations where name = '006_unit_source'")
    conn.close()
    before = _migrations(shared.db)
    shared.seal()
    ow = reader(shared)
    assert '"type"' in ow("events", "--json").stdout
    assert _migrations(shared.db) == before


def test_the_sealed_folder_is_really_unwritable_for_the_reader(shared):
    """The premise of this file: without it the tests above prove nothing."""
    build(shared.db)
    shared.seal()
    probe = subprocess.run(shared.prefix + [sys.executable, "-c", f"open({str(shared.folder / 'x')!r}, 'w')"],
                           capture_output=True, text=True, cwd=ROOT)
    assert probe.returncode != 0
    assert "Permission denied" in probe.stderr or "Operation not permitted" in probe.stderr, probe.stderr
    assert stat.S_IMODE(shared.folder.stat().st_mode) == 0o555


def test_a_read_that_needs_what_a_newer_openwatch_adds_says_so_in_one_line(shared):
    import sqlite_utils

    from crawler.history import schema

    old = sqlite_utils.Database(shared.db)  # as the first openwatch left it: 001 only
    old["_migrations"].create({"name": str, "applied_at": str}, pk="name")
    schema._m001_initial(old)
    old["_migrations"].insert({"name": "001_initial", "applied_at": "2025-01-01T00:00:00.000000Z"})
    old.close()
    shared.seal()
    proc = reader(shared)("models", check=False)
    assert proc.returncode == 1
    assert proc.stderr.startswith(f"Error: {shared.db}: written by an older openwatch (not yet applied: "
                                  "003_sources, 004_unit_state, "), proc.stderr
    assert proc.stderr.endswith('), and a reading command never upgrades it; run "openwatch crawl WATCH" once as '
                                "a user who may write it, then read it again\n")
    assert proc.stderr.count("\n") == 1
    assert _migrations(shared.db) == {"001_initial"}
