"""Injectable faults: what a real source does on a bad day, on any service of the emulator.

A `Fault` matches requests by a predicate `(method, path_with_query) -> bool` or by a regex
searched in the path and query *as sent*, service prefix included (`/github-api/repos/...`,
`/arxiv/api/query?...`, `/api/models?author=...` for Hugging Face). Faults are tried in
insertion order and the first match fires; `times=None` fires forever, otherwise the fault
is spent after `times` firings.

What a fault does, in this order:
1. `delay` seconds pass first (the handler thread waits; other requests are served): with a
   client timeout shorter than the delay this is a read timeout.
2. `reset=True`: the connection is reset (TCP RST) without an answer.
   `redirect_loop=True`: `302` to the very URL asked, forever (clients stop after N hops).
   `empty=True`: the service's empty answer: Hugging Face `[]`; GitHub `[]`; arXiv a feed
   whose `opensearch:totalResults` is the real total but without entries (arXiv's known
   flake); a feed document without entries; ModelScope `Models: []`, `TotalCount: 0`.
   `page_cap=n`: the normal answer, but a listing page holds at most `n` items whatever
   the client asked (ModelScope's OpenAPI pages hold 50, as its SDK caps them; GitHub's
   `per_page` stops at 100; any server may cap lower); the answer's totals stay true.
   `truncate=True`: the normal answer with its full Content-Length but only half the body,
   then the connection is closed (clients see a protocol error).
   `status=None`: the normal answer (a slow but correct source, with `delay`).
   Otherwise: `status` with `headers` and `body` (default body: the service's own error
   format, e.g. `{"error": ...}` on Hugging Face, `{"message": ...}` on GitHub).
3. On the answer chosen: `cut` (a fraction) keeps only that share of the body with an honest
   Content-Length (a 200 whose JSON or XML stops mid-document); `pad_to` (bytes) pads the
   body with trailing whitespace, which JSON and XML allow, to that size (a 10 MB answer
   where 10 kB was expected, still valid).

`status` defaults to 500 for a plain fault (`Fault(match)` is a 500 storm), but a fault that
only sets `delay`, `truncate`, `empty`, `page_cap`, `cut` or `pad_to` passes the normal answer through:
`Fault(match, delay=2)` is slow, not failing; `Fault(match, status=503, delay=2)` is both.

The class methods build the usual kinds, each shaped like the real service's answer:
`rate_limited` (HF 429), `github_rate_limited` (403 with `X-RateLimit-Remaining: 0`),
`server_error`, `slow`, `truncated`, `empty_listing`, `capped_pages`, `connection_reset`, `html_error_page`
(an HTML page with status 200), `invalid_json`, `looping_redirect`, `oversized`, `cut_body`,
`modelscope_error` (HTTP 200 with `Success: false`), `arxiv_error` (HTTP 400 error entry).
"""

from __future__ import annotations

import json
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Callable


class _DefaultStatus(int):
    """The 500 a fault gets when no status was given; told apart from an explicit 500."""

    def __repr__(self) -> str:
        return "500"


DEFAULT_STATUS = _DefaultStatus(500)
RATE_LIMIT_QUOTA = 500  # the anonymous plan's API quota, in the 429 helper's RateLimit-Policy
RATE_LIMIT_WINDOW = 300  # HF quotas are over 5-minute fixed windows (huggingface.co/docs/hub/rate-limits)
TEN_MB = 10 * 1024 * 1024

HTML_ERROR_PAGE = """<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>We'll be right back</title></head>
<body>
<h1>503 Service Temporarily Unavailable</h1>
<p>The server is temporarily unable to service your request due to maintenance downtime or
capacity problems. Please try again later.</p>
<hr><center>nginx</center>
</body>
</html>
"""


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
    reset: bool = False
    redirect_loop: bool = False
    cut: float | None = None
    pad_to: int | None = None
    page_cap: int | None = None
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
            passthrough = (self.delay or self.truncate or self.empty or self.cut is not None or self.pad_to
                           or self.page_cap)
            self.status = None if passthrough else 500
        if self.times is not None and self.times < 0:
            raise ValueError("times must be None or >= 0")
        if self.page_cap is not None and self.page_cap < 1:
            raise ValueError("page_cap is the most items a page holds: >= 1")
        if self.cut is not None and not 0 <= self.cut < 1:
            raise ValueError("cut is the share of the body kept: 0 <= cut < 1")

    def matches(self, method: str, path_with_query: str) -> bool:
        return bool(self._predicate(method, path_with_query))

    @property
    def spent(self) -> bool:
        return self.times is not None and self.fired >= self.times

    def shape(self, body: bytes) -> bytes:
        """Apply `cut` and `pad_to` to an answer's body."""
        if self.cut is not None:
            body = body[: int(len(body) * self.cut)]
        if self.pad_to is not None and len(body) < self.pad_to:
            body = body + b" " * (self.pad_to - len(body) - 1) + b"\n"
        return body

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
    def github_rate_limited(cls, match, reset_in: int = 60, times: int | None = 1, *, status: int = 403,
                            limit: int = 60, retry_after: int | None = None):
        """GitHub's primary limit spent: 403 (or 429) with `X-RateLimit-Remaining: 0`.

        docs.github.com "Rate limits for the REST API": "If you exceed your primary rate limit,
        you will receive a 403 or 429 response, and the x-ratelimit-remaining header will be 0.
        You should not retry your request until after the time specified by the
        x-ratelimit-reset header." A secondary limit adds `Retry-After` (`retry_after=`).
        """
        headers = {
            "X-RateLimit-Limit": str(limit),
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": str(int(time.time()) + reset_in),
            "X-RateLimit-Used": str(limit),
            "X-RateLimit-Resource": "core",
            "Content-Type": "application/json; charset=utf-8",
        }
        if retry_after is not None:
            headers["Retry-After"] = str(retry_after)
        body = json.dumps({
            "message": "API rate limit exceeded for 127.0.0.1. (But here's the good news: Authenticated requests "
                       "get a higher rate limit. Check out the documentation for more details.)",
            "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api",
        })
        return cls(match, status=status, headers=headers, body=body, times=times)

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
    def capped_pages(cls, match, cap: int = 50, times: int | None = None):
        """Listing pages of at most `cap` items, whatever page size was asked (ModelScope: 50)."""
        return cls(match, page_cap=cap, times=times)

    @classmethod
    def empty_listing(cls, match, times: int | None = None):
        return cls(match, empty=True, times=times)

    @classmethod
    def connection_reset(cls, match, times: int | None = None):
        return cls(match, reset=True, status=None, times=times)

    @classmethod
    def html_error_page(cls, match, status: int = 200, times: int | None = None):
        """A proxy's or CDN's HTML page where JSON or XML was expected, by default with 200."""
        return cls(match, status=status, body=HTML_ERROR_PAGE,
                   headers={"Content-Type": "text/html; charset=utf-8"}, times=times)

    @classmethod
    def invalid_json(cls, match, times: int | None = None):
        """200, `application/json`, and a body that is not JSON."""
        return cls(match, status=200, body='{"error": "upstream", "models": [{"id": "x"}, ,]',
                   headers={"Content-Type": "application/json; charset=utf-8"}, times=times)

    @classmethod
    def looping_redirect(cls, match, times: int | None = None):
        """302 to the URL asked, every time: clients stop after their redirect limit."""
        return cls(match, redirect_loop=True, status=None, times=times)

    @classmethod
    def oversized(cls, match, size: int = TEN_MB, times: int | None = None):
        return cls(match, pad_to=size, times=times)

    @classmethod
    def cut_body(cls, match, fraction: float = 0.5, times: int | None = None):
        """A complete HTTP answer whose JSON or XML stops after `fraction` of it."""
        return cls(match, cut=fraction, times=times)

    @classmethod
    def modelscope_error(cls, match, *, code: int = 10010101004, message: str = "get model info failed, err: "
                         "unauthorized permission", http_status: int = 200, times: int | None = None):
        """The ModelScope envelope reporting failure, by default under HTTP 200.

        Shape and example from the ModelScope SDK (modelscope/server/models/output.py): "Failed:
        {'Code': 10010101004, 'Message': 'get model info failed, err: unauthorized permission',
        'RequestId': '', 'Success': False}". `is_ok()` in modelscope/hub/errors.py checks
        `Code == 200 and Success`, so success is in the body, not only the status.
        """
        body = json.dumps({"Code": code, "Data": None, "Message": message,
                           "RequestId": "00000000-emulator-fault", "Success": False}, ensure_ascii=False)
        return cls(match, status=http_status, body=body,
                   headers={"Content-Type": "application/json;charset=UTF-8"}, times=times)

    @classmethod
    def arxiv_error(cls, match, message: str = "incorrect id format for abc",
                    slug: str = "incorrect_id_format_for_abc", times: int | None = None):
        """HTTP 400 with arXiv's Atom error entry (`<title>Error</title>`), as recorded in 2026."""
        from .arxiv import error_feed  # late: arxiv imports nothing from here, but keep faults light

        return cls(match, status=400, body=error_feed(message, slug),
                   headers={"Content-Type": "application/atom+xml; charset=utf-8"}, times=times)


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
