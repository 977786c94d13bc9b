"""Events → messages: Slack payloads, email parts, webhook bodies. Pure: no I/O, no clock.

Scraped text is hostile (DESIGN.md rule 6): every string that came from a hub, a feed or a
paper is escaped for Slack mrkdwn (`&`, `<`, `>`: https://api.slack.com/reference/surfaces/formatting#escaping)
so a model named `<!channel>` cannot ping anyone, and HTML email is rendered with autoescape.
"""

from __future__ import annotations

import functools
import json
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, NamedTuple, Sequence

import jinja2

from alerts.redaction import BIDI, CONTROL
from crawler.events import SCHEMA_VERSION
from crawler.sources import event_type, event_types

PUBLIC_FIELDS = ("id", "type", "item", "watch", "detected_at", "summary", "url", "before", "after", "data")

GATING = {"false": "open", "False": "open", "auto": "gated (auto-approved)", "manual": "gated (manual approval)"}
SUBJECT_PREFIX = "[openwatch]"
MAX_SUBJECT_CHARS = 200
_URL_OK = re.compile(r"^https?://[^\s]+$", re.IGNORECASE)
_CONTROL_BUT_NEWLINES = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\x85]+")


# ---------------------------------------------------------------------------------------------
# The public event and its human description

def public_event(event: Mapping[str, Any]) -> dict[str, Any]:
    """The event object of DESIGN.md, without internal keys such as `dedupe_key`."""
    return {key: event.get(key) for key in PUBLIC_FIELDS} | {"data": dict(event.get("data") or {})}


def one_line(text: Any) -> str:
    """Collapse whitespace, strip control characters (CR/LF included) and bidirectional
    overrides (`alerts.redaction.BIDI`): header-safe, and read in the order it was written."""
    return " ".join(BIDI.sub("", CONTROL.sub(" ", "" if text is None else str(text))).split())


def multi_line(text: str) -> str:
    """`one_line`'s rules, but lines are kept (excerpts): CR/LF and U+2028/9 become newlines."""
    text = re.sub(r"\r\n?|[\u2028\u2029]", "\n", text)
    return BIDI.sub("", _CONTROL_BUT_NEWLINES.sub(" ", text))


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: max(limit - 1, 0)] + "…"


def _nouns(type_: str) -> tuple[str, str]:
    described = event_type(type_)
    return (described.noun, described.plural) if described else ("event", "events")


def noun(type_: str, count: int) -> str:
    singular, plural = _nouns(type_)
    return singular if count == 1 else plural


def type_label(type_: str) -> str:
    """`model.license_changed` → `Licence changes` (a heading)."""
    plural = _nouns(type_)[1]
    return plural[:1].upper() + plural[1:]


def count_phrase(events: Iterable[Mapping[str, Any]]) -> str:
    """`3 licence changes, 1 new model`: most frequent first, ties in registry order."""
    counts = Counter(e["type"] for e in events)
    order = {t: i for i, t in enumerate(event_types())}
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], order.get(kv[0], len(order))))
    return ", ".join(f"{n} {noun(t, n)}" for t, n in ranked)


@dataclass(frozen=True)
class ItemRef:
    kind: str         # model | repo | release | paper | post | ""
    owner: str
    name: str
    extra: str        # release tag, arXiv id, post hash

    @property
    def repo(self) -> str:
        return f"{self.owner}/{self.name}" if self.owner else self.name


def parse_item(key: str | None) -> ItemRef:
    """Split an item key (`model:hf/<owner>/<name>`, `release:github/<o>/<r>/<tag>`, …)."""
    kind, _, rest = (key or "").partition(":")
    parts = rest.split("/")
    if kind in ("model", "repo") and len(parts) >= 3:
        return ItemRef(kind, parts[1], "/".join(parts[2:]), "")
    if kind == "release" and len(parts) >= 4:
        return ItemRef(kind, parts[1], parts[2], "/".join(parts[3:]))
    if kind == "paper" and len(parts) >= 2:
        return ItemRef(kind, "", "", "/".join(parts[1:]))
    if kind == "post" and len(parts) >= 2:
        return ItemRef(kind, "", "", parts[-1])
    return ItemRef(kind, "", "", rest)


def _field(event: Mapping[str, Any], *names: str) -> Any:
    for source in (event.get("after") or {}, event.get("data") or {}, event.get("before") or {}):
        for name in names:
            value = source.get(name)
            if value not in (None, ""):
                return value
    return None


def licence_change(event: Mapping[str, Any]) -> tuple[str, str]:
    data, before, after = event.get("data") or {}, event.get("before") or {}, event.get("after") or {}
    old = data.get("license_before") or before.get("license") or "unknown"
    new = data.get("license_after") or after.get("license") or "unknown"
    return str(old), str(new)


def category_change(event: Mapping[str, Any]) -> tuple[str, str] | None:
    data = event.get("data") or {}
    old, new = data.get("category_before"), data.get("category_after")
    if old is None and new is None:
        return None
    return str(old or "unknown"), str(new or "unknown")


def gating_change(event: Mapping[str, Any]) -> tuple[str, str]:
    before, after = event.get("before") or {}, event.get("after") or {}
    old, new = before.get("gated"), after.get("gated")
    return GATING.get(str(old), str(old or "unknown")), GATING.get(str(new), str(new or "unknown"))


def headline(event: Mapping[str, Any]) -> str:
    """What happened, in one plain (unescaped) line: `deepseek-ai released DeepSeek-V3.2`.
    Each event type's wording is its source's (`crawler/sources/`)."""
    described = event_type(str(event.get("type")))
    line = ""
    if described and described.headline:
        try:
            line = described.headline(event)
        except (KeyError, TypeError, ValueError, AttributeError, IndexError):
            line = ""  # scraped data of an unexpected shape: fall back on the summary
    line = (one_line(line) or one_line(event.get("summary")) or one_line(event.get("item"))
            or str(event.get("type")))
    # `openwatch alerts test`: nobody may mistake it for a real change.
    return f"TEST: {line}" if (event.get("data") or {}).get("test") else line


def parameters_text(count: Any) -> str | None:
    from crawler.history.queries import parameters_text as text

    return text(count) if isinstance(count, int) and not isinstance(count, bool) else None


_LINK_LABELS = (("paper:arxiv/", "paper", "arXiv "), ("repo:github/", "code", ""), ("model:hf/", "weights", "HF "),
                ("model:ms/", "weights", "ModelScope "), ("release:github/", "release", ""), ("post:", "post", ""))


def evidence_text(links: Any) -> str | None:
    """`paper: arXiv 2501.12948 · code: deepseek-ai/DeepSeek-R1` from an event's `data.links`."""
    if not isinstance(links, list):
        return None
    parts: dict[str, list[str]] = {}
    for key in links[:20]:
        for prefix, label, shown in _LINK_LABELS:
            if isinstance(key, str) and key.startswith(prefix):
                parts.setdefault(label, []).append(shown + key.removeprefix(prefix))
                break
    return " · ".join(f"{label}: {', '.join(values[:3])}" for label, values in parts.items()) or None


def _excerpt(data: Mapping[str, Any]) -> str | None:
    text = data.get("diff") or data.get("excerpt")
    if not isinstance(text, str):
        return None
    text = multi_line(text[:4800]).strip()
    return text[:1200] or None


def event_view(event: Mapping[str, Any]) -> dict[str, Any]:
    """Plain (unescaped) strings for templates and Slack blocks; escaping happens at the edge."""
    data = event.get("data") or {}
    type_ = event.get("type") or ""
    view: dict[str, Any] = {
        "id": event.get("id"),
        "type": type_,
        "type_label": type_label(type_),
        "headline": headline(event),
        "summary": one_line(event.get("summary")),
        "url": one_line(event.get("url")) or None,
        "href": None,  # the URL only when it is http(s): no `javascript:` links in email
        "item": one_line(event.get("item")),
        "watch": one_line(event.get("watch")),
        "detected_at": one_line(event.get("detected_at")),
        "org": one_line(data.get("org")) or None,
        "country": one_line(data.get("country")) or None,
        "licence": None,
        "categories": None,
        "direction": None,
        "gating": None,
        "openness": one_line(data.get("openness")) or None,
        "parameters": parameters_text(data.get("parameters")),
        "evidence": one_line(evidence_text(data.get("links"))) or None,  # keys hold scraped names
        "excerpt": _excerpt(data),
        "test": bool(data.get("test")),
    }
    if view["url"] and _URL_OK.match(view["url"]):
        view["href"] = view["url"]
    described = event_type(type_)
    if described and described.licence:
        old, new = licence_change(event)
        view["licence"] = f"{one_line(old)} → {one_line(new)}"
        cats = category_change(event)
        if cats:
            view["categories"] = f"{one_line(cats[0])} → {one_line(cats[1])}"
        view["direction"] = one_line(data.get("direction")).replace("_", " ") or None
    elif data.get("license"):
        view["licence"] = one_line(data.get("license"))
        if data.get("category"):
            view["categories"] = one_line(data.get("category"))
    if type_ == "model.gating_changed":
        old, new = gating_change(event)
        view["gating"] = f"{one_line(old)} → {one_line(new)}"
    if view["summary"] == view["headline"]:
        view["summary"] = ""
    return view


# ---------------------------------------------------------------------------------------------
# Grouping (digests, and the body of grouped email)

@dataclass
class OrgGroup:
    org: str
    events: list[dict[str, Any]]

    @property
    def count(self) -> int:
        return len(self.events)


@dataclass
class TypeGroup:
    type: str
    label: str
    orgs: list[OrgGroup]

    @property
    def count(self) -> int:
        return sum(g.count for g in self.orgs)


NO_ORG = "(no organisation)"


def group_events(events: Sequence[Mapping[str, Any]]) -> list[TypeGroup]:
    """Events grouped by type (registry order), then by org (most events first, then name);
    events keep their order within a group. Each event is an `event_view`."""
    order = {t: i for i, t in enumerate(event_types())}
    by_type: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for event in events:
        view = event_view(event)
        by_type.setdefault(view["type"], {}).setdefault(view["org"] or NO_ORG, []).append(view)
    groups = []
    for type_ in sorted(by_type, key=lambda t: order.get(t, len(order))):
        orgs = [OrgGroup(org, evs) for org, evs in by_type[type_].items()]
        orgs.sort(key=lambda g: (-g.count, g.org == NO_ORG, g.org.casefold()))
        groups.append(TypeGroup(type_, type_label(type_), orgs))
    return groups


# ---------------------------------------------------------------------------------------------
# Slack (Block Kit, incoming webhooks)

class Rendered(NamedTuple):
    """One message to send and the events it carries (a delivery is sent when its message is)."""

    event_ids: tuple[str, ...]
    payload: Any


@dataclass(frozen=True)
class SlackLimits:
    """Block Kit limits: https://api.slack.com/reference/block-kit/blocks"""

    max_blocks: int = 50
    max_section_chars: int = 3000
    max_header_chars: int = 150
    max_fields: int = 10
    max_field_chars: int = 2000
    max_text_chars: int = 3000


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
    if not url or not _URL_OK.match(url):
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


# ---------------------------------------------------------------------------------------------
# Email

@functools.cache
def _templates() -> jinja2.Environment:
    """The template environment, built on first use. Autoescape is on for `.html` templates."""
    return jinja2.Environment(
        loader=jinja2.PackageLoader("alerts", "templates"),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default_for_string=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def email_subject(events: Sequence[Mapping[str, Any]], *, digest_title: str | None = None) -> str:
    """One event: what happened; several: counts per type. Never CR/LF (header injection)."""
    if digest_title:
        text = f"{SUBJECT_PREFIX} {digest_title}: {count_phrase(events)}"
    elif len(events) == 1:
        text = f"{SUBJECT_PREFIX} {headline(events[0])}"
    else:
        text = f"{SUBJECT_PREFIX} {count_phrase(events)}"
    return clip(one_line(text), MAX_SUBJECT_CHARS)


@dataclass(frozen=True)
class EmailParts:
    subject: str
    text: str
    html: str


def email_parts(
    events: Sequence[Mapping[str, Any]],
    *,
    subscription: str,
    digest_title: str | None = None,
) -> EmailParts:
    """Subject, plain text and HTML (autoescaped) for one event, a burst or a digest."""
    subject = email_subject(events, digest_title=digest_title)
    context = {
        "subject": subject,
        "title": subject.removeprefix(SUBJECT_PREFIX).strip(),
        "single": len(events) == 1 and not digest_title,
        "event": event_view(events[0]) if events else None,
        "groups": group_events(events),
        "count": len(events),
        "digest": bool(digest_title),
        "subscription": one_line(subscription),
    }
    env = _templates()
    return EmailParts(
        subject=subject,
        text=env.get_template("email.txt").render(context),
        html=env.get_template("email.html").render(context),
    )


# ---------------------------------------------------------------------------------------------
# Webhook

def webhook_body(event: Mapping[str, Any]) -> bytes:
    """The POST body: the public event object plus `schema_version`, compact UTF-8 JSON."""
    body = public_event(event) | {"schema_version": SCHEMA_VERSION}
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


# ---------------------------------------------------------------------------------------------
# Plain text (apprise and other text-only channels)

def plain_text(events: Sequence[Mapping[str, Any]], *, digest_title: str | None = None) -> tuple[str, str]:
    """(title, body) in plain text."""
    title = email_subject(events, digest_title=digest_title).removeprefix(SUBJECT_PREFIX).strip()
    lines = []
    for group in group_events(events):
        lines.append(f"{group.label} ({group.count})")
        for org in group.orgs:
            for view in org.events:
                line = f"- {view['headline']}"
                if view["url"]:
                    line += f" {view['url']}"
                lines.append(line)
    return title, "\n".join(lines)
