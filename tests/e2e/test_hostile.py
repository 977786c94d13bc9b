"""Hostile content end to end (issue 10 A3): every source serves it, every channel receives it.

The hub emulator serves Slack control sequences, HTML and script, Markdown, a right-to-left
override, a NUL character and 200 kB strings in a Hugging Face and a ModelScope model (name and
card), a GitHub release (title and body), an arXiv paper (title and abstract), a daily paper
and a feed entry (title and summary). The real `openwatch` CLI crawls a baseline, then the
change, and delivers to a real loopback HTTP receiver (Slack, webhook) and a real SMTP server.

What must hold (SECURITY.md, threat 1): the database keeps the text as the parsers read it
(`crawler/sources/_parsing.py`: kept exactly, capped at each field's limit; XML cannot carry
NUL, so arXiv refuses an answer with one and a feed reads it as sent); Slack gets no live
`<!channel>`, `<@U…>` or `<url|…>` and every text within Block Kit's limits; email HTML has no
live tag and its subject no CR/LF (a name holding `\r\nBcc:` adds no header); every message a
person reads drops right-to-left overrides and control characters; the log and the CLI's table
show them escaped; the webhook carries the raw text as JSON, signed.
"""

from __future__ import annotations

import html
import json
import re

import pytest
import standardwebhooks
from slack_sdk.models.blocks import Block

from alerts.receivers import HttpReceiver, SmtpReceiver
from alerts.channels.slack import SlackLimits
from alerts.render import MAX_SUBJECT_CHARS
from crawler import licenses
from crawler.sources import arxiv, feed
from crawler.sources._parsing import fold, text
from tests.support.cli import CLI, write_config
from tests.support.cli import rows

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SLACK = "<!channel> <!here> <@U123> <#C123> <https://evil.example/x|click>"
MARKUP = '<script>alert(1)</script> <img src=x onerror="alert(1)"> *bold* _it_ ~st~ `code` ```fence``` [x](javascript:alert(1))'
RTL = "\u202egnp.exe"
HOSTILE = f"{SLACK} {MARKUP} {RTL} & done"
BIG = "<!channel> " * 20_000  # 220 kB; five times that once escaped for Slack
NUL = "nul\x00byte \x1b[2J\x1b]0;pwned\x07"  # and a terminal escape: clear, retitle
# A name may carry anything but "/" (the owner/name separator of every hub).
NAME = "Evil <!channel> <@U123> <script>x<script> \u202egnp\r\nBcc: victim@evil.example"
LIVE_HTML = re.compile(r"<(script|img|b)\b", re.IGNORECASE)


def texts(node):
    """Every string in a JSON value (Slack payload)."""
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for value in node.values():
            yield from texts(value)
    elif isinstance(node, list):
        for value in node:
            yield from texts(value)


def check_slack_payload(payload: dict) -> None:
    limits = SlackLimits()
    assert len(payload["blocks"]) <= limits.max_blocks
    assert len(payload["text"]) <= limits.max_text_chars
    for block in payload["blocks"]:
        Block.parse(block).validate_json()  # slack_sdk: lengths and shapes as Slack checks them
        if block["type"] == "section":
            assert len(block["text"]["text"]) <= limits.max_section_chars
            for field in block.get("fields", []):
                assert len(field["text"]) <= limits.max_field_chars
        if block["type"] == "header":
            assert len(block["text"]["text"]) <= limits.max_header_chars
    for text in texts(payload):
        # Our own links are `<https://…|…>` built from http(s) URLs the sources gave; no
        # scraped text may open one, nor a mention or a special command.
        for match in re.finditer(r"<([^>]*)>", text):
            inner = match.group(1)
            assert not inner.startswith(("!", "@", "#")), text
            url = inner.split("|", 1)[0]
            assert url.startswith(("http://127.0.0.1", "https://huggingface.co", "https://github.com",
                                   "https://arxiv.org", "https://lab.example", "https://modelscope.cn",
                                   "https://www.modelscope.cn")), inner
            assert "evil.example" not in url, text
        assert "\x00" not in text and "\u202e" not in text, text


@pytest.fixture
def world(tmp_path, emulator):
    emulator.world.add_model("deepseek-ai/DeepSeek-V3", license="mit")
    emulator.modelscope.add_model("Qwen/Qwen3-8B", license="Apache License 2.0")
    emulator.github.add_repo("deepseek-ai/DeepSeek-V3", license_spdx="MIT")
    emulator.github.add_release("deepseek-ai/DeepSeek-V3", "v1.0", body="First release")
    emulator.arxiv.add_paper("2507.00001", title="Open weights", abstract="open-weight models", authors=["A. One"])
    emulator.world.add_daily_paper("2501.12948", title="DeepSeek-R1", upvotes=500, organization="deepseek-ai")
    emulator.feeds.add_feed("lab")
    emulator.feeds.add_entry("lab", "post-1", title="Hello", link="https://lab.example/1")
    return emulator


@pytest.fixture
def receivers():
    with HttpReceiver() as http, SmtpReceiver() as smtp:
        yield http, smtp


def configure(tmp_path, emulator, http, smtp) -> CLI:
    endpoints = {k: v for k, v in emulator.endpoints().items() if k != "huggingface"}
    watches = [
        {"name": "hf", "source": "huggingface", "orgs": ["deepseek-ai"], "every": "1h"},
        {"name": "ms", "source": "modelscope", "orgs": ["Qwen"], "every": "1h"},
        {"name": "rel", "source": "github", "repos": ["deepseek-ai/DeepSeek-V3"], "every": "1h"},
        {"name": "papers", "source": "arxiv", "query": 'abs:"open-weight"', "every": "6h", "cache": "0s"},
        {"name": "daily", "source": "hf_papers", "every": "6h", "min_upvotes": 10},
        {"name": "blog", "source": "feed", "urls": [emulator.url + "/feeds/lab"], "every": "2h"},
    ]
    everything = ["*"]
    subscriptions = [
        {"name": "team", "channel": "slack", "url": http.url("/slack"), "events": everything},
        {"name": "me", "channel": "email", "to": ["me@example.org"], "events": everything},
        {"name": "hook", "channel": "webhook", "url": http.url("/hook"), "secret": SECRET, "events": everything},
        # One event alone: the single-event layouts (Slack fields and excerpt, the email table).
        {"name": "team-releases", "channel": "slack", "url": http.url("/slack-one"), "events": ["release.published"]},
        {"name": "me-releases", "channel": "email", "to": ["rel@example.org"], "events": ["release.published"]},
        {"name": "me-qwen", "channel": "email", "to": ["qwen@example.org"], "events": ["model.added"],
         "orgs": ["Qwen"]},
    ]
    path = write_config(tmp_path / "openwatch.toml", hf=emulator.url, watches=watches, subscriptions=subscriptions,
                        endpoints=endpoints,
                        extra=f'\n[smtp]\nhost = "127.0.0.1"\nport = {smtp.port}\nsender = "ow <ow@localhost>"\n')
    return CLI(path)


def serve_hostile(emulator) -> None:
    # NUL where the answer is JSON (which can carry it); arXiv's Atom cannot, a feed's XML is
    # malformed with it (see below).
    emulator.world.add_model(f"deepseek-ai/{NAME}", license="other", license_name=HOSTILE,
                             pipeline_tag=f"{HOSTILE} {NUL}", library_name=BIG,
                             files={"LICENSE": f"{HOSTILE}\n{NUL}\n"})
    emulator.modelscope.add_model(f"Qwen/{NAME}", license=HOSTILE, chinese_name=f"{HOSTILE} {NUL}", description=BIG)
    emulator.github.add_release("deepseek-ai/DeepSeek-V3", "v2.0", name=HOSTILE, body=f"{HOSTILE}\n{BIG}")
    emulator.arxiv.add_paper("2508.00002", title=f"open-weight {HOSTILE}", abstract=f"open-weight {HOSTILE} {BIG}",
                             authors=[HOSTILE])
    emulator.world.add_daily_paper("2508.00003", title=f"{HOSTILE} {NUL}", summary=BIG, upvotes=99,
                                   organization="deepseek-ai")
    emulator.feeds.add_entry("lab", "post-2", title=f"{HOSTILE} {NUL}", link="https://lab.example/2",
                             summary=f"{HOSTILE} {BIG}")


def test_hostile_content_from_every_source_reaches_every_channel_escaped(tmp_path, world, receivers):
    http, smtp = receivers
    ow = configure(tmp_path, world, http, smtp)
    ow("run", "--once")
    assert http.requests == [] and smtp.messages == []  # the baseline is silent

    serve_hostile(world)
    run = ow("run", "--once", check=False)
    ow("deliver")

    # -- the database: as the parsers read it ---------------------------------------------------
    # XML 1.0 cannot carry NUL: the feed is malformed, read as far as possible (its entry kept,
    # NUL included) and its crawl not ok; the other sources' crawls are.
    status = dict(rows(ow, "select watch, status from crawls where id in (select max(id) from crawls group by watch)"))
    assert status.pop("blog") in ("partial", "failed") and set(status.values()) == {"ok"}, run.stdout + run.stderr
    items = {key: json.loads(data) for key, data in rows(ow, "select key, data from items")}
    # A licence name is normalised (crawler/licenses.py keeps printable text: the RTL override
    # goes, the rest stays); every other field is kept as sent, capped at its limit.
    licence_name = licenses.normalize("other", license_name=HOSTILE).name
    assert licence_name == HOSTILE.replace(RTL, RTL[1:])
    hf = items[f"model:hf/deepseek-ai/{NAME}"]
    assert hf["name"] == NAME and hf["license_name"] == licence_name
    assert hf["pipeline_tag"] == text(f"{HOSTILE} {NUL}", 100) and hf["library"] == text(BIG, 100)
    ms = items[f"model:ms/Qwen/{NAME}"]
    assert ms["name"] == NAME and ms["license_name"] == licence_name
    release = items["release:github/deepseek-ai/DeepSeek-V3/v2.0"]
    assert release["name"] == HOSTILE and release["body_excerpt"].startswith(HOSTILE)
    paper = items["paper:arxiv/2508.00002"]
    assert paper["title"] == f"open-weight {HOSTILE}" and paper["authors"] == [HOSTILE]
    assert paper["abstract"] == fold(f"open-weight {HOSTILE} {BIG}", arxiv.MAX_ABSTRACT)
    daily = items["paper:arxiv/2508.00003"]
    assert daily["title"] == f"{HOSTILE} {NUL}"
    (post,) = [v for k, v in items.items() if k.startswith("post:") and v["entry_id"] == "post-2"]
    assert post["title"] == f"{HOSTILE} {NUL}"
    assert post["summary"] == f"{HOSTILE} {BIG}"[: feed.MAX_SUMMARY] and post["summary_truncated"]
    events = ow.json("events")
    assert sorted(e["type"] for e in events) == ["model.added", "model.added", "paper.published",
                                                 "paper.published", "post.published", "release.published"]

    assert rows(ow, "select status, count(*) from deliveries group by status") == [("sent", 6 * 3 + 3)]

    # -- the log and the terminal: shown escaped, never obeyed ---------------------------------
    table = ow("events").stdout
    history = ow("history", f"model:hf/deepseek-ai/{NAME}", "--texts").stdout
    assert "\\x1b[2J" in history  # the LICENSE file, shown
    for output in (run.stderr, table, history):
        assert not re.search("[\x00\r\x1b\u202e]", output), output
        assert not any(line.startswith("Bcc:") for line in output.splitlines()), output
    assert "\\u202e" in run.stderr and "\\r\\nBcc:" in run.stderr  # the event lines say what came

    # -- Slack ------------------------------------------------------------------------------------
    slack = [r for r in http.requests if r.path in ("/slack", "/slack-one")]
    (one,) = [r.json for r in slack if r.path == "/slack-one"]
    assert any("```" in t for t in texts(one))  # the release body's excerpt, in a code block
    seen = ""
    for request in slack:
        check_slack_payload(request.json)
        seen += json.dumps(request.json, ensure_ascii=False)
    assert "&lt;!channel&gt;" in seen  # shown, escaped

    # -- email --------------------------------------------------------------------------------------
    assert sorted(m.rcpt_tos[0] for m in smtp.messages) == ["me@example.org", "qwen@example.org", "rel@example.org"]
    for mail in smtp.messages:
        message = mail.message
        assert mail.rcpt_tos == (message["To"],) and message["Bcc"] is None  # no header injected
        assert len(message.as_bytes()) < 100_000  # 200 kB strings arrive capped
        assert "\r" not in message["Subject"] and "\n" not in message["Subject"]
        assert len(message["Subject"]) <= MAX_SUBJECT_CHARS
        (part,) = [p for p in message.walk() if p.get_content_type() == "text/html"]
        body = part.get_content()
        assert not LIVE_HTML.search(body), body[:2000]
        plain = next(p for p in message.walk() if p.get_content_type() == "text/plain").get_content()
        assert not re.search("[\x00\x1b\u202e]", body + plain + message["Subject"])
    (qwen,) = [m.message for m in smtp.messages if m.rcpt_tos == ("qwen@example.org",)]
    assert qwen["Subject"] == "[openwatch] Qwen released Evil <!channel> <@U123> <script>x<script> gnp Bcc: " \
                              "victim@evil.example"  # one line, read in the order it was written
    html_all = "".join(p.get_content() for m in smtp.messages for p in m.message.walk()
                       if p.get_content_type() == "text/html")
    assert html.escape("<script>alert(1)</script>", quote=False) in html_all

    # -- webhook: the raw text, signed JSON -------------------------------------------------------
    hooks = {r.json["id"]: r for r in http.requests if r.path == "/hook"}
    assert sorted(hooks) == sorted(e["id"] for e in events)  # one signed POST per event
    for event in events:
        request = hooks[event["id"]]
        standardwebhooks.Webhook(SECRET).verify(request.body, dict(request.headers))
        assert {k: v for k, v in request.json.items() if k != "schema_version"} == event  # raw, as recorded


def test_invalid_utf8_in_a_feed_is_read_as_the_parser_reads_it_and_sent_everywhere(tmp_path, emulator, receivers):
    """Bytes that are not UTF-8 in a document that says it is: read (feedparser falls back on
    another encoding), stored as the parser reads it, sent escaped and valid to every channel."""
    from crawler.emulator import Fault
    from crawler.sources.feed import parse_feed

    http, smtp = receivers
    emulator.feeds.add_feed("lab")
    emulator.feeds.add_entry("lab", "post-1", title="Hello", link="https://lab.example/1")
    ow = configure(tmp_path, emulator, http, smtp)
    ow("crawl", "blog")
    document = (b'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>c</title>'
                b"<link>https://lab.example/</link><item><guid>post-1</guid><title>Hello</title></item>"
                b"<item><guid>post-2</guid><title>caf\xe9 \xff\xfe &lt;!channel&gt; \xe2\x80\xae</title>"
                b"<link>https://lab.example/2</link></item></channel></rss>")
    emulator.faults.add(Fault("/feeds/lab", status=200, body=document,
                              headers={"Content-Type": "application/rss+xml; charset=utf-8"}))
    ow("crawl", "blog")
    ow("deliver")
    expected = next(e for e in parse_feed(document, "application/rss+xml; charset=utf-8").entries
                    if e["entry_id"] == "post-2")["title"]
    assert expected.startswith("caf") and "<!channel>" in expected
    ((title,),) = rows(ow, "select json_extract(data, '$.title') from items where json_extract(data, '$.entry_id')"
                           " = 'post-2'")
    assert title == expected
    (slack,) = [r.json for r in http.requests if r.path == "/slack"]
    check_slack_payload(slack)
    (hook,) = [r for r in http.requests if r.path == "/hook"]
    standardwebhooks.Webhook(SECRET).verify(hook.body, dict(hook.headers))
    assert hook.json["after"]["title"] == expected
    (mail,) = [m.message for m in smtp.messages if m.rcpt_tos == ("me@example.org",)]
    (part,) = [p for p in mail.walk() if p.get_content_type() == "text/html"]
    assert not LIVE_HTML.search(part.get_content()) and "&lt;!channel&gt;" in part.get_content()
