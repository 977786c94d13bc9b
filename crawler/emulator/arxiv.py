"""arXiv's export API (`/api/query`) over a scriptable set of papers, in its current Atom format.

Shaped by the answers recorded in April 2026 (../shared/samples/arxiv_api_*_2026*.json and
lukasschwab/arxiv.py's fixtures) and by arXiv's own implementation of the classic API
(arXiv/arxiv-search: search/controllers/classic_api, search/domain/classic_api,
search/serialize/atom.py):

- the feed declares its namespaces on `<feed>`; `<id>https://arxiv.org/api/<27 chars>`
  (base64 of the SHA-1 of the query string); `<title>arXiv Query: search_query=...&id_list=
  ...&start=...&max_results=...</title>` with the query as arXiv rewrote it; one `<link>`;
  `opensearch:itemsPerPage`, `totalResults`, `startIndex`;
- each entry: `<id>http://arxiv.org/abs/<id>v<n></id>`, title, `<updated>` (this version),
  alternate and pdf links, summary, categories (primary first), `<published>` (version 1),
  then `arxiv:comment`, `arxiv:primary_category` (no scheme), `arxiv:journal_ref`, authors
  (`arxiv:affiliation` inside when known), `arxiv:doi` and its link;
- errors are HTTP 400 with a feed holding one `<entry>` whose title is "Error" and whose id
  is `https://arxiv.org/api/errors#<slug>` (e.g. `incorrect_id_format_for_abc`,
  `start_must_be_non-negative`, `max_results_must_be_an_integer`); a query that does not
  parse is "Invalid query string: '<query>'"; neither `search_query` nor `id_list` is
  "Either a search_query or id_list must be specified for the classic API.";
- `start` / `max_results` (default 10, at most 2000 per request), `sortBy` (`relevance`,
  `lastUpdatedDate`, `submittedDate`) and `sortOrder` (`descending`, `ascending`).

The query matcher follows the classic syntax closely enough for realistic queries:
field prefixes `all:`, `ti:`, `abs:`, `au:`, `co:`, `jr:`, `cat:`, `id:`, `doi:`, `rn:` and
`submittedDate:[YYYYMMDDHHMM TO YYYYMMDDHHMM]`; `AND`, `OR`, `ANDNOT` (and `NOT`) applied left
to right; parentheses, also after a prefix (`ti:(llm OR reasoning)`); quoted phrases. As arXiv
rewrites it: a bare word gets `all:`, a missing operator is `OR`, `au:del_maestro` is the
phrase "del maestro". A word matches a word of the field that starts with it (a stand-in for
arXiv's stemming: "model" finds "models"); a phrase matches the words in sequence; case is
ignored; `cat:cs.*` is a wildcard. Relevance is the number of matched terms, then newest.

`ArxivWorld(clock, schedule=True)` keeps arXiv's announcement schedule
(https://info.arxiv.org/help/availability.html): a paper submitted before a weekday's 14:00
US Eastern deadline is public from that evening's 20:00 announcement (Friday's from Sunday's),
driven by the world's injected clock; revisions show at once.

Entry links meant for following (alternate, pdf, the feed's link) point at the emulator
(`/arxiv/abs/...`, `/arxiv/pdf/...`); entry ids keep arXiv's form, as they are identifiers.
Faults: `Fault.empty_listing(r"^/arxiv/api/query")` is arXiv's spurious empty page (200,
`totalResults` > 0, no entries); `Fault.arxiv_error(...)` an error entry. With
`min_interval` set on the service, a request sooner than that after the previous one
answers 429 "Rate exceeded." (arXiv asks for one request every 3 seconds).
"""

from __future__ import annotations

import base64
import hashlib
import re
import threading
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from html import escape
from urllib.parse import quote
from zoneinfo import ZoneInfo

from .routing import Request, Response, Service, text_response
from .times import UTC, utcnow

MAX_RESULTS = 2000
NEW_YORK = ZoneInfo("America/New_York")
DEADLINE = time(14, 0)      # submissions received by 14:00 US Eastern ...
ANNOUNCEMENT = time(20, 0)  # ... are announced at 20:00 (Sunday to Thursday)
SORT_BY = ("relevance", "lastUpdatedDate", "submittedDate")
SORT_ORDER = ("descending", "ascending")
NEW_ID = re.compile(r"^\d{4}\.\d{4,5}(v\d+)?$")
OLD_ID = re.compile(r"^[a-z-]+(\.[A-Z]{2})?/\d{7}(v\d+)?$")
ATOM = "application/atom+xml; charset=utf-8"
NAMESPACES = ('xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/" xmlns:arxiv="http://arxiv.org/schemas/atom" '
              'xmlns="http://www.w3.org/2005/Atom"')


def _time(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Author:
    name: str
    affiliation: str | None = None


@dataclass
class Paper:
    """One arXiv paper at its latest version; change it through `ArxivWorld`."""

    arxiv_id: str  # without version: "2501.12948"
    version: int
    title: str
    authors: list[Author]
    abstract: str
    categories: list[str]  # primary first
    comment: str | None
    journal_ref: str | None
    doi: str | None
    published: datetime  # version 1
    updated: datetime  # this version
    report_number: str | None = None
    seq: int = 0
    versions: list[datetime] = field(default_factory=list)
    announced_at: datetime | None = None  # public from then (a world that keeps the schedule)

    @property
    def versioned_id(self) -> str:
        return f"{self.arxiv_id}v{self.version}"

    def field_text(self, name: str) -> list[str]:
        """The texts a field prefix searches."""
        if name == "ti":
            return [self.title]
        if name == "abs":
            return [self.abstract]
        if name == "au":
            return [a.name for a in self.authors]
        if name == "co":
            return [self.comment or ""]
        if name == "jr":
            return [self.journal_ref or ""]
        if name == "rn":
            return [self.report_number or ""]
        if name == "doi":
            return [self.doi or ""]
        if name == "all":
            return [self.title, self.abstract, *(a.name for a in self.authors), self.comment or "",
                    self.journal_ref or "", *self.categories]
        return []


def announcement_of(submitted: datetime) -> datetime:
    """When arXiv makes a submission public (https://info.arxiv.org/help/availability.html,
    all times US Eastern): received Monday 14:00 to Tuesday 14:00, announced Tuesday 20:00;
    likewise up to Thursday 14:00 to Friday 14:00, announced Sunday 20:00; Friday 14:00 to
    Monday 14:00, announced Monday 20:00. Holidays aside. In UTC."""
    local = submitted.astimezone(NEW_YORK)
    deadline = local.date() + timedelta(days=1 if local.time() >= DEADLINE else 0)
    while deadline.weekday() >= 5:  # no deadline on Saturday or Sunday: Monday's
        deadline += timedelta(days=1)
    day = deadline + timedelta(days=2 if deadline.weekday() == 4 else 0)  # Friday's: Sunday
    return datetime.combine(day, ANNOUNCEMENT, NEW_YORK).astimezone(UTC)


class ArxivWorld:
    """In-memory arXiv: papers added and revised; thread-safe (`self.lock`).

    With `schedule=True` the world keeps arXiv's announcement schedule: a paper added (at
    `published`, default the world's `clock()`) is served from `announcement_of(published)`
    on, as the real API does; without it, at once.
    """

    def __init__(self, clock=None, *, schedule: bool = False):
        self.clock = clock or utcnow
        self.schedule = schedule
        self.lock = threading.RLock()
        self._papers: dict[str, Paper] = {}
        self.version = 0

    def add_paper(self, arxiv_id: str, *, title: str, authors=(), abstract: str = "", categories=("cs.CL",),
                  primary_category: str | None = None, comment: str | None = None, journal_ref: str | None = None,
                  doi: str | None = None, published=None, updated=None, version: int = 1,
                  report_number: str | None = None) -> Paper:
        """Add a paper (`arxiv_id` without "vN"; `version` is its current version).

        `authors`: names, or (name, affiliation) pairs. Links to code or weights go where
        authors put them, in `abstract` or `comment` ("Code: https://github.com/...").
        `published` is version 1's date (default now), `updated` this version's.
        """
        if not (NEW_ID.match(arxiv_id) or OLD_ID.match(arxiv_id)) or "v" in arxiv_id.split("/")[-1]:
            raise ValueError(f"an arXiv id without version, such as 2501.12948: {arxiv_id!r}")
        with self.lock:
            if arxiv_id in self._papers:
                raise ValueError(f"paper already exists: {arxiv_id}")
            now = self.clock()
            published = published or now
            cats = list(categories)
            if primary_category:
                cats = [primary_category, *(c for c in cats if c != primary_category)]
            paper = Paper(arxiv_id, int(version), title, [_author(a) for a in authors], abstract, cats, comment,
                          journal_ref, doi, published, updated or published, report_number, len(self._papers) + 1)
            paper.versions = [published] + [paper.updated] * (paper.version - 1)
            paper.announced_at = announcement_of(published) if self.schedule else None
            self._papers[arxiv_id] = paper
            self.version += 1
            return paper

    def revise_paper(self, arxiv_id: str, *, updated=None, **changes) -> Paper:
        """A new version (v2, v3, ...): same id, new `updated`; `changes` may set title,
        abstract, comment, authors, categories, journal_ref, doi."""
        allowed = {"title", "abstract", "comment", "authors", "categories", "journal_ref", "doi"}
        if set(changes) - allowed:
            raise TypeError(f"revise_paper takes {sorted(allowed)}")
        with self.lock:
            paper = self._papers[arxiv_id]
            for key, value in changes.items():
                if key == "authors":
                    value = [_author(a) for a in value]
                elif key == "categories":
                    value = list(value)
                setattr(paper, key, value)
            paper.version += 1
            paper.updated = updated or self.clock()
            paper.versions.append(paper.updated)
            self.version += 1
            return paper

    def remove_paper(self, arxiv_id: str) -> None:
        with self.lock:
            del self._papers[arxiv_id]
            self.version += 1

    def get(self, arxiv_id: str) -> Paper:
        with self.lock:
            return self._papers[arxiv_id]

    def papers(self) -> list[Paper]:
        with self.lock:
            return list(self._papers.values())

    def public_papers(self) -> list[Paper]:
        """The papers announced by now (all of them without `schedule`)."""
        with self.lock:
            now = self.clock()
            return [p for p in self._papers.values() if p.announced_at is None or p.announced_at <= now]

    def populate(self, n: int, *, category: str = "cs.CL", start=None, prefix: str = "2507",
                 title: str = "Open-weight language models at scale, part {i}") -> list[str]:
        """`n` papers `<prefix>.<00001..>` in `category`, one hour apart from `start`."""
        from datetime import timedelta

        with self.lock:
            begin = start or self.clock() - timedelta(hours=n)
            ids = []
            for i in range(1, n + 1):
                arxiv_id = f"{prefix}.{i:05d}"
                if arxiv_id in self._papers:
                    continue
                self.add_paper(arxiv_id, title=title.format(i=i), authors=[f"Author {i}", "A. N. Other"],
                               abstract=f"We study open-weight models, experiment {i}.", categories=[category],
                               published=begin + timedelta(hours=i))
                ids.append(arxiv_id)
            return ids


def _author(value) -> Author:
    if isinstance(value, Author):
        return value
    if isinstance(value, str):
        return Author(value)
    if isinstance(value, dict):
        return Author(value["name"], value.get("affiliation"))
    name, affiliation = value
    return Author(name, affiliation)


# -- the query language -----------------------------------------------------------------------

FIELDS = ("ti", "au", "abs", "co", "jr", "cat", "rn", "id", "doi", "submittedDate", "all")
OPERATORS = ("AND", "ANDNOT", "NOT", "OR")
_PREFIXES = [f"{f}:" for f in ("abs", "all", "au", "cat", "co", "doi", "id", "jr", "lastUpdatedDate", "rn",
                                  "submittedDate", "ti", "title")]
# The tokenizer arXiv uses (search/domain/classic_api/classic_search_query.py), order matters.
_TOKENS = re.compile(r'"[^"]*"|[()]|\b(?:AND|ANDNOT|NOT|OR)\b(?=[()\s]|$)|'
                     + "|".join(re.escape(p) for p in _PREFIXES) + r'|[^"()\s]+')
_DATES = re.compile(r"submittedDate:\[([\d-]{4,14}) TO ([\d-]{4,14})\]")


class QueryError(ValueError):
    """A search_query arXiv would refuse: answered as a 400 error entry."""


@dataclass
class Term:
    field: str
    value: str


def _fill_date(d: str, start: bool) -> str:
    import calendar

    d = d[:12]
    if len(d) == 4:
        d += "0101" if start else "1231"
    if len(d) == 6:
        d += "01" if start else f"{calendar.monthrange(int(d[:4]), int(d[4:6]))[1]:02d}"
    if len(d) == 8:
        d += "0000" if start else "2359"
    return d


def adapt(query: str) -> list[tuple[str, str]]:
    """Tokens of `query` after arXiv's rewrites, in arXiv's order (classic_search_query.py
    `reformat`): NOT -> ANDNOT; `ti:(a b)` -> `(ti:a ti:b)`; a bare word gets `all:`; of two
    operators in a row the second wins; a missing operator is OR; `au:a_b` is `au:"a b"`;
    `title:` is `ti:`; a prefix without a word is dropped. Kinds: PREFIX, OP, (, ), TEXT."""
    query = query.replace("\r", " ").replace("\n", " ").replace("lastUpdatedDate:", "submittedDate:")
    query = _DATES.sub(lambda m: f'submittedDate:"{_fill_date(m.group(1), True)} TO {_fill_date(m.group(2), False)}"',
                       query)
    tokens: list[list[str]] = []
    for word in _TOKENS.findall(query):
        kind = "OP" if word in OPERATORS else "PREFIX" if word in _PREFIXES else word if word in "()" else "TEXT"
        tokens.append([kind, word])
    # NOT and AND NOT -> ANDNOT
    merged: list[list[str]] = []
    for token in tokens:
        if token == ["OP", "NOT"]:
            if merged and merged[-1] == ["OP", "AND"]:
                merged.pop()
            token = ["OP", "ANDNOT"]
        merged.append(token)
    # prefix(...) -> (prefix:word ...)
    spread: list[list[str]] = []
    outer, depth = None, 0
    for token in merged:
        if outer is None and token[0] == "(" and spread and spread[-1][0] == "PREFIX":
            outer, depth = spread.pop()[1], 0
        if outer is not None:
            if token[0] == "(":
                depth += 1
            elif token[0] == ")":
                depth -= 1
                if depth == 0:
                    spread.append(token)
                    outer = None
                    continue
            elif token[0] == "TEXT" and not (spread and spread[-1][0] == "PREFIX"):
                spread.append(["PREFIX", outer])
        spread.append(token)
    # bare words -> all:word
    prefixed: list[list[str]] = []
    for token in spread:
        if token[0] == "TEXT" and not (prefixed and prefixed[-1][0] == "PREFIX"):
            prefixed.append(["PREFIX", "all:"])
        prefixed.append(token)
    # OP OP -> the second
    single: list[list[str]] = []
    for token in prefixed:
        if token[0] == "OP" and single and single[-1][0] == "OP":
            single.pop()
        single.append(token)
    # missing operators -> OR
    joined: list[list[str]] = []
    for token in single:
        if joined:
            prev = joined[-1][0]
            if (prev == "PREFIX" and token[0] == "PREFIX") or (prev in (")", "TEXT") and token[0] in ("PREFIX", "(", "TEXT")):
                joined.append(["OP", "OR"])
        joined.append(token)
    for i, token in enumerate(joined):
        if token[0] == "TEXT" and i and joined[i - 1] == ["PREFIX", "au:"] and "_" in token[1]:
            token[1] = '"' + token[1].strip('"').replace("_", " ") + '"'
        if token == ["PREFIX", "title:"]:
            token[1] = "ti:"
    out = [(kind, text) for i, (kind, text) in enumerate(joined)
           if not (kind == "PREFIX" and (i + 1 >= len(joined) or joined[i + 1][0] != "TEXT"))]
    return out


def normalised(tokens: list[tuple[str, str]]) -> str:
    """The rewritten query as arXiv prints it in the feed title (`tokens_into_query`)."""
    parts: list[str] = []
    previous = None
    for kind, text in tokens:
        if previous is not None and not ((previous == "(" and kind == "PREFIX") or (previous == "TEXT" and kind == ")")
                                         or (previous == "PREFIX" and kind == "TEXT")):
            parts.append(" ")
        parts.append(text)
        previous = kind
    return "".join(parts)


def parse(query: str):
    """The query as a tree: Term, ("ANDNOT", x) or (op, left, right). QueryError if malformed."""
    tokens = adapt(query)
    text = normalised(tokens)
    position = 0

    def fail():
        raise QueryError(f"Invalid query string: '{text}'")

    def primary():
        nonlocal position
        if position >= len(tokens):
            fail()
        kind, value = tokens[position]
        if kind == "OP" and value == "ANDNOT":
            position += 1
            return ("ANDNOT", primary())
        if kind == "(":
            position += 1
            inner = expression()
            if position >= len(tokens) or tokens[position][0] != ")":
                fail()
            position += 1
            return inner
        if kind == "PREFIX" and position + 1 < len(tokens) and tokens[position + 1][0] == "TEXT":
            position += 2
            name = value[:-1]
            if name not in FIELDS:
                fail()
            return Term(name, tokens[position - 1][1])
        fail()

    def expression():
        nonlocal position
        left = primary()
        while position < len(tokens) and tokens[position][0] == "OP":
            op = tokens[position][1]
            position += 1
            left = (op, left, primary())
        return left

    if not tokens:
        return None
    tree = expression()
    if position != len(tokens):
        fail()
    return tree


def _words(text: str) -> list[str]:
    return re.findall(r"[\w.+-]+", text.lower())


def _term_hits(term: Term, paper: Paper) -> int:
    value = term.value
    if term.field == "cat":
        wanted = value.strip('"').lower()
        cats = [c.lower() for c in paper.categories]
        if wanted.endswith("*"):
            return int(any(c.startswith(wanted[:-1]) for c in cats))
        return int(wanted in cats)
    if term.field == "id":
        wanted = value.strip('"')
        return int(wanted in (paper.arxiv_id, paper.versioned_id))
    if term.field == "submittedDate":
        low, _, high = value.strip('"').partition(" TO ")
        stamp = paper.published.astimezone(UTC).strftime("%Y%m%d%H%M")
        return int(low <= stamp <= high)
    texts = paper.field_text(term.field)
    if value.startswith('"') and value.endswith('"') and len(value) > 1:
        phrase = _words(value[1:-1])
        if not phrase:
            return 0
        hits = 0
        for text in texts:
            words = _words(text)
            for i in range(len(words) - len(phrase) + 1):
                if all(words[i + j].startswith(p) if j == len(phrase) - 1 else words[i + j] == p
                       for j, p in enumerate(phrase)):
                    hits += 1
        return hits
    needle = value.lower().rstrip("*")
    parts = _words(needle)
    if not parts:
        return 0
    if len(parts) > 1:  # "gpt-4o" style tokens split like the text is
        return _term_hits(Term(term.field, f'"{needle}"'), paper)
    return sum(1 for text in texts for word in _words(text) if word.startswith(parts[0]))


def score(tree, paper: Paper) -> int:
    """0 when the paper does not match, else the number of matched terms (for relevance)."""
    if tree is None:
        return 0
    if isinstance(tree, Term):
        return _term_hits(tree, paper)
    if tree[0] == "ANDNOT" and len(tree) == 2:
        return 0 if score(tree[1], paper) else 1
    op, left, right = tree
    a, b = score(left, paper), score(right, paper)
    if op == "AND":
        return a + b if a and b else 0
    if op == "OR":
        return a + b
    return a if a and not b else 0  # ANDNOT


# -- Atom -------------------------------------------------------------------------------------


def error_feed(message: str, slug: str | None = None, updated: datetime | None = None) -> str:
    """arXiv's error answer: one entry titled "Error" (samples/arxiv_api_error_entry_...)."""
    link = "https://arxiv.org/api/errors" + (f"#{slug}" if slug else "")
    stamp = _time(updated or utcnow())
    return "\n".join([
        "<?xml version='1.0' encoding='UTF-8'?>",
        f"<feed {NAMESPACES}>",
        "  <id>https://arxiv.org/</id>",
        "  <title>arXiv Search Results</title>",
        f"  <updated>{stamp}</updated>",
        "  <opensearch:itemsPerPage>1</opensearch:itemsPerPage>",
        "  <opensearch:totalResults>1</opensearch:totalResults>",
        "  <opensearch:startIndex>0</opensearch:startIndex>",
        "  <entry>",
        f"    <id>{escape(link)}</id>",
        "    <title>Error</title>",
        f"    <updated>{stamp}</updated>",
        f'    <link href="{escape(link)}" rel="alternate" type="text/html"/>',
        f"    <summary>{escape(message, quote=False)}</summary>",
        "    <author>",
        "      <name>arXiv api core</name>",
        "    </author>",
        "  </entry>",
        "</feed>",
        "",
    ])


def _entry(paper: Paper, root: str) -> list[str]:
    esc = escape
    vid = paper.versioned_id
    lines = [
        "  <entry>",
        f"    <id>http://arxiv.org/abs/{vid}</id>",
        f"    <title>{esc(paper.title, quote=False)}</title>",
        f"    <updated>{_time(paper.updated)}</updated>",
        f'    <link href="{esc(root)}/abs/{vid}" rel="alternate" type="text/html"/>',
        f'    <link href="{esc(root)}/pdf/{vid}" rel="related" type="application/pdf" title="pdf"/>',
        f"    <summary>{esc(paper.abstract, quote=False)}</summary>",
    ]
    lines += [f'    <category term="{esc(c)}" scheme="http://arxiv.org/schemas/atom"/>' for c in paper.categories]
    lines.append(f"    <published>{_time(paper.published)}</published>")
    if paper.comment:
        lines.append(f"    <arxiv:comment>{esc(paper.comment, quote=False)}</arxiv:comment>")
    if paper.categories:
        lines.append(f'    <arxiv:primary_category term="{esc(paper.categories[0])}"/>')
    if paper.journal_ref:
        lines.append(f"    <arxiv:journal_ref>{esc(paper.journal_ref, quote=False)}</arxiv:journal_ref>")
    for author in paper.authors:
        lines += ["    <author>", f"      <name>{esc(author.name, quote=False)}</name>"]
        if author.affiliation:
            lines.append(f"      <arxiv:affiliation>{esc(author.affiliation, quote=False)}</arxiv:affiliation>")
        lines.append("    </author>")
    if paper.doi:
        lines += [f"    <arxiv:doi>{esc(paper.doi, quote=False)}</arxiv:doi>",
                  f'    <link rel="related" href="https://doi.org/{esc(paper.doi)}" title="doi"/>']
    lines.append("  </entry>")
    return lines


def results_feed(papers: list[Paper], total: int, *, query_text: str, id_list: str, start: int, size: int,
                 root: str, updated: datetime) -> str:
    query_string = f"search_query={query_text}&id_list={id_list}&start={start}&max_results={size}"
    search_id = base64.b64encode(hashlib.sha1(query_string.encode("utf-8")).digest()).decode()[:-1]
    link = (f"{root}/api/query?search_query={quote(query_text, safe=':')}&start={start}&max_results={size}"
            f"&id_list={quote(id_list, safe=',')}")
    lines = [
        "<?xml version='1.0' encoding='UTF-8'?>",
        f"<feed {NAMESPACES}>",
        f"  <id>https://arxiv.org/api/{search_id}</id>",
        f"  <title>arXiv Query: {escape(query_string, quote=False)}</title>",
        f"  <updated>{_time(updated)}</updated>",
        f'  <link href="{escape(link)}" type="application/atom+xml"/>',
        f"  <opensearch:itemsPerPage>{size}</opensearch:itemsPerPage>",
        f"  <opensearch:totalResults>{total}</opensearch:totalResults>",
        f"  <opensearch:startIndex>{start}</opensearch:startIndex>",
    ]
    for paper in papers:
        lines += _entry(paper, root)
    lines += ["</feed>", ""]
    return "\n".join(lines)


# -- the service ------------------------------------------------------------------------------


def _error(message: str, slug: str | None = None) -> Response:
    return Response(400, {"Content-Type": ATOM}, error_feed(message, slug).encode("utf-8"))


class ArxivService(Service):
    """export.arxiv.org over an `ArxivWorld`, mounted at `/arxiv`."""

    name = "arxiv"
    prefix = "/arxiv"

    def __init__(self, world: ArxivWorld, *, clock=None, min_interval: float | None = None):
        super().__init__()
        self.world = world
        self.min_interval = min_interval
        self._clock = clock
        self._last_arrival: float | None = None
        self._lock = threading.Lock()
        both = ("GET", "HEAD", "POST")
        self.router.add(both, r"^/api/query/?$", self.query)
        self.router.add(("GET", "HEAD"), r"^/abs/(?P<vid>.+)$", self.abs_page)
        self.router.add(("GET", "HEAD"), r"^/pdf/(?P<vid>.+)$", self.pdf)

    def not_found(self, request: Request) -> Response:
        return Response(404, {"Content-Type": ATOM}, error_feed("Not Found").encode("utf-8"))

    def error_response(self, status: int, request: Request) -> Response:
        return text_response(status, {503: "Service Unavailable"}.get(status, "Internal Server Error"))

    def admit(self, request: Request) -> tuple[dict, Response | None]:
        if self.min_interval is None or self._clock is None:
            return {}, None
        with self._lock:
            now = self._clock()
            last, self._last_arrival = self._last_arrival, now
        if last is not None and now - last < self.min_interval:
            return {}, text_response(429, "Rate exceeded.", headers={"Retry-After": str(int(self.min_interval))})
        return {}, None

    def query(self, request: Request) -> Response:
        params = dict(request.params)
        if request.method == "POST":  # the API also takes the query as a form body
            from urllib.parse import parse_qs

            params.update(parse_qs(request.body.decode("utf-8", "replace"), keep_blank_values=True))

        def param(name, default=None):
            values = params.get(name)
            return values[0] if values else default

        search_query = param("search_query")
        id_list = [i for i in (param("id_list") or "").split(",") if i]
        for arxiv_id in id_list:
            if not (NEW_ID.match(arxiv_id) or OLD_ID.match(arxiv_id)):
                return _error(f"incorrect id format for {arxiv_id}", f"incorrect_id_format_for_{arxiv_id}")
        try:
            size = int(param("max_results", "10"))
        except ValueError:
            return _error("max_results must be an integer", "max_results_must_be_an_integer")
        if size < 0:
            return _error("max_results must be non-negative", "max_results_must_be_non-negative")
        try:
            start = int(param("start", "0"))
        except ValueError:
            return _error("start must be an integer", "start_must_be_an_integer")
        if start < 0:
            return _error("start must be non-negative", "start_must_be_non-negative")
        sort_by = param("sortBy", "relevance")
        if sort_by not in SORT_BY:
            return _error(f"sortBy must be in: {', '.join(SORT_BY)}")
        sort_order = param("sortOrder", "descending")
        if sort_order not in SORT_ORDER:
            return _error(f"sortOrder must be in: {', '.join(SORT_ORDER)}")
        if search_query is None and not id_list:
            return _error("Either a search_query or id_list must be specified for the classic API.")
        try:
            tree = parse(search_query) if search_query else None
        except QueryError as exc:
            return _error(str(exc))
        query_text = normalised(adapt(search_query)) if search_query else ""
        size = request.capped(min(size, MAX_RESULTS))
        with self.world.lock:
            papers = self.world.public_papers()
            if id_list:
                wanted = {i.split("v")[0] if NEW_ID.match(i) else i.rsplit("v", 1)[0] for i in id_list}
                papers = [p for p in papers if p.arxiv_id in wanted]
            scored = [(score(tree, p) if tree is not None else 1, p) for p in papers]
            if search_query is not None and tree is None:
                scored = []  # an empty search_query finds nothing
            matched = [(s, p) for s, p in scored if s > 0]
            descending = sort_order == "descending"
            if sort_by == "submittedDate":
                matched.sort(key=lambda sp: (sp[1].published, sp[1].seq), reverse=descending)
            elif sort_by == "lastUpdatedDate":
                matched.sort(key=lambda sp: (sp[1].updated, sp[1].seq), reverse=descending)
            elif id_list and not search_query:
                order = {i.split("v")[0]: n for n, i in enumerate(id_list)}
                matched.sort(key=lambda sp: order.get(sp[1].arxiv_id, 0))
            else:
                matched.sort(key=lambda sp: (sp[0], sp[1].updated, sp[1].seq), reverse=True)
            total = len(matched)
            page = [] if request.empty else [p for _, p in matched[start:start + size]]
            body = results_feed(page, total, query_text=query_text, id_list=",".join(id_list), start=start,
                                size=size, root=request.root, updated=self.world.clock())
        return Response(200, {"Content-Type": ATOM}, body.encode("utf-8"))

    def abs_page(self, request: Request, vid: str) -> Response:
        base = vid.rsplit("v", 1)[0] if re.search(r"v\d+$", vid) else vid
        with self.world.lock:
            paper = self.world._papers.get(base)
            if paper is None:
                return text_response(404, "<html><body>Article identifier not recognized</body></html>",
                                     "text/html; charset=utf-8")
            title = escape(paper.title)
        return text_response(200, f"<!DOCTYPE html><html><head><title>[{escape(vid)}] {title}</title></head>"
                                  f"<body><h1>{title}</h1></body></html>", "text/html; charset=utf-8")

    def pdf(self, request: Request, vid: str) -> Response:
        return Response(200, {"Content-Type": "application/pdf"}, b"%PDF-1.4\n% openwatch emulator\n%%EOF\n")
