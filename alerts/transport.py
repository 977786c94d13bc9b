"""The I/O a dispatch needs, in one injectable object: an HTTP client, per-receiver rate
limiters, the clocks and the random source. The daemon keeps one alive; tests pass fakes."""

from __future__ import annotations

import email.utils
import random
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import cache
from typing import Any, Callable, Hashable, Iterable

import httpx

from alerts.exceptions import ChannelConfigError, DeliveryError
from alerts.redaction import install_log_redaction, redact_url, scrub

MAX_RETRY_AFTER = 24 * 3600.0  # a receiver asking for more than a day is not taken literally


@cache
def user_agent() -> str:
    try:
        from importlib.metadata import version

        return f"openwatch/{version('openwatch')}"
    except Exception:  # running from a source tree that is not installed
        return "openwatch/0"


class RateLimiter:
    """At most one message per `interval` seconds: `wait()` sleeps until the next free slot.

    Slack incoming webhooks allow about one message per second per webhook
    (https://api.slack.com/apis/rate-limits); a 429's `Retry-After` pushes the slot later.
    """

    def __init__(self, interval: float, monotonic: Callable[[], float], sleep: Callable[[float], None]):
        self.interval = interval
        self._monotonic = monotonic
        self._sleep = sleep
        self._next_free: float | None = None

    def wait(self) -> float:
        """Block until a message may be sent; returns the seconds slept."""
        now = self._monotonic()
        slept = 0.0
        if self._next_free is not None and self._next_free > now:
            slept = self._next_free - now
            self._sleep(slept)
            now = self._next_free
        self._next_free = now + self.interval
        return slept

    def defer(self, seconds: float) -> None:
        """Nothing before `seconds` from now (a 429's Retry-After)."""
        later = self._monotonic() + seconds
        if self._next_free is None or later > self._next_free:
            self._next_free = later


def parse_retry_after(value: str | None, wall_clock: Callable[[], float] = time.time) -> float | None:
    """`Retry-After` as seconds: delta-seconds or an HTTP-date (RFC 9110 §10.2.3)."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        seconds = when.timestamp() - wall_clock()
    if seconds != seconds:  # NaN
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


@dataclass
class Transport:
    """Everything a channel needs to reach a receiver. Pass one to `dispatch` to keep rate
    limits across calls (the daemon does); `dispatch` makes a throwaway one otherwise."""

    timeout: float = 10.0
    monotonic: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    wall_clock: Callable[[], float] = time.time  # webhook-timestamp: receivers check it against theirs
    rng: random.Random = field(default_factory=random.Random)
    http: httpx.Client | None = None
    _limiters: dict[Hashable, RateLimiter] = field(default_factory=dict, repr=False)
    _owns_http: bool = field(default=False, repr=False)

    def client(self) -> httpx.Client:
        if self.http is None:
            # No redirects: a receiver that moved must be reconfigured, not silently followed
            # (the Standard Webhooks spec treats redirects as failures).
            self.http = httpx.Client(timeout=self.timeout, follow_redirects=False)
            self._owns_http = True
        install_log_redaction()
        return self.http

    def limiter(self, key: Hashable, interval: float) -> RateLimiter:
        if key not in self._limiters:
            self._limiters[key] = RateLimiter(interval, self.monotonic, self.sleep)
        return self._limiters[key]

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.wall_clock(), timezone.utc)

    def post(
        self,
        url: str,
        *,
        content: bytes,
        headers: dict[str, str],
        secrets: Iterable[str] = (),
    ) -> httpx.Response:
        """POST and return the response (any status); network failures become retryable
        `DeliveryError`s that never name the URL beyond its host."""
        target = redact_url(url)
        headers = {"User-Agent": user_agent(), **headers}
        try:
            return self.client().post(url, content=content, headers=headers)
        except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
            raise ChannelConfigError(f"invalid URL {target}: {scrub(exc, [url, *secrets])}") from exc
        except httpx.TimeoutException as exc:
            raise DeliveryError(f"{target} timed out ({type(exc).__name__})", retryable=True) from exc
        except httpx.TransportError as exc:
            reason = scrub(exc, [url, *secrets]) or type(exc).__name__
            raise DeliveryError(f"{target} unreachable: {reason}", retryable=True) from exc

    def close(self) -> None:
        if self.http is not None and self._owns_http:
            self.http.close()
            self.http = None
            self._owns_http = False

    def __enter__(self) -> "Transport":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
