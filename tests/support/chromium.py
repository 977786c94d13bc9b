"""A real headless Chromium driven over the DevTools protocol (a websocket), for tests that
must see a page as a browser renders it: layout, SVG sizes, network requests, screenshots.

Readiness is signalled by Chromium itself ("DevTools listening on ws://…" on stderr), no
sleeping. The network is switched off for the page (`Network.emulateNetworkConditions`), and
every request the page tries is recorded.
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
import re
import subprocess
import threading
from pathlib import Path
from typing import Any

from websockets.sync.client import connect

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-extensions",
         "--disable-default-apps", "--mute-audio", "--hide-scrollbars"]
_LISTENING = re.compile(r"DevTools listening on (ws://\S+)")


class Chromium:
    def __init__(self, profile: Path, width: int = 1280, height: int = 900):
        self.width, self.height = width, height
        self.proc = subprocess.Popen(
            [str(CHROMIUM), *FLAGS, f"--user-data-dir={profile}", "--remote-debugging-port=0",
             "--remote-allow-origins=*", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )
        self.log: list[str] = []
        url = None
        for line in self.proc.stderr:
            self.log.append(line)
            match = _LISTENING.search(line)
            if match:
                url = match.group(1)
                break
        if url is None:
            raise RuntimeError("chromium exited before listening:\n" + "".join(self.log[-20:]))
        threading.Thread(target=lambda: self.log.extend(self.proc.stderr), daemon=True).start()
        self._stack = contextlib.ExitStack()
        self.ws = self._stack.enter_context(connect(url, max_size=None, open_timeout=30))
        self._ids = itertools.count(1)
        self.events: list[dict] = []
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]

    def call(self, method: str, *, session: bool = False, **params) -> dict[str, Any]:
        """Send one command and wait for its answer; events that arrive meanwhile are kept."""
        message = {"id": next(self._ids), "method": method, "params": params}
        if session:
            message["sessionId"] = self.session
        self.ws.send(json.dumps(message))
        while True:
            reply = json.loads(self.ws.recv(timeout=60))
            if reply.get("id") == message["id"]:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_event(self, method: str) -> dict:
        for event in self.events:
            if event.get("method") == method:
                return event
        while True:
            event = json.loads(self.ws.recv(timeout=60))
            self.events.append(event)
            if event.get("method") == method:
                return event

    def open_offline(self, url: str) -> None:
        """Load `url` with the network switched off; returns after the load event."""
        page = {"session": True}
        self.call("Network.enable", **page)
        self.call("Network.emulateNetworkConditions", offline=True, latency=0, downloadThroughput=-1,
                  uploadThroughput=-1, **page)
        self.call("Page.enable", **page)
        self.call("Emulation.setDeviceMetricsOverride", width=self.width, height=self.height,
                  deviceScaleFactor=1, mobile=False, **page)
        self.call("Page.navigate", url=url, **page)
        self.wait_event("Page.loadEventFired")

    def requested(self) -> list[str]:
        return [e["params"]["request"]["url"] for e in self.events if e.get("method") == "Network.requestWillBeSent"]

    def evaluate(self, expression: str) -> Any:
        """Run JavaScript in the page (DevTools runs it whatever the page's CSP); JSON back."""
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True, session=True)
        if "exceptionDetails" in result:
            raise RuntimeError(result["exceptionDetails"])
        return result["result"].get("value")

    def screenshot(self, path: Path, *, max_height: int | None = None) -> Path:
        """The whole page (or its top `max_height` pixels) as a PNG."""
        size = self.call("Page.getLayoutMetrics", session=True)["cssContentSize"]
        height = min(size["height"], max_height) if max_height else size["height"]
        shot = self.call("Page.captureScreenshot", format="png", captureBeyondViewport=True, session=True,
                         clip={"x": 0, "y": 0, "width": size["width"], "height": height, "scale": 1})
        path.write_bytes(base64.b64decode(shot["data"]))
        return path

    def close(self) -> None:
        try:
            self._stack.close()
        finally:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def __enter__(self) -> "Chromium":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
