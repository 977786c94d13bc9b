"""Loopback receivers for alerts: an HTTP server standing in for Slack and webhook endpoints,
an SMTP server standing in for a mail relay. Product code: the test suite and the offline demo
(`openwatch demo`) both use them.

Both bind 127.0.0.1 on a free port (port 0) and are ready when the context manager returns;
they record everything they receive and answer with scripted replies (faults included).
"""

from __future__ import annotations

import email
import email.message
import email.policy
import json
import threading
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Mapping

from aiosmtpd.controller import Controller


# ---------------------------------------------------------------------------------------------
# HTTP


@dataclass(frozen=True)
class Request:
    """One request an `HttpReceiver` received."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def header(self, name: str, default: str | None = None) -> str | None:
        lowered = name.lower()
        for key, value in self.headers.items():
            if key.lower() == lowered:
                return value
        return default

    @property
    def json(self) -> Any:
        """The body parsed as JSON, or None when it is not JSON."""
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


@dataclass(frozen=True)
class Response:
    """A scripted answer. `delay` holds the answer back that many seconds (to make a
    client time out); the wait ends early when the receiver closes."""

    status: int = 200
    body: str | bytes = "ok"
    headers: Mapping[str, str] = field(default_factory=dict)
    delay: float | None = None


def print_request(request: Request) -> None:
    """A one-line description of a request, for demos: `POST /slack 1234 bytes`."""
    payload = request.json
    what = ""
    if isinstance(payload, dict):
        what = payload.get("text") or payload.get("summary") or payload.get("type") or ""
    print(f"← {request.method} {request.path} {len(request.body)} bytes {str(what)[:120]}".rstrip(), flush=True)


class HttpReceiver:
    """An HTTP server on 127.0.0.1 (free port) that records every request and answers from a
    script of responses, then with 200 "ok".

        with HttpReceiver() as rx:
            rx.script(Response(503), Response(503), Response(429, headers={"Retry-After": "1"}))
            ... POST to rx.url("/slack") ...
            rx.wait_for(3, timeout=5)
    """

    def __init__(
        self,
        *,
        echo: Callable[[Request], None] | bool | None = None,
        default: Response = Response(),
        host: str = "127.0.0.1",
    ) -> None:
        self.requests: list[Request] = []
        self.default = default
        self._echo = print_request if echo is True else (echo or None)
        self._script: deque[Response] = deque()
        self._changed = threading.Condition()
        self._closing = threading.Event()
        self._server = ThreadingHTTPServer((host, 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> "HttpReceiver":
        # The socket is already listening (bound in __init__): clients that connect before
        # the thread runs wait in the backlog, so no readiness wait is needed.
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="http-receiver", daemon=True
            )
            self._thread.start()
        return self

    def close(self) -> None:
        self._closing.set()
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> "HttpReceiver":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- addresses and scripting ---------------------------------------------------------------

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str = "/") -> str:
        return self.base_url + (path if path.startswith("/") else "/" + path)

    def script(self, *responses: Response | tuple | int) -> None:
        """Queue answers for the next requests: `Response`, `(status, headers, body)` or a status."""
        with self._changed:
            for item in responses:
                if isinstance(item, int):
                    item = Response(item, body="")
                elif isinstance(item, tuple):
                    status, *rest = item
                    headers = rest[0] if len(rest) > 0 else {}
                    body = rest[1] if len(rest) > 1 else ""
                    item = Response(status, body=body, headers=headers or {})
                self._script.append(item)

    def wait_for(self, count: int, timeout: float = 5.0) -> list[Request]:
        """Block until `count` requests have arrived in all; returns them. Raises TimeoutError."""
        with self._changed:
            if not self._changed.wait_for(lambda: len(self.requests) >= count, timeout):
                raise TimeoutError(f"expected {count} requests, got {len(self.requests)} within {timeout}s")
            return list(self.requests)

    def clear(self) -> None:
        with self._changed:
            self.requests.clear()
            self._script.clear()

    # -- the server side -----------------------------------------------------------------------

    def _record(self, request: Request) -> Response:
        with self._changed:
            self.requests.append(request)
            answer = self._script.popleft() if self._script else self.default
            self._changed.notify_all()
        if self._echo is not None:
            self._echo(request)
        return answer

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            server_version = "openwatch-receiver"

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                request = Request(self.command, self.path, dict(self.headers.items()), body)
                answer = receiver._record(request)
                if answer.delay:
                    receiver._closing.wait(answer.delay)
                data = answer.body.encode() if isinstance(answer.body, str) else answer.body
                try:
                    self.send_response(answer.status)
                    headers = {"Content-Type": "text/plain; charset=utf-8", **dict(answer.headers)}
                    for key, value in headers.items():
                        self.send_header(key, value)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a scripted timeout): nothing to answer

            do_POST = do_GET = do_PUT = do_PATCH = do_DELETE = _handle

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


# ---------------------------------------------------------------------------------------------
# SMTP


@dataclass(frozen=True)
class Envelope:
    """One message an `SmtpReceiver` accepted."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes

    @property
    def message(self) -> email.message.EmailMessage:
        return email.message_from_bytes(self.data, policy=email.policy.default)  # type: ignore[return-value]


def print_envelope(envelope: Envelope) -> None:
    msg = envelope.message
    print(f"✉ to {', '.join(envelope.rcpt_tos)}: {msg['Subject']}", flush=True)


class _Handler:
    def __init__(self, receiver: "SmtpReceiver") -> None:
        self.receiver = receiver

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802 (aiosmtpd API)
        refusal = self.receiver.refuse_recipients.get(address)
        if refusal:
            return refusal
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        return self.receiver._record(
            Envelope(envelope.mail_from, tuple(envelope.rcpt_tos), bytes(envelope.original_content or envelope.content))
        )


class _Controller(Controller):
    """aiosmtpd's Controller, able to bind port 0: the real port is read from the listening
    socket before the readiness check connects to it."""

    def _trigger_server(self) -> None:
        if self.port == 0 and self.server is not None:
            self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


class SmtpReceiver:
    """An SMTP server (aiosmtpd) on 127.0.0.1 (free port) recording every message.

    `script("451 4.3.0 try again later", "550 5.7.1 rejected")` answers the next DATA commands
    with those replies (then "250 OK"); `refuse_recipients[addr] = "550 5.1.1 no such user"`
    refuses a recipient.
    """

    def __init__(self, *, echo: Callable[[Envelope], None] | bool | None = None, host: str = "127.0.0.1") -> None:
        self.messages: list[Envelope] = []
        self.replies: list[str] = []  # every DATA reply given, accepted or not
        self.refuse_recipients: dict[str, str] = {}
        self._echo = print_envelope if echo is True else (echo or None)
        self._script: deque[str] = deque()
        self._changed = threading.Condition()
        self._controller = _Controller(_Handler(self), hostname=host, port=0)
        self.host = host

    def start(self) -> "SmtpReceiver":
        self._controller.start()  # returns once the server answers (aiosmtpd's own readiness check)
        return self

    def close(self) -> None:
        self._controller.stop()

    def __enter__(self) -> "SmtpReceiver":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.close()

    @property
    def port(self) -> int:
        return self._controller.port

    def script(self, *replies: str) -> None:
        with self._changed:
            self._script.extend(replies)

    def _record(self, envelope: Envelope) -> str:
        with self._changed:
            reply = self._script.popleft() if self._script else "250 2.0.0 Message accepted for delivery"
            self.replies.append(reply)
            if reply.startswith("2"):
                self.messages.append(envelope)
            self._changed.notify_all()
        if self._echo is not None and reply.startswith("2"):
            self._echo(envelope)
        return reply

    def wait_for(self, count: int, timeout: float = 5.0) -> list[Envelope]:
        """Block until `count` messages have been accepted in all; returns them."""
        with self._changed:
            if not self._changed.wait_for(lambda: len(self.messages) >= count, timeout):
                raise TimeoutError(f"expected {count} messages, got {len(self.messages)} within {timeout}s")
            return list(self.messages)
