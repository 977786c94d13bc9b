"""Crawl to inbox: real crawls against the emulator, the outbox in the real SQLite file,
a real SMTP server (aiosmtpd) and real HTTP receivers, driven through the `openwatch` CLI."""

from __future__ import annotations

import base64
import json
import sqlite3

import pytest
import standardwebhooks
from slack_sdk.models.blocks import Block

from alerts.receivers import HttpReceiver, Response, SmtpReceiver
from tests.support.cli import CLI, write_config

SECRET = "whsec_" + base64.b64encode(b"openwatch-e2e-secret-0123456789").decode()
HOSTILE = "<!channel> & <script>alert(1)</script>"


@pytest.fixture
def receivers():
    with HttpReceiver() as http, SmtpReceiver() as smtp:
        yield http, smtp


@pytest.fixture
def ow(tmp_path, emulator, receivers):
    http, smtp = receivers
    world = emulator.world
    world.add_model("meta-llama/Llama-3.1-8B", license="llama3.1", gated="manual")
    for i in range(3):
        world.add_model(f"deepseek-ai/DeepSeek-{i}", license="mit")
    config = write_config(
        tmp_path / "openwatch.toml",
        hf=emulator.url,
        watches=[{"name": "labs", "source": "huggingface", "orgs": ["meta-llama", "deepseek-ai"], "every": "1h"}],
        subscriptions=[
            {"name": "team", "channel": "slack", "url": http.url("/slack")},
            {"name": "cn-only", "channel": "slack", "url": http.url("/slack-cn"), "countries": ["CN"],
             "events": ["model.added"]},
            {"name": "legal", "channel": "email", "to": ["legal@example.org"],
             "events": ["model.license_changed"]},
            {"name": "pipeline", "channel": "webhook", "url": http.url("/hook"), "secret": SECRET,
             "events": ["*"]},
        ],
        extra=f'\n[smtp]\nhost = "127.0.0.1"\nport = {smtp.port}\nsender = "openwatch <ow@localhost>"\n',
    )
    return CLI(config)


def by_path(http: HttpReceiver, path: str):
    return [r for r in http.requests if r.path == path]


def deliveries(ow: CLI):
    conn = sqlite3.connect(ow.config.parent / "openwatch.db")
    try:
        return conn.execute("select subscription, status, attempts from deliveries order by id").fetchall()
    finally:
        conn.close()


def test_baseline_sends_nothing_and_each_event_reaches_each_match_once(ow, emulator, receivers):
    http, smtp = receivers
    ow("run", "--once")
    assert http.requests == [] and smtp.messages == [] and deliveries(ow) == []

    emulator.world.add_model("deepseek-ai/DeepSeek-V4", license="mit")
    emulator.world.relicense("meta-llama/Llama-3.1-8B", "cc-by-nc-4.0")
    ow("run", "--once")
    ow("run", "--once")  # nothing new: nothing sent again
    ow("deliver")

    slack = by_path(http, "/slack")
    assert len(slack) == 1  # a burst for one subscription is one grouped message
    text = json.dumps(slack[0].json)
    assert "DeepSeek-V4" in text and "Llama-3.1-8B" in text
    for block in slack[0].json["blocks"]:
        Block.parse(block).validate_json()
    assert [json.dumps(r.json).count("DeepSeek-V4") > 0 for r in by_path(http, "/slack-cn")] == [True]
    assert "Llama" not in json.dumps(by_path(http, "/slack-cn")[0].json)

    hooks = by_path(http, "/hook")
    assert sorted(r.json["type"] for r in hooks) == ["model.added", "model.license_changed"]
    for r in hooks:
        standardwebhooks.Webhook(SECRET).verify(r.body, dict(r.headers))
        assert r.header("webhook-id") == r.json["id"]

    (mail,) = smtp.messages
    message = mail.message
    assert "licence" in message["Subject"] and "Llama-3.1-8B" in message["Subject"]
    assert message["List-Unsubscribe"] and message["Message-ID"]
    assert sorted(s for s, status, _ in deliveries(ow) if status == "sent") == [
        "cn-only", "legal", "pipeline", "pipeline", "team", "team"]


def test_receiver_down_then_back_gets_everything_once(ow, emulator, receivers):
    http, _ = receivers
    ow("run", "--once")
    emulator.world.add_model("deepseek-ai/DeepSeek-V5", license="mit")
    http.script(Response(503), Response(503), Response(503), Response(503))
    ow("run", "--once")
    assert {s: st for s, st, _ in deliveries(ow) if s in ("team", "pipeline")} == {"team": "failed",
                                                                                    "pipeline": "failed"}
    ow("deliver")  # due or not, every pending delivery is attempted now: team meets the 4th 503
    assert {s: st for s, st, _ in deliveries(ow)} == {"team": "failed", "cn-only": "sent", "pipeline": "sent"}
    ow("deliver")
    assert {s: (st, n) for s, st, n in deliveries(ow)} == {
        "team": ("sent", 3), "cn-only": ("sent", 2), "pipeline": ("sent", 2)}
    hooks = by_path(http, "/hook")
    assert len(hooks) == 2 and len({r.header("webhook-id") for r in hooks}) == 1  # same id on retry
    # 4 refused attempts + one accepted message per subscription, nothing sent twice
    assert len(http.requests) == 4 + 3
    ow("deliver")
    assert len(http.requests) == 7


def test_permanent_refusal_is_a_dead_letter_in_status(ow, emulator, receivers):
    http, _ = receivers
    ow("run", "--once")
    emulator.world.relicense("deepseek-ai/DeepSeek-0", "cc-by-nc-4.0")
    http.script(Response(404, body="no_service"))
    ow("run", "--once")
    report = ow.json("status")
    dead = report["dead_letters"]
    assert len(dead) == 1 and dead[0]["subscription"] == "team" and "no_service" in dead[0]["error"]
    assert "/slack" not in json.dumps(report)  # receiver URLs are shown redacted
    table = ow("status").stdout
    assert "dead letters" in table


def test_hostile_licence_name_is_escaped_everywhere(ow, emulator, receivers):
    http, smtp = receivers
    ow("run", "--once")
    emulator.world.relicense("meta-llama/Llama-3.1-8B", "other", license_name=HOSTILE)
    ow("run", "--once")
    slack = json.dumps(by_path(http, "/slack")[0].json)
    assert "<!channel>" not in slack and "<script>" not in slack
    html = next(p for p in smtp.messages[0].message.walk() if p.get_content_type() == "text/html")
    assert "<script>" not in html.get_content()
    # the licence's display name keeps the text, for the record; every channel escapes it
    (event,) = [e for e in ow.json("events") if e["type"] == "model.license_changed"]
    assert event["after"]["license_name"] == HOSTILE


def test_alerts_test_and_list_commands(ow, receivers):
    http, smtp = receivers
    out = ow("alerts", "test", "team").stdout
    assert "200" in out
    (request,) = by_path(http, "/slack")
    for block in request.json["blocks"]:
        Block.parse(block).validate_json()
    ow("alerts", "test", "legal")
    assert len(smtp.messages) == 1
    http.script(Response(404, body="no_service"))
    failed = ow("alerts", "test", "pipeline", check=False)
    assert failed.returncode == 1 and "404" in failed.stdout + failed.stderr
    rows = ow.json("alerts", "list")
    assert [r["name"] for r in rows] == ["team", "cn-only", "legal", "pipeline"]
    assert all(r["sent"] == 0 and r["dead"] == 0 for r in rows)  # tests bypass the outbox
    unknown = ow("alerts", "test", "nobody", check=False)
    assert unknown.returncode == 2 and len(unknown.stderr.strip().splitlines()) == 1


def test_secrets_never_shown_in_full(tmp_path, emulator, receivers):
    http, _ = receivers
    token = "T0AAA/B0BBB/s3cr3tW3bh00kT0k3n"
    emulator.world.add_model("deepseek-ai/A", license="mit")
    config = write_config(
        tmp_path / "openwatch.toml", hf=emulator.url,
        watches=[{"name": "labs", "source": "huggingface", "orgs": ["deepseek-ai"], "every": "1h"}],
        subscriptions=[{"name": "team", "channel": "slack", "url": "${SLACK_WEBHOOK_URL}"},
                       {"name": "hook", "channel": "webhook", "url": http.url("/hook"), "secret": "${HOOK_SECRET}"}],
    )
    ow = CLI(config, env={"SLACK_WEBHOOK_URL": http.url("/services/" + token), "HOOK_SECRET": SECRET})
    ow("run", "--once")
    emulator.world.add_model("deepseek-ai/B", license="mit")
    # each receiver echoes its own secret back in its error (Slack's path token, the signing secret)
    http.script(Response(500, body=f"bad token services/{token}"), Response(500, body=f"bad secret {SECRET}"))
    runs = [ow("run", "--once"), ow("status"), ow("status", "--json"), ow("alerts", "list")]
    seen = "".join(p.stdout + p.stderr for p in runs)
    seen += (tmp_path / "openwatch.db").read_bytes().decode("latin-1")
    assert "s3cr3tW3bh00kT0k3n" not in seen and SECRET.removeprefix("whsec_") not in seen
    assert "failed" in seen
