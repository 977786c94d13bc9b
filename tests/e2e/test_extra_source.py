"""The seam: a source that exists only in this file plugs into every layer.

Its class, item kind, events and spider are defined here; the real `openwatch` CLI loads this
module through `$OPENWATCH_PLUGINS` (the same way a third-party source would be found) and
must give a silent baseline, one event per change, history and a delivered alert, with no
edit to any file outside this test.
"""

from __future__ import annotations

import base64
import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Mapping

import pytest
import scrapy

from crawler.diff import event
from crawler.items import Batch, Observation, UnitEnd
from crawler.sources import EventType, ItemKind, Source
from crawler.times import utcnow
from tests.support.cli import CLI, ROOT, write_config


# The source is defined only where the CLI loads this module as a plugin
# (`$OPENWATCH_PLUGINS`): in the pytest process a registered "widgets" source would leak into
# every other test's registry.
PLUGIN = __name__ in os.environ.get("OPENWATCH_PLUGINS", "").split(",")

if PLUGIN:
    class Widget(ItemKind):
        name = "widget"
        prefix = "widget:test/"
        counter_fields = ("views",)

        def normalise(self, raw: Mapping[str, Any]) -> dict[str, Any]:
            return {"id": raw["id"], "org": raw["shop"], "title": raw["title"], "price": raw["price"]}

        def url(self, key, fields, endpoints):
            return f"{endpoints['widgets']}/{fields['org']}/{fields['id']}"

        def added(self, ctx, fields):
            return [event(ctx, "widget.listed", f"{fields['org']} lists {fields['title']}", after={"price": fields["price"]})]

        def changed(self, ctx, before, after):
            if before.get("price") == after.get("price"):
                return []
            return [event(ctx, "widget.repriced", f"{after['title']}: {before['price']} → {after['price']}",
                          before={"price": before["price"]}, after={"price": after["price"]})]


    class WidgetSource(Source):
        """Widgets of the watched shops (a test-only source)."""

        kind = "widgets"
        keys = ("shops",)
        endpoints = {"widgets": "http://127.0.0.1:9"}
        item_kinds = (Widget(),)
        events = (
            EventType("widget.listed", "new widget", "new widgets", lambda e: f"New widget: {e['summary']}"),
            EventType("widget.repriced", "price change", "price changes"),
        )
        spider = "tests.e2e.test_extra_source.WidgetSpider"

        @classmethod
        def options(cls, read):
            return {"shops": tuple(read.string_list("shops", example='["acme"]'))}

        @classmethod
        def units(cls, options):
            return options["shops"]


    class WidgetSpider(scrapy.Spider):
        name = "widgets"
        source = "widgets"

        def __init__(self, watch="adhoc", units=(), prior=None, endpoint=None, **kwargs):
            super().__init__(**kwargs)
            self.watch, self.units, self.prior, self.endpoint = watch, list(units), prior or {}, endpoint

        async def start(self):
            for shop in self.units:
                yield scrapy.Request(f"{self.endpoint}/{shop}.json", cb_kwargs={"shop": shop}, dont_filter=True)

        def parse(self, response, shop):
            rows = json.loads(response.body)
            yield Batch(watch=self.watch, source=self.source, unit=shop, observed_at=utcnow(),
                        observations=[Observation(key=f"widget:test/{shop}/{r['id']}", kind="widget", raw=r) for r in rows],
                        end=UnitEnd(complete=True, count=len(rows)))


class Shop:
    """A loopback HTTP endpoint serving `/<shop>.json` from a mutable dict."""

    def __init__(self):
        self.widgets: dict[str, list[dict]] = {"acme": []}
        shop = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                name = self.path.strip("/").removesuffix(".json")
                body = json.dumps(shop.widgets.get(name, [])).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def shop():
    served = Shop()
    yield served
    served.server.shutdown()


def test_a_source_defined_in_a_test_gets_baseline_events_history_and_alerts(tmp_path, shop, http):
    config = write_config(tmp_path / "openwatch.toml", hf="http://127.0.0.1:9", watches=[
        {"name": "shops", "source": "widgets", "shops": ["acme"], "every": "1h"},
    ], subscriptions=[{"name": "hook", "channel": "webhook", "url": http.url("/hook"), "events": ["widget.*"],
                                      "secret": "whsec_" + base64.b64encode(b"k" * 32).decode()}])
    config.write_text(config.read_text().replace("[endpoints]", f'[endpoints]\nwidgets = "{shop.url}"'))
    ow = CLI(config, env={"OPENWATCH_PLUGINS": "tests.e2e.test_extra_source",
                          "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])})

    shop.widgets["acme"] = [{"id": "w1", "shop": "acme", "title": "Sprocket", "price": 3, "views": 1}]
    ow("run", "--once")
    assert ow.json("events") == []  # the baseline is silent

    shop.widgets["acme"] = [{"id": "w1", "shop": "acme", "title": "Sprocket", "price": 4, "views": 9},
                            {"id": "w2", "shop": "acme", "title": "Gear <!channel>", "price": 7, "views": 0}]
    ow("run", "--once")
    ow("run", "--once")  # nothing changed since: nothing new
    events = ow.json("events")
    assert sorted((e["type"], e["item"]) for e in events) == [
        ("widget.listed", "widget:test/acme/w2"), ("widget.repriced", "widget:test/acme/w1")]
    repriced = next(e for e in events if e["type"] == "widget.repriced")
    assert repriced["before"] == {"price": 3} and repriced["after"] == {"price": 4}
    assert repriced["url"] == f"{shop.url}/acme/w1" and repriced["data"]["watches"] == ["shops"]

    snapshots = ow.json("history", "widget:test/acme/w1")
    assert [s["price"] for s in snapshots] == [3, 4]
    assert snapshots[1]["changed"] == {"price": {"before": 3, "after": 4}}

    delivered = sorted(json.loads(r.body)["type"] for r in http.requests if r.path == "/hook")
    assert delivered == ["widget.listed", "widget.repriced"]
    assert {r.headers["webhook-id"] for r in http.requests} == {e["id"] for e in events}
