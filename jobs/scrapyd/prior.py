"""The prior state of each job, served to its worker at an unguessable URL while it runs
(it is too big for a command-line argument: see `jobs.scrapyd`)."""

from __future__ import annotations

import gzip
import json
import logging
import re
import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

logger = logging.getLogger("openwatch.scrapyd")


class PriorServer:
    """Serves each job's prior state at `<base>/prior/<token>.json` while the job runs.

    Tokens are 32 random bytes, one per job, withdrawn when the job ends: the document (model
    ids, shas, ETags) is readable only by the worker the job went to. gzip when asked.
    """

    def __init__(self, bind: tuple[str, int] = ("127.0.0.1", 0), public_url: str | None = None):
        self.bind = bind
        self.public_url = public_url
        self.documents: dict[str, bytes] = {}
        self.lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self.base_url: str | None = None

    def start(self) -> str:
        if self._server is None:
            server = ThreadingHTTPServer(self.bind, _prior_handler(self))
            server.daemon_threads = True
            host, port = server.server_address[:2]
            threading.Thread(target=server.serve_forever, name=f"prior-server:{port}", daemon=True).start()
            self._server = server
            shown = f"[{host}]" if ":" in host else host
            self.base_url = self.public_url or f"http://{shown}:{port}"
        return self.base_url

    def publish(self, document: Any) -> tuple[str, str]:
        """Serve `document` as JSON; returns (url, token) — `withdraw(token)` when the job ends."""
        base = self.start()
        token = secrets.token_urlsafe(32)
        body = gzip.compress(json.dumps(document, separators=(",", ":")).encode(), compresslevel=6)
        with self.lock:
            self.documents[token] = body
        return f"{base}/prior/{token}.json", token

    def withdraw(self, token: str) -> None:
        with self.lock:
            self.documents.pop(token, None)

    def get(self, token: str) -> bytes | None:
        with self.lock:
            return self.documents.get(token)

    def close(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()


def _prior_handler(owner: PriorServer):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            match = re.fullmatch(r"/prior/([A-Za-z0-9_-]{20,100})\.json", self.path)
            body = owner.get(match.group(1)) if match else None
            if body is None:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            if "gzip" in (self.headers.get("Accept-Encoding") or ""):
                self.send_header("Content-Encoding", "gzip")
            else:
                body = gzip.decompress(body)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format, *args):  # noqa: A002 - the stdlib's name
            logger.debug("prior server: " + format, *args)

    return Handler

