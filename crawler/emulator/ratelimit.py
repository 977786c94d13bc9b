"""Rate-limit accounting and headers: Hugging Face's 5-minute buckets, GitHub's hourly core.

Hugging Face (https://huggingface.co/docs/hub/rate-limits, which follows IETF
draft-ietf-httpapi-ratelimit-headers v9): three buckets — "api" (/api/...), "resolvers"
(URLs with /resolve/) and "pages" — each a quota over a 5-minute fixed window, advertised on
answers as `RateLimit: "api";r=<remaining>;t=<seconds until reset>` and
`RateLimit-Policy: "fixed window";"api";q=<quota>;w=300`. Quotas are per client: an anonymous
client (per IP) gets 500 API / 3,000 resolver / 100 page requests, a free user with a token
1,000 / 5,000 / 200 (the documented table). The emulator counts every token as one user.

GitHub (docs.github.com "Rate limits for the REST API"): 60 requests an hour without a
token, 5,000 with one, advertised as `X-RateLimit-Limit/-Remaining/-Reset/-Used/-Resource`
(`Reset` in epoch seconds). "Making a conditional request does not count against your
primary rate limit if a 304 response is returned" — so the GitHub service counts after the
answer is known (see github.py). The window opens with the first counted request.

Counting is always on; refusing (429 on HF, 403 on GitHub) only when `enforce` is true, so
tests are not throttled by accident.
"""

from __future__ import annotations

import math
import threading
import time

HF_PLANS = {
    "anonymous": {"api": 500, "resolvers": 3000, "pages": 100},
    "token": {"api": 1000, "resolvers": 5000, "pages": 200},
}
DEFAULT_QUOTAS = HF_PLANS["token"]  # kept for callers of the old single-plan table
WINDOW_SECONDS = 300


def bucket_for(path: str) -> str:
    if path.startswith("/api/"):
        return "api"
    if "/resolve/" in path:
        return "resolvers"
    return "pages"


class RateLimiter:
    """Hugging Face quotas over fixed windows, per plan (`anonymous` or `token`).

    `quotas` overrides bucket quotas for every plan (`{"api": 2}`) or per plan
    (`{"anonymous": {"api": 2}, "token": {"api": 5}}`).
    """

    def __init__(
        self, quotas: dict | None = None, *, window: int = WINDOW_SECONDS, enforce: bool = False, clock=time.monotonic
    ):
        self.plans = {plan: dict(values) for plan, values in HF_PLANS.items()}
        for key, value in (quotas or {}).items():
            if isinstance(value, dict):
                self.plans.setdefault(key, {}).update(value)
            else:
                for plan in self.plans.values():
                    plan[key] = value
        self.window = window
        self.enforce = enforce
        self._clock = clock
        self._lock = threading.Lock()
        self._start = clock()
        self._window_index = 0
        self._used: dict[tuple[str, str], int] = {}

    @property
    def quotas(self) -> dict:
        return self.plans["anonymous"]

    def hit(self, bucket: str, plan: str = "anonymous") -> tuple[dict, bool]:
        """Count one request; (headers to send, whether to answer it: always unless enforcing)."""
        with self._lock:
            now = self._clock()
            index = int((now - self._start) // self.window)
            if index != self._window_index:
                self._window_index = index
                self._used.clear()
            used = self._used.get((plan, bucket), 0) + 1
            self._used[(plan, bucket)] = used
            quota = self.plans[plan][bucket]
            reset = max(1, math.ceil(self._start + (index + 1) * self.window - now))
        remaining = max(0, quota - used)
        headers = {
            "RateLimit": f'"{bucket}";r={remaining};t={reset}',
            "RateLimit-Policy": f'"fixed window";"{bucket}";q={quota};w={self.window}',
        }
        return headers, used <= quota or not self.enforce

    def used(self, bucket: str = "api", plan: str = "anonymous") -> int:
        """Requests counted in the current window."""
        with self._lock:
            index = int((self._clock() - self._start) // self.window)
            return 0 if index != self._window_index else self._used.get((plan, bucket), 0)

    def reset(self) -> None:
        with self._lock:
            self._start = self._clock()
            self._window_index = 0
            self._used.clear()


GITHUB_LIMITS = {"anonymous": 60, "token": 5000}
GITHUB_WINDOW = 3600


class GitHubRateLimiter:
    """GitHub's primary limit: per client (a token, or anonymous), one hour from first use."""

    def __init__(self, limits: dict | None = None, *, window: int = GITHUB_WINDOW, enforce: bool = False,
                 clock=time.monotonic, wallclock=time.time):
        self.limits = {**GITHUB_LIMITS, **(limits or {})}
        self.window = window
        self.enforce = enforce
        self._clock = clock
        self._wallclock = wallclock
        self._lock = threading.Lock()
        self._windows: dict[str, tuple[float, int]] = {}  # client -> (window start, used)

    def _state(self, client: str, now: float) -> tuple[float, int]:
        start, used = self._windows.get(client, (now, 0))
        if now - start >= self.window:
            start, used = now, 0
        return start, used

    def peek(self, client: str, plan: str) -> dict:
        """Headers for an answer that does not count (a 304, `/rate_limit`)."""
        with self._lock:
            now = self._clock()
            start, used = self._state(client, now)
            return self._headers(plan, used, start, now)

    def hit(self, client: str, plan: str) -> tuple[dict, bool]:
        """Count one request: (headers, allowed). A refused request is not counted again."""
        with self._lock:
            now = self._clock()
            start, used = self._state(client, now)
            limit = self.limits[plan]
            allowed = used < limit or not self.enforce
            if used < limit or not self.enforce:
                used += 1
            self._windows[client] = (start, used)
            return self._headers(plan, used, start, now), allowed

    def _headers(self, plan: str, used: int, start: float, now: float) -> dict:
        limit = self.limits[plan]
        reset = int(self._wallclock() + max(0.0, start + self.window - now))
        return {
            "X-RateLimit-Limit": str(limit),
            "X-RateLimit-Remaining": str(max(0, limit - used)),
            "X-RateLimit-Reset": str(reset),
            "X-RateLimit-Used": str(min(used, limit) if self.enforce else used),
            "X-RateLimit-Resource": "core",
        }

    def used(self, client: str = "anonymous") -> int:
        with self._lock:
            return self._state(client, self._clock())[1]

    def reset(self) -> None:
        with self._lock:
            self._windows.clear()
