"""Hugging Face rate-limit accounting and headers.

The Hub has three buckets — "api" (/api/...), "resolvers" (URLs with /resolve/) and "pages" —
each a quota over a 5-minute fixed window, and advertises them on responses as
`RateLimit: "api";r=<remaining>;t=<seconds until reset>` and
`RateLimit-Policy: "fixed window";"api";q=<quota>;w=300`
(https://huggingface.co/docs/hub/rate-limits, which follows IETF
draft-ietf-httpapi-ratelimit-headers v9). Quotas below are the documented free-user ones
(September 2025). Counting is always on; answering 429 when a bucket is empty only when
`enforce=True`, so tests are not throttled by accident.
"""

from __future__ import annotations

import math
import threading
import time

DEFAULT_QUOTAS = {"api": 1000, "resolvers": 5000, "pages": 200}
WINDOW_SECONDS = 300


def bucket_for(path: str) -> str:
    if path.startswith("/api/"):
        return "api"
    if "/resolve/" in path:
        return "resolvers"
    return "pages"


class RateLimiter:
    def __init__(
        self, quotas: dict | None = None, *, window: int = WINDOW_SECONDS, enforce: bool = False, clock=time.monotonic
    ):
        self.quotas = {**DEFAULT_QUOTAS, **(quotas or {})}
        self.window = window
        self.enforce = enforce
        self._clock = clock
        self._lock = threading.Lock()
        self._start = clock()
        self._window_index = 0
        self._used: dict[str, int] = {}

    def hit(self, bucket: str) -> tuple[dict, bool]:
        """Count one request; (headers to send, whether to answer it: always unless enforcing)."""
        with self._lock:
            now = self._clock()
            index = int((now - self._start) // self.window)
            if index != self._window_index:
                self._window_index = index
                self._used.clear()
            used = self._used.get(bucket, 0) + 1
            self._used[bucket] = used
            quota = self.quotas[bucket]
            reset = max(1, math.ceil(self._start + (index + 1) * self.window - now))
        remaining = max(0, quota - used)
        headers = {
            "RateLimit": f'"{bucket}";r={remaining};t={reset}',
            "RateLimit-Policy": f'"fixed window";"{bucket}";q={quota};w={self.window}',
        }
        return headers, used <= quota or not self.enforce

    def reset(self) -> None:
        with self._lock:
            self._start = self._clock()
            self._window_index = 0
            self._used.clear()
