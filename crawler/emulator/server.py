"""The hub emulator: one loopback HTTP/1.1 server for every service openwatch reads.

Services are mounted at path prefixes of one port, so each is a base URL of its own
(`emu.endpoints()`):

| service | base URL | module |
|---|---|---|
| Hugging Face API, files, daily papers | `emu.url` | hf_api.py, hf_papers.py |
| GitHub web (`releases.atom`, pages) | `emu.url + "/github"` | github.py |
| GitHub REST API | `emu.url + "/github-api"` | github.py |
| arXiv export API (`/api/query`) | `emu.url + "/arxiv"` | arxiv.py |
| ModelScope (`/api/v1/models/...`) | `emu.url + "/modelscope"` | modelscope.py |
| RSS / Atom feeds | `emu.url + "/feeds/<name>"` | feeds.py |

A Hugging Face owner named like a prefix (`github`, `arxiv`, ...) is shadowed by that
service; no real lab is.

Each service has its world, scriptable from tests while the server reads it:
`emu.world` (Hugging Face, a `HubWorld`; also `emu.hf`), `emu.github` (`GitHubWorld`),
`emu.arxiv` (`ArxivWorld`), `emu.feeds` (`FeedWorld`), `emu.modelscope`
(`ModelScopeWorld`). `emu.faults` applies to every path (match on the path as sent, prefix
included); `emu.requests` logs every request with its arrival time and service.

Readiness is the bound socket: `start()` returns once the port is bound and listening, so
callers never sleep. Each connection is served on its own daemon thread
(`ThreadingHTTPServer`), so a delayed answer never holds up other requests, and `stop()`
closes idle keep-alive connections and wakes delayed handlers so it returns promptly.
"""

from __future__ import annotations

import socket
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from .arxiv import ArxivService, ArxivWorld
from .faults import FaultSet
from .feeds import FeedsService, FeedWorld
from .github import GitHubApiService, GitHubWebService, GitHubWorld
from .hf_api import HuggingFaceService
from .modelscope import ModelScopeService, ModelScopeWorld
from .ratelimit import GitHubRateLimiter, RateLimiter
from .requests_log import RequestLog
from .routing import Request, Response, Service, text_response
from .world import HubWorld

SERVICES = ("huggingface", "github", "github_api", "arxiv", "modelscope", "feeds")


class _Reset(Exception):
    """A fault asked for the connection to be reset instead of answered."""


class HubEmulator:
    """Serve the worlds (new empty ones by default) on 127.0.0.1.

    `page_size` caps models per Hugging Face listing page. `rate_limits` overrides Hugging
    Face quotas (`{"api": 1000}` for every plan, or `{"anonymous": {...}, "token": {...}}`);
    `github_rate_limits` GitHub's (`{"anonymous": 60, "token": 5000}`).
    `enforce_rate_limits` (True, or a set of service names such as `{"github_api"}`) makes
    an exhausted quota refuse: 429 on Hugging Face, 403 on GitHub, as they do; otherwise the
    headers only count down. `clock` (default `time.monotonic`) times the request log and
    the rate-limit windows; tests may pass a fake one.
    """

    def __init__(
        self,
        world: HubWorld | None = None,
        page_size: int = 1000,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        rate_limits: dict | None = None,
        enforce_rate_limits: bool | set | frozenset | tuple = False,
        github: GitHubWorld | None = None,
        arxiv: ArxivWorld | None = None,
        feeds: FeedWorld | None = None,
        modelscope: ModelScopeWorld | None = None,
        github_rate_limits: dict | None = None,
        clock=time.monotonic,
    ):
        self.world = world if world is not None else HubWorld()
        self.github = github if github is not None else GitHubWorld()
        self.arxiv = arxiv if arxiv is not None else ArxivWorld()
        self.feeds = feeds if feeds is not None else FeedWorld()
        self.modelscope = modelscope if modelscope is not None else ModelScopeWorld()
        self.page_size = page_size
        self.host = host
        self.port = port
        self.clock = clock
        self.faults = FaultSet()
        self.requests = RequestLog(origin=clock())
        enforce = (lambda name: bool(enforce_rate_limits)) if isinstance(enforce_rate_limits, bool) else (
            lambda name: name in enforce_rate_limits)
        self.rate_limiter = RateLimiter(rate_limits, enforce=enforce("huggingface"), clock=clock)
        self.github_rate_limiter = GitHubRateLimiter(github_rate_limits, enforce=enforce("github_api"), clock=clock)
        self.services: list[Service] = [
            GitHubApiService(self.github, self.github_rate_limiter),
            GitHubWebService(self.github),
            ArxivService(self.arxiv, clock=clock),
            ModelScopeService(self.modelscope),
            FeedsService(self.feeds),
            HuggingFaceService(self.world, page_size=lambda: self.page_size, rate_limiter=self.rate_limiter),
        ]
        # Longest prefix first, so "/github-api" wins over "/github"; HF ("") last.
        self.services.sort(key=lambda s: len(s.prefix), reverse=True)
        self.url: str | None = None
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()

    @property
    def hf(self) -> HubWorld:
        return self.world

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

    def endpoints(self) -> dict[str, str]:
        """Base URLs for the config's `[endpoints]` table (start the emulator first)."""
        if self.url is None:
            raise RuntimeError("start the emulator first")
        return {
            "huggingface": self.url,
            "github": self.url + GitHubWebService.prefix,
            "github_api": self.url + GitHubApiService.prefix,
            "arxiv": self.url + ArxivService.prefix,
            "modelscope": self.url + ModelScopeService.prefix,
        }

    def service(self, name: str) -> Service:
        """A mounted service by its log name (e.g. `emu.service("arxiv").min_interval = 3`)."""
        for service in self.services:
            if service.name == name:
                return service
        raise KeyError(f"no service {name!r}; services: {', '.join(SERVICES)}")

    def feed_url(self, name: str) -> str:
        """The URL a feed added with `emu.feeds.add_feed(name, ...)` is served at."""
        if self.url is None:
            raise RuntimeError("start the emulator first")
        return f"{self.url}{FeedsService.prefix}/{name}"

    # -- one request ------------------------------------------------------------------------

    def service_for(self, path: str) -> Service:
        for service in self.services:
            prefix = service.prefix
            if not prefix or path == prefix or path.startswith(prefix + "/"):
                return service
        raise AssertionError("the Hugging Face service is mounted at the root")

    def _respond(self, method: str, target: str, headers, base_url: str, body: bytes = b""):
        """(response, the fault that shaped it, service, request); raises `_Reset` for a
        reset fault and `ConnectionAbortedError` when stopping during a delay."""
        path = target.partition("?")[0]
        service = self.service_for(path)
        fault = self.faults.take(method, target)
        if fault is not None and fault.delay > 0:
            if self._stopping.wait(fault.delay):
                raise ConnectionAbortedError("emulator stopping")
        if fault is not None and fault.reset:
            raise _Reset()
        inner = target[len(service.prefix):] or "/"
        if inner.startswith("?"):
            inner = "/" + inner
        request = Request(method, inner, headers, base_url, prefix=service.prefix, body=body)
        if fault is not None and fault.redirect_loop:
            response = text_response(302, "Found", headers={"Location": base_url + target})
        else:
            response = service.serve(request, fault)
        if fault is not None and (fault.cut is not None or fault.pad_to):
            response.body = fault.shape(response.body)
        return response, fault, service, request


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

    def shutdown_request(self, request):
        try:
            super().shutdown_request(request)
        except OSError:
            pass  # already reset by a fault

    def handle_error(self, request, client_address):
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError, OSError)):
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
            arrived = emulator.clock()
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            target = self.path
            host = self.headers.get("Host") or f"{emulator.host}:{emulator.port}"
            connection = "%s:%d" % self.client_address[:2]
            service = emulator.service_for(target.partition("?")[0])
            try:
                response, fault, service, request = emulator._respond(
                    method, target, self.headers, f"http://{host}", body)
            except ConnectionAbortedError:
                self.close_connection = True
                return
            except _Reset:
                emulator.requests.record(method, target, 0, dict(self.headers.items()), at=arrived,
                                         service=service.name, bucket=None, connection=connection)
                self._reset()
                return
            # Logged before answering, so a client that has its answer sees it counted.
            emulator.requests.record(method, target, response.status, dict(self.headers.items()), at=arrived,
                                     service=service.name, bucket=service.bucket(request), connection=connection)
            self._write(method, response, fault is not None and fault.truncate)

        def _reset(self) -> None:
            # SO_LINGER with a zero timeout makes close() send RST instead of FIN.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            self.connection.close()

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
