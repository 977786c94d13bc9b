"""Feeds (RSS 2.0, RSS 1.0, Atom) -> post fields. Pure: bytes and a Content-Type in, dicts out.

    parse_feed(data: bytes, content_type: str | None = None) -> FeedPage
    post_key(watch, entry_id) -> "post:<watch>/<sha1 hex of entry_id>"
    feedparse(data, content_type) -> (feedparser's result, bozo, notes), hardened (github.py uses it)

One entry gives (every value a string or None unless said otherwise):

    entry_id   the entry's id (Atom <id>, RSS <guid>, RSS 1.0 rdf:about), else its link,
               else "sha1:<hex>" of title and published date: the stable identity of a post
    id_from    "id" | "link" | "hash": which of those it is
    title, link, author
    published, updated    ISO 8601 UTC (`Z`), None when absent or unreadable
    summary    the description or first content as sent (HTML kept as text, intact), capped
    summary_truncated     bool
    tags       list of category terms (may be [])

`FeedPage.bozo` is None for a feed read whole, else one line saying what was wrong with a
malformed one (the entries are then what could be read: mark the crawl partial). Bytes that
are not a feed at all raise `NotAFeed`; more than `MAX_BYTES` raise `FeedTooLarge`.

Hardening around feedparser (each has a test in tests/crawler/sources/test_feed.py):
- bytes go in as a stream: feedparser opens a *string* as a URL or a file name;
- the response's Content-Type goes in as a header, so a declared charset, an XML declaration
  (`ISO-8859-1` feeds exist) and RFC 3023's `text/xml` rules are weighed as feedparser does;
- a DOCTYPE's internal subset and every `<!ENTITY>` are removed before parsing: feedparser
  would re-insert "safe" entities, which can still expand quadratically; references to them
  stay as literal text (`&lol9;`) and the feed is reported bozo. External entities are never
  fetched (feedparser turns off external general entities, and nothing declares one now);
- whitespace runs before the root element are folded: feedparser's DOCTYPE regexes are
  quadratic in the number of blank lines there (60 kB of newlines took 17 s);
- numeric character references that no character has (`&#99999999999;`, surrogates,
  thousands of digits) become `&#xFFFD;`: feedparser's loose parser raises on them;
- HTML sanitising and relative-URI rewriting are off: text is stored as sent, and escaped
  by each channel. feedparser itself still strips surrounding whitespace, reads C1 control
  characters as the Windows-1252 ones they almost always are, and decodes again a string
  whose Latin-1 bytes are valid UTF-8 (its repair of double-encoded feeds).
- `feedparser.encodings.convert_to_utf8` is feedparser 6's own function (not public API);
  the UTF-16 and charset tests fail loudly if a new feedparser changes it.
"""

from __future__ import annotations

import hashlib
import io
import re
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Mapping

from crawler.sources._parsing import ParseError, capped, clean, looks_like_html, struct_time, text
from crawler.diff import event
from crawler.sources import Context, EventType, ItemKind, Source
from crawler.sources._text import model_mentions

MAX_BYTES = 5 * 1024 * 1024   # feedparser's loose parser runs ~6 µs/byte on hostile markup
MAX_ENTRIES = 1000
MAX_TITLE = 1000
MAX_URL = 2000
MAX_ID = 2000
MAX_AUTHOR = 500
MAX_SUMMARY = 20_000
MAX_TAG = 200
MAX_TAGS = 50
MAX_BOZO = 300
MAX_WATCH = 200

# feedparser notes that do not cost an entry: the charset was weighed differently from what
# the header said, or an XML feed was served as text/html.
BENIGN = frozenset({"CharacterEncodingOverride", "NonXMLContentType"})

_FIRST_ELEMENT = re.compile(rb"<\w")
_SPACE = re.compile(rb"\s+")
_CHARREF = re.compile(rb"&#(?:([0-9]+)|[xX]([0-9a-fA-F]+));")
_DOCTYPE = b"<!doctype"
_ENTITY = b"<!entity"


class FeedError(ParseError):
    """A feed that cannot be read (retryable: a cut-off or flaky answer)."""


class NotAFeed(FeedError):
    """The bytes are not RSS or Atom at all (an HTML error page, JSON, nothing)."""


class FeedTooLarge(FeedError):
    """More than `MAX_BYTES`: refused unparsed."""


@dataclass(frozen=True)
class FeedPage:
    """One feed document: its entries (newest first as sent), and what went wrong, if anything."""

    entries: list[dict[str, Any]]
    bozo: str | None = None
    title: str | None = None
    link: str | None = None
    version: str | None = None              # feedparser's: rss20, rss10, atom10, ...
    notes: tuple[str, ...] = field(default=())  # benign remarks (charset weighed, duplicates)


def post_key(watch: str, entry_id: str) -> str:
    """`post:<watch>/<sha1 hex of entry_id>`: stable across title edits and re-crawls."""
    if not isinstance(watch, str) or not watch or "/" in watch or len(watch) > MAX_WATCH:
        raise ValueError(f"watch name {watch!r} cannot be part of a key")
    if not isinstance(entry_id, str) or not entry_id:
        raise ValueError("an entry id is a non-empty string")
    return f"post:{watch}/{hashlib.sha1(clean(entry_id).encode('utf-8')).hexdigest()}"


def parse_feed(data: bytes, content_type: str | None = None) -> FeedPage:
    """Every entry of one feed document (see the module docstring for the fields)."""
    result, bozo, notes = feedparse(data, content_type)
    entries: list[dict[str, Any]] = []
    seen: set[str] = set()
    skipped = duplicates = 0
    for raw in result.get("entries") or ():
        fields = entry_fields(raw)
        if fields is None:
            skipped += 1
            continue
        if fields["entry_id"] in seen:
            duplicates += 1
            continue
        if len(entries) >= MAX_ENTRIES:
            bozo = bozo or f"more than {MAX_ENTRIES} entries: the first {MAX_ENTRIES} kept"
            break
        seen.add(fields["entry_id"])
        entries.append(fields)
    if skipped:
        bozo = bozo or f"{skipped} entries without id, link, title or date were skipped"
    if duplicates:
        notes = (*notes, f"{duplicates} entries repeat an earlier entry's id")
    feed = result.get("feed") or {}
    return FeedPage(
        entries=entries,
        bozo=bozo,
        title=text(feed.get("title"), MAX_TITLE),
        link=text(feed.get("link"), MAX_URL),
        version=text(result.get("version"), 20),
        notes=tuple(notes),
    )


def entry_fields(entry: Any) -> dict[str, Any] | None:
    """One feedparser entry -> post fields; None when nothing identifies it."""
    if not isinstance(entry, dict):
        return None
    get = partial(dict.get, entry)  # feedparser's own get() answers `updated` with `published`
    title = text(get("title"), MAX_TITLE)
    link = text(get("link"), MAX_URL)
    published = struct_time(get("published_parsed"))
    updated = struct_time(get("updated_parsed"))
    entry_id = text(get("id"), MAX_ID)
    id_from = "id"
    if entry_id is None and link is not None:
        entry_id, id_from = link, "link"
    if entry_id is None:
        if title is None and published is None:
            return None
        basis = f"{title or ''}\n{published or ''}".encode("utf-8")
        entry_id, id_from = "sha1:" + hashlib.sha1(basis).hexdigest(), "hash"
    summary = get("summary")
    if not isinstance(summary, str) or not summary:
        content = get("content")
        if isinstance(content, list) and content and isinstance(content[0], dict):
            summary = content[0].get("value")
    summary, truncated = capped(summary, MAX_SUMMARY)
    tags = []
    for tag in get("tags") if isinstance(get("tags"), list) else ():
        term = text(tag.get("term"), MAX_TAG) if isinstance(tag, dict) else None
        if term is not None and term not in tags:
            tags.append(term)
            if len(tags) >= MAX_TAGS:
                break
    return {
        "entry_id": entry_id,
        "id_from": id_from,
        "title": title,
        "link": link,
        "author": text(get("author"), MAX_AUTHOR),
        "published": published,
        "updated": updated,
        "summary": summary,
        "summary_truncated": truncated,
        "tags": tags,
    }


# -- feedparser, hardened ------------------------------------------------------------------


def feedparse(data: bytes, content_type: str | None = None) -> tuple[dict, str | None, tuple[str, ...]]:
    """feedparser's result for `data`, with the bozo line (None when read whole) and notes.

    Raises `NotAFeed`, `FeedTooLarge`, or `FeedError` if feedparser itself fails.
    """
    import feedparser
    from feedparser.encodings import convert_to_utf8

    if isinstance(data, (bytearray, memoryview)):
        data = bytes(data)
    if not isinstance(data, bytes):
        raise FeedError(f"a feed is bytes, not {type(data).__name__}")
    if len(data) > MAX_BYTES:
        raise FeedTooLarge(f"feed of {len(data)} bytes is over the {MAX_BYTES}-byte limit")
    if not data.strip():
        raise NotAFeed("empty answer: no feed")
    headers = {}
    if isinstance(content_type, str) and content_type.strip():
        headers["content-type"] = clean(content_type.strip()[:200])
    # feedparser's own charset rules (header, XML declaration, BOM, RFC 3023), run first so
    # that what follows sees UTF-8 whatever the feed was sent in (UTF-16 included).
    decoded: dict[str, Any] = {}
    try:
        data = convert_to_utf8(headers, data, decoded)
    except Exception as exc:  # noqa: BLE001 - feedparser internals on hostile bytes: a failed page
        raise FeedError(f"feed charset unreadable: {type(exc).__name__}") from exc
    data, declared_entities = defuse(data)
    try:
        result = feedparser.parse(
            io.BytesIO(data),
            response_headers={"content-type": "application/xml; charset=utf-8"},
            sanitize_html=False,
            resolve_relative_uris=False,
        )
    except Exception as exc:  # noqa: BLE001 - a parser bug on hostile bytes is a failed page, not a crash
        raise FeedError(f"feed parser failed: {type(exc).__name__}: {str(exc)[:200]}") from exc
    result["encoding"] = decoded.get("encoding") or result.get("encoding")

    bozo = None
    notes: list[str] = []
    for found in (decoded, result):
        problem = found.get("bozo_exception") if found.get("bozo") else None
        if problem is None:
            continue
        line = _describe(problem)
        if type(problem).__name__ in BENIGN:
            notes.append(line)
        else:
            bozo = bozo or line
    if declared_entities:
        bozo = bozo or "the feed declares XML entities; they were not expanded"
    if not result.get("version") and not result.get("entries"):
        if looks_like_html(data):
            raise NotAFeed("an HTML page, not an RSS or Atom feed")
        raise NotAFeed("not an RSS or Atom feed" + (f" ({bozo})" if bozo else ""))
    return result, bozo, tuple(notes)


def defuse(data: bytes) -> tuple[bytes, bool]:
    """`data` without entity declarations or a DOCTYPE internal subset, with the prolog's
    whitespace folded and impossible character references replaced; and whether entities
    were declared. Linear in the size of `data`."""
    data = _CHARREF.sub(_charref, data)
    first = _FIRST_ELEMENT.search(data)
    if first is None or first.start() == 0:
        return data, False
    head, body = data[: first.start()], data[first.start():]
    lower = head.lower()
    declared = False
    doctype = lower.find(_DOCTYPE)
    if doctype >= 0:
        close = lower.find(b">", doctype)
        bracket = lower.find(b"[", doctype)
        if bracket >= 0 and (close < 0 or bracket < close):
            declared = _ENTITY in lower[bracket:]
            end = lower.rfind(b"]")
            close = lower.find(b">", end) if end > bracket else -1
            if close < 0:
                head = head[:doctype]           # the subset runs into the document: drop it all
            else:
                head = head[:bracket] + b">" + head[close + 1:]
            lower = head.lower()
    if _ENTITY in lower:                        # stray declarations outside a DOCTYPE
        declared = True
        head = _drop_entities(head, lower)
    head = _SPACE.sub(lambda m: b"\n" if b"\n" in m.group(0) else b" ", head)
    return head + body, declared


def _drop_entities(head: bytes, lower: bytes) -> bytes:
    parts, pos = [], 0
    while True:
        start = lower.find(_ENTITY, pos)
        if start < 0:
            parts.append(head[pos:])
            break
        parts.append(head[pos:start])
        end = lower.find(b">", start)
        if end < 0:
            break
        pos = end + 1
    return b"".join(parts)


def _charref(match: re.Match[bytes]) -> bytes:
    dec, hexa = match.group(1), match.group(2)
    digits = dec if dec is not None else hexa
    if len(digits.lstrip(b"0")) > 7:
        return b"&#xFFFD;"
    value = int(digits.lstrip(b"0") or b"0", 10 if dec is not None else 16)
    if value > 0x10FFFF or 0xD800 <= value <= 0xDFFF:
        return b"&#xFFFD;"
    if len(digits) > 7:  # leading zeros: feedparser's int() refuses over 4,300 digits
        return b"&#%d;" % value
    return match.group(0)


def _describe(problem: BaseException) -> str:
    message = str(problem) or type(problem).__name__
    line = f"{type(problem).__name__}: {message}"
    return clean(" ".join(line.split()))[:MAX_BOZO]


# ---------------------------------------------------------------------------------------------
# The registry entry: options, item kinds, events (crawler/sources/__init__.py)

FEED_EVENTS = (
    EventType("post.published", "new post", "new posts",
              lambda e: f"New post: {(e.get('after') or {}).get('title') or ''}".strip(),
              help="a new entry in a watched feed (an entry edited later is not new)"),
)


class PostKind(ItemKind):
    name = "post"
    prefix = "post:"
    quiet = ("summary", "summary_truncated", "title", "updated", "tags", "author", "id_from")  # an edited entry is not new

    def normalise(self, raw: Mapping[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in raw.items() if v is not None}

    def org(self, fields: Mapping[str, Any]) -> str | None:
        return fields.get("org")

    def url(self, key: str, fields: Mapping[str, Any], endpoints: Mapping[str, str]) -> str | None:
        return fields.get("link")

    def columns(self, key: str, fields: Mapping[str, Any]) -> dict[str, Any]:
        return {"name": fields.get("title"), "license": None, "license_category": None, "gated": None, "sha": None}

    def links(self, key: str, fields: Mapping[str, Any]) -> list[tuple[str, str, str]]:
        text = f"{fields.get('summary') or ''} {fields.get('link') or ''}"
        return [(model, "announces", "feed entry") for model in model_mentions(text)]

    def added(self, ctx: Context, fields: Mapping[str, Any]) -> list[dict]:
        return [event(ctx, "post.published", str(fields.get("title") or fields.get("link") or "new post"),
                      after={k: fields.get(k) for k in ("title", "link", "published", "author") if fields.get(k)},
                      data={"feed": fields.get("feed"), "excerpt": (fields.get("summary") or "")[:500]})]


class FeedSource(Source):
    """Entries of RSS/Atom feeds: `urls = ["https://example.org/blog/index.xml"]`."""

    kind = "feed"
    order = 40
    keys = ("urls",)
    item_kinds = (PostKind(),)
    events = FEED_EVENTS
    spider = "crawler.spiders.feed.FeedSpider"
    settings = {"DOWNLOAD_MAXSIZE": MAX_BYTES}  # what the parser would refuse is not downloaded

    @classmethod
    def options(cls, read) -> dict[str, Any]:
        return {"urls": read.urls("urls")}

    @classmethod
    def units(cls, options: Mapping[str, Any]) -> tuple[str, ...]:
        return tuple(options["urls"])

    @classmethod
    def spider_args(cls, watch, endpoints: Mapping[str, str], prior: dict) -> dict[str, Any]:
        return {"watch": watch.name, "urls": list(watch.urls), "prior": prior}
