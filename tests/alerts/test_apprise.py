"""The optional apprise channel: a clear error without the extra, real delivery with it."""

from __future__ import annotations

import sys

import pytest

from alerts.channels.apprise import MISSING_EXTRA
from alerts.commands import failing_receivers
from alerts.outbox import dispatch
from alerts.receivers import HttpReceiver
from tests.support.alerts import Clock, deliveries, event, ingest, make_config, make_transport, open_db, statuses


def test_without_the_extra_deliveries_fail_with_a_clear_message(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "apprise", None)  # `import apprise` raises ImportError
    config = make_config(tmp_path, [{"name": "chat", "channel": "apprise", "url": "json://127.0.0.1:9/x"}])
    db = open_db(tmp_path)
    clock = Clock()
    ingest(db, [event()], config, clock())
    report = dispatch(db, config, now=clock, transport=make_transport()[0])
    assert report.failed == 1
    (row,) = deliveries(db)
    assert row["status"] == "failed"
    assert row["last_error"] == 'apprise channel needs the extra: pip install "openwatch[apprise]"' == MISSING_EXTRA
    assert failing_receivers(db)[0]["last_error"] == MISSING_EXTRA


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # apprise imports imghdr
def test_apprise_delivers_to_a_json_endpoint(tmp_path):
    pytest.importorskip("apprise")
    with HttpReceiver() as http:
        url = f"json://127.0.0.1:{http.port}/notify"
        config = make_config(tmp_path, [{"name": "chat", "channel": "apprise", "url": url}])
        db = open_db(tmp_path)
        clock = Clock()
        events = [event("model.license_changed", org="meta-llama") for _ in range(3)] + [event("model.added")]
        ingest(db, events, config, clock())
        report = dispatch(db, config, now=clock, transport=make_transport()[0])
        assert (report.sent, report.messages) == (4, 1)
        (request,) = http.wait_for(1)
    assert statuses(db) == {"sent": 4}
    assert request.path == "/notify"
    assert request.json["title"] == "3 licence changes, 1 new model"
    assert "Licence changes (3)" in request.json["message"]
