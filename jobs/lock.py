"""One daemon per database: an exclusive `flock` on `<database>.lock`, released by the kernel
when the process dies (even by `kill -9`), so a stale lock never blocks a restart."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from jobs.exceptions import OpenwatchError

LOCK_MODE = 0o600  # as the database (crawler.history.schema.FILE_MODE): the owner's alone


class AlreadyRunning(OpenwatchError):
    """Another openwatch daemon holds the database."""


def lock_path(database: Path) -> Path:
    return Path(str(database) + ".lock")


class DaemonLock:
    def __init__(self, database: Path):
        self.path = lock_path(database)
        self._fd: int | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, LOCK_MODE)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise AlreadyRunning(
                f"another openwatch daemon (pid {holder}) is using {self.path.with_suffix('')}; "
                "stop it first, or point this one at another database"
            ) from None
        try:
            os.fchmod(fd, LOCK_MODE)  # also a lock file left 0644 by an older version
        except PermissionError:  # someone else's file that we may write: leave its mode
            pass
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self):
        self.acquire()
        return self

    def __exit__(self, *exc):
        self.release()


def daemon_pid(database: Path) -> int | None:
    """The pid of the daemon holding the database, or None when none runs."""
    path = lock_path(database)
    if not path.exists():
        return None
    fd = os.open(path, os.O_RDONLY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            text = path.read_text().strip()
            return int(text) if text.isdigit() else -1
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)
