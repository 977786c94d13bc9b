"""RSS 2.0, RSS 1.0 and Atom feeds (lab blogs, project release feeds) with odd encodings.

Served at `emu.url + "/feeds/<name>"` (`emu.feed_url(name)`). Shapes follow the captured
feeds in ../shared/samples: Google DeepMind's blog (RSS 2.0 on one line, `atom:link`
self, `media:` elements, `guid` = the link) and golem.de's RSS 1.0 (`rdf:RDF`, `rdf:Seq` of
items, `dc:date`, `dc:creator`, `content:encoded` in CDATA) declared ISO-8859-1.

Encodings: a feed is encoded in `encoding` (characters it cannot hold become numeric
character references, as real ISO-8859-1 feeds do). With `declared=True` the XML
declaration names the encoding and the Content-Type carries `charset=`; with
`declared=False` neither does (`<?xml version="1.0"?>`, `Content-Type: application/rss+xml`),
which is how mislabelled Latin-1 feeds reach clients.

Each answer has a strong ETag (a hash of the bytes) and `Last-Modified` (the newest entry
update); `If-None-Match` / `If-Modified-Since` give 304. `edit_entry` keeps the entry's id
and changes its content (and `updated`): a reader must not take it for a new post.
`break_feed(name, how)` makes the document malformed: "entity" (an undefined entity and a
bare `&` in the newest entry's title), "tag" (a mismatched closing tag), "cut" (the document
stops inside the last entry, with an honest Content-Length). `set_raw(name, data)` serves
arbitrary bytes (hostile documents: entity expansion, external entities).
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import format_datetime
from html import escape

from .routing import Request, Response, Service, text_response
from .times import UTC, utcnow

KINDS = ("rss2", "rss1", "atom")
CONTENT_TYPES = {"rss2": "application/rss+xml", "rss1": "application/rdf+xml", "atom": "application/atom+xml"}
MALFORMED = ("entity", "tag", "cut")


@dataclass
class Entry:
    entry_id: str | None  # guid / rdf:about / atom:id; None for an RSS item without guid
    title: str
    link: str | None
    summary: str
    content: str | None
    published: datetime
    updated: datetime
    author: str | None
    categories: list[str] = field(default_factory=list)


@dataclass
class Feed:
    name: str
    kind: str
    encoding: str
    declared: bool
    title: str
    link: str
    description: str
    language: str
    created: datetime
    entries: list[Entry] = field(default_factory=list)
    malformed: str | None = None
    raw: bytes | None = None
    raw_content_type: str | None = None
    content_type: str | None = None

    def entry(self, entry_id: str) -> Entry:
        for entry in self.entries:
            if (entry.entry_id or entry.link) == entry_id:
                return entry
        raise KeyError(f"{self.name}: no entry {entry_id!r}")

    @property
    def last_modified(self) -> datetime:
        return max([self.created, *(e.updated for e in self.entries)])


class FeedWorld:
    """In-memory feeds; thread-safe (`self.lock`)."""

    def __init__(self, clock=None):
        self.clock = clock or utcnow
        self.lock = threading.RLock()
        self._feeds: dict[str, Feed] = {}
        self.version = 0

    def add_feed(self, name: str, *, kind: str = "rss2", encoding: str = "utf-8", declared: bool = True,
                 title: str | None = None, link: str | None = None, description: str = "",
                 language: str = "en-us", content_type: str | None = None) -> Feed:
        """A feed served at `/feeds/<name>`; `kind` is "rss2", "rss1" or "atom"."""
        if kind not in KINDS:
            raise ValueError(f"kind is one of {KINDS}")
        "".encode(encoding)  # LookupError for an unknown encoding, now rather than when served
        with self.lock:
            if name in self._feeds:
                raise ValueError(f"feed already exists: {name}")
            feed = Feed(name, kind, encoding, declared, title or name, link or f"https://example.org/{name}",
                        description, language, self.clock(), content_type=content_type)
            self._feeds[name] = feed
            self.version += 1
            return feed

    def add_entry(self, name: str, entry_id: str | None, *, title: str, link: str | None = None, summary: str = "",
                  content: str | None = None, published=None, updated=None, author: str | None = None,
                  categories=()) -> Entry:
        """A new post, newest first in the document. `entry_id` is the guid (RSS 2.0), the
        rdf:about (RSS 1.0) or the id (Atom); None leaves an RSS item without a guid."""
        with self.lock:
            feed = self._feeds[name]
            published = published or self.clock()
            entry = Entry(entry_id, title, link, summary, content, published, updated or published, author,
                          list(categories))
            if entry_id is None and link is None:
                raise ValueError("an entry needs an id or a link")
            feed.entries.insert(0, entry)
            self.version += 1
            return entry

    def edit_entry(self, name: str, entry_id: str, **changes) -> Entry:
        """Same id, new content (title, summary, content, link, author, categories); `updated`
        moves to now unless given."""
        allowed = {"title", "summary", "content", "link", "author", "categories", "updated"}
        if set(changes) - allowed:
            raise TypeError(f"edit_entry takes {sorted(allowed)}")
        with self.lock:
            entry = self._feeds[name].entry(entry_id)
            changes.setdefault("updated", self.clock())
            for key, value in changes.items():
                setattr(entry, key, value)
            self.version += 1
            return entry

    def remove_entry(self, name: str, entry_id: str) -> None:
        with self.lock:
            feed = self._feeds[name]
            feed.entries.remove(feed.entry(entry_id))
            self.version += 1

    def break_feed(self, name: str, how: str | None = "entity") -> None:
        """Serve the feed malformed ("entity", "tag", "cut"), or well-formed again (None)."""
        if how is not None and how not in MALFORMED:
            raise ValueError(f"how is one of {MALFORMED} or None")
        with self.lock:
            self._feeds[name].malformed = how
            self.version += 1

    def set_raw(self, name: str, data: bytes | None, content_type: str | None = None) -> None:
        """Serve `data` verbatim at the feed's URL (None: back to the rendered feed)."""
        with self.lock:
            feed = self._feeds[name]
            feed.raw, feed.raw_content_type = data, content_type
            self.version += 1

    def get(self, name: str) -> Feed:
        with self.lock:
            return self._feeds[name]

    def names(self) -> list[str]:
        with self.lock:
            return list(self._feeds)


# -- rendering --------------------------------------------------------------------------------


def _t(text: str | None) -> str:
    return escape(text or "", quote=False)


def _cdata(text: str) -> str:
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _rss2(feed: Feed, self_url: str, entries: list[Entry]) -> str:
    parts = [
        '<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom" xmlns:media="http://search.yahoo.com/mrss/" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:content="http://purl.org/rss/1.0/modules/content/">',
        f"<channel><title>{_t(feed.title)}</title><link>{_t(feed.link)}</link>",
        f"<description>{_t(feed.description)}</description>",
        f'<atom:link href="{escape(self_url)}" rel="self"/><language>{_t(feed.language)}</language>',
        f"<lastBuildDate>{format_datetime(feed.last_modified.astimezone(UTC))}</lastBuildDate>",
    ]
    for e in entries:
        parts.append(f"<item><title>{_t(e.title)}</title>")
        if e.link:
            parts.append(f"<link>{_t(e.link)}</link>")
        parts.append(f"<description>{_t(e.summary)}</description>")
        if e.content is not None:
            parts.append(f"<content:encoded>{_cdata(e.content)}</content:encoded>")
        if e.author:
            parts.append(f"<dc:creator>{_t(e.author)}</dc:creator>")
        parts += [f"<category>{_t(c)}</category>" for c in e.categories]
        parts.append(f"<pubDate>{format_datetime(e.published.astimezone(UTC))}</pubDate>")
        if e.entry_id is not None:
            permalink = "" if e.entry_id == e.link else ' isPermaLink="false"'
            parts.append(f"<guid{permalink}>{_t(e.entry_id)}</guid>")
        parts.append("</item>")
    parts.append("</channel></rss>")
    return "".join(parts)


def _rss1(feed: Feed, self_url: str, entries: list[Entry]) -> str:
    about = lambda e: escape(e.entry_id or e.link or "")  # noqa: E731
    lines = [
        "<rdf:RDF",
        '    xmlns="http://purl.org/rss/1.0/"',
        '    xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"',
        '    xmlns:content="http://purl.org/rss/1.0/modules/content/"',
        '    xmlns:dc="http://purl.org/dc/elements/1.1/"',
        '    xmlns:atom="http://www.w3.org/2005/Atom">',
        f'    <channel rdf:about="{escape(self_url)}">',
        f"        <title>{_t(feed.title)}</title>",
        f"        <description>{_t(feed.description)}</description>",
        f"        <link>{_t(feed.link)}</link>",
        f'        <atom:link rel="self" href="{escape(self_url)}" />',
        f"        <dc:date>{_iso(feed.last_modified)}</dc:date>",
        "        <items>",
        "            <rdf:Seq>",
        *(f'                <rdf:li rdf:resource="{about(e)}"/>' for e in entries),
        "            </rdf:Seq>",
        "        </items>",
        "    </channel>",
    ]
    for e in entries:
        lines += [f'    <item rdf:about="{about(e)}">', "        <dc:format>text/html</dc:format>",
                  f"        <dc:date>{_iso(e.updated)}</dc:date>"]
        if e.author:
            lines.append(f"        <dc:creator>{_t(e.author)}</dc:creator>")
        lines.append(f"        <title>{_t(e.title)}</title>")
        if e.link:
            lines.append(f"        <link>{_t(e.link)}</link>")
        lines.append(f"        <description>{_t(e.summary)}</description>")
        if e.content is not None:
            lines.append(f"        <content:encoded>{_cdata(e.content)}</content:encoded>")
        lines.append("    </item>")
    lines.append("</rdf:RDF>")
    return "\n".join(lines)


def _atom(feed: Feed, self_url: str, entries: list[Entry]) -> str:
    lines = [
        f'<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="{escape(feed.language)}">',
        f"  <title>{_t(feed.title)}</title>",
        f"  <id>{_t(feed.link)}</id>",
        f'  <link rel="alternate" type="text/html" href="{escape(feed.link)}"/>',
        f'  <link rel="self" type="application/atom+xml" href="{escape(self_url)}"/>',
        f"  <updated>{_iso(feed.last_modified)}</updated>",
    ]
    if feed.description:
        lines.append(f"  <subtitle>{_t(feed.description)}</subtitle>")
    for e in entries:
        lines += ["  <entry>", f"    <title>{_t(e.title)}</title>", f"    <id>{_t(e.entry_id or e.link)}</id>"]
        if e.link:
            lines.append(f'    <link rel="alternate" type="text/html" href="{escape(e.link)}"/>')
        lines += [f"    <published>{_iso(e.published)}</published>", f"    <updated>{_iso(e.updated)}</updated>"]
        if e.author:
            lines.append(f"    <author><name>{_t(e.author)}</name></author>")
        lines += [f'    <category term="{escape(c)}"/>' for c in e.categories]
        lines.append(f'    <summary type="html">{_t(e.summary)}</summary>')
        if e.content is not None:
            lines.append(f'    <content type="html">{_t(e.content)}</content>')
        lines.append("  </entry>")
    lines.append("</feed>")
    return "\n".join(lines)


def render(feed: Feed, self_url: str, *, empty: bool = False) -> bytes:
    """The document's bytes in the feed's encoding, broken as `feed.malformed` asks."""
    entries = [] if empty else list(feed.entries)
    body = {"rss2": _rss2, "rss1": _rss1, "atom": _atom}[feed.kind](feed, self_url, entries)
    if feed.malformed == "entity" and entries:
        body = body.replace(_t(entries[0].title), _t(entries[0].title) + " &nbsp;& more", 1)
    elif feed.malformed == "tag" and entries:
        body = body.replace(f"<title>{_t(entries[0].title)}</title>", f"<title>{_t(entries[0].title)}</titel>", 1)
    declaration = f'<?xml version="1.0" encoding="{feed.encoding.upper()}"?>' if feed.declared else '<?xml version="1.0"?>'
    data = (declaration + "\n" + body + "\n").encode(feed.encoding, "xmlcharrefreplace")
    if feed.malformed == "cut" and entries:
        marker = {"rss2": b"<item>", "rss1": b"<item ", "atom": b"<entry>"}[feed.kind]
        last = data.rfind(marker)
        data = data[: last + len(marker) + 40]
    return data


class FeedsService(Service):
    """Feeds over a `FeedWorld`, mounted at `/feeds` (one document per name)."""

    name = "feeds"
    prefix = "/feeds"

    def __init__(self, world: FeedWorld):
        super().__init__()
        self.world = world
        self.router.add(("GET", "HEAD"), r"^/(?P<name>.+)$", self.feed)

    def not_found(self, request: Request) -> Response:
        return text_response(404, "<html><body><h1>404 Not Found</h1></body></html>", "text/html; charset=utf-8")

    def error_response(self, status: int, request: Request) -> Response:
        return text_response(status, f"<html><body><h1>{status}</h1></body></html>", "text/html; charset=utf-8")

    def etag(self, response: Response) -> str:
        return f'"{hashlib.md5(response.body).hexdigest()}"'

    def feed(self, request: Request, name: str) -> Response:
        with self.world.lock:
            feed = self.world._feeds.get(name)
            if feed is None:
                return self.not_found(request)
            modified = format_datetime(feed.last_modified.astimezone(UTC), usegmt=True)
            if feed.raw is not None:
                content_type = feed.raw_content_type or CONTENT_TYPES[feed.kind]
                return Response(200, {"Content-Type": content_type, "Last-Modified": modified}, feed.raw)
            body = render(feed, request.url, empty=request.empty)
            content_type = feed.content_type or CONTENT_TYPES[feed.kind]
            if feed.declared and feed.content_type is None:
                content_type += f"; charset={feed.encoding.lower()}"
        return Response(200, {"Content-Type": content_type, "Last-Modified": modified}, body)
