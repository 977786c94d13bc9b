"""The hub emulator: a loopback HTTP/1.1 server over a `HubWorld`, with faults and counters.

Readiness is the bound socket: `start()` returns once the port is bound and listening, so
callers never sleep. Each connection is served on its own daemon thread
(`ThreadingHTTPServer`), so a delayed answer never holds up other requests, and `stop()`
closes idle keep-alive connections and wakes delayed handlers so it returns promptly.
"""

from __future__ import annotations

import hashlib
import itertools
import socket
import sys
import threading
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from . import hf_api
from .faults import Fault, FaultSet
from .ratelimit import RateLimiter, bucket_for
from .requests_log import RequestLog
from .routing import Request, Response, Router, json_response
from .world import HubWorld


class HubEmulator:
    """Serve `world` (a new empty `HubWorld` by default) on 127.0.0.1.

    `page_size` caps models per listing page. `rate_limits` overrides per-bucket quotas
    (`{"api": 1000, "resolvers": 5000, "pages": 200}`); with `enforce_rate_limits=True` an
    exhausted bucket answers 429 as the Hub does, otherwise the headers only count down.
    """

    def __init__(
        self,
        world: HubWorld | None = None,
        page_size: int = 1000,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        rate_limits: dict | None = None,
        enforce_rate_limits: bool = False,
    ):
        self.world = world if world is not None else HubWorld()
        self.page_size = page_size
        self.host = host
        self.port = port
        self.faults = FaultSet()
        self.requests = RequestLog()
        self.rate_limiter = RateLimiter(rate_limits, enforce=enforce_rate_limits)
        self.router = Router()
        hf_api.register(self.router, self.world, page_size=lambda: self.page_size)
        self.url: str | None = None
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._request_ids = itertools.count(1)

    def start(self) -> str:
        """Bind and serve; returns the base URL (`http://127.0.0.1:PORT`), also in `self.url`."""
        if self._server is not None:
            return self.url
        self._stopping.clear()
        self._server = _Server((self.host, self.port), _handler_for(self))
        self.port = self._server.server_address[1]
        self.url = f"http://{self.host}:{self.port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"hub-emulator:{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self.url

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()
        server.shutdown()
        server.server_close()
        server.close_connections()
        self._thread.join(timeout=5)

    def __enter__(self) -> HubEmulator:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- one request ------------------------------------------------------------------------

    def _respond(self, method: str, target: str, headers, base_url: str) -> tuple[Response, Fault | None]:
        """The response to send, and the fault that shaped it (for truncation)."""
        fault = self.faults.take(method, target)
        if fault is not None and fault.delay > 0:
            if self._stopping.wait(fault.delay):
                raise ConnectionAbortedError("emulator stopping")
        request = Request(method, target, headers, base_url)
        limit_headers, allowed = self.rate_limiter.hit(bucket_for(request.path))
        if fault is not None and fault.empty:
            response = json_response(200, [])
        elif fault is not None and not fault.truncate and fault.status is not None:
            response = _fault_response(fault)
        elif not allowed:
            response = json_response(429, {"error": "You have been rate-limited; you can retry this action later."})
        else:
            try:
                response = self.router.dispatch(request)
            except Exception as exc:  # an emulator bug must show, not hang the client
                traceback.print_exc(file=sys.stderr)
                response = json_response(500, {"error": f"emulator error: {exc!r}"})
        # Rate-limit headers ride on every answer (huggingface.co/docs/hub/rate-limits); a
        # fault's own headers (e.g. a 429's RateLimit r=0) take precedence.
        merged = {**limit_headers, "X-Request-Id": f"Root=1-emulator-{next(self._request_ids):08x}"}
        merged.update(response.headers)
        response.headers = merged
        if response.status == 200 and method in ("GET", "HEAD"):
            _add_etag(response)
            if _not_modified(headers.get("If-None-Match"), response.headers.get("ETag")):
                keep = ("ETag", "X-Repo-Commit", "RateLimit", "RateLimit-Policy", "X-Request-Id")
                response = Response(304, {k: v for k, v in response.headers.items() if k in keep}, b"")
        return response, fault


def _fault_response(fault: Fault) -> Response:
    if fault.body is None:
        response = json_response(fault.status, {"error": _REASONS.get(fault.status, "Injected fault")})
    else:
        body = fault.body.encode("utf-8") if isinstance(fault.body, str) else fault.body
        response = Response(fault.status, {"Content-Type": "application/json; charset=utf-8"}, body)
    response.headers.update(fault.headers or {})
    return response


_REASONS = {
    429: "You have been rate-limited; you can retry this action later.",
    500: "Internal Error - We're working hard to fix this as soon as possible!",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


def _add_etag(response: Response) -> None:
    # API answers carry a weak validator (the Hub is an Express app, which adds W/"…" ETags);
    # files carry the strong git blob id set by the resolve route. Unverified for the API:
    # a client must work whether or not a 304 ever comes back.
    if "ETag" not in response.headers:
        response.headers["ETag"] = f'W/"{hashlib.sha1(response.body).hexdigest()}"'


def _not_modified(if_none_match: str | None, etag: str | None) -> bool:
    if not if_none_match or not etag:
        return False
    if if_none_match.strip() == "*":
        return True
    bare = etag.removeprefix("W/")
    return any(tag.strip().removeprefix("W/") == bare for tag in if_none_match.split(","))


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def __init__(self, address, handler):
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, handler)

    def process_request_thread(self, request, client_address):
        with self._connections_lock:
            self._connections.add(request)
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self._connections_lock:
                self._connections.discard(request)

    def close_connections(self) -> None:
        with self._connections_lock:
            connections = list(self._connections)
        for conn in connections:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def handle_error(self, request, client_address):
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return  # clients hanging up mid-answer are part of the job
        super().handle_error(request, client_address)


def _handler_for(emulator: HubEmulator):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive; every answer has a Content-Length
        server_version = "openwatch-hub-emulator"
        sys_version = ""

        def setup(self):
            super().setup()
            # Headers and body go out in separate writes; without this, Nagle's algorithm and
            # delayed ACKs add ~40 ms to many answers.
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def do_GET(self):
            self._serve("GET")

        def do_HEAD(self):
            self._serve("HEAD")

        def do_POST(self):
            self._serve("POST")

        def do_PUT(self):
            self._serve("PUT")

        def do_DELETE(self):
            self._serve("DELETE")

        def do_PATCH(self):
            self._serve("PATCH")

        def log_message(self, format, *args):
            pass

        def _serve(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            target = self.path
            host = self.headers.get("Host") or f"{emulator.host}:{emulator.port}"
            try:
                response, fault = emulator._respond(method, target, self.headers, f"http://{host}")
            except ConnectionAbortedError:
                self.close_connection = True
                return
            # Logged before answering, so a client that has its answer sees it counted.
            emulator.requests.record(method, target, response.status, dict(self.headers.items()))
            self._write(method, response, fault is not None and fault.truncate)

        def _write(self, method: str, response: Response, truncate: bool) -> None:
            body = response.body
            self.send_response(response.status)
            for name, value in response.headers.items():
                self.send_header(name, value)
            if response.status != 304:
                # A truncated answer promises at least one byte more than it sends.
                self.send_header("Content-Length", str(max(len(body), 1) if truncate else len(body)))
            if truncate:
                self.send_header("Connection", "close")
                self.close_connection = True
            self.end_headers()
            if method == "HEAD" or response.status == 304:
                return
            self.wfile.write(body[: len(body) // 2] if truncate else body)
            self.wfile.flush()

    return Handler
