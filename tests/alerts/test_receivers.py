"""The loopback receivers the tests and the demo rely on."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage

import httpx
import pytest

from alerts.outbox import dispatch
from alerts.receivers import HttpReceiver, Response, SmtpReceiver
from tests.support.alerts import Clock, deliveries, event, ingest, make_config, make_transport, open_db, smtp_table


def test_http_receiver_records_and_answers_from_its_script():
    seen = []
    with HttpReceiver(echo=seen.append) as rx:
        rx.script((503, {"Retry-After": "7"}, "down"), 404, Response(201, "made"))
        with httpx.Client() as client:
            answers = [client.post(rx.url("/a?x=1"), json={"n": i}) for i in range(4)]
        requests = rx.wait_for(4, timeout=5)
    assert [a.status_code for a in answers] == [503, 404, 201, 200]
    assert answers[0].headers["Retry-After"] == "7" and answers[0].text == "down"
    assert answers[3].text == "ok"
    assert [r.json for r in requests] == [{"n": 0}, {"n": 1}, {"n": 2}, {"n": 3}]
    assert requests[0].method == "POST" and requests[0].path == "/a?x=1"
    assert requests[0].header("content-type") == "application/json"
    assert seen == requests


def test_http_receiver_wait_for_times_out():
    with HttpReceiver() as rx:
        with pytest.raises(TimeoutError, match="expected 1 requests, got 0"):
            rx.wait_for(1, timeout=0.05)


def test_http_receiver_ports_are_free_ports():
    with HttpReceiver() as a, HttpReceiver() as b:
        assert a.port != b.port and a.port > 0


def test_smtp_receiver_records_parsed_messages():
    seen = []
    with SmtpReceiver(echo=seen.append) as rx:
        msg = EmailMessage()
        msg["From"], msg["To"], msg["Subject"] = "a@example.org", "b@example.org", "hello → there"
        msg.set_content("body")
        with smtplib.SMTP("127.0.0.1", rx.port, timeout=5) as client:
            client.send_message(msg)
        (envelope,) = rx.wait_for(1)
    assert envelope.mail_from == "a@example.org" and envelope.rcpt_tos == ("b@example.org",)
    assert envelope.message["Subject"] == "hello → there"
    assert envelope.message.get_content().strip() == "body"
    assert seen == [envelope]


def test_smtp_login_against_a_server_without_auth_is_a_configuration_error(tmp_path):
    with SmtpReceiver() as rx:
        config = make_config(
            tmp_path, [{"name": "me", "channel": "email", "to": ["me@example.org"]}],
            smtp=smtp_table(rx.port, username="bot", password="${SMTP_PASSWORD}"),
            environ={"SMTP_PASSWORD": "hunter2-very-secret"},
        )
        db = open_db(tmp_path)
        clock = Clock()
        ingest(db, [event()], config, clock())
        report = dispatch(db, config, now=clock, transport=make_transport()[0])
    assert report.dead == 1
    (row,) = deliveries(db)
    assert "AUTH" in row["last_error"] and "hunter2" not in row["last_error"]
