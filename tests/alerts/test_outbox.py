"""The outbox end to end: a real SQLite file, real loopback HTTP and SMTP receivers, an
injected clock and a seeded random source."""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta, timezone

import pytest
from slack_sdk.models.blocks import Block
from standardwebhooks import Webhook

from alerts.backoff import RetryPolicy
from alerts.channels.slack import SlackChannel
from alerts.channels.webhook import WebhookChannel
from alerts.commands import dead_letters, failing_receivers, subscription_stats
from alerts.outbox import CLAIM_LEASE, DispatchReport, dispatch, enqueue, iso
from alerts.receivers import HttpReceiver, Response, SmtpReceiver
from crawler.events import event_to_row
from crawler.history.schema import immediate
from tests.support.alerts import (
    HOSTILE,
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
    parse,
    smtp_table,
    statuses,
)



@pytest.fixture
def db(tmp_path):
    database = open_db(tmp_path)
    yield database
    database.close()


def slack_sub(http, name="team", **extra):
    return {"name": name, "channel": "slack", "url": http.url(f"/services/{SLACK_TOKEN}"), **extra}


def webhook_sub(http, name="pipe", **extra):
    return {"name": name, "channel": "webhook", "url": http.url(f"/hooks/{name}?token=s3cr3t-query"),
            "secret": WEBHOOK_SECRET, **extra}


def accepted(http: HttpReceiver, failures: int) -> list:
    """Requests answered 200: the receiver answers the first `failures` from its script."""
    return http.requests[failures:]


def due_times(db) -> list[str]:
    return [r["next_attempt_at"] for r in db.query(
        "SELECT next_attempt_at FROM deliveries WHERE status IN ('pending', 'failed') ORDER BY next_attempt_at")]


def settle(db, config, clock, transport, *, rounds=40, policy=None) -> list[DispatchReport]:
    """Dispatch, then jump the clock to the next due time, until nothing is pending or failed."""
    reports = []
    kwargs = {"policy": policy} if policy else {}
    for _ in range(rounds):
        reports.append(dispatch(db, config, now=clock, transport=transport, **kwargs))
        due = due_times(db)
        if not due:
            return reports
        clock.set(max(clock(), parse(due[0])))
    raise AssertionError(f"deliveries still active after {rounds} rounds: {statuses(db)}")


def slack_event_names(request) -> str:
    return json.dumps(request.json, ensure_ascii=False)


# -- enqueue ------------------------------------------------------------------------------------


def test_enqueue_inserts_one_row_per_matching_subscription_and_is_idempotent(tmp_path, db, http):
    config = make_config(tmp_path, [
        slack_sub(http),
        webhook_sub(http, orgs=["meta-llama"]),
        slack_sub(http, name="morning", digest="daily 09:00"),
    ])
    events = [event("model.added", org="deepseek-ai"), event("model.license_changed", org="meta-llama")]
    assert ingest(db, events, config, START) == 5  # team 2, pipe 1, morning 2
    assert ingest(db, events, config, START) == 0
    assert ingest(db, events, config, START + timedelta(hours=1)) == 0
    rows = deliveries(db)
    assert len(rows) == 5
    assert {(r["event_id"], r["subscription"]) for r in rows} == {
        (events[0]["id"], "team"), (events[1]["id"], "team"), (events[1]["id"], "pipe"),
        (events[0]["id"], "morning"), (events[1]["id"], "morning"),
    }
    assert all(r["status"] == "pending" and r["attempts"] == 0 for r in rows)
    assert {r["next_attempt_at"] for r in rows if r["subscription"] != "morning"} == {iso(START)}
    assert {r["next_attempt_at"] for r in rows if r["subscription"] == "morning"} == {"2025-03-03T09:00:00.000000Z"}


def test_enqueue_never_commits_the_callers_transaction(tmp_path, db, http):
    config = make_config(tmp_path, [slack_sub(http)])
    e = event()
    with pytest.raises(RuntimeError):
        with immediate(db):
            db["events"].insert(event_to_row(e))
            assert enqueue(db, [e], config.subscriptions, START) == 1
            raise RuntimeError("ingest failed after enqueue")
    assert deliveries(db) == []
    assert db["events"].count == 0


def test_enqueue_applies_filters(tmp_path, db, http):
    config = make_config(tmp_path, [
        slack_sub(http, name="cn", countries=["CN"]),
        slack_sub(http, name="restricted", categories=["non-commercial"], events=["model.license_changed"]),
        slack_sub(http, name="papers", watches=["papers"]),
        slack_sub(http, name="one-model", models=["model:hf/Qwen/Qwen3-8B"]),
        slack_sub(http, name="commits", events=["model.updated"]),
    ])
    events = [
        event("model.added", org="deepseek-ai", country="CN"),
        event("model.license_changed", org="meta-llama", country="US", category_after="non-commercial"),
        event("paper.published", org=None, country=None, watch="papers"),
        event("model.added", org="Qwen", name="Qwen3-8B", country="CN"),
        event("model.updated", org="Qwen", name="Qwen3-8B", country="CN"),
    ]
    ingest(db, events, config, START)
    got = {}
    for row in deliveries(db):
        got.setdefault(row["subscription"], set()).add(events.index(next(e for e in events if e["id"] == row["event_id"])))
    assert got == {"cn": {0, 3}, "restricted": {1}, "papers": {2}, "one-model": {3}, "commits": {4}}


# -- exactly once -------------------------------------------------------------------------------


def test_each_event_reaches_each_subscription_exactly_once(tmp_path, db, http, smtp):
    config = make_config(
        tmp_path,
        [slack_sub(http), webhook_sub(http), {"name": "me", "channel": "email", "to": ["me@example.org"]}],
        smtp=smtp_table(smtp.port),
    )
    clock = Clock()
    transport, fake = make_transport()
    events = [event("model.added") for _ in range(2)] + [event("model.license_changed", org="meta-llama")]
    assert ingest(db, events, config, clock()) == 9
    first = dispatch(db, config, now=clock, transport=transport)
    assert (first.sent, first.failed, first.dead) == (9, 0, 0)
    assert first.messages == 1 + 3 + 1  # slack grouped, one webhook per event, one email
    for _ in range(2):
        assert ingest(db, events, config, clock.advance(60)) == 0
        again = dispatch(db, config, now=clock, transport=transport)
        assert again.sent == again.messages == 0
    assert dispatch(db, config, now=clock, transport=transport, force=True).sent == 0

    slack = [r for r in http.requests if r.path.startswith("/services/")]
    hooks = [r for r in http.requests if r.path.startswith("/hooks/")]
    assert len(slack) == 1
    assert sorted(r.header("webhook-id") for r in hooks) == sorted(e["id"] for e in events)
    assert len(smtp.messages) == 1
    assert statuses(db) == {"sent": 9}
    assert all(r["attempts"] == 1 and r["sent_at"] for r in deliveries(db))


# -- a receiver that is down --------------------------------------------------------------------


def test_slack_down_then_back_gets_every_delivery_once(tmp_path, db, http):
    http.script(Response(503, "upstream down"), Response(503), Response(200, delay=5))  # then a timeout
    config = make_config(tmp_path, [slack_sub(http)])
    clock = Clock()
    transport, _ = make_transport(timeout=0.5)
    events = [event("model.added", name=f"Burst-{i}") for i in range(3)]
    ingest(db, events, config, clock())

    report = dispatch(db, config, now=clock, transport=transport)
    assert (report.sent, report.failed) == (0, 3)
    assert "503 upstream down" in report.errors[0]
    row = deliveries(db)[0]
    assert row["status"] == "failed" and row["attempts"] == 1
    assert parse(row["next_attempt_at"]) > clock()

    # Not due yet: nothing is sent, however often the dispatcher runs.
    for _ in range(3):
        dispatch(db, config, now=clock, transport=transport)
    assert len(http.requests) == 1

    late = event("model.added", name="Late-arrival")
    ingest(db, [late], config, clock.advance(1))
    settle(db, config, clock, transport)

    failures = 3
    assert statuses(db) == {"sent": 4}
    ok = accepted(http, failures)
    for e in events + [late]:
        name = e["item"].rsplit("/", 1)[1]
        assert sum(name in slack_event_names(r) for r in ok) == 1, name
    timed_out = [r for r in deliveries(db)]
    assert max(r["attempts"] for r in timed_out) >= 3


def test_webhook_retries_keep_the_same_id_and_every_post_verifies(tmp_path, db, http):
    http.script(Response(503), Response(500, "boom"), Response(429, headers={"Retry-After": "1"}), Response(502))
    config = make_config(tmp_path, [webhook_sub(http)])
    clock = Clock()
    transport, _ = make_transport()
    events = [event("model.added"), event("model.removed")]
    ingest(db, events, config, clock())
    settle(db, config, clock, transport)

    assert statuses(db) == {"sent": 2}
    ids = [r.header("webhook-id") for r in http.requests]
    assert set(ids) == {e["id"] for e in events}
    verifier = Webhook(WEBHOOK_SECRET)
    for request in http.requests:
        payload = verifier.verify(request.body, request.headers)
        assert payload["id"] == request.header("webhook-id")
        assert payload["schema_version"] == 1
        assert request.header("Content-Type") == "application/json"
        assert request.header("User-Agent").startswith("openwatch/")
        assert request.header("webhook-signature").startswith("v1,")
    # Each event accepted exactly once (the last request carrying its id got the 200).
    ok = accepted(http, 4)
    assert sorted(r.header("webhook-id") for r in ok) == sorted(e["id"] for e in events)


def test_429_retry_after_is_honoured(tmp_path, db, http):
    http.script(Response(429, "rate_limited", headers={"Retry-After": "1"}))
    config = make_config(tmp_path, [slack_sub(http)])
    clock = Clock()
    transport, fake = make_transport()
    tiny = RetryPolicy(base=0.001, cap=0.001)  # jitter alone would retry at once
    ingest(db, [event()], config, clock())
    report = dispatch(db, config, now=clock, transport=transport, policy=tiny)
    assert report.failed == 1
    (row,) = deliveries(db)
    assert row["status"] == "failed"
    assert parse(row["next_attempt_at"]) >= clock() + timedelta(seconds=1)
    assert "429 rate_limited" in row["last_error"]

    clock.advance(0.5)
    dispatch(db, config, now=clock, transport=transport, policy=tiny)
    assert len(http.requests) == 1  # not before Retry-After
    clock.advance(0.5)
    dispatch(db, config, now=clock, transport=transport, policy=tiny)
    assert len(http.requests) == 2
    assert deliveries(db)[0]["status"] == "sent"
    assert fake.sleeps and fake.sleeps[-1] >= 1.0 - 1e-9  # the limiter also waited out Retry-After


@pytest.mark.parametrize(
    ("status", "body"),
    [(404, "no_service"), (403, "invalid_token"), (410, "channel_is_archived"),
     (400, "invalid_payload"), (403, "action_prohibited"), (404, "channel_not_found")],
)
def test_slack_permanent_refusals_become_dead_letters(tmp_path, db, http, status, body):
    http.script(Response(status, body))
    config = make_config(tmp_path, [slack_sub(http)])
    clock = Clock()
    transport, _ = make_transport()
    ingest(db, [event()], config, clock())
    report = dispatch(db, config, now=clock, transport=transport)
    assert report.dead == 1
    (row,) = deliveries(db)
    assert row["status"] == "dead" and row["next_attempt_at"] is None
    for _ in range(3):
        clock.advance(hours=2)
        dispatch(db, config, now=clock, transport=transport, force=True)
    assert len(http.requests) == 1
    (letter,) = dead_letters(db)
    assert f"answered {status} {body}" in letter["error"]
    assert letter["subscription"] == "team" and letter["type"] == "model.added"
    assert SLACK_TOKEN not in json.dumps(letter)


@pytest.mark.parametrize(("status", "body"), [(500, "rollup_error"), (503, ""), (408, ""), (429, "")])
def test_slack_transient_errors_are_retried(tmp_path, db, http, status, body):
    http.script(Response(status, body))
    config = make_config(tmp_path, [slack_sub(http)])
    clock = Clock()
    transport, _ = make_transport()
    ingest(db, [event()], config, clock())
    assert dispatch(db, config, now=clock, transport=transport).failed == 1
    settle(db, config, clock, transport)
    assert statuses(db) == {"sent": 1}


@pytest.mark.parametrize(
    ("status", "outcome"),
    [(410, "dead"), (400, "dead"), (401, "dead"), (404, "dead"), (301, "dead"),
     (408, "failed"), (429, "failed"), (500, "failed"), (502, "failed")],
)
def test_webhook_status_classification(tmp_path, db, http, status, outcome):
    http.script(Response(status, "nope", headers={"Location": "https://example.org/moved"} if status == 301 else {}))
    config = make_config(tmp_path, [webhook_sub(http)])
    clock = Clock()
    transport, _ = make_transport()
    ingest(db, [event()], config, clock())
    dispatch(db, config, now=clock, transport=transport)
    assert deliveries(db)[0]["status"] == outcome


def test_connection_refused_is_retried(tmp_path, db):
    with HttpReceiver() as gone:
        url = gone.url(f"/services/{SLACK_TOKEN}")
    config = make_config(tmp_path, [{"name": "team", "channel": "slack", "url": url}])
    clock = Clock()
    transport, _ = make_transport()
    ingest(db, [event()], config, clock())
    report = dispatch(db, config, now=clock, transport=transport)
    assert report.failed == 1
    (row,) = deliveries(db)
    assert row["status"] == "failed" and "unreachable" in row["last_error"]
    assert SLACK_TOKEN.split("/")[-1] not in row["last_error"]


def test_gives_up_after_a_day_of_failures(tmp_path, db):
    with HttpReceiver(default=Response(503, "still down")) as http:
        config = make_config(tmp_path, [slack_sub(http)])
        clock = Clock()
        transport, _ = make_transport(seed=5)
        ingest(db, [event()], config, clock())
        settle(db, config, clock, transport, rounds=60)
    (row,) = deliveries(db)
    assert row["status"] == "dead"
    assert row["last_error"].startswith(f"gave up after {row['attempts']} attempts: ")
    assert "503 still down" in row["last_error"]
    assert clock() - START <= timedelta(hours=25)
    assert len(http.requests) == row["attempts"]


def test_deliveries_of_subscriptions_this_config_lacks_wait_for_a_process_that_has_them(tmp_path, db, http):
    """A process with another config queued them (one that was edited since, or a one-shot run
    with the new file): left pending, never claimed, never in the way of the others."""
    newer = make_config(tmp_path, [slack_sub(http), slack_sub(http, name="new"), slack_sub(http, name="paused")])
    clock = Clock()
    transport, _ = make_transport()
    ingest(db, [event()], newer, clock())
    older = make_config(tmp_path, [slack_sub(http), slack_sub(http, name="paused", enabled=False)])
    for _ in range(3):
        report = dispatch(db, older, now=clock, transport=transport)
        assert (report.suppressed, report.busy, report.failed, report.waiting) == (0, 0, 0, 2)
        clock.advance(minutes=20)
    rows = {r["subscription"]: r for r in deliveries(db)}
    assert {name: (r["status"], r["attempts"], r["claim_id"]) for name, r in rows.items()} == {
        "team": ("sent", 1, None), "new": ("pending", 0, None), "paused": ("pending", 0, None)}
    assert len(http.requests) == 1
    assert str(report) == "0 sent, 2 waiting for a process that knows their subscription (see status)"
    stats = {r["name"]: (r["target"], r["pending"]) for r in subscription_stats(db, older)}
    assert stats["new"] == ("(not in this config: waiting for a process that knows it)", 1)
    assert dispatch(db, newer, now=clock, transport=transport).sent == 2  # the process that knows them
    assert statuses(db) == {"sent": 3}


def test_only_what_was_queued_before_a_reload_retired_its_subscription_is_suppressed(tmp_path, db, http):
    """`retired` (a daemon's own reload removed or disabled the subscription, when the last
    delivery id was the mark): rows up to the mark are suppressed, later ones (queued by a
    process that still has the subscription) wait for it."""
    before = make_config(tmp_path, [slack_sub(http), slack_sub(http, name="old"), slack_sub(http, name="paused")])
    clock = Clock()
    transport, _ = make_transport()
    ingest(db, [event()], before, clock())
    mark = max(r["id"] for r in deliveries(db))
    ingest(db, [event()], before, clock())  # queued after the reload by a process with the old file
    after = make_config(tmp_path, [slack_sub(http), slack_sub(http, name="paused", enabled=False)])
    report = dispatch(db, after, now=clock, transport=transport, retired={"old": mark, "paused": mark})
    assert (report.sent, report.suppressed) == (2, 2)
    rows = [(r["subscription"], r["status"], r["last_error"]) for r in deliveries(db)]
    assert rows == [
        ("team", "sent", None), ("old", "suppressed", "subscription no longer in the config"),
        ("paused", "suppressed", "subscription disabled in the config"),
        ("team", "sent", None), ("old", "pending", None), ("paused", "pending", None)]
    assert len(http.requests) == 1  # one grouped Slack message
    # Added back: a retired name that the config has enabled again is not suppressed any more.
    again = make_config(tmp_path, [slack_sub(http), slack_sub(http, name="old")])
    clock.advance(5)  # past the Slack webhook's pace
    assert dispatch(db, again, now=clock, transport=transport, retired={"old": mark}).sent == 1


def test_force_sends_failed_deliveries_before_their_time(tmp_path, db, http):
    http.script(Response(503))
    config = make_config(tmp_path, [slack_sub(http)])
    clock = Clock()
    transport, _ = make_transport()
    ingest(db, [event()], config, clock())
    dispatch(db, config, now=clock, transport=transport)
    assert dispatch(db, config, now=clock, transport=transport).sent == 0
    assert dispatch(db, config, now=clock, transport=transport, force=True).sent == 1
    assert statuses(db) == {"sent": 1}


def test_a_crash_between_send_and_mark_resends_never_skips(tmp_path, db, http, monkeypatch):
    config = make_config(tmp_path, [webhook_sub(http)])
    clock = Clock()
    transport, _ = make_transport()
    e = event()
    ingest(db, [e], config, clock())
    real_send = WebhookChannel.send

    def send_then_crash(self, *args, **kwargs):
        real_send(self, *args, **kwargs)
        raise KeyboardInterrupt  # the process dies after the receiver accepted

    monkeypatch.setattr(WebhookChannel, "send", send_then_crash)
    with pytest.raises(KeyboardInterrupt):
        dispatch(db, config, now=clock, transport=transport)
    monkeypatch.setattr(WebhookChannel, "send", real_send)
    assert deliveries(db)[0]["status"] == "pending"
    # A second dispatcher right away does not send it again (it is claimed) …
    assert dispatch(db, config, now=clock, transport=transport).sent == 0
    # … but once the claim lapses it is resent, with the same idempotency key.
    clock.advance(CLAIM_LEASE.total_seconds())
    assert dispatch(db, config, now=clock, transport=transport).sent == 1
    assert [r.header("webhook-id") for r in http.requests] == [e["id"], e["id"]]


# -- bursts and digests ---------------------------------------------------------------------------


def test_burst_of_200_events_goes_to_slack_in_5_paced_messages(tmp_path, db, http):
    config = make_config(tmp_path, [slack_sub(http)])
    clock = Clock()
    transport, fake = make_transport()
    events = [event("model.added", name=f"Model-{i:03d}") for i in range(200)]
    ingest(db, events, config, clock())
    report = dispatch(db, config, now=clock, transport=transport)
    assert (report.sent, report.messages) == (200, 5)
    assert len(http.requests) == 5
    assert fake.sleeps == [1.0, 1.0, 1.0, 1.0]  # one message per second per webhook
    seen = []
    for request in http.requests:
        blocks = request.json["blocks"]
        assert len(blocks) <= 50
        for block in blocks:
            Block.parse(block).validate_json()
        seen += [b["text"]["text"] for b in blocks if b["type"] == "section"]
    for i in range(200):
        assert sum(f"Model-{i:03d}" in text for text in seen) == 1


def test_failure_mid_burst_keeps_the_rest_for_later(tmp_path, db, http):
    http.script(Response(200), Response(503))
    config = make_config(tmp_path, [slack_sub(http)])
    clock = Clock()
    transport, _ = make_transport()
    ingest(db, [event() for _ in range(100)], config, clock())
    report = dispatch(db, config, now=clock, transport=transport)
    assert (report.sent, report.failed, report.deferred) == (48, 48, 4)
    assert len(http.requests) == 2  # the third message was not attempted
    settle(db, config, clock, transport)
    assert statuses(db) == {"sent": 100}


def test_digest_sends_nothing_before_its_time_then_one_grouped_message(tmp_path, db, http):
    config = make_config(tmp_path, [slack_sub(http, name="morning", digest="daily 09:00")])
    clock = Clock()  # Monday 08:00 UTC
    transport, _ = make_transport()
    events = [event("model.added", org="deepseek-ai") for _ in range(2)] + [
        event("model.license_changed", org="meta-llama")]
    ingest(db, events, config, clock())
    for moment in (clock(), clock.advance(minutes=30), clock.advance(minutes=29, seconds=59.999)):
        assert dispatch(db, config, now=lambda: moment, transport=transport).sent == 0
    assert http.requests == []

    clock.set(START.replace(hour=9))
    report = dispatch(db, config, now=clock, transport=transport)
    assert (report.sent, report.messages) == (3, 1)
    (request,) = http.requests
    blocks = request.json["blocks"]
    for block in blocks:
        Block.parse(block).validate_json()
    assert blocks[0]["text"]["text"] == "openwatch daily digest: 2 new models, 1 licence change"
    assert blocks[1]["text"]["text"].startswith("*New models* · 2\n*deepseek-ai* · 2")
    assert blocks[2]["text"]["text"].startswith("*Licence changes* · 1\n*meta-llama* · 1")
    clock.advance(hours=1)
    assert dispatch(db, config, now=clock, transport=transport).sent == 0

    # An event after today's digest waits for tomorrow's.
    ingest(db, [event()], config, clock())
    clock.advance(hours=12)
    assert dispatch(db, config, now=clock, transport=transport).sent == 0
    clock.set(START.replace(hour=9) + timedelta(days=1))
    assert dispatch(db, config, now=clock, transport=transport).sent == 1
    assert len(http.requests) == 2


def test_digest_by_email_is_one_message(tmp_path, db, smtp):
    config = make_config(
        tmp_path,
        [{"name": "weekly", "channel": "email", "to": ["me@example.org"], "digest": "weekly MON 09:00"}],
        smtp=smtp_table(smtp.port),
    )
    clock = Clock()
    transport, _ = make_transport()
    ingest(db, [event("model.license_changed") for _ in range(3)] + [event("model.added")], config, clock())
    assert dispatch(db, config, now=clock, transport=transport).sent == 0
    clock.set(START.replace(hour=9))
    assert dispatch(db, config, now=clock, transport=transport).messages == 1
    (envelope,) = smtp.wait_for(1)
    assert envelope.message["Subject"] == "[openwatch] weekly digest: 3 licence changes, 1 new model"


# -- email ----------------------------------------------------------------------------------------


def test_email_is_one_grouped_multipart_message_with_headers(tmp_path, db, smtp):
    config = make_config(
        tmp_path, [{"name": "me", "channel": "email", "to": ["me@example.org", "you@example.org"]}],
        smtp=smtp_table(smtp.port),
    )
    clock = Clock()
    transport, _ = make_transport()
    hostile = event("model.added", name=f"{HOSTILE}\r\nBcc: victim@example.org")
    events = [event("model.license_changed", org="meta-llama") for _ in range(3)] + [hostile]
    ingest(db, events, config, clock())
    report = dispatch(db, config, now=clock, transport=transport)
    assert (report.sent, report.messages) == (4, 1)
    (envelope,) = smtp.wait_for(1)
    assert envelope.rcpt_tos == ("me@example.org", "you@example.org")
    msg = envelope.message
    assert msg["Subject"] == "[openwatch] 3 licence changes, 1 new model"
    assert msg["From"] == "openwatch <openwatch@example.org>"
    assert msg["Message-ID"].startswith("<") and msg["Message-ID"].endswith("@example.org>")
    assert msg["Date"] == "Mon, 03 Mar 2025 08:00:00 +0000"
    assert msg["List-Unsubscribe"] == "<mailto:openwatch@example.org?subject=unsubscribe%20me>"
    assert msg["Bcc"] is None
    assert msg.get_content_type() == "multipart/alternative"
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    assert "openwatch.toml" in text and "openwatch.toml" in html
    assert "<script>" not in html and "&lt;!channel&gt; &amp; &lt;script&gt;" in html
    assert HOSTILE in text


def test_single_event_email_subject(tmp_path, db, smtp):
    config = make_config(tmp_path, [{"name": "me", "channel": "email", "to": ["me@example.org"]}],
                         smtp=smtp_table(smtp.port))
    clock = Clock()
    transport, _ = make_transport()
    ingest(db, [event("model.license_changed", org="meta-llama", name="Llama-3.1-8B")], config, clock())
    dispatch(db, config, now=clock, transport=transport)
    (envelope,) = smtp.wait_for(1)
    assert envelope.message["Subject"] == "[openwatch] meta-llama/Llama-3.1-8B licence changed: llama3.1 → llama3.2"


@pytest.mark.parametrize(
    ("reply", "outcome"),
    [("451 4.3.0 Try again later", "failed"), ("452 4.2.2 Mailbox full", "failed"),
     ("550 5.7.1 Message rejected", "dead"), ("554 5.6.0 Bad content", "dead")],
)
def test_smtp_4xx_is_retried_5xx_is_dead(tmp_path, db, smtp, reply, outcome):
    smtp.script(reply)
    config = make_config(tmp_path, [{"name": "me", "channel": "email", "to": ["me@example.org"]}],
                         smtp=smtp_table(smtp.port))
    clock = Clock()
    transport, _ = make_transport()
    ingest(db, [event()], config, clock())
    dispatch(db, config, now=clock, transport=transport)
    (row,) = deliveries(db)
    assert row["status"] == outcome
    assert reply.split(" ", 1)[0] in row["last_error"]
    if outcome == "failed":
        settle(db, config, clock, transport)
        assert statuses(db) == {"sent": 1}
        assert len(smtp.messages) == 1


def test_smtp_unknown_recipient_is_dead(tmp_path, db, smtp):
    smtp.refuse_recipients["nobody@example.org"] = "550 5.1.1 No such user"
    config = make_config(tmp_path, [{"name": "me", "channel": "email", "to": ["nobody@example.org"]}],
                         smtp=smtp_table(smtp.port))
    clock = Clock()
    transport, _ = make_transport()
    ingest(db, [event()], config, clock())
    dispatch(db, config, now=clock, transport=transport)
    (row,) = deliveries(db)
    assert row["status"] == "dead" and "No such user" in row["last_error"]


def test_smtp_server_down_is_retried(tmp_path, db):
    with SmtpReceiver() as gone:
        port = gone.port
    config = make_config(tmp_path, [{"name": "me", "channel": "email", "to": ["me@example.org"]}],
                         smtp=smtp_table(port))
    clock = Clock()
    transport, _ = make_transport()
    ingest(db, [event()], config, clock())
    assert dispatch(db, config, now=clock, transport=transport).failed == 1
    assert "unreachable" in deliveries(db)[0]["last_error"]


# -- secrets --------------------------------------------------------------------------------------


def test_secrets_never_appear_in_errors_logs_or_stats(tmp_path, db, http, caplog):
    caplog.set_level(logging.DEBUG)
    slack_url = http.url(f"/services/{SLACK_TOKEN}")
    hook_url = http.url("/hooks/pipe?token=s3cr3t-query")
    # A hostile receiver echoes every secret back in its error bodies.
    echo = f"bad request to {slack_url} and {hook_url} signed with {WEBHOOK_SECRET}"
    http.script(Response(404, echo), Response(500, echo))
    environ = {"SLACK_WEBHOOK_URL": slack_url, "OPENWATCH_WEBHOOK_SECRET": WEBHOOK_SECRET}
    config = make_config(tmp_path, [
        {"name": "team", "channel": "slack", "url": "${SLACK_WEBHOOK_URL}"},
        {"name": "pipe", "channel": "webhook", "url": hook_url, "secret": "${OPENWATCH_WEBHOOK_SECRET}"},
    ], environ=environ)
    clock = Clock()
    transport, _ = make_transport()
    ingest(db, [event()], config, clock())
    report = dispatch(db, config, now=clock, transport=transport)
    assert (report.dead, report.failed) == (1, 1)
    clock.advance(hours=1)
    dispatch(db, config, now=clock, transport=transport)

    shown = "\n".join([
        caplog.text,
        json.dumps(report.as_dict()),
        str(report),
        json.dumps(deliveries(db)),
        json.dumps(subscription_stats(db, config), default=str),
        json.dumps(dead_letters(db)),
        json.dumps(failing_receivers(db)),
    ])
    for secret in ("XyZsEcReTtOkEn123", "B0SECRET", "s3cr3t-query", WEBHOOK_SECRET, WEBHOOK_SECRET[6:]):
        assert secret not in shown, secret
    assert "127.0.0.1" in shown  # the host is shown: it says which receiver


# -- two dispatchers: claims (review findings 1 and 3) ---------------------------------------------


# The outbox table as the history's own 001_initial created it before alerts took its migrations
# over (alerts/schema.py): a database of that time, verbatim, not rebuilt with today's code.
OLD_DELIVERIES = (
    "CREATE TABLE [deliveries] ([id] INTEGER PRIMARY KEY, [event_id] TEXT REFERENCES [events]([id]),"
    " [subscription] TEXT, [channel] TEXT, [status] TEXT, [attempts] INTEGER, [created_at] TEXT,"
    " [next_attempt_at] TEXT, [last_attempt_at] TEXT, [sent_at] TEXT, [last_error] TEXT)"
)


def _database_of_before_the_split(path, *, claims: bool):
    import sqlite_utils

    from crawler.history import schema

    old = sqlite_utils.Database(path)
    old["_migrations"].create({"name": str, "applied_at": str}, pk="name")
    schema._m001_initial(old)
    old.execute(OLD_DELIVERIES)
    old["deliveries"].create_index(["event_id", "subscription"], unique=True)
    old["deliveries"].create_index(["status", "next_attempt_at"])
    old["_migrations"].insert({"name": "001_initial", "applied_at": "2025-01-01T00:00:00.000000Z"})
    if claims:
        old["deliveries"].add_column("claimed_until", str)
        old["deliveries"].add_column("claim_id", str)
        old["_migrations"].insert({"name": "002_delivery_claims", "applied_at": "2025-01-02T00:00:00.000000Z"})
    e = event()
    old["events"].insert(event_to_row(e))
    old["deliveries"].insert({"event_id": e["id"], "subscription": "team", "channel": "slack", "status": "pending",
                              "attempts": 0, "created_at": iso(START), "next_attempt_at": iso(START)})
    old.close()


def _deliveries_schema(db):
    """The table's columns and indexes, as a fresh and a migrated database must both have them."""
    columns = [(c.name, c.type) for c in db["deliveries"].columns]
    indexes = sorted((tuple(i.columns), i.unique) for i in db["deliveries"].indexes)
    keys = [(fk.column, fk.other_table, fk.other_column) for fk in db["deliveries"].foreign_keys]
    return columns, indexes, keys


@pytest.mark.parametrize("claims", [False, True], ids=["made-before-claims", "made-before-the-split"])
def test_alerts_migrations_take_over_a_database_the_history_made(tmp_path, claims):
    _database_of_before_the_split(tmp_path / "x.db", claims=claims)
    db = open_db(tmp_path)
    fresh = open_db(tmp_path / "fresh")
    try:
        names = [r["name"] for r in db["_migrations"].rows]
        assert names[0] == "001_initial" and names[-2:] == ["alerts/001_deliveries", "alerts/002_delivery_claims"]
        (row,) = deliveries(db)  # the queued delivery survives the takeover
        assert (row["status"], row["claimed_until"], row["claim_id"]) == ("pending", None, None)
        assert _deliveries_schema(db) == _deliveries_schema(fresh)
        assert {"claimed_until", "claim_id"} <= set(db["deliveries"].columns_dict)
    finally:
        db.close()
        fresh.close()


def test_the_history_alone_knows_no_deliveries_table(tmp_path, http):
    from crawler.history import schema

    history = schema.connect(tmp_path / "x.db")
    try:
        assert not history["deliveries"].exists()
        assert not any(name.startswith("alerts/") for name in (r["name"] for r in history["_migrations"].rows))
    finally:
        history.close()
    db = open_db(tmp_path)  # the jobs layer adds the outbox to the same file
    try:
        assert db["deliveries"].exists()
        assert ingest(db, [event()], make_config(tmp_path, [slack_sub(http)]), START) == 1
        assert len(deliveries(db)) == 1
    finally:
        db.close()


def _while_sending(monkeypatch, channel_class, during):
    """Run `during()` inside the first `send` of `channel_class`, after the request was
    answered: a second dispatcher acting while the first one is sending (no threads, no sleeps)."""
    real_send = channel_class.send
    calls = []

    def send(self, sub, message, *, now):
        receipt = real_send(self, sub, message, now=now)
        calls.append(sub.name)
        if len(calls) == 1:
            during()
        return receipt

    monkeypatch.setattr(channel_class, "send", send)
    return calls


def test_forced_deliver_never_resends_what_another_dispatcher_is_sending(tmp_path, db, http, monkeypatch):
    # `openwatch deliver` (force) while the daemon's request is in flight: the daemon's claim holds.
    config = make_config(tmp_path, [webhook_sub(http)])
    clock = Clock()
    e = event()
    ingest(db, [e], config, clock())
    cli_db = open_db(tmp_path)
    forced = []
    _while_sending(monkeypatch, WebhookChannel, lambda: forced.append(
        dispatch(cli_db, config, now=clock, transport=make_transport()[0], force=True)))
    daemon = dispatch(db, config, now=clock, transport=make_transport()[0])
    cli_db.close()
    (cli,) = forced
    assert (daemon.sent, cli.sent, cli.busy) == (1, 0, 1)
    assert str(cli) == "0 sent, 1 being sent by another dispatcher"
    assert [r.header("webhook-id") for r in http.requests] == [e["id"]]
    (row,) = deliveries(db)
    assert (row["status"], row["attempts"], row["claim_id"], row["claimed_until"]) == ("sent", 1, None, None)


def test_force_overrides_a_backoff_and_an_expired_claim_never_a_live_one(tmp_path, db, http, monkeypatch):
    http.script(Response(503))
    config = make_config(tmp_path, [webhook_sub(http)])
    clock = Clock()
    transport, _ = make_transport()
    e = event()
    ingest(db, [e], config, clock())
    assert dispatch(db, config, now=clock, transport=transport).failed == 1
    (row,) = deliveries(db)
    assert parse(row["next_attempt_at"]) > clock() and row["claimed_until"] is None  # backoff, no claim
    real_send = WebhookChannel.send

    def send_then_die(self, *args, **kwargs):
        real_send(self, *args, **kwargs)
        raise KeyboardInterrupt  # kill -9 after the receiver accepted: the claim is left behind

    monkeypatch.setattr(WebhookChannel, "send", send_then_die)
    with pytest.raises(KeyboardInterrupt):
        dispatch(db, config, now=clock, transport=transport, force=True)  # force: the backoff is overridden
    monkeypatch.setattr(WebhookChannel, "send", real_send)
    assert len(http.requests) == 2
    report = dispatch(db, config, now=clock, transport=transport, force=True)
    assert (report.sent, report.busy) == (0, 1)  # a live claim: not even force resends
    clock.advance(CLAIM_LEASE.total_seconds())
    assert dispatch(db, config, now=clock, transport=transport, force=True).sent == 1  # expired: free again
    assert [r.header("webhook-id") for r in http.requests] == [e["id"]] * 3
    assert statuses(db) == {"sent": 1}


def test_a_long_dispatch_renews_its_claim_and_claims_each_subscription_when_it_gets_to_it(
    tmp_path, db, http, monkeypatch
):
    # The daemon sends a 100-event burst (3 messages) slowly: 14 min between messages, 28 min in all,
    # longer than one lease. Meanwhile a second dispatcher runs. It must neither resend the burst's
    # rest (the claim was renewed before each message) nor leave the other subscription to the
    # daemon: it was not claimed yet, so the second dispatcher sends it, and the daemon then does not.
    config = make_config(tmp_path, [slack_sub(http), webhook_sub(http)])
    clock = Clock()
    ingest(db, [event("model.added", org="Qwen", country="CN") for _ in range(100)], config, clock())
    other_db = open_db(tmp_path)
    second = []
    real_send = SlackChannel.send

    def slow_send(self, sub, message, *, now):
        receipt = real_send(self, sub, message, now=now)
        clock.advance(minutes=14)
        if clock() - START > CLAIM_LEASE and not second:
            second.append(dispatch(other_db, config, now=clock, transport=make_transport()[0]))
        return receipt

    monkeypatch.setattr(SlackChannel, "send", slow_send)
    first = dispatch(db, config, now=clock, transport=make_transport()[0])
    other_db.close()
    (other,) = second
    assert (other.sent, other.busy) == (100, 52)  # the webhook's 100 events; the burst's last 48 + 4 are held
    assert (first.sent, first.busy) == (100, 0)   # the whole burst; nothing of the webhook's
    assert statuses(db) == {"sent": 200}
    slack = [r for r in http.requests if r.path.startswith("/services/")]
    hooks = [r for r in http.requests if r.path.startswith("/hooks/")]
    assert len(slack) == 3
    assert sorted(r.header("webhook-id") for r in hooks) == sorted(r["event_id"] for r in deliveries(db, subscription="pipe"))


def test_a_dispatcher_that_outlived_its_claim_skips_the_rows_taken_over(tmp_path, db, http, monkeypatch):
    # Stuck for longer than the lease after its first message, the first dispatcher has lost the
    # rest of the burst to a second one: it must not send them again.
    config = make_config(tmp_path, [slack_sub(http)])
    clock = Clock()
    events = [event("model.added", name=f"Burst-{i:03d}") for i in range(100)]
    ingest(db, events, config, clock())
    other_db = open_db(tmp_path)
    second = []

    def stuck_then_second_dispatcher():
        clock.advance(CLAIM_LEASE.total_seconds() + 60)
        second.append(dispatch(other_db, config, now=clock, transport=make_transport()[0]))

    _while_sending(monkeypatch, SlackChannel, stuck_then_second_dispatcher)
    first = dispatch(db, config, now=clock, transport=make_transport()[0])
    other_db.close()
    (other,) = second
    # The second dispatcher took all 100 (the first's claim had expired, its first message
    # not yet marked): those 48 are sent twice (at least once), the other 52 exactly once.
    assert (other.sent, other.messages) == (100, 3)
    assert (first.sent, first.busy, first.messages) == (0, 52, 1)
    assert statuses(db) == {"sent": 100}
    texts = [slack_event_names(r) for r in http.requests]
    counts = [sum(f"Burst-{i:03d}" in t for t in texts) for i in range(100)]
    assert counts == [2] * 48 + [1] * 52


def test_removing_a_subscription_never_suppresses_what_another_dispatcher_is_sending(
    tmp_path, db, http, monkeypatch
):
    config = make_config(tmp_path, [webhook_sub(http)])
    clock = Clock()
    ingest(db, [event()], config, clock())
    without = make_config(tmp_path, [])
    other_db = open_db(tmp_path)
    second = []
    _while_sending(monkeypatch, WebhookChannel, lambda: second.append(
        dispatch(other_db, without, now=clock, transport=make_transport()[0], retired={"pipe": 10**9})))
    assert dispatch(db, config, now=clock, transport=make_transport()[0]).sent == 1
    other_db.close()
    assert second[0].suppressed == 0
    assert statuses(db) == {"sent": 1}


def test_without_any_subscription_leftover_deliveries_are_suppressed_once_retired(tmp_path, db, http):
    before = make_config(tmp_path, [slack_sub(http), webhook_sub(http)])
    clock = Clock()
    ingest(db, [event(), event()], before, clock())
    empty = make_config(tmp_path, [])
    assert dispatch(db, empty, now=clock, transport=make_transport()[0]).suppressed == 0
    assert statuses(db) == {"pending": 4}
    mark = max(r["id"] for r in deliveries(db))
    report = dispatch(db, empty, now=clock, transport=make_transport()[0], retired={"team": mark, "pipe": mark})
    assert (report.suppressed, report.sent) == (4, 0)
    assert statuses(db) == {"suppressed": 4}
    assert {r["last_error"] for r in deliveries(db)} == {"subscription no longer in the config"}
    assert http.requests == []


# -- a 429 never stalls a dispatch (review finding 2) ----------------------------------------------


def test_429_on_a_shared_webhook_defers_the_other_subscriptions_instead_of_sleeping(tmp_path, db, http):
    http.script(Response(429, "rate_limited", headers={"Retry-After": "3600"}))
    shared = http.url(f"/services/{SLACK_TOKEN}")
    config = make_config(tmp_path, [
        {"name": "team-cn", "channel": "slack", "url": shared, "countries": ["CN"]},
        {"name": "team-us", "channel": "slack", "url": shared, "countries": ["US"]},
        webhook_sub(http),
    ])
    clock = Clock()
    transport, fake = make_transport()  # long-lived, as the daemon's
    ingest(db, [event(country="CN"), event(org="meta-llama", country="US")], config, clock())
    report = dispatch(db, config, now=clock, transport=transport)
    assert fake.sleeps == []
    assert (report.failed, report.deferred, report.sent) == (1, 1, 2)  # the webhook went on
    rows = {r["subscription"]: r for r in deliveries(db) if r["subscription"] != "pipe"}
    assert rows["team-cn"]["status"] == "failed" and rows["team-cn"]["attempts"] == 1
    us = rows["team-us"]
    assert (us["status"], us["attempts"], us["claim_id"]) == ("pending", 0, None)
    assert parse(us["next_attempt_at"]) == clock() + timedelta(seconds=3600)
    assert us["last_error"].startswith("not attempted: ") and SLACK_TOKEN not in us["last_error"]
    assert len(http.requests) == 3  # the 429, two webhook posts

    clock.advance(1800)  # the same transport still remembers the Retry-After
    assert dispatch(db, config, now=clock, transport=transport, force=True).deferred == 2
    assert len(http.requests) == 3
    settle(db, config, clock, transport)
    assert statuses(db) == {"sent": 4}
    assert max(fake.sleeps, default=0) <= 1.0


def test_a_long_retry_after_returns_at_once_with_real_clocks(tmp_path, db, http):
    # What stalled the daemon (and its SIGTERM) for a Retry-After: 120: real time.sleep.
    import random
    import time as real_time

    from alerts.transport import Transport

    http.script(Response(429, "rate_limited", headers={"Retry-After": "120"}))
    shared = http.url(f"/services/{SLACK_TOKEN}")
    config = make_config(tmp_path, [
        {"name": "team-cn", "channel": "slack", "url": shared, "countries": ["CN"]},
        {"name": "team-us", "channel": "slack", "url": shared, "countries": ["US"]},
    ])
    ingest(db, [event(country="CN"), event(org="meta-llama", country="US")], config, START)
    with Transport(timeout=5, rng=random.Random(3)) as transport:
        started = real_time.monotonic()
        report = dispatch(db, config, now=lambda: datetime.now(timezone.utc), transport=transport)
        assert real_time.monotonic() - started < 10
    assert (report.failed, report.deferred) == (1, 1)


def test_dispatch_keeps_a_long_lived_transport_open_and_reuses_it(tmp_path, db, http):
    config = make_config(tmp_path, [slack_sub(http), webhook_sub(http)])
    clock = Clock()
    transport, fake = make_transport()
    ingest(db, [event()], config, clock())
    assert dispatch(db, config, now=clock, transport=transport).sent == 2
    client = transport.http
    assert client is not None and not client.is_closed
    ingest(db, [event()], config, clock.advance(0.5))
    assert dispatch(db, config, now=clock, transport=transport).sent == 2
    assert transport.http is client
    assert fake.sleeps == [1.0]  # pacing of the one webhook spans calls
    transport.close()
    assert client.is_closed


# -- secrets (review finding 5) --------------------------------------------------------------------


def test_an_echoed_secret_cut_by_the_excerpt_never_leaks(tmp_path, db, http):
    token = "T01ABCDEFGH/B01ABCDEFGH/k3Yq8sWn2ZpL0vR7tXc4aB9mHj6uQe1D"
    path = f"/services/{token}"
    # Express's default 404 page behind a proxy banner: the path straddles character 200.
    body = ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>Error</title>\n"
            "</head>\n<body>\n<!-- gateway: edge-proxy-eu-west-1a -->\n<pre>Cannot POST " + path + "</pre>\n"
            "</body>\n</html>\n")
    assert body.index(path) < 200 < body.index(path) + len(path)
    http.script(Response(404, body))
    config = make_config(tmp_path, [{"name": "team", "channel": "slack", "url": http.url(path)}])
    clock = Clock()
    ingest(db, [event()], config, clock())
    dispatch(db, config, now=clock, transport=make_transport()[0])
    (letter,) = dead_letters(db)
    secret = token.split("/")[-1]
    shown = letter["error"] + deliveries(db)[0]["last_error"]
    assert not [secret[:n] for n in range(6, len(secret) + 1) if secret[:n] in shown]
    assert "answered 404" in letter["error"] and "Cannot POST /…" in letter["error"]
    assert len(deliveries(db)[0]["last_error"]) < 300
