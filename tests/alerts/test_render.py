"""Rendering (pure): Slack Block Kit payloads, email parts, webhook bodies, digests."""

from __future__ import annotations

import json

import pytest
from slack_sdk.models.blocks import Block

from alerts import render
from alerts.channels import email, slack, webhook
from alerts.channels.slack import SlackChannel
from crawler.events import EVENT_TYPES, SCHEMA_VERSION
from tests.support.alerts import HOSTILE, event

ESCAPED = "&lt;!channel&gt; &amp; &lt;script&gt;"


def validate(payload: dict) -> None:
    """Every block passes slack_sdk's Block Kit validation; limits hold."""
    assert payload["text"], "a text fallback is required for notifications"
    assert len(payload["blocks"]) <= SlackChannel.MAX_BLOCKS
    for block in payload["blocks"]:
        Block.parse(block).validate_json()
        if block["type"] == "header":
            assert len(block["text"]["text"]) <= SlackChannel.MAX_HEADER_CHARS
        if block["type"] == "section":
            assert len(block["text"]["text"]) <= SlackChannel.MAX_SECTION_CHARS
            assert len(block.get("fields", [])) <= SlackChannel.MAX_FIELDS
            for field in block.get("fields", []):
                assert len(field["text"]) <= SlackChannel.MAX_FIELD_CHARS


def all_text(payload: dict) -> str:
    return json.dumps(payload, ensure_ascii=False)


def unescaped_specials(payload: dict) -> list[str]:
    """Every `<…>` in mrkdwn must be one of our own links, never scraped text."""
    import re

    texts = [payload["text"]]
    for block in payload["blocks"]:
        for key in ("text",):
            if isinstance(block.get(key), dict):
                texts.append(block[key]["text"])
        texts += [f["text"] for f in block.get("fields", [])]
        texts += [e["text"] for e in block.get("elements", [])]
    found = []
    for text in texts:
        found += [m for m in re.findall(r"<([^>]*)>", text) if not m.startswith("https://")]
    return found


# -- headlines and subjects ------------------------------------------------------------------


@pytest.mark.parametrize("type_", EVENT_TYPES)
def test_every_event_type_has_a_headline_and_a_noun(type_):
    e = event(type_, org="meta-llama", name="Llama-3.1-8B", title="Open weights at scale")
    line = render.headline(e)
    assert line and "\n" not in line
    assert render.noun(type_, 1) and render.noun(type_, 2) != render.noun(type_, 1)
    payloads = slack.slack_messages([e])
    assert len(payloads) == 1
    validate(payloads[0].payload)


@pytest.mark.parametrize(
    ("kwargs", "subject"),
    [
        ({"type": "model.added", "org": "deepseek-ai", "name": "DeepSeek-V3.2"},
         "[openwatch] deepseek-ai released DeepSeek-V3.2"),
        ({"type": "model.license_changed", "org": "meta-llama", "name": "Llama-3.1-8B",
          "license_before": "llama3.1", "license_after": "llama3.2"},
         "[openwatch] meta-llama/Llama-3.1-8B licence changed: llama3.1 → llama3.2"),
        ({"type": "model.removed", "org": "Qwen", "name": "Qwen3-8B"}, "[openwatch] Qwen/Qwen3-8B was removed"),
        ({"type": "model.gating_changed", "org": "meta-llama", "name": "Llama-4",
          "before": {"gated": "false"}, "after": {"gated": "manual"}},
         "[openwatch] meta-llama/Llama-4 gating changed: open → gated (manual approval)"),
        ({"type": "release.published", "org": "deepseek-ai", "name": "DeepSeek-V3"},
         None),  # tag varies: checked below
        ({"type": "source.failing", "watch": "labs"}, "[openwatch] Watch labs is failing"),
    ],
)
def test_subject_of_one_event_says_what_happened(kwargs, subject):
    e = event(**kwargs)
    got = render.email_subject([e])
    if subject is None:
        assert got.startswith("[openwatch] deepseek-ai/DeepSeek-V3 released v")
    else:
        assert got == subject


def test_subject_of_several_events_counts_them():
    events = [event("model.license_changed") for _ in range(3)] + [event("model.added")]
    assert render.email_subject(events) == "[openwatch] 3 licence changes, 1 new model"
    assert render.email_subject(events, digest_title="daily digest") == (
        "[openwatch] daily digest: 3 licence changes, 1 new model"
    )


@pytest.mark.parametrize("evil", ["x\r\nBcc: victim@example.org", "x\nSubject: spoof", "x\rY", "a\u2028b\x85c"])
def test_subject_never_contains_line_breaks(evil):
    subject = render.email_subject([event(name=evil)])
    assert not any(ch in subject for ch in "\r\n\u2028\x85")
    parts = email.email_parts([event(name=evil)], subscription="me")
    assert "\r" not in parts.subject and "\n" not in parts.subject


def test_subject_is_capped():
    assert len(render.email_subject([event(name="x" * 5000)])) <= render.MAX_SUBJECT_CHARS


# -- Slack -------------------------------------------------------------------------------------


def test_single_event_payload_has_header_fields_and_fallback():
    e = event("model.license_changed", org="meta-llama", name="Llama-3.1-8B", country="US",
              license_before="llama3.1", license_after="llama3.2",
              category_before="open-weight-restricted", category_after="non-commercial",
              direction="more_restrictive")
    (message,) = slack.slack_messages([e])
    validate(message.payload)
    assert message.event_ids == (e["id"],)
    header, section, context = message.payload["blocks"]
    assert header["type"] == "header"
    assert header["text"]["text"] == "meta-llama/Llama-3.1-8B licence changed: llama3.1 → llama3.2"
    fields = [f["text"] for f in section["fields"]]
    assert "*Org*\nmeta-llama" in fields
    assert "*Country*\nUS" in fields
    assert "*Licence*\nllama3.1 → llama3.2\nopen-weight-restricted → non-commercial (more restrictive)" in fields
    assert "*Link*\n<https://huggingface.co/meta-llama/Llama-3.1-8B|open>" in fields
    assert context["type"] == "context"
    # the notification text keeps the direction: a phone shows only this
    assert message.payload["text"] == "meta-llama/Llama-3.1-8B licence changed: llama3.1 → llama3.2 (more restrictive)"


@pytest.mark.parametrize("where", ["name", "summary", "org", "licence", "url"])
def test_hostile_text_is_escaped_everywhere_in_slack(where):
    kwargs = {"type": "model.license_changed"}
    if where == "name":
        kwargs["name"] = HOSTILE
    elif where == "org":
        kwargs["org"] = HOSTILE
    elif where == "licence":
        kwargs["license_after"] = HOSTILE
    e = event(**kwargs)
    if where == "summary":
        e["summary"] = f"summary {HOSTILE}"
    if where == "url":
        e["url"] = "https://huggingface.co/x|<!channel>&y=<b>"
    digests = slack.slack_digest_messages([e, event()], "openwatch daily digest")
    for messages in (slack.slack_messages([e]), slack.slack_messages([e, event()]), digests):
        for message in messages:
            validate(message.payload)
            text = all_text(message.payload)
            assert "<!channel>" not in text and "<script>" not in text
            assert unescaped_specials(message.payload) == []
            if where != "url" and not (where == "summary" and messages is digests):  # digests: no summaries
                assert ESCAPED in text


def test_hostile_model_name_renders_exactly_escaped():
    e = event(name=HOSTILE, org="deepseek-ai")
    (message,) = slack.slack_messages([e])
    assert message.payload["blocks"][0]["text"]["text"] == f"deepseek-ai released {ESCAPED}"
    assert message.payload["text"] == f"deepseek-ai released {ESCAPED}"
    # The scraped URL has spaces: not linked, so no `<…|…>` can be smuggled in.
    assert message.payload["blocks"][1]["text"]["text"].startswith(f"*deepseek-ai released {ESCAPED}*")
    e["url"] = "https://huggingface.co/deepseek-ai/x"
    (message,) = slack.slack_messages([e])
    assert f"<https://huggingface.co/deepseek-ai/x|deepseek-ai released {ESCAPED}>" in (
        message.payload["blocks"][1]["text"]["text"]
    )


def test_burst_of_200_events_is_split_into_valid_messages():
    events = [event("model.added") for _ in range(150)] + [event("model.license_changed") for _ in range(50)]
    messages = slack.slack_messages(events, SlackChannel.limits())
    assert len(messages) == 5  # 48 event sections per message, plus a header and a context line
    assert [len(m.event_ids) for m in messages] == [48, 48, 48, 48, 8]
    carried = [i for m in messages for i in m.event_ids]
    assert carried == [e["id"] for e in events]
    for index, message in enumerate(messages, start=1):
        validate(message.payload)
        header = message.payload["blocks"][0]["text"]["text"]
        assert header == f"openwatch: 150 new models, 50 licence changes ({index}/5)"


def test_long_texts_are_cut_to_block_kit_limits():
    e = event("model.license_changed", name="N" * 5000, license_before="&" * 3000, license_after="<" * 3000)
    e["summary"] = "&<>" * 4000
    for messages in (slack.slack_messages([e]), slack.slack_messages([e] * 3),
                     slack.slack_digest_messages([e] * 3, "digest")):
        for message in messages:
            validate(message.payload)
            for block in message.payload["blocks"]:
                text = block.get("text", {}).get("text", "") if isinstance(block.get("text"), dict) else ""
                assert not text.endswith("&am") and not text.endswith("&l")


# Review finding 6: limits were checked before escaping; `&` becomes `&amp;` (five times longer).
HOSTILE_URLS = {
    "ampersands": "https://example.org/?" + "&" * 970,
    "angles": "https://example.org/" + "<" * 970,
    "long": "https://x.org/" + "a" * 995,
    "none": None,
}
BIG = "<!channel> & " * 2000


def _hostile_events(url):
    posts = [event("post.published", watch="blogs", org=BIG, title=BIG, country=BIG) for _ in range(3)]
    for e in posts:
        e["summary"] = BIG
    licence = event("model.license_changed", license_before=BIG, license_after=BIG, category_before=BIG,
                    category_after=BIG, direction=BIG)
    gating = event("model.gating_changed", before={"gated": BIG}, after={"gated": BIG})
    events = posts + [licence, gating]
    for e in events:
        e["url"] = url
    return events


def _no_half_entities(payload):
    import re

    texts = [payload["text"]]
    for block in payload["blocks"]:
        if isinstance(block.get("text"), dict):
            texts.append(block["text"]["text"])
        texts += [f["text"] for f in block.get("fields", [])] + [e["text"] for e in block.get("elements", [])]
    for text in texts:
        assert not re.search(r"&(a(m(p)?)?|l(t)?|g(t)?)?…", text), text[-40:]
        assert not re.search(r"<[^>|]*…$", text), text[-40:]  # no link cut in half


@pytest.mark.parametrize("url", list(HOSTILE_URLS.values()), ids=list(HOSTILE_URLS))
def test_hostile_urls_and_texts_stay_within_block_kit_limits_once_escaped(url):
    events = _hostile_events(url)
    shapes = [slack.slack_messages([e], SlackChannel.limits()) for e in events] + [
        slack.slack_messages(events, SlackChannel.limits()),
        slack.slack_messages(events * 30, SlackChannel.limits()),
        slack.slack_digest_messages(events * 30, "openwatch daily digest", SlackChannel.limits()),
    ]
    for messages in shapes:
        for message in messages:
            validate(message.payload)
            _no_half_entities(message.payload)
            assert len(message.payload["text"]) <= SlackChannel.MAX_TEXT_CHARS
            assert unescaped_specials(message.payload) == []
            assert "<!channel>" not in all_text(message.payload)
    assert sorted(i for m in shapes[-1] for i in m.event_ids) == sorted(e["id"] for e in events * 30)


def test_a_link_too_long_once_escaped_is_dropped_not_cut():
    short = "https://example.org/?a=1&b=2"
    assert slack.slack_link(short, "open", 20) == "<https://example.org/?a=1&amp;b=2|open>"
    url = "https://example.org/?" + "&" * 300  # 321 characters raw, 1521 once escaped
    assert slack.slack_link(url, "open <now>", 20) == "open &lt;now&gt;"


@pytest.mark.parametrize(("text", "limit", "expected"), [
    ("abc", 3, "abc"),
    ("abcd", 3, "ab…"),
    ("ab&amp;cd", 5, "ab…"),           # never half an entity
    ("ab&amp;cd", 8, "ab&amp;…"),
    ("x <https://a.org/|open> y", 10, "x …"),   # never half a link
    ("x <https://a.org/|open> y", 24, "x <https://a.org/|open>…"),
    ("anything", 0, ""),
])
def test_clip_mrkdwn_cuts_escaped_text_safely(text, limit, expected):
    assert slack.clip_mrkdwn(text, limit) == expected
    assert len(slack.clip_mrkdwn(text, limit)) <= limit


def test_the_last_check_cuts_every_oversized_block():
    limits = SlackChannel.limits()
    payload = {
        "text": "&amp;" * 1000,
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": "h" * 400, "emoji": False}},
            {"type": "section", "text": {"type": "mrkdwn", "text": "&lt;" * 1000},
             "fields": [{"type": "mrkdwn", "text": "&gt;" * 600} for _ in range(12)]},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": "x" * 4000}]},
        ] + [{"type": "divider"}] * 60,
    }
    fitted = slack.fit_slack_payload(payload, limits)
    validate(fitted)
    _no_half_entities(fitted)
    assert len(fitted["blocks"][1]["fields"]) == limits.max_fields
    assert len(fitted["blocks"][2]["elements"][0]["text"]) <= limits.max_section_chars


@pytest.mark.parametrize(("raw", "limit", "expected"), [
    ("a&b", 10, "a&amp;b"),
    ("<<<<", 9, "&lt;&lt;…"),   # never half an entity
    ("abc", 3, "abc"),
    ("abcd", 3, "ab…"),
])
def test_slack_text_clips_without_breaking_entities(raw, limit, expected):
    assert slack.slack_text(raw, limit) == expected


def test_digest_groups_by_type_and_org_with_counts():
    events = (
        [event("model.added", org="deepseek-ai") for _ in range(3)]
        + [event("model.added", org="Qwen")]
        + [event("model.license_changed", org="meta-llama") for _ in range(2)]
    )
    (message,) = slack.slack_digest_messages(events, "openwatch daily digest", SlackChannel.limits())
    validate(message.payload)
    assert set(message.event_ids) == {e["id"] for e in events}
    blocks = message.payload["blocks"]
    assert blocks[0]["text"]["text"] == "openwatch daily digest: 4 new models, 2 licence changes"
    added, licences = blocks[1]["text"]["text"], blocks[2]["text"]["text"]
    assert added.startswith("*New models* · 4\n*deepseek-ai* · 3\n")
    assert "*Qwen* · 1" in added
    assert licences.startswith("*Licence changes* · 2\n*meta-llama* · 2\n")


def test_huge_digest_stays_within_limits():
    events = [event("model.added", org=f"org{i % 7}", name="M" * 200) for i in range(400)]
    messages = slack.slack_digest_messages(events, "openwatch weekly digest", SlackChannel.limits())
    assert sorted(i for m in messages for i in m.event_ids) == sorted(e["id"] for e in events)
    for message in messages:
        validate(message.payload)


# -- email -------------------------------------------------------------------------------------


def test_email_html_is_autoescaped_and_text_is_plain():
    e = event(name=HOSTILE, org="deepseek-ai")
    e["summary"] = '<img src=x onerror="alert(1)">'
    e["url"] = "javascript:alert(1)"
    parts = email.email_parts([e], subscription="me")
    assert "<script>" not in parts.html and "<!channel>" not in parts.html
    assert "&lt;!channel&gt; &amp; &lt;script&gt;" in parts.html
    assert "<img" not in parts.html and "&lt;img src=x" in parts.html
    assert "javascript:" not in parts.html.split("<body", 1)[1].replace("&lt;", "")  # never a link
    assert HOSTILE in parts.text  # plain text: shown as is, nothing interprets it
    assert "remove or disable the [[subscription]] named \"me\" in openwatch.toml" in parts.text
    assert "openwatch.toml" in parts.html


def test_grouped_email_lists_every_event():
    events = [event("model.license_changed", org="meta-llama") for _ in range(3)] + [event("model.added")]
    parts = email.email_parts(events, subscription="me")
    assert parts.subject == "[openwatch] 3 licence changes, 1 new model"
    for e in events:
        assert render.headline(e) in parts.text
        assert e["url"] in parts.html
    assert "Licence changes (3)" in parts.text and "meta-llama, CN (3)" in parts.text  # the digest carries the country


# -- webhook -----------------------------------------------------------------------------------


def test_webhook_body_is_the_public_event_plus_schema_version():
    e = event("model.license_changed")
    body = json.loads(webhook.webhook_body(e))
    assert body["schema_version"] == SCHEMA_VERSION
    assert set(body) == {"id", "type", "item", "watch", "detected_at", "summary", "url", "before", "after",
                         "data", "schema_version"}
    assert "dedupe_key" not in body
    assert body["data"]["direction"] == "lateral"
