"""Requests, responses and the route table the emulator's HTTP server dispatches on.

Kept free of `http.server` so route handlers (e.g. crawler/emulator/hf_api.py) are plain
functions from a `Request` to a `Response`, and other sources can register their own routes.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Callable
from urllib.parse import parse_qs


@dataclass
class Request:
    method: str
    target: str  # path with query, as sent
    headers: object  # case-insensitive mapping (http.client.HTTPMessage)
    base_url: str  # scheme://host[:port] the client used

    def __post_init__(self):
        self.path, _, self.query = self.target.partition("?")
        self.params: dict[str, list[str]] = parse_qs(self.query, keep_blank_values=True)

    @property
    def url(self) -> str:
        return self.base_url + self.target

    def param(self, name: str, default: str | None = None) -> str | None:
        values = self.params.get(name)
        return values[0] if values else default

    def header(self, name: str) -> str | None:
        return self.headers.get(name)

    @property
    def has_authorization(self) -> bool:
        return bool(self.header("Authorization"))

    @property
    def authed(self) -> bool:
        """A bearer token was sent; the emulator treats every token as the repo owner's."""
        value = self.header("Authorization") or ""
        scheme, _, token = value.partition(" ")
        return scheme.lower() == "bearer" and bool(token.strip())


@dataclass
class Response:
    status: int
    headers: dict = field(default_factory=dict)
    body: bytes = b""


def json_response(status: int, obj, headers: dict | None = None) -> Response:
    body = json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return Response(status, {"Content-Type": "application/json; charset=utf-8", **(headers or {})}, body)


Handler = Callable[..., Response]


class Router:
    """First matching (method, path regex) wins; named groups become keyword arguments."""

    def __init__(self):
        self._routes: list[tuple[frozenset, re.Pattern, Handler]] = []

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
        return json_response(404, {"error": "Sorry, we can't find the page you are looking for."})
