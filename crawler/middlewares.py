"""Downloader middlewares: politeness that Scrapy does not do by itself (and arXiv's cache policy)."""

from __future__ import annotations

import logging
import re
import time
from email.utils import parsedate_to_datetime
from datetime import datetime, timezone

from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.extensions.httpcache import DummyPolicy

from crawler.cut import pause

logger = logging.getLogger(__name__)

# Hugging Face: `RateLimit: "api";r=0;t=55` (IETF draft-ietf-httpapi-ratelimit-headers),
# https://huggingface.co/docs/hub/rate-limits
_RATELIMIT_T = re.compile(r";\s*t\s*=\s*(\d+(?:\.\d+)?)")
_RATELIMIT_R = re.compile(r";\s*r\s*=\s*(\d+)")


def retry_after_seconds(headers, now: datetime | None = None) -> float | None:
    """Seconds to wait from `RateLimit` (…;r=0;t=N) or `Retry-After` (seconds or HTTP date)."""
    waits = []
    ratelimit = headers.get("RateLimit") or headers.get("Ratelimit")
    if ratelimit:
        text = ratelimit.decode("latin-1") if isinstance(ratelimit, bytes) else str(ratelimit)
        match = _RATELIMIT_T.search(text)
        remaining = _RATELIMIT_R.search(text)
        # `t` is when the window resets; it explains a 429 only when the window is spent
        # (r=0): a bucket with requests left says nothing of when to ask again.
        if match and (remaining is None or int(remaining.group(1)) == 0):
            waits.append(float(match.group(1)))
    retry_after = headers.get("Retry-After")
    if retry_after:
        text = retry_after.decode("latin-1") if isinstance(retry_after, bytes) else str(retry_after)
        text = text.strip()
        try:
            waits.append(max(0.0, float(text)))
        except ValueError:
            try:
                when = parsedate_to_datetime(text)
                waits.append(max(0.0, (when - (now or datetime.now(timezone.utc))).total_seconds()))
            except (TypeError, ValueError):
                pass
    return max(waits) if waits else None


class RateLimitMiddleware:
    """Waits out a 429 as the server asks (`RateLimit` t=, `Retry-After`), then retries.

    Settings: RATELIMIT_MAX_RETRIES (default 5), RATELIMIT_MAX_WAIT seconds (default 300),
    RATELIMIT_DEFAULT_WAIT when the server names no time (default 10).
    """

    crawler = None  # set by from_crawler

    def __init__(self, max_retries: int, max_wait: float, default_wait: float, stats):
        self.max_retries = max_retries
        self.max_wait = max_wait
        self.default_wait = default_wait
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler):
        settings = crawler.settings
        if not settings.getbool("RATELIMIT_ENABLED", True):
            raise NotConfigured
        middleware = cls(
            settings.getint("RATELIMIT_MAX_RETRIES", 5),
            settings.getfloat("RATELIMIT_MAX_WAIT", 300.0),
            settings.getfloat("RATELIMIT_DEFAULT_WAIT", 10.0),
            crawler.stats,
        )
        middleware.crawler = crawler  # a cut crawl ends the wait (crawler/cut.py)
        return middleware

    async def process_response(self, request, response, spider=None):
        if response.status != 429 or request.meta.get("dont_retry"):
            return response
        tries = request.meta.get("ratelimit_tries", 0) + 1
        if tries > self.max_retries:
            self.stats.inc_value("ratelimit/gave_up")
            return response
        wait = retry_after_seconds(response.headers)
        wait = self.default_wait if wait is None else wait
        if wait > self.max_wait:
            self.stats.inc_value("ratelimit/gave_up")
            raise IgnoreRequest(f"rate limited for {wait:.0f}s, more than RATELIMIT_MAX_WAIT")
        self.stats.inc_value("ratelimit/waits")
        self.stats.inc_value("ratelimit/wait_seconds", wait)
        logger.info("429 from %s: waiting %.1fs as the server asks (try %d)", request.url, wait, tries)
        await pause(self.crawler, wait)
        retry = request.copy()
        retry.meta["ratelimit_tries"] = tries
        retry.dont_filter = True
        return retry


class BudgetMiddleware:
    """Stays inside the servers' quotas instead of bursting into 429s.

    Every answer's rate-limit headers (`crawler/budget.py`) say how many requests are left in
    the current window of its bucket; each request sent counts one down. When a bucket is
    down to its reserve (`BUDGET_RESERVE`, a share of the quota, at least 1), requests to it
    wait for the window's reset (at most `BUDGET_MAX_WAIT` seconds). What was last known of
    every bucket goes into the crawl's stats (`openwatch/budget`), and from there into the
    `budgets` table that `openwatch status` shows.
    """

    crawler = None  # set by from_crawler

    def __init__(self, stats, reserve: float, max_wait: float, clock=None):
        import time

        self.stats = stats
        self.reserve = reserve
        self.max_wait = max_wait
        self.clock = clock or time.monotonic
        self.buckets: dict[tuple[str, str], dict] = {}

    @classmethod
    def from_crawler(cls, crawler):
        settings = crawler.settings
        if not settings.getbool("BUDGET_ENABLED", True):
            raise NotConfigured
        middleware = cls(crawler.stats, settings.getfloat("BUDGET_RESERVE", 0.02),
                         settings.getfloat("BUDGET_MAX_WAIT", 120.0))
        middleware.crawler = crawler  # a cut crawl ends the wait (crawler/cut.py)
        return middleware

    @staticmethod
    def _key(request) -> tuple[str, str]:
        from urllib.parse import urlsplit

        from crawler.budget import hf_bucket

        parts = urlsplit(request.url)
        return parts.netloc, hf_bucket(parts.path)

    async def process_request(self, request, spider=None):
        key = self._key(request)
        state = self.buckets.get(key)
        if state is not None:
            now = self.clock()
            if now >= state["reset_at"]:
                state["remaining"] = state.get("limit") or state["remaining"] + 1
                state["reset_at"] = now + (state.get("window") or 300.0)
            floor = max(1, int((state.get("limit") or 0) * self.reserve))
            # A window that resets later than we may wait: the request goes, the server's
            # refusal is the source's to report (a partial crawl), not a silent stall.
            if state["remaining"] <= floor and now < state["reset_at"] <= now + self.max_wait:
                wait = state["reset_at"] - now
                self.stats.inc_value("budget/waits")
                self.stats.inc_value("budget/wait_seconds", wait)
                logger.info("%s %s: %d requests left in this window; waiting %.0fs for its reset",
                            key[0], key[1], state["remaining"], wait)
                await pause(self.crawler, wait)
                state["remaining"] = state.get("limit") or floor + 1
                state["reset_at"] = self.clock() + (state.get("window") or 300.0)
            state["remaining"] -= 1
        return None

    def process_response(self, request, response, spider=None):
        import time

        from crawler.budget import quota

        headers = {k.decode("latin-1"): v[0].decode("latin-1") for k, v in response.headers.items() if v}
        found = quota(headers, time.time())
        if found is not None:
            host = self._key(request)[0]
            key = (host, found.bucket if found.bucket in ("api", "resolvers", "pages") else self._key(request)[1])
            self.buckets[key] = {"remaining": found.remaining, "reset_at": self.clock() + found.reset_in,
                                 "limit": found.limit, "window": found.window}
            budget = dict(self.stats.get_value("openwatch/budget") or {})
            budget[f"{host} {found.bucket}"] = {"remaining": found.remaining, "limit": found.limit,
                                                "reset_in": round(found.reset_in, 1)}
            self.stats.set_value("openwatch/budget", budget)
        return response


class ArxivAnnouncementPolicy(DummyPolicy):
    """Scrapy cache policy (`HTTPCACHE_POLICY`) for arXiv's API: its answers change only when
    arXiv announces, so a cached answer is served until the next announcement after it was
    fetched and never past it (`crawler.sources.arxiv.fresh_until`). `HTTPCACHE_EXPIRATION_SECS`
    (the watch's `cache`) still bounds it. `clock` (seconds since the epoch) is for tests."""

    def __init__(self, settings, clock=None):
        super().__init__(settings)
        self.clock = clock or time.time

    def is_cached_response_fresh(self, cachedresponse, request) -> bool:
        from crawler.sources.arxiv import fresh_until

        fetched = request.meta.get("cache_timestamp")  # FilesystemCacheStorage's store time
        if not isinstance(fetched, (int, float)):
            return False
        return self.clock() < fresh_until(datetime.fromtimestamp(fetched, timezone.utc)).timestamp()

    def is_cached_response_valid(self, cachedresponse, response, request) -> bool:
        return response.status == 304  # a stale answer is replaced by the new one
