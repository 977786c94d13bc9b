"""The I/O a dispatch needs, in one injectable object: an HTTP client, per-receiver rate
limiters, the clocks and the random source. The daemon keeps one alive; tests pass fakes."""

from __future__ import annotations

import email.utils
import random
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Hashable, Iterable

import httpx

from alerts.exceptions import ChannelConfigError, DeliveryError, RateLimited
from alerts.redaction import EXCERPT_INPUT, install_log_redaction, redact_url, scrub

MAX_RETRY_AFTER = 24 * 3600.0  # a receiver asking for more than a day is not taken literally
# What is kept of a receiver's answer: only a status, `Retry-After` and a short excerpt are
# read (SECURITY.md). At least EXCERPT_INPUT + 1 characters in any encoding (at most 4 bytes a
# character), so `scrub_excerpt` can tell a cut answer and drop a secret straddling the cut.
MAX_ANSWER_BYTES = 4 * (EXCERPT_INPUT + 1)
# Headers that described the body as sent; the kept bytes are raw and possibly cut.
_BODY_FRAMING = ("content-encoding", "content-length", "transfer-encoding")


from crawler.identity import user_agent  # noqa: E402 - the one owner of the User-Agent

import httpcore  # noqa: E402 - httpx's own engine; its network backends are its extension point

# The deadline of the exchange in progress on this thread (`time.monotonic()`), or None.
_exchange = threading.local()


def _within_deadline(timeout: float | None, late: type[Exception]) -> float | None:
    """`timeout` cut to what is left of the exchange's deadline; `late` once none is left."""
    deadline = getattr(_exchange, "deadline", None)
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise late("the receiver's answer took longer than the delivery timeout")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    """A socket of httpcore's whose every read and write ends by the exchange's deadline: a
    receiver that sends its status line and headers a byte at a time (each read well within
    the per-read timeout) cannot hold a delivery longer than the timeout in all."""

    def __init__(self, inner: httpcore.NetworkStream):
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _within_deadline(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _within_deadline(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(self, ssl_context, server_hostname=None, timeout=None) -> httpcore.NetworkStream:
        timeout = _within_deadline(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._inner.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    """httpcore's own sync backend, its streams held to the exchange's deadline."""

    def __init__(self) -> None:
        self._inner = httpcore.SyncBackend()

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        timeout = _within_deadline(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._inner.connect_tcp(host, port, timeout, local_address, socket_options))

    def connect_unix_socket(self, path, timeout=None, socket_options=None):
        timeout = _within_deadline(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._inner.connect_unix_socket(path, timeout, socket_options))

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class _DeadlineTransport(httpx.HTTPTransport):
    """httpx's transport over a connection pool on `_DeadlineBackend`. httpx takes no network
    backend, so the pool it made is replaced by one made with httpcore's public arguments
    (`tests/e2e/test_secrets_exposure.py` shows it when a new httpx changes that)."""

    def __init__(self) -> None:
        super().__init__()
        # httpx's own pool limits (its DEFAULT_LIMITS): idle connections expire after 5 s, so
        # the daemon's long-lived transport never posts onto one a NAT dropped long ago.
        self._pool = httpcore.ConnectionPool(ssl_context=httpx.create_ssl_context(),
                                             max_connections=100, max_keepalive_connections=20,
                                             keepalive_expiry=5.0, network_backend=_DeadlineBackend())


class RateLimiter:
    """Paces messages to one receiver: at most one per `interval` seconds, and none before a
    429's `Retry-After` has passed.

    Slack incoming webhooks allow about one message per second per webhook
    (https://api.slack.com/apis/rate-limits). `wait()` sleeps for the pacing (at most
    `max_sleep`, one interval by default) and never longer: when the next free slot is further
    away it raises `RateLimited` at once, and the outbox defers those deliveries in the database.
    A dispatch therefore never blocks for a receiver's `Retry-After` (up to a day), which would
    stall every other subscription and the daemon's shutdown.

    Two clocks: pacing runs on `monotonic` (and `sleep`); a `Retry-After` is a deadline on the
    dispatcher's clock (`now`), the clock the outbox's due times use, so a long-lived limiter
    (the daemon's `Transport`) and the database agree on when a receiver may be tried again.
    Thread-safe: a slot is reserved under a lock, the sleep happens outside it.
    """

    def __init__(
        self,
        interval: float,
        monotonic: Callable[[], float],
        sleep: Callable[[float], None],
        max_sleep: float | None = None,
    ):
        self.interval = interval
        self.max_sleep = interval if max_sleep is None else max_sleep
        self._monotonic = monotonic
        self._sleep = sleep
        self._next_free: float | None = None        # monotonic seconds
        self._blocked_until: datetime | None = None  # dispatcher clock: a 429's Retry-After
        self._lock = threading.Lock()

    def _delay(self, mono: float, now: datetime | None) -> float:
        delay = 0.0
        if self._next_free is not None:
            delay = max(delay, self._next_free - mono)
        if now is not None and self._blocked_until is not None:
            delay = max(delay, (self._blocked_until - now).total_seconds())
        return delay

    def wait(self, now: datetime | None = None) -> float:
        """Take the next slot, sleeping up to `max_sleep` for it; returns the seconds slept.
        Raises `RateLimited` (nothing reserved, nothing slept) when the slot is further away."""
        with self._lock:
            mono = self._monotonic()
            delay = self._delay(mono, now)
            if delay > self.max_sleep + 1e-9:
                raise RateLimited(f"rate limited: next message allowed in {delay:.0f}s", retry_after=delay)
            self._next_free = mono + delay + self.interval
        if delay > 0:
            self._sleep(delay)
        return delay

    def block_until(self, moment: datetime) -> None:
        """Nothing before `moment` on the dispatcher's clock (now + a 429's Retry-After)."""
        with self._lock:
            if self._blocked_until is None or moment > self._blocked_until:
                self._blocked_until = moment


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
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def client(self) -> httpx.Client:
        with self._lock:
            if self.http is None:
                # No redirects: a receiver that moved must be reconfigured, not silently followed
                # (the Standard Webhooks spec treats redirects as failures).
                # httpx reads proxies from the environment only without a transport of ours:
                # behind a proxy, httpx's own transports (each read bounded, not the exchange).
                behind_proxy = bool(urllib.request.getproxies())
                self.http = httpx.Client(timeout=self.timeout, follow_redirects=False,
                                         transport=None if behind_proxy else _DeadlineTransport())
                self._owns_http = True
            http = self.http
        install_log_redaction()
        return http

    def limiter(self, key: Hashable, interval: float) -> RateLimiter:
        """The one limiter of receiver `key` (a webhook URL), shared by every subscription
        that posts to it and kept for the life of this transport."""
        with self._lock:
            if key not in self._limiters:
                self._limiters[key] = RateLimiter(interval, self.monotonic, self.sleep)
            return self._limiters[key]

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.wall_clock(), timezone.utc)

    def retry_after(self, value: str | None) -> float | None:
        """A `Retry-After` header's wait in seconds (`parse_retry_after` on this wall clock)."""
        return parse_retry_after(value, self.wall_clock)

    def post(
        self,
        url: str,
        *,
        content: bytes,
        headers: dict[str, str],
        secrets: Iterable[str] = (),
    ) -> httpx.Response:
        """POST and return the response (any status) with at most `MAX_ANSWER_BYTES` of its
        body; network failures become retryable `DeliveryError`s that never name the URL
        beyond its host.

        httpx's timeouts bound each network operation, not the exchange
        (https://www.python-httpx.org/advanced/timeouts/; no total timeout yet,
        encode/httpx#1450), so reading a whole body lets a receiver that trickles a byte a
        second hold a dispatch round for ever. The exchange has one deadline, `timeout` after
        its start: every connect, write and read of the status line and headers ends by it
        (`_DeadlineBackend`), and the answer is streamed: its body is read until the deadline
        or `MAX_ANSWER_BYTES`, whichever comes first, and what arrived by then is the excerpt. The status line is the receiver's answer (a 2xx
        is an acceptance: retrying it would post the message twice); no status line in time
        is a timeout, retried like any other."""
        target = redact_url(url)
        # identity: the kept bytes are cut raw, never inflated (no decompression bomb).
        headers = {"User-Agent": user_agent(), "Accept-Encoding": "identity", **headers}
        # The real clock, like httpx's own timeouts: this bounds real I/O, not pacing.
        deadline = time.monotonic() + self.timeout
        _exchange.deadline = deadline
        try:
            with self.client().stream(
                "POST", url, content=content, headers=headers, timeout=httpx.Timeout(self.timeout)
            ) as response:
                body = bytearray()
                try:
                    for chunk in response.iter_raw():
                        body += chunk
                        if len(body) >= MAX_ANSWER_BYTES or time.monotonic() > deadline:
                            break
                except (httpx.TimeoutException, httpx.TransportError):
                    # The status line came in time: it is the answer (a 2xx retried would be
                    # posted twice), whatever became of the body; the excerpt is what arrived.
                    pass
        except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
            raise ChannelConfigError(f"invalid URL {target}: {scrub(exc, [url, *secrets])}") from exc
        except httpx.TimeoutException as exc:
            raise DeliveryError(f"{target} timed out ({type(exc).__name__})", retryable=True) from exc
        except httpx.TransportError as exc:
            reason = scrub(exc, [url, *secrets]) or type(exc).__name__
            raise DeliveryError(f"{target} unreachable: {reason}", retryable=True) from exc
        finally:
            _exchange.deadline = None
        kept = [(k, v) for k, v in response.headers.multi_items() if k.lower() not in _BODY_FRAMING]
        extensions = {k: v for k, v in response.extensions.items() if k in ("http_version", "reason_phrase")}
        return httpx.Response(
            response.status_code,
            headers=kept,
            content=bytes(body[:MAX_ANSWER_BYTES]),
            request=response.request,
            extensions=extensions,
        )

    def close(self) -> None:
        """Close the HTTP client this transport opened (not one passed in); the transport
        stays usable: the next request opens a new client. Rate limits are kept."""
        with self._lock:
            if self.http is not None and self._owns_http:
                self.http.close()
                self.http = None
                self._owns_http = False

    def __enter__(self) -> "Transport":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
