"""Injectable faults: what a real source does on a bad day.

A `Fault` matches requests by a predicate `(method, path_with_query) -> bool` or by a regex
searched in the path and query. Faults are tried in insertion order and the first match
fires; `times=None` fires forever, otherwise the fault is spent after `times` firings.

What a fault does, in this order:
1. `delay` seconds pass first (the handler thread waits; other requests are served).
2. `empty=True`: the answer is 200 `[]` (a listing that is suspiciously empty).
   `truncate=True`: the normal answer is sent with its full Content-Length but only part
   of the body, then the connection is closed (clients see a protocol error).
   `status=None`: the normal answer (a slow but correct source, with `delay`).
   Otherwise: `status` with `headers` and `body` (default body: `{"error": "<reason>"}`).

`status` defaults to 500 for a plain fault (`Fault(match)` is a 500 storm), but a fault that
only sets `delay`, `truncate` or `empty` passes the normal answer through:
`Fault(match, delay=2)` is slow, not failing; `Fault(match, status=503, delay=2)` is both.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from typing import Callable


class _DefaultStatus(int):
    """The 500 a fault gets when no status was given; told apart from an explicit 500."""

    def __repr__(self) -> str:
        return "500"


DEFAULT_STATUS = _DefaultStatus(500)
RATE_LIMIT_QUOTA = 1000  # requests per window in the 429 helper's RateLimit-Policy
RATE_LIMIT_WINDOW = 300  # HF quotas are over 5-minute fixed windows (huggingface.co/docs/hub/rate-limits)


@dataclass(eq=False)
class Fault:
    match: Callable[[str, str], bool] | str
    status: int | None = DEFAULT_STATUS
    headers: dict | None = None
    body: bytes | str | None = None
    times: int | None = None
    delay: float = 0.0
    truncate: bool = False
    empty: bool = False
    fired: int = field(default=0, init=False)

    def __post_init__(self):
        if isinstance(self.match, str):
            pattern = re.compile(self.match)
            self._predicate = lambda method, path: pattern.search(path) is not None
        elif callable(self.match):
            self._predicate = self.match
        else:
            raise TypeError("match must be a callable (method, path_with_query) or a regex string")
        if self.status is DEFAULT_STATUS:
            self.status = None if (self.delay or self.truncate or self.empty) else 500
        if self.times is not None and self.times < 0:
            raise ValueError("times must be None or >= 0")

    def matches(self, method: str, path_with_query: str) -> bool:
        return bool(self._predicate(method, path_with_query))

    @property
    def spent(self) -> bool:
        return self.times is not None and self.fired >= self.times

    # -- helpers for the usual kinds -------------------------------------------------------

    @classmethod
    def rate_limited(cls, match, t: int = 1, times: int | None = 1, *, retry_after: bool = True, bucket: str = "api"):
        """429 as the Hub sends it: `RateLimit: "api";r=0;t=<t>` (+ `Retry-After`).

        Header format: huggingface.co/docs/hub/rate-limits (IETF draft-ietf-httpapi-ratelimit-headers
        v9); huggingface_hub parses `"api";r=0;t=55` and waits t seconds on a 429.
        """
        headers = {
            "RateLimit": f'"{bucket}";r=0;t={t}',
            "RateLimit-Policy": f'"fixed window";"{bucket}";q={RATE_LIMIT_QUOTA};w={RATE_LIMIT_WINDOW}',
        }
        if retry_after:
            headers["Retry-After"] = str(t)
        return cls(match, status=429, headers=headers, times=times)

    @classmethod
    def server_error(cls, match, status: int = 500, times: int | None = None):
        return cls(match, status=status, times=times)

    @classmethod
    def slow(cls, match, seconds: float, times: int | None = None):
        """The correct answer, `seconds` late (or never, for a client with a shorter timeout)."""
        return cls(match, status=None, delay=seconds, times=times)

    @classmethod
    def truncated(cls, match, times: int | None = None):
        return cls(match, truncate=True, times=times)

    @classmethod
    def empty_listing(cls, match, times: int | None = None):
        return cls(match, empty=True, times=times)


class FaultSet:
    """The emulator's active faults; thread-safe."""

    def __init__(self):
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def add(self, fault: Fault) -> Fault:
        with self._lock:
            self._faults.append(fault)
        return fault

    def remove(self, fault: Fault) -> None:
        with self._lock:
            if fault in self._faults:
                self._faults.remove(fault)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def __len__(self) -> int:
        with self._lock:
            return sum(1 for f in self._faults if not f.spent)

    def __iter__(self):
        with self._lock:
            return iter(list(self._faults))

    def take(self, method: str, path_with_query: str) -> Fault | None:
        """The first live fault matching the request, counted as fired; None if none."""
        with self._lock:
            for fault in self._faults:
                if not fault.spent and fault.matches(method, path_with_query):
                    fault.fired += 1
                    return fault
        return None
