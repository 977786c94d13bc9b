"""What the CLI calls: `alerts test`, `alerts list`, `status` (dead letters, failing receivers)."""

from __future__ import annotations

import json

import pytest
from standardwebhooks import Webhook

from alerts.commands import dead_letters, failing_receivers, retry_dead, send_test, subscription_stats
from alerts.outbox import dispatch
from alerts.receivers import HttpReceiver, Response
from jobs.database import connect
from jobs.exceptions import UnknownNameError
from tests.support.alerts import (
    SLACK_TOKEN,
    START,
    WEBHOOK_SECRET,
    Clock,
    deliveries,
    event,
    ingest,
    make_config,
    make_transport,
    open_db,
    smtp_table,
    statuses,
)



def test_send_test_to_slack_reports_the_answer(tmp_path, http):
    config = make_config(tmp_path, [{"name": "team", "channel": "slack", "url": http.url(f"/services/{SLACK_TOKEN}")}])
    transport, _ = make_transport()
    result = send_test(config, "team", now=START, transport=transport)
    assert result.ok and result.status == 200 and result.messages == 1
    assert str(result) == f"team (slack → http://127.0.0.1:{http.port}/…): accepted: 200 ok"
    (request,) = http.requests
    assert request.json["blocks"][0]["text"]["text"] == (
        "TEST: openwatch-test/Example-Model-7B licence changed: apache-2.0 → cc-by-nc-4.0"
    )
    assert not (tmp_path / "x.db").exists()  # the outbox is bypassed


def test_send_test_reports_a_refusal(tmp_path, http):
    http.script(Response(404, "no_service"))
    config = make_config(tmp_path, [{"name": "team", "channel": "slack", "url": http.url(f"/services/{SLACK_TOKEN}")}])
    result = send_test(config, "team", now=START, transport=make_transport()[0])
    assert not result.ok and result.status == 404 and result.retryable is False
    assert str(result).endswith("not accepted (permanent): "
                                f"http://127.0.0.1:{http.port}/… answered 404 no_service")
    assert SLACK_TOKEN not in str(result)


def test_send_test_reports_an_unreachable_receiver(tmp_path):
    with HttpReceiver() as gone:
        url = gone.url("/hook")
    config = make_config(tmp_path, [{"name": "team", "channel": "slack", "url": url}])
    result = send_test(config, "team", now=START, transport=make_transport()[0])
    assert not result.ok and result.retryable is True
    assert "unreachable" in str(result) and "transient" in str(result)


def test_send_test_to_a_webhook_is_signed(tmp_path, http):
    config = make_config(tmp_path, [{"name": "pipe", "channel": "webhook", "url": http.url("/hook"),
                                     "secret": WEBHOOK_SECRET}])
    result = send_test(config, "pipe", now=START, transport=make_transport()[0])
    assert result.ok and result.status == 200
    (request,) = http.requests
    payload = Webhook(WEBHOOK_SECRET).verify(request.body, request.headers)
    assert payload["type"] == "model.license_changed" and payload["data"]["test"] is True


def test_send_test_by_email_reports_the_smtp_reply(tmp_path, smtp):
    config = make_config(tmp_path, [{"name": "me", "channel": "email", "to": ["me@example.org"]}],
                         smtp=smtp_table(smtp.port))
    result = send_test(config, "me", now=START)
    assert result.ok and result.status == 250
    assert "Message accepted for delivery" in result.detail
    (envelope,) = smtp.wait_for(1)
    assert envelope.message["Subject"] == (
        "[openwatch] TEST: openwatch-test/Example-Model-7B licence changed: apache-2.0 → cc-by-nc-4.0"
    )


def test_send_test_of_an_unknown_subscription(tmp_path, http):
    config = make_config(tmp_path, [{"name": "team", "channel": "slack", "url": http.url("/x")}])
    with pytest.raises(UnknownNameError):
        send_test(config, "nope", now=START)


def test_stats_dead_letters_and_failing_receivers(tmp_path, http, smtp):
    config = make_config(tmp_path, [
        {"name": "team", "channel": "slack", "url": http.url(f"/services/{SLACK_TOKEN}")},
        {"name": "pipe", "channel": "webhook", "url": http.url("/hook?token=hush"), "secret": WEBHOOK_SECRET},
        {"name": "me", "channel": "email", "to": ["me@example.org"], "digest": "daily 09:00"},
    ], smtp=smtp_table(smtp.port))
    db = open_db(tmp_path)
    clock = Clock()
    transport, _ = make_transport()
    ingest(db, [event(), event()], config, clock())
    http.script(Response(404, "no_service"), Response(503, "busy"))
    # Config order: slack (dead), then the webhook: its first post fails, the second waits.
    dispatch(db, config, now=clock, transport=transport)

    stats = {row["name"]: row for row in subscription_stats(db, config)}
    assert stats["team"] | {"last_sent": None} == {
        "name": "team", "channel": "slack", "target": f"http://127.0.0.1:{http.port}/…", "digest": "",
        "enabled": True, "sent": 0, "pending": 0, "failed": 0, "dead": 2, "suppressed": 0, "last_sent": None,
    }
    assert (stats["pipe"]["failed"], stats["pipe"]["pending"], stats["me"]["pending"]) == (1, 1, 2)
    assert stats["me"]["digest"] == "daily 09:00" and stats["me"]["target"] == "me@example.org"

    letters = dead_letters(db, limit=10)
    assert len(letters) == 2 and {row["subscription"] for row in letters} == {"team"}
    assert "answered 404 no_service" in letters[0]["error"]
    (failing,) = failing_receivers(db)
    assert failing["subscription"] == "pipe" and failing["failed"] == 1
    assert "503 busy" in failing["last_error"]
    everything = json.dumps([stats, letters, failing], default=str)
    assert SLACK_TOKEN not in everything and "hush" not in everything and WEBHOOK_SECRET not in everything

    # Read-only, as `openwatch status` opens it.
    db.close()
    readonly = connect(tmp_path / "x.db", readonly=True)
    assert len(subscription_stats(readonly, config)) == 3
    assert len(dead_letters(readonly)) == 2 and len(failing_receivers(readonly)) == 1
    readonly.close()


def test_retry_dead_puts_dead_letters_back(tmp_path, http):
    http.script(Response(404, "no_service"))
    config = make_config(tmp_path, [{"name": "team", "channel": "slack", "url": http.url("/hook")}])
    db = open_db(tmp_path)
    clock = Clock()
    transport, _ = make_transport()
    ingest(db, [event()], config, clock())
    dispatch(db, config, now=clock, transport=transport)
    assert statuses(db) == {"dead": 1}
    clock.advance(3600)
    assert retry_dead(db, now=clock(), subscription="other") == 0
    assert retry_dead(db, now=clock()) == 1
    assert deliveries(db)[0]["attempts"] == 0
    assert dispatch(db, config, now=clock, transport=transport).sent == 1
    assert dead_letters(db) == []


def test_retry_suppressed_brings_back_only_what_was_lost_not_what_was_disabled(tmp_path, http):
    """`alerts retry` re-queues deliveries suppressed as "no longer in the config" (what a
    daemon of before config reloads did to a subscription it did not know yet), never those
    suppressed while the subscription was disabled: re-enabling it must not send a month of
    stale alerts."""
    from alerts.commands import retry_suppressed
    from alerts.outbox import DISABLED_REASON, RETIRED_REASON

    config = make_config(tmp_path, [{"name": "team", "channel": "slack", "url": http.url("/hook")}])
    db = open_db(tmp_path)
    clock = Clock()
    ingest(db, [event(name="One"), event(name="Two")], config, clock())
    ids = [row["id"] for row in db.query("select id from deliveries order by id")]
    assert len(ids) == 2
    for delivery, reason in zip(ids, (RETIRED_REASON, DISABLED_REASON)):
        db.execute("update deliveries set status = 'suppressed', last_error = ? where id = ?", [reason, delivery])
    db.conn.commit()
    assert retry_suppressed(db, now=clock(), subscriptions=["other"]) == 0
    assert retry_suppressed(db, now=clock(), subscriptions=["team"]) == 1
    got = [(r["status"], r["last_error"]) for r in db.query("select status, last_error from deliveries order by id")]
    assert got == [("pending", None), ("suppressed", DISABLED_REASON)]
