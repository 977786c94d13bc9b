"""The channel-neutral description of an event: its headline, counts, fields as plain text
(`event_view`), groups for digests, a message's title. Pure: no I/O, no clock. Used by every
channel (each builds its own payload in its file, `alerts/channels/`), the feed and the report.

Strings here are plain and unescaped (control characters and bidirectional overrides
removed): each edge escapes for its format (Slack mrkdwn, autoescaped HTML, XML).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence


from alerts.redaction import BIDI, LINK_URL, one_line
# The model source owns what gating and licence changes read as (seam: crawler/sources could
# export these without the underscore).
from crawler.sources._models import _gating as gating_text, _licences as licence_change
from crawler.sources import event_type, event_types

PUBLIC_FIELDS = ("id", "type", "item", "watch", "detected_at", "summary", "url", "before", "after", "data")

SUBJECT_PREFIX = "[openwatch]"
MAX_SUBJECT_CHARS = 200
_CONTROL_BUT_NEWLINES = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\x85]+")


# ---------------------------------------------------------------------------------------------
# The public event and its human description

def public_event(event: Mapping[str, Any]) -> dict[str, Any]:
    """The event object of DESIGN.md, without internal keys such as `dedupe_key`."""
    return {key: event.get(key) for key in PUBLIC_FIELDS} | {"data": dict(event.get("data") or {})}


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


def category_change(event: Mapping[str, Any]) -> tuple[str, str] | None:
    data = event.get("data") or {}
    old, new = data.get("category_before"), data.get("category_after")
    if old is None and new is None:
        return None
    return str(old or "unknown"), str(new or "unknown")


def gating_change(event: Mapping[str, Any]) -> tuple[str, str]:
    before, after = event.get("before") or {}, event.get("after") or {}
    return gating_text(before.get("gated")), gating_text(after.get("gated"))


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
    if view["url"] and LINK_URL.match(view["url"]):
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
# A message's title (email subjects, plain-text titles)

def email_subject(events: Sequence[Mapping[str, Any]], *, digest_title: str | None = None) -> str:
    """One event: what happened; several: counts per type. Never CR/LF (header injection)."""
    if digest_title:
        text = f"{SUBJECT_PREFIX} {digest_title}: {count_phrase(events)}"
    elif len(events) == 1:
        text = f"{SUBJECT_PREFIX} {headline(events[0])}"
    else:
        text = f"{SUBJECT_PREFIX} {count_phrase(events)}"
    return clip(one_line(text), MAX_SUBJECT_CHARS)
