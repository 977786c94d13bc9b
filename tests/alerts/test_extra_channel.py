"""The seam: a channel that exists only in this file plugs into config and delivery.

Its class, options, payload and limits are defined here (registered only while a test runs,
so other tests never see it); the real config loader must validate its keys with the
`file:line: key: problem; fix` errors, and the real outbox must deliver its message to a
loopback receiver, with no edit to any file outside this test.
"""

from __future__ import annotations

import json
import textwrap
from typing import Any, Mapping, Sequence

import pytest

from alerts import render
from alerts.channels import Channel, Receipt
from alerts.outbox import dispatch
from alerts.types import Rendered
from alerts.types import MissingSecret
from jobs.config.loader import load_config
from jobs.exceptions import ConfigError
from tests.support.alerts import Clock, event, ingest, make_transport, open_db, statuses

TOKEN = "pgr_T0pS3cr3tT0k3n"
WATCH = """\
[[watch]]
name = "labs"
source = "huggingface"
orgs = ["deepseek-ai"]
every = "30m"
"""


def define_pager() -> type[Channel]:
    class PagerChannel(Channel):
        """Page the on-call person (a test-only channel).

        Options: url, token = "${PAGER_TOKEN}", level = "low" | "high".
        """

        kind = "pager"
        keys = ("url", "token", "level")
        required_options = ("url", "token")
        secret_options = ("url", "token")
        MAX_LINES = 2  # per page: a burst becomes several

        @classmethod
        def options(cls, read) -> dict[str, Any]:
            url = read.string("url", secret=True, example='"https://pager.example/api"')
            token = read.string("token", secret=True, example='"${PAGER_TOKEN}"')
            if not isinstance(token, MissingSecret) and not token.startswith("pgr_"):
                raise read.error("token", 'does not start with "pgr_"', "copy the token from the pager's settings")
            return {"url": url, "token": token,
                    "level": read.choice("level", ("low", "high"), noun="level", default="low")}

        def render(self, sub, events: Sequence[Mapping[str, Any]], *, digest_title) -> list[Rendered]:
            pages = [list(events[i : i + self.MAX_LINES]) for i in range(0, len(events), self.MAX_LINES)]
            return [Rendered(tuple(e["id"] for e in page), json.dumps({
                "level": sub.options["level"], "lines": [render.headline(e) for e in page]}).encode())
                for page in pages]

        def send(self, sub, message: Rendered, *, now) -> Receipt:
            response = self.transport.post(
                str(sub.options["url"]), content=message.payload,
                headers={"Authorization": f"Bearer {sub.options['token']}", "User-Agent": self.user_agent(),
                         "Content-Type": "application/json"},
                secrets=self.secrets(sub))
            if 200 <= response.status_code < 300:
                return Receipt(response.status_code, self.excerpt(response, sub, 100))
            raise self.http_error(response, sub)

    return PagerChannel


@pytest.fixture
def pager():
    """The channel, registered for this test only."""
    cls = define_pager()
    try:
        yield cls
    finally:
        del Channel.registry["pager"]


def write(tmp_path, subscription: str, extra: str = ""):
    path = tmp_path / "openwatch.toml"
    path.write_text(WATCH + extra + "\n[[subscription]]\n" + textwrap.dedent(subscription))
    return path


def test_its_options_are_read_by_the_class(tmp_path, pager):
    path = write(tmp_path, '''\
        name = "oncall"
        channel = "pager"
        url = "https://pager.example/api"
        token = "${PAGER_TOKEN}"
        level = "high"
        ''')
    sub = load_config(path, {"PAGER_TOKEN": TOKEN}).subscription("oncall")
    assert dict(sub.options) == {"url": "https://pager.example/api", "token": TOKEN, "level": "high"}
    # Its token is a secret: a config loaded for queries leaves it unset, sending needs it.
    config = load_config(path, {}, secrets=False)
    assert isinstance(config.subscription("oncall").options["token"], MissingSecret)
    with pytest.raises(ConfigError, match="PAGER_TOKEN is not set"):
        config.require_secrets()


@pytest.mark.parametrize("body, line", [
    ('name = "oncall"\nchannel = "pagr"\n',
     'subscription[1].channel: "pagr" is not a channel; did you mean "pager"?'),
    ('name = "oncall"\nchannel = "pager"\nurl = "https://pager.example/api"\n',
     'subscription[1]: "token" is missing; add token = "${PAGER_TOKEN}" to this [[subscription]]'),
    ('name = "oncall"\nchannel = "pager"\nurl = "https://pager.example/api"\ntoken = "abc"\n',
     'subscription[1].token: does not start with "pgr_"; copy the token from the pager\'s settings'),
    ('name = "oncall"\nchannel = "pager"\nurl = "https://pager.example/api"\ntoken = "pgr_x"\nlevel = "urgent"\n',
     'subscription[1].level: "urgent" is not a level; levels: low, high'),
    ('name = "oncall"\nchannel = "pager"\nurl = "https://pager.example/api"\ntoken = "pgr_x"\nto = ["me@example.org"]\n',
     'subscription[1].to: is not used by pager subscriptions; pager subscriptions take url, token, level; '
     'remove it, or set channel = "email"'),
    ('name = "oncall"\nchannel = "slack"\nurl = "https://hooks.slack.com/x"\nlevel = "high"\n',
     'subscription[1].level: is not used by slack subscriptions; slack subscriptions take url; '
     'remove it, or set channel = "pager"'),
])
def test_its_errors_name_the_file_and_line(tmp_path, pager, body, line):
    path = write(tmp_path, body)
    with pytest.raises(ConfigError) as caught:
        load_config(path, {})
    lines = path.read_text().splitlines()
    key = line.split(":")[0].rpartition(".")[2]
    where = next((n for n, text in enumerate(lines, 1) if text.startswith(f"{key} =")), None)
    where = where or next(n for n, text in enumerate(lines, 1) if text == "[[subscription]]")
    assert str(caught.value) == f"{path}:{where}: {line}"


def test_its_message_is_delivered_by_the_outbox(tmp_path, pager, http):
    path = write(tmp_path, f'''\
        name = "oncall"
        channel = "pager"
        url = "{http.url('/page')}"
        token = "${{PAGER_TOKEN}}"
        level = "high"
        ''')
    settings = load_config(path, {"PAGER_TOKEN": TOKEN}).alerts
    db, clock = open_db(tmp_path), Clock()
    ingest(db, [event(name="A"), event(name="B"), event(name="C")], settings, clock())

    report = dispatch(db, settings, now=clock, transport=make_transport()[0])

    assert report.sent == 3 and statuses(db) == {"sent": 3}
    pages = http.wait_for(2)
    assert [p.json["level"] for p in pages] == ["high", "high"]
    assert [len(p.json["lines"]) for p in pages] == [2, 1]  # its own limit, on its class
    assert pages[0].header("Authorization") == f"Bearer {TOKEN}"
    assert pages[0].header("User-Agent") == settings.user_agent


def test_a_refusal_is_stored_without_its_secrets(tmp_path, pager, http):
    path = write(tmp_path, f'''\
        name = "oncall"
        channel = "pager"
        url = "{http.url('/page')}"
        token = "{TOKEN}"
        ''')
    settings = load_config(path, {}).alerts
    http.script((403, {}, f"bad token {TOKEN}"))
    db, clock = open_db(tmp_path), Clock()
    ingest(db, [event()], settings, clock())

    dispatch(db, settings, now=clock, transport=make_transport()[0])

    (row,) = db.query("SELECT status, last_error FROM deliveries")
    assert row["status"] == "dead" and TOKEN not in row["last_error"] and "403" in row["last_error"]


def test_every_registered_channel_declares_what_the_seam_needs():
    from alerts.channels import Channel as Base

    for kind, cls in Base.registry.items():
        assert cls.kind == kind and (cls.__doc__ or "").strip(), kind
        assert set(cls.required_options) <= set(cls.keys) and set(cls.secret_options) <= set(cls.keys), kind
        assert callable(cls.options) and callable(cls.render) and callable(cls.send), kind
