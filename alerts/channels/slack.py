"""Slack incoming webhooks (https://api.slack.com/messaging/webhooks): the channel, its
Block Kit limits and its payloads.

Scraped text is hostile (DESIGN.md rule 6): every string that came from a hub, a feed or a
paper is escaped for Slack mrkdwn (`&`, `<`, `>`: https://api.slack.com/reference/surfaces/formatting#escaping)
so a model named `<!channel>` cannot ping anyone. The event's description is
`alerts/render.py`'s (imported where a payload is built: reading a config loads no rendering).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from alerts.channels.base import Channel, Receipt, http_url_option
from alerts.exceptions import RateLimited
from alerts.redaction import LINK_URL, one_line
from alerts.types import Rendered
from crawler.sources import event_type

if TYPE_CHECKING:
    from alerts.types import Subscription


class SlackChannel(Channel):
    """Post to a Slack channel through an incoming webhook.

    Options: url = "${SLACK_WEBHOOK_URL}" (keep the URL in the environment: it is a secret).
    One event becomes one message; a burst becomes grouped messages (at most 50 blocks each),
    at most one message per second per webhook. Slack answers 404 no_service, 403
    invalid_token / action_prohibited, 410 channel_is_archived or 400 invalid_payload for
    a webhook that will never work: those deliveries become dead letters (`openwatch status`).
    """

    kind = "slack"
    required_options = ("url",)

    keys = ("url",)
    secret_options = ("url",)

    MAX_BLOCKS = 50            # blocks per message
    MAX_SECTION_CHARS = 3000   # text of a section block
    MAX_HEADER_CHARS = 150     # plain text of a header block
    MAX_FIELDS = 10            # fields of a section block
    MAX_FIELD_CHARS = 2000     # text of one field
    MAX_TEXT_CHARS = 3000      # the `text` fallback (notifications, screen readers)
    MIN_INTERVAL = 1.0         # seconds between two messages to one webhook
    DEFAULT_RETRY_AFTER = 30.0  # seconds to leave a webhook alone after a 429 without Retry-After

    @classmethod
    def options(cls, read: Any) -> dict[str, Any]:
        return {"url": http_url_option(read, example='"${SLACK_WEBHOOK_URL}"')}

    @classmethod
    def limits(cls) -> "SlackLimits":
        return SlackLimits(
            max_blocks=cls.MAX_BLOCKS,
            max_section_chars=cls.MAX_SECTION_CHARS,
            max_header_chars=cls.MAX_HEADER_CHARS,
            max_fields=cls.MAX_FIELDS,
            max_field_chars=cls.MAX_FIELD_CHARS,
            max_text_chars=cls.MAX_TEXT_CHARS,
        )

    def render(
        self, sub: "Subscription", events: Sequence[Mapping[str, Any]], *, digest_title: str | None
    ) -> list[Rendered]:
        if digest_title:
            return slack_digest_messages(events, f"openwatch {digest_title}", self.limits())
        return slack_messages(events, self.limits())

    def send(self, sub: "Subscription", message: Rendered, *, now: datetime) -> Receipt:
        url = str(sub.options["url"])
        limiter = self.transport.limiter(("slack", url), self.MIN_INTERVAL)
        try:
            limiter.wait(now)
        except RateLimited as exc:
            # Not attempted: the outbox defers these deliveries to the slot instead of sleeping.
            raise RateLimited(
                f"{self.target(sub)} is paced: next message allowed in {exc.retry_after:.0f}s",
                retry_after=exc.retry_after,
            ) from None
        body = json.dumps(message.payload, ensure_ascii=False).encode()
        response = self.transport.post(
            url, content=body, headers={"Content-Type": "application/json; charset=utf-8", "User-Agent": self.user_agent()}, secrets=self.secrets(sub)
        )
        if 200 <= response.status_code < 300:
            return Receipt(response.status_code, self.excerpt(response, sub, 100))
        error = self.http_error(response, sub)
        if response.status_code == 429:
            # Every subscription posting to this webhook waits too (they share the limiter).
            wait = error.retry_after if error.retry_after is not None else self.DEFAULT_RETRY_AFTER
            limiter.block_until(now + timedelta(seconds=wait))
        raise error


@dataclass(frozen=True)
class SlackLimits:
    """Block Kit limits (https://api.slack.com/reference/block-kit/blocks), by default the
    channel's own (`SlackChannel.MAX_BLOCKS`, …)."""

    max_blocks: int = SlackChannel.MAX_BLOCKS
    max_section_chars: int = SlackChannel.MAX_SECTION_CHARS
    max_header_chars: int = SlackChannel.MAX_HEADER_CHARS
    max_fields: int = SlackChannel.MAX_FIELDS
    max_field_chars: int = SlackChannel.MAX_FIELD_CHARS
    max_text_chars: int = SlackChannel.MAX_TEXT_CHARS


def slack_escape(text: Any) -> str:
    """Escape the three characters Slack's mrkdwn gives meaning to; nothing else."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_text(raw: Any, limit: int) -> str:
    """Escaped text of at most `limit` characters, never cutting an entity in half."""
    raw = one_line(raw)
    escaped = slack_escape(raw)
    if len(escaped) <= limit:
        return escaped
    if limit <= 0:
        return ""
    out, used = [], 0
    for ch in raw:
        piece = slack_escape(ch)
        if used + len(piece) > limit - 1:
            break
        out.append(piece)
        used += len(piece)
    return "".join(out) + "…"


def clip_mrkdwn(text: str, limit: int) -> str:
    """Escaped Slack text cut to at most `limit` characters (ending with `…`), never inside an
    entity (`&amp;`) nor inside one of our links (`<url|label>`): a half link or entity would
    show as garbage, or make Slack refuse the payload."""
    if len(text) <= limit:
        return text
    if limit <= 0:
        return ""
    cut = text[: limit - 1]
    amp = cut.rfind("&")
    if amp != -1 and ";" not in cut[amp:]:
        cut = cut[:amp]
    opening = cut.rfind("<")
    if opening != -1 and ">" not in cut[opening:]:
        cut = cut[:opening]
    return cut + "…"


MAX_LINK_URL = 1000  # characters of a link's URL as sent (after escaping); longer: no link


def slack_link(url: str | None, text: Any, limit: int) -> str:
    """`<url|text>` for an http(s) URL (URL characters that would end the link are
    percent-encoded), else the escaped text alone. A URL longer than `MAX_LINK_URL` once
    escaped (`&` becomes `&amp;`: five times longer) is dropped, so the link never pushes a
    block past Slack's limits."""
    label = slack_text(text, limit)
    if not url or not LINK_URL.match(url):
        return label
    safe = url.replace("&", "&amp;").replace("<", "%3C").replace(">", "%3E").replace("|", "%7C")
    if len(safe) > MAX_LINK_URL:
        return label
    return f"<{safe}|{label}>"


def _plain(text: str, limit: int) -> dict[str, Any]:
    return {"type": "plain_text", "text": slack_text(text, limit) or "openwatch", "emoji": False}


def _mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text}


def _slack_fields(view: Mapping[str, Any], limits: SlackLimits) -> list[dict[str, Any]]:
    cap = min(limits.max_field_chars, 500)
    fields = []
    if view["org"]:
        fields.append(f"*Org*\n{slack_text(view['org'], cap)}")
    if view["country"]:
        fields.append(f"*Country*\n{slack_text(view['country'], cap)}")
    if view["licence"]:
        text = slack_text(view["licence"], cap)
        if view["categories"]:
            text += f"\n{slack_text(view['categories'], cap)}"
        if view["direction"]:
            text += f" ({slack_text(view['direction'], 60)})"
        fields.append(f"*Licence*\n{text}")
    if view["gating"]:
        fields.append(f"*Access*\n{slack_text(view['gating'], cap)}")
    if view["openness"]:
        fields.append(f"*Openness*\n{slack_text(view['openness'], cap)}")
    if view["parameters"]:
        fields.append(f"*Parameters*\n{slack_text(view['parameters'], cap)}")
    if view["evidence"]:
        fields.append(f"*Evidence*\n{slack_text(view['evidence'], cap)}")
    if view["url"]:
        fields.append(f"*Link*\n{slack_link(view['url'], 'open', 20)}")
    if view["watch"]:
        fields.append(f"*Watch*\n{slack_text(view['watch'], cap)}")
    return [_mrkdwn(f) for f in fields[: limits.max_fields]]


def _slack_event_section(view: Mapping[str, Any], limits: SlackLimits) -> dict[str, Any]:
    text = f"*{slack_link(view['url'], view['headline'], 400)}*"
    if view["summary"]:
        text += "\n" + slack_text(view["summary"], min(1500, limits.max_section_chars - len(text) - 1))
    room = limits.max_section_chars - len(text) - 8
    if view["excerpt"] and room > 100:
        # A fence inside the excerpt would close the code block early (Slack has no escape
        # for backticks): a zero-width space keeps the scraped one from being ours.
        excerpt = view["excerpt"].replace("`", "`\u200b")
        text += "\n```" + slack_text(excerpt, min(900, room)) + "```"
    block: dict[str, Any] = {"type": "section", "text": _mrkdwn(text)}
    fields = _slack_fields(view, limits)
    if fields:
        block["fields"] = fields
    return block


def _context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [_mrkdwn(text)]}


def fit_slack_payload(payload: dict[str, Any], limits: SlackLimits) -> dict[str, Any]:
    """The last check before a payload leaves: every text measured as sent (escaped) and cut
    safely to its Block Kit limit. Rendering already keeps within them; this makes sure a
    hostile string that slipped past cannot make Slack refuse (400) a whole grouped message."""
    payload["text"] = clip_mrkdwn(payload["text"], limits.max_text_chars)
    del payload["blocks"][limits.max_blocks :]
    for block in payload["blocks"]:
        if block["type"] == "header":
            block["text"]["text"] = clip_mrkdwn(block["text"]["text"], limits.max_header_chars)
        elif block["type"] == "section":
            block["text"]["text"] = clip_mrkdwn(block["text"]["text"], limits.max_section_chars)
            if "fields" in block:
                del block["fields"][limits.max_fields :]
                for field in block["fields"]:
                    field["text"] = clip_mrkdwn(field["text"], limits.max_field_chars)
        elif block["type"] == "context":
            for element in block["elements"]:
                element["text"] = clip_mrkdwn(element["text"], limits.max_section_chars)
    return payload


def slack_messages(events: Sequence[Mapping[str, Any]], limits: SlackLimits = SlackLimits()) -> list[Rendered]:
    """One event → one message; a burst → grouped messages (a header, one section with fields
    per event, a context line), as many as `max_blocks` requires."""
    from alerts.render import count_phrase, event_view

    if not events:
        return []
    views = [event_view(e) for e in events]
    if len(views) == 1:
        view = views[0]
        meta = f"`{slack_escape(view['type'])}` · {slack_text(view['item'], 300)} · {slack_text(view['detected_at'], 40)}"
        blocks = [
            {"type": "header", "text": _plain(view["headline"], limits.max_header_chars)},
            _slack_event_section(view, limits),
            _context(meta),
        ]
        fallback = view["headline"] + (f" ({view['direction']})" if view["direction"] else "")
        text = slack_text(fallback, limits.max_text_chars)
        return [Rendered((view["id"],), fit_slack_payload({"text": text, "blocks": blocks}, limits))]
    per_message = limits.max_blocks - 2  # a header and a context line frame each message
    chunks = [views[i : i + per_message] for i in range(0, len(views), per_message)]
    phrase = count_phrase(events)
    out = []
    for index, chunk in enumerate(chunks, start=1):
        part = f" ({index}/{len(chunks)})" if len(chunks) > 1 else ""
        title = f"openwatch: {phrase}"
        header = slack_text(title, limits.max_header_chars - len(part)) + part
        blocks = [{"type": "header", "text": {"type": "plain_text", "text": header, "emoji": False}}]
        blocks += [_slack_event_section(v, limits) for v in chunk]
        first = (index - 1) * per_message + 1
        blocks.append(_context(f"openwatch · events {first}–{first + len(chunk) - 1} of {len(views)}"))
        lines = [header] + [f"• {slack_text(v['headline'], 300)}" for v in chunk[:10]]
        text = "\n".join(lines)
        out.append(Rendered(tuple(v["id"] for v in chunk), fit_slack_payload({"text": text, "blocks": blocks}, limits)))
    return out


def slack_digest_messages(
    events: Sequence[Mapping[str, Any]], title: str, limits: SlackLimits = SlackLimits()
) -> list[Rendered]:
    """A digest: one message grouped by type and org with counts; split only where Block Kit
    limits force it (then every part says `(i/n)`)."""
    from alerts.render import count_phrase, group_events

    if not events:
        return []
    # Atoms: (text, event id or None, starts a new section)
    atoms: list[tuple[str, str | None, bool]] = []
    for group in group_events(events):
        atoms.append((f"*{slack_escape(group.label)}* · {group.count}", None, True))
        for org in group.orgs:
            atoms.append((f"*{slack_text(org.org, 200)}* · {org.count}", None, False))
            for view in org.events:
                line = "• " + slack_link(view["url"], view["headline"], 300)
                described = event_type(view["type"])
                if view["categories"] and described and described.licence:
                    line += f" ({slack_text(view['categories'], 120)})"
                atoms.append((line, view["id"], False))
    sections: list[tuple[str, list[str]]] = []
    text, ids = "", []
    for atom, event_id, new_section in atoms:
        if text and (new_section or len(text) + 1 + len(atom) > limits.max_section_chars):
            sections.append((text, ids))
            text, ids = "", []
        text = f"{text}\n{atom}" if text else atom
        if event_id:
            ids.append(event_id)
    if text:
        sections.append((text, ids))
    per_message = limits.max_blocks - 2
    chunks = [sections[i : i + per_message] for i in range(0, len(sections), per_message)]
    heading = f"{title}: {count_phrase(events)}"
    out = []
    for index, chunk in enumerate(chunks, start=1):
        part = f" ({index}/{len(chunks)})" if len(chunks) > 1 else ""
        header = slack_text(heading, limits.max_header_chars - len(part)) + part
        blocks = [{"type": "header", "text": {"type": "plain_text", "text": header, "emoji": False}}]
        blocks += [{"type": "section", "text": _mrkdwn(t)} for t, _ in chunk]
        blocks.append(_context(f"openwatch · {len(events)} events"))
        chunk_ids = tuple(i for _, section_ids in chunk for i in section_ids)
        out.append(Rendered(chunk_ids, fit_slack_payload({"text": header, "blocks": blocks}, limits)))
    return out
