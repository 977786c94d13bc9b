"""What the emulator was asked: a thread-safe request log with counters."""

from __future__ import annotations

import threading
from typing import NamedTuple


class LoggedRequest(NamedTuple):
    method: str
    path: str  # path with query, as sent
    status: int  # status actually answered (304, fault statuses included)
    headers: dict  # request headers


class RequestLog:
    """`total`, `count(path_prefix)`, `log` (a copy) and `reset()`; safe across threads."""

    def __init__(self):
        self._lock = threading.Lock()
        self._log: list[LoggedRequest] = []

    def record(self, method: str, path: str, status: int, headers: dict) -> None:
        with self._lock:
            self._log.append(LoggedRequest(method, path, status, headers))

    @property
    def total(self) -> int:
        with self._lock:
            return len(self._log)

    @property
    def log(self) -> list[LoggedRequest]:
        with self._lock:
            return list(self._log)

    def count(self, path_prefix: str = "", *, method: str | None = None, status: int | None = None) -> int:
        with self._lock:
            return sum(
                1
                for r in self._log
                if r.path.startswith(path_prefix)
                and (method is None or r.method == method)
                and (status is None or r.status == status)
            )

    def reset(self) -> None:
        with self._lock:
            self._log.clear()
