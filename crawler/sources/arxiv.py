"""The arXiv export API (Atom) -> paper fields. Pure: bytes in, an `ArxivPage` or an error out.

    parse_feed(data: bytes) -> ArxivPage(papers, total_results, start, items_per_page, skipped)
    query_url(base, query, categories=(), start=0, max_results=100) -> str
    paper_key(arxiv_id) -> "paper:arxiv/<id without version>"
    split_id(text) -> (id, version) | None      "2401.12345v2", "hep-th/9901001", URLs, "arXiv:…"
    next_announcement(after) -> datetime         arXiv's next announcement strictly after `after`
    fresh_until(fetched) -> datetime             until when an answer fetched then is the newest

One paper (strings are None when absent; lists may be empty):

    id             "2104.12255" or "cond-mat/0603029": the version stripped
    version        int (the `vN` of the entry id) or None
    title          whitespace folded (a title "0" is a title)
    authors        every <author><name>, in order (feedparser's `entry.author` is the last only)
    abstract       whitespace folded
    categories     every <category term>, in order, duplicates dropped
    primary_category
    published, updated      ISO 8601 UTC (`Z`)
    links          {"abs": …, "pdf": …, "doi": …} (each None when absent)
    comment, journal_ref, doi
    url            https://arxiv.org/abs/<id> (unversioned, the same for every source)

Both formats arXiv has used parse to the same shape: namespaces declared per element (2016)
or once on <feed> (2026), http or https links, `primary_category` with or without `scheme`.
The parser is namespace-exact (ElementTree through defusedxml: a DOCTYPE, an entity
declaration or an external reference is refused before anything expands).

Errors, all `ArxivResponseError` (`_parsing.ParseError`):
- `ArxivError`: the API answered an error entry (id `…/api/errors#…`, title "Error"), e.g.
  a malformed query: not retryable; the query must change.
- `ArxivEmptyPage`: totalResults says there are entries past `start` but the page has none,
  arXiv's known flake: retry the same request; never read it as "no papers".
- `ArxivMalformed`: not XML, not Atom, cut off, or over `MAX_BYTES`: retryable.
"""

from __future__ import annotations

import csv
import difflib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone
from functools import cache
from importlib import resources
from typing import Any, Mapping
from urllib.parse import quote
from zoneinfo import ZoneInfo

from crawler.sources._parsing import ParseError, fold, looks_like_html, parse_time, text
from crawler.sources import Source
from crawler.sources._papers import PAPER_EVENTS, PaperKind
from crawler.rules import MAX_ANSWER_BYTES

ATOM = "{http://www.w3.org/2005/Atom}"
ARXIV = "{http://arxiv.org/schemas/atom}"
OPENSEARCH = "{http://a9.com/-/spec/opensearch/1.1/}"
ABS_URL = "https://arxiv.org/abs/"

MAX_BYTES = 32 * 1024 * 1024   # 2,000 entries (the API's largest page) are ~6 MB
MAX_RESULTS = 2000             # arXiv refuses larger pages
MAX_TITLE = 1000
MAX_ABSTRACT = 20_000
MAX_AUTHORS = 5000             # collaboration papers list thousands
MAX_NAME = 300
MAX_CATEGORIES = 50
MAX_COMMENT = 2000
MAX_URL = 2000
MAX_QUERY = 4000

# New-style ids (0704.0001 on: YYMM.NNNN, YYMM.NNNNN from 2015) and old-style ones
# (archive[.SUBJ]/YYMMNNN), as https://info.arxiv.org/help/arxiv_identifier.html describes.
_ID = re.compile(
    r"(?:^|(?<=[/:\s]))"
    r"(?P<id>[0-9]{4}\.[0-9]{4,5}|[a-z][a-z-]*(?:\.[A-Za-z]{2})?/[0-9]{7})"
    r"(?:v(?P<version>[0-9]{1,4}))?"
    r"(?=$|\W)"
)
_CATEGORY = re.compile(r"^[a-z][a-z-]*(?:\.[A-Za-z][A-Za-z-]*)?$")


# When the API's answers change: arXiv makes new submissions, replacements and cross-lists
# public at its announcement, Sunday to Thursday at 20:00 US Eastern, none on Friday or
# Saturday (https://info.arxiv.org/help/availability.html, "Announcement Schedule"; holidays
# aside: a missed announcement only costs one request). Computed in America/New_York, so
# 20:00 is 00:00 UTC in summer (EDT) and 01:00 UTC in winter (EST).
NEW_YORK = ZoneInfo("America/New_York")
ANNOUNCED_AT = time(20, 0)
ANNOUNCEMENT_DAYS = frozenset({6, 0, 1, 2, 3})  # date.weekday(): Sunday, Monday … Thursday
# The API may lag its announcement by some minutes (unverified): an answer fetched this soon
# after one is kept only until this much after it, never until the next announcement.
SETTLE = timedelta(hours=1)


def _announcements(start: datetime, step: int):
    """Announcements from `start`'s New York day on, forwards (step 1) or backwards (-1)."""
    day = start.astimezone(NEW_YORK).date()
    while True:
        if day.weekday() in ANNOUNCEMENT_DAYS:
            yield datetime.combine(day, ANNOUNCED_AT, NEW_YORK).astimezone(timezone.utc)
        day += timedelta(days=step)


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"an aware datetime, not the naive {moment.isoformat()}")
    return moment.astimezone(timezone.utc)


def next_announcement(after: datetime) -> datetime:
    """arXiv's first announcement strictly after `after` (aware), in UTC."""
    after = _aware(after)
    return next(a for a in _announcements(after, 1) if a > after)


def last_announcement(at: datetime) -> datetime:
    """arXiv's latest announcement at or before `at` (aware), in UTC."""
    at = _aware(at)
    return next(a for a in _announcements(at, -1) if a <= at)


def fresh_until(fetched: datetime) -> datetime:
    """An answer fetched at `fetched` stays the newest until the next announcement; one
    fetched within `SETTLE` of an announcement only until that settling ends."""
    settled = last_announcement(fetched) + SETTLE
    return settled if _aware(fetched) < settled else next_announcement(fetched)


@cache
def known_categories() -> frozenset[str]:
    """arXiv's category ids, as its taxonomy lists them (`crawler/data/arxiv_categories.csv`)."""
    text = resources.files("crawler").joinpath("data/arxiv_categories.csv").read_text(encoding="utf-8")
    rows = csv.DictReader(line for line in text.splitlines() if not line.startswith("#"))
    return frozenset(row["id"] for row in rows)


_CAT_TERM = re.compile(r"\bcat:\s*\(?\s*([^\s()\"]+)")


def unknown_categories(query: str) -> list[str]:
    """The `cat:` terms of a query that name no arXiv category (an archive, `cs` or `cs.*`,
    is every category in it)."""
    known = known_categories()
    archives = {c.split(".")[0] for c in known}
    return [cat for cat in _CAT_TERM.findall(query or "")
            if cat not in known and cat.removesuffix(".*") not in archives]


def _suggest(cat: str) -> str:
    close = difflib.get_close_matches(cat, sorted(known_categories()), n=1, cutoff=0.6)
    return (f'did you mean "{close[0]}"?' if close else
            'use an id of https://arxiv.org/category_taxonomy, e.g. "cs.CL"')


class ArxivResponseError(ParseError):
    """An arXiv answer that is not a page of papers."""


class ArxivError(ArxivResponseError):
    """arXiv answered an error entry: the query itself was refused."""

    retryable = False

    def __init__(self, message: str, error_id: str | None = None):
        super().__init__(message)
        self.error_id = error_id


class ArxivEmptyPage(ArxivResponseError):
    """A page with no entries where totalResults promises some: retry, never "no papers"."""

    def __init__(self, message: str, total_results: int, start: int):
        super().__init__(message)
        self.total_results = total_results
        self.start = start


class ArxivMalformed(ArxivResponseError):
    """Not an arXiv Atom feed (not XML, cut off, an HTML page, too large, or a DTD)."""


@dataclass(frozen=True)
class ArxivPage:
    papers: list[dict[str, Any]]
    total_results: int | None
    start: int | None
    items_per_page: int | None
    skipped: int = 0       # entries without a readable arXiv id (never silently a paper)


def split_id(value: Any) -> tuple[str, int | None] | None:
    """(id without version, version or None) from an id, `arXiv:` id, or abs/pdf URL."""
    if not isinstance(value, str):
        return None
    value = value.strip()[:MAX_URL]
    if value[:6].lower() == "arxiv:":
        value = value[6:]
    match = _ID.search(value)
    if match is None:
        return None
    version = match.group("version")
    return match.group("id"), int(version) if version else None


def paper_key(arxiv_id: str) -> str:
    """`paper:arxiv/<id without version>`; a ValueError for anything that is not an arXiv id."""
    found = split_id(arxiv_id)
    if found is None:
        raise ValueError(f"not an arXiv id: {str(arxiv_id)[:100]!r}")
    return f"paper:arxiv/{found[0]}"


def query_url(
    base: str,
    query: str | None,
    categories: Iterable[str] = (),
    start: int = 0,
    max_results: int = 100,
) -> str:
    """The export API URL for one page, newest submissions first.

    `categories` narrow the query: `(<query>) AND (cat:a OR cat:b)` (a paper in any of them).
    """
    if isinstance(categories, str):
        categories = [categories]
    cats = [c.strip() for c in categories]
    for cat in cats:
        if not _CATEGORY.match(cat):
            raise ValueError(f"not an arXiv category: {cat!r} (e.g. cs.CL, hep-th)")
    query = (query or "").strip()
    parts = []
    if query:
        parts.append(f"({query})" if cats else query)
    if cats:
        group = " OR ".join(f"cat:{c}" for c in cats)
        parts.append(f"({group})" if query and len(cats) > 1 else group)
    search = " AND ".join(parts)
    if not search:
        raise ValueError("an arXiv watch needs a query or categories")
    if len(search) > MAX_QUERY:
        raise ValueError(f"arXiv query over {MAX_QUERY} characters")
    if isinstance(start, bool) or not isinstance(start, int) or start < 0:
        raise ValueError(f"start must be an integer >= 0, not {start!r}")
    if isinstance(max_results, bool) or not isinstance(max_results, int) or not 1 <= max_results <= MAX_RESULTS:
        raise ValueError(f"max_results must be 1..{MAX_RESULTS}, not {max_results!r}")
    return (
        f"{base.rstrip('/')}/api/query?search_query={quote(search, safe='')}"
        f"&start={start}&max_results={max_results}&sortBy=submittedDate&sortOrder=descending"
    )


def parse_feed(data: bytes) -> ArxivPage:
    """The papers of one API page; raises an `ArxivResponseError` for anything else."""
    from xml.etree.ElementTree import ParseError as XMLParseError

    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import fromstring

    if isinstance(data, (bytearray, memoryview)):
        data = bytes(data)
    if not isinstance(data, bytes):
        raise ArxivMalformed(f"an arXiv answer is bytes, not {type(data).__name__}")
    if len(data) > MAX_BYTES:
        raise ArxivMalformed(f"answer of {len(data)} bytes is over the {MAX_BYTES}-byte limit")
    if not data.strip():
        raise ArxivMalformed("empty answer")
    if looks_like_html(data):
        raise ArxivMalformed("an HTML page, not an Atom feed")
    try:
        root = fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise ArxivMalformed(f"refused: {type(exc).__name__} (arXiv sends no DTD)") from exc
    except XMLParseError as exc:
        raise ArxivMalformed(f"not XML: {exc}") from exc
    except (ValueError, RecursionError, MemoryError) as exc:  # expat limits on hostile input
        raise ArxivMalformed(f"unreadable: {type(exc).__name__}") from exc
    if root.tag != ATOM + "feed":
        raise ArxivMalformed(f"not an Atom feed (root {str(root.tag)[:80]!r})")

    total = _count(root.findtext(OPENSEARCH + "totalResults"))
    start = _count(root.findtext(OPENSEARCH + "startIndex"))
    per_page = _count(root.findtext(OPENSEARCH + "itemsPerPage"))
    entries = root.findall(ATOM + "entry")
    papers: list[dict[str, Any]] = []
    seen: set[str] = set()
    skipped = 0
    for entry in entries:
        entry_id = entry.findtext(ATOM + "id") or ""
        if "/api/errors" in entry_id:
            message = fold(entry.findtext(ATOM + "summary"), 500) or "arXiv API error"
            raise ArxivError(f"arXiv refused the query: {message}", text(entry_id, MAX_URL))
        paper = paper_fields(entry)
        if paper is None:
            skipped += 1
        elif paper["id"] not in seen:
            seen.add(paper["id"])
            papers.append(paper)
    if not entries and total is not None and total > (start or 0):
        raise ArxivEmptyPage(
            f"arXiv returned no entries at start={start or 0} of {total} results (retry)", total, start or 0
        )
    return ArxivPage(papers=papers, total_results=total, start=start, items_per_page=per_page, skipped=skipped)


def paper_fields(entry: Any) -> dict[str, Any] | None:
    """One <entry> element -> paper fields; None when it has no arXiv id."""
    found = split_id(_abs_id(entry.findtext(ATOM + "id")))
    if found is None:
        return None
    arxiv_id, version = found
    authors = []
    for author in entry.findall(ATOM + "author"):
        name = fold(author.findtext(ATOM + "name"), MAX_NAME)
        if name is not None:
            authors.append(name)
            if len(authors) >= MAX_AUTHORS:
                break
    categories: list[str] = []
    for cat in entry.findall(ATOM + "category"):
        term = text(cat.get("term"), 100)
        if term is not None and term not in categories and len(categories) < MAX_CATEGORIES:
            categories.append(term)
    primary = entry.find(ARXIV + "primary_category")
    links = {"abs": None, "pdf": None, "doi": None}
    for link in entry.findall(ATOM + "link"):
        href = text(link.get("href"), MAX_URL)
        if href is None:
            continue
        rel, title, kind = link.get("rel"), link.get("title"), link.get("type")
        if title == "doi":
            links["doi"] = links["doi"] or href
        elif title == "pdf" or kind == "application/pdf":
            links["pdf"] = links["pdf"] or href
        elif rel in (None, "alternate"):
            links["abs"] = links["abs"] or href
    return {
        "id": arxiv_id,
        "version": version,
        "title": fold(entry.findtext(ATOM + "title"), MAX_TITLE),
        "authors": authors,
        "abstract": fold(entry.findtext(ATOM + "summary"), MAX_ABSTRACT),
        "categories": categories,
        "primary_category": text(primary.get("term"), 100) if primary is not None else None,
        "published": parse_time(entry.findtext(ATOM + "published")),
        "updated": parse_time(entry.findtext(ATOM + "updated")),
        "links": links,
        "comment": fold(entry.findtext(ARXIV + "comment"), MAX_COMMENT),
        "journal_ref": fold(entry.findtext(ARXIV + "journal_ref"), MAX_COMMENT),
        "doi": text(entry.findtext(ARXIV + "doi"), 300),
        "url": ABS_URL + arxiv_id,
    }


def _abs_id(value: Any) -> str | None:
    """An entry id is `http(s)://arxiv.org/abs/<id>vN`: only that form names a paper."""
    if not isinstance(value, str):
        return None
    value = value.strip()
    marker = value.find("arxiv.org/abs/")
    return value[marker + len("arxiv.org/abs/"):] if marker >= 0 else None


def _count(value: Any) -> int | None:
    if not isinstance(value, str):
        return None
    value = value.strip()
    if not value.isascii() or not value.isdigit() or len(value) > 12:
        return None
    return int(value)


# ---------------------------------------------------------------------------------------------
# The registry entry: options, item kinds, events (crawler/sources/__init__.py)

class ArxivSource(Source):
    """arXiv papers matching `query` (arXiv search syntax), optionally within `categories`.

    Polite by construction: one request every 3 s, one connection, an answer kept until
    arXiv's next announcement (Sunday to Thursday, 20:00 US Eastern) and at most `cache`.
    """

    kind = "arxiv"
    order = 30
    keys = ("query", "categories", "max_results", "cache")
    endpoints = {"arxiv": "https://export.arxiv.org"}
    item_kinds = (PaperKind(),)
    events = PAPER_EVENTS
    spider = "crawler.spiders.arxiv.ArxivSpider"
    settings = {
        "DOWNLOAD_DELAY": 3.0,
        "DOWNLOAD_DELAY_JITTER": 0,
        "CONCURRENT_REQUESTS": 1,
        "CONCURRENT_REQUESTS_PER_DOMAIN": 1,
        "HTTPCACHE_IGNORE_HTTP_CODES": [400, 403, 404, 408, 429, 500, 502, 503, 504],
        "DOWNLOAD_MAXSIZE": MAX_ANSWER_BYTES,  # the spider asks pages of 100: ~300 kB
        # arXiv does not redirect its API; a loop costs 3 s a hop at this pace (Scrapy: 20 hops).
        "REDIRECT_MAX_TIMES": 2,
    }

    @classmethod
    def crawl_settings(cls, watch) -> dict[str, Any]:
        # The API's answers change when arXiv announces (`next_announcement`): an answer is
        # kept until the next announcement, never past it, and at most `cache` (default a
        # day; "0s" asks every time).
        cache = watch.cache
        return dict(cls.settings) | {"HTTPCACHE_ENABLED": cache > 0, "HTTPCACHE_EXPIRATION_SECS": int(cache),
                                     "HTTPCACHE_POLICY": "crawler.middlewares.ArxivAnnouncementPolicy"}

    @classmethod
    def options(cls, read) -> dict[str, Any]:
        query = read.string("query", example="'abs:\"open-weight\" AND cat:cs.CL'")
        categories = tuple(read.string_list("categories", example='["cs.CL", "cs.LG"]')) if read.has("categories") else ()
        for n, cat in enumerate(categories):
            if unknown_categories(f"cat:{cat}"):
                raise read.error(("categories", n), f"{json.dumps(cat)} is not an arXiv category", _suggest(cat))
        unknown = unknown_categories(query)
        if unknown:
            raise read.error("query", f"cat:{unknown[0]} is not an arXiv category", _suggest(unknown[0]))
        return {"query": query, "categories": categories,
                "max_results": read.integer("max_results", default=200, minimum=1, maximum=2000),
                "cache": read.duration("cache", default=86400.0, example='"1d"')}

    @classmethod
    def units(cls, options: Mapping[str, Any]) -> tuple[str, ...]:
        return (options["query"],)

    @classmethod
    def spider_args(cls, watch, endpoints: Mapping[str, str], prior: dict) -> dict[str, Any]:
        return {"watch": watch.name, "query": watch.query, "categories": list(watch.categories),
                "max_results": watch.max_results, "prior": prior, "endpoint": endpoints.get("arxiv")}
