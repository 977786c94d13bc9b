"""Requests, responses, route tables and the `Service` every emulated service builds on.

Kept free of `http.server` so route handlers are plain functions from a `Request` to a
`Response`. The server (crawler/emulator/server.py) mounts each service at a path prefix
("" for Hugging Face, "/github-api" for the GitHub REST API, ...); a handler sees the path
inside its service (`request.path`) and builds absolute URLs from `request.root`, the base
URL of its mount, so a client following a Link header or a redirect stays on the emulator.

The order a `Service` answers in (`Service.serve`):
1. `admit`: rate-limit accounting before the answer (Hugging Face counts every request);
2. a fault's own answer (`fault_response`), the service's empty answer (`empty_response`),
   a refusal from `admit`, or the route's answer;
3. `finish`: headers every answer carries, then ETag / Last-Modified and the 304 for a
   conditional request (GitHub counts only answers that are not 304, in `finish`).
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
import traceback
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Callable
from urllib.parse import parse_qs


@dataclass
class Request:
    method: str
    target: str  # path with query inside the service, as sent (prefix removed)
    headers: object  # case-insensitive mapping (http.client.HTTPMessage)
    base_url: str  # scheme://host[:port] the client used
    prefix: str = ""  # where the service is mounted ("" or "/github-api", ...)
    body: bytes = b""
    empty: bool = False  # an `empty` fault asks the route for its empty answer
    page_cap: int | None = None  # a `page_cap` fault: listing pages hold at most this many

    def capped(self, size: int) -> int:
        """The page size a listing serves: what was asked, within a `page_cap` fault's cap."""
        return min(size, self.page_cap) if self.page_cap else size

    def __post_init__(self):
        self.path, _, self.query = self.target.partition("?")
        self.params: dict[str, list[str]] = parse_qs(self.query, keep_blank_values=True)

    @property
    def root(self) -> str:
        """Base URL of this service on the emulator: absolute URLs are built on it."""
        return self.base_url + self.prefix

    @property
    def url(self) -> str:
        return self.root + self.target

    def param(self, name: str, default: str | None = None) -> str | None:
        values = self.params.get(name)
        return values[0] if values else default

    def header(self, name: str) -> str | None:
        return self.headers.get(name)

    def json(self):
        """The body as JSON, or None when it is not JSON."""
        try:
            return json.loads(self.body or b"null")
        except ValueError:
            return None

    @property
    def has_authorization(self) -> bool:
        return bool(self.header("Authorization"))

    @property
    def authed(self) -> bool:
        """A bearer token was sent; the emulator treats every token as the repo owner's."""
        value = self.header("Authorization") or ""
        scheme, _, token = value.partition(" ")
        return scheme.lower() == "bearer" and bool(token.strip())

    @property
    def token(self) -> str | None:
        """The credential of `Authorization: Bearer|token <x>`, whatever the scheme's case."""
        value = self.header("Authorization") or ""
        scheme, _, token = value.partition(" ")
        return (token.strip() or None) if scheme.lower() in ("bearer", "token") else None


@dataclass
class Response:
    status: int
    headers: dict = field(default_factory=dict)
    body: bytes = b""


def json_response(status: int, obj, headers: dict | None = None) -> Response:
    body = json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return Response(status, {"Content-Type": "application/json; charset=utf-8", **(headers or {})}, body)


def text_response(status: int, text: str, content_type: str = "text/plain; charset=utf-8",
                  headers: dict | None = None) -> Response:
    return Response(status, {"Content-Type": content_type, **(headers or {})}, text.encode("utf-8"))


def hf_not_found(request: Request) -> Response:
    return json_response(404, {"error": "Sorry, we can't find the page you are looking for."})


Handler = Callable[..., Response]


class Router:
    """First matching (method, path regex) wins; named groups become keyword arguments."""

    def __init__(self, not_found: Handler = hf_not_found):
        self._routes: list[tuple[frozenset, re.Pattern, Handler]] = []
        self._not_found = not_found

    def add(self, methods, pattern: str, handler: Handler) -> None:
        self._routes.append((frozenset(methods), re.compile(pattern), handler))

    def dispatch(self, request: Request) -> Response:
        path_matched = False
        for methods, pattern, handler in self._routes:
            match = pattern.match(request.path)
            if match is None:
                continue
            path_matched = True
            if request.method in methods:
                return handler(request, **match.groupdict())
        if path_matched:
            return json_response(405, {"error": "Method not allowed"})
        return self._not_found(request)


REASONS = {
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


class Service:
    """One emulated service mounted at `prefix`; subclasses add routes and override hooks.

    `name` is what the request log records (`huggingface`, `github`, `github_api`, `arxiv`,
    `modelscope`, `feeds`). `keep_on_304` lists the headers a 304 keeps.
    """

    name = ""
    prefix = ""
    keep_on_304: tuple[str, ...] = ("ETag", "Last-Modified")

    def __init__(self):
        self.router = Router(self.not_found)

    # -- hooks ------------------------------------------------------------------------------

    def not_found(self, request: Request) -> Response:
        return json_response(404, {"error": "Not Found"})

    def bucket(self, request: Request) -> str | None:
        """The rate-limit bucket a request counts against (None: not rate limited)."""
        return None

    def admit(self, request: Request) -> tuple[dict, Response | None]:
        """Before the answer: (headers every answer gets, a refusal or None)."""
        return {}, None

    def fault_response(self, fault, request: Request) -> Response:
        """A fault's answer in this service's error format, with the fault's headers on top."""
        if fault.body is None:
            response = self.error_response(fault.status, request)
        else:
            body = fault.body.encode("utf-8") if isinstance(fault.body, str) else fault.body
            response = Response(fault.status, {"Content-Type": "application/json; charset=utf-8"}, body)
        response.headers.update(fault.headers or {})
        return response

    def error_response(self, status: int, request: Request) -> Response:
        return json_response(status, {"error": REASONS.get(status, "Injected fault")})

    def empty_response(self, request: Request) -> Response:
        """What an `empty` fault answers: the route's own empty answer by default."""
        request.empty = True
        return self.dispatch(request)

    def etag(self, response: Response) -> str:
        return f'W/"{hashlib.sha1(response.body).hexdigest()}"'

    def finish(self, request: Request, response: Response, admitted_headers: dict) -> Response:
        merged = dict(admitted_headers)
        merged.update(response.headers)
        response.headers = merged
        if response.status == 200 and request.method in ("GET", "HEAD"):
            if "ETag" not in response.headers:
                response.headers["ETag"] = self.etag(response)
            if not_modified(request, response):
                keep = {k.lower() for k in self.keep_on_304}
                response = Response(304, {k: v for k, v in response.headers.items() if k.lower() in keep}, b"")
        return response

    # -- the flow ---------------------------------------------------------------------------

    def dispatch(self, request: Request) -> Response:
        try:
            return self.router.dispatch(request)
        except Exception as exc:  # an emulator bug must show, not hang the client
            traceback.print_exc(file=sys.stderr)
            return json_response(500, {"error": f"emulator error: {exc!r}"})

    def serve(self, request: Request, fault=None) -> Response:
        admitted_headers, refusal = self.admit(request)
        if fault is not None and fault.page_cap:
            request.page_cap = fault.page_cap
        if fault is not None and fault.empty:
            response = self.empty_response(request)
        elif fault is not None and not fault.truncate and fault.status is not None:
            response = self.fault_response(fault, request)
        elif refusal is not None:
            response = refusal
        else:
            response = self.dispatch(request)
        return self.finish(request, response, admitted_headers)


def not_modified(request: Request, response: Response) -> bool:
    """RFC 9110 13.2.2: If-None-Match first; If-Modified-Since only without it."""
    if_none_match = request.header("If-None-Match")
    etag = response.headers.get("ETag")
    if if_none_match:
        if not etag:
            return False
        if if_none_match.strip() == "*":
            return True
        bare = etag.removeprefix("W/")
        return any(tag.strip().removeprefix("W/") == bare for tag in if_none_match.split(","))
    since, modified = request.header("If-Modified-Since"), response.headers.get("Last-Modified")
    if since and modified:
        try:
            return parsedate_to_datetime(modified) <= parsedate_to_datetime(since)
        except (TypeError, ValueError):
            return False
    return False
