"""What the emulator was asked: a thread-safe request log with counters and timings.

Each entry records, besides method, path, status and request headers, the *arrival* time on
the emulator's clock (`time.monotonic` unless the emulator was given another clock), the
service that answered (`huggingface`, `github`, `github_api`, `arxiv`, `modelscope`,
`feeds`), the rate-limit bucket it counted against (Hugging Face: `api`, `resolvers`,
`pages`; GitHub API: `core`; otherwise None) and the client's connection (its source
address), so tests can check politeness:

    emu.requests.times(service="arxiv")          # arrival times, in order
    emu.requests.gaps(service="arxiv")           # seconds between consecutive arrivals
    emu.requests.connections(service="arxiv")    # distinct client connections used
    emu.requests.per_window(300, service="huggingface", bucket="api")  # {window: count}
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import NamedTuple


class _Entry(NamedTuple):
    method: str
    path: str  # path with query, as sent (service prefix included)
    status: int  # status actually answered (304, fault statuses included; 0 for a reset)
    headers: dict  # request headers


class LoggedRequest(_Entry):
    """Unpacks as `(method, path, status, headers)`; also has `at`, `service`, `bucket`,
    `connection`."""

    def __new__(cls, method, path, status, headers, at=0.0, service="huggingface", bucket=None, connection=None):
        self = super().__new__(cls, method, path, status, headers)
        self.at = at
        self.service = service
        self.bucket = bucket
        self.connection = connection
        return self


class RequestLog:
    """`total`, `count(...)`, `log` (a copy), timings, `reset()`; safe across threads.

    `origin` is the clock reading windows are counted from (the emulator sets it when it is
    created, as the Hub's fixed windows start somewhere before the first request).
    """

    def __init__(self, origin: float = 0.0):
        self._lock = threading.Lock()
        self._log: list[LoggedRequest] = []
        self.origin = origin

    def record(self, method: str, path: str, status: int, headers: dict, *, at: float = 0.0,
               service: str = "huggingface", bucket: str | None = None, connection=None) -> None:
        entry = LoggedRequest(method, path, status, headers, at, service, bucket, connection)
        with self._lock:
            self._log.append(entry)

    @property
    def total(self) -> int:
        with self._lock:
            return len(self._log)

    @property
    def log(self) -> list[LoggedRequest]:
        with self._lock:
            return list(self._log)

    def select(self, path_prefix: str = "", *, method: str | None = None, status: int | None = None,
               service: str | None = None, bucket: str | None = None) -> list[LoggedRequest]:
        with self._lock:
            return [
                r for r in self._log
                if r.path.startswith(path_prefix)
                and (method is None or r.method == method)
                and (status is None or r.status == status)
                and (service is None or r.service == service)
                and (bucket is None or r.bucket == bucket)
            ]

    def count(self, path_prefix: str = "", *, method: str | None = None, status: int | None = None,
              service: str | None = None, bucket: str | None = None) -> int:
        return len(self.select(path_prefix, method=method, status=status, service=service, bucket=bucket))

    def times(self, path_prefix: str = "", **filters) -> list[float]:
        """Arrival times of the matching requests, in arrival order."""
        return sorted(r.at for r in self.select(path_prefix, **filters))

    def gaps(self, path_prefix: str = "", **filters) -> list[float]:
        """Seconds between consecutive arrivals of the matching requests."""
        times = self.times(path_prefix, **filters)
        return [b - a for a, b in zip(times, times[1:])]

    def connections(self, path_prefix: str = "", **filters) -> list:
        """The distinct client connections (source addresses) of the matching requests."""
        return list(dict.fromkeys(r.connection for r in self.select(path_prefix, **filters)))

    def per_window(self, window: float = 300.0, path_prefix: str = "", **filters) -> dict[int, int]:
        """Matching requests per fixed window of `window` seconds since `origin`:
        `{window index: count}` (windows without requests are left out)."""
        counts = Counter(int((r.at - self.origin) // window) for r in self.select(path_prefix, **filters))
        return dict(sorted(counts.items()))

    def reset(self) -> None:
        with self._lock:
            self._log.clear()
