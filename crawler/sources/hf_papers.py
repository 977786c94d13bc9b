"""Hugging Face daily papers (`GET /api/daily_papers`) -> paper fields. Pure: JSON in, dicts out.

    parse_daily_papers(obj) -> list[dict]      the decoded JSON array of one answer
    daily_paper_fields(item) -> dict | None    one element (None: no arXiv id)
    paper_key(id)                              the same as arxiv.paper_key: one paper, one item

The answer's shape, as `huggingface_hub.hf_api.PaperInfo` reads it (`list_daily_papers`):
`[{"paper": {"id", "title", "summary", "authors": [{"name", "hidden", "user"?}],
"publishedAt", "submittedOnDailyAt", "submittedOnDailyBy": {"user", "fullname"},
"upvotes", "discussionId", "projectPage", "githubRepo", "githubStars", "ai_summary",
"ai_keywords", "organization": {"name", "fullname"}}, "publishedAt", "title", "summary",
"thumbnail", "numComments", "submittedBy", "organization", "isAuthorParticipating"}, ...]`;
`PaperInfo` also accepts the paper's fields at the top level, and so does this parser.

Fields, by the arXiv parser's names (crawler.sources.arxiv) so that the item is one:
id, version (None), title, authors, abstract (`summary`), published (`publishedAt`:
HF often gives the day only, 00:00Z, where arXiv gives the minute), url (the arXiv abs URL);
what HF does not carry is None: categories, primary_category, updated, links, comment,
journal_ref, doi. Then HF's own:

    upvotes, comments, github_stars   ints, volatile counters (PAPER_COUNTERS)
    hf_url          https://huggingface.co/papers/<id>
    code_url        `githubRepo` (a GitHub URL) or None
    project_url     `projectPage` or None
    organization    the HF org the paper is claimed by (`organization.name`) or None
    submitted_at    when it reached daily papers (ISO UTC) or None
    submitted_by    the HF user who submitted it or None
    models          ids of linked models when the answer lists them (`linkedModels`, as
                    `/api/papers/<id>` does), else None: daily papers do not say
"""

from __future__ import annotations

from typing import Any, Mapping

from crawler.sources._parsing import ParseError, first, fold, integer, parse_time, text
from crawler.sources.arxiv import ABS_URL, MAX_ABSTRACT, MAX_AUTHORS, MAX_NAME, MAX_TITLE, paper_key, split_id
from crawler.sources import Source
from crawler.sources._papers import PAPER_EVENTS, PaperKind
from crawler.rules import MAX_ANSWER_BYTES

__all__ = ["PAPER_COUNTERS", "HfPapersError", "daily_paper_fields", "paper_key", "parse_daily_papers"]

PAPER_COUNTERS = ("upvotes", "comments", "github_stars")
HF_PAPERS_URL = "https://huggingface.co/papers/"
MAX_URL = 2000
MAX_PAPERS = 1000
MAX_MODELS = 200


class HfPapersError(ParseError):
    """A daily-papers answer that is not a list of papers (an error object, say)."""


def parse_daily_papers(obj: Any) -> list[dict[str, Any]]:
    """Every paper of one answer with an arXiv id, in the answer's order, each id once."""
    if not isinstance(obj, list):
        message = text(obj.get("error"), 300) if isinstance(obj, dict) else None
        raise HfPapersError("daily papers is a JSON array" + (f": {message}" if message else ""))
    out, seen = [], set()
    for item in obj[:MAX_PAPERS]:
        fields = daily_paper_fields(item)
        if fields is not None and fields["id"] not in seen:
            seen.add(fields["id"])
            out.append(fields)
    return out


def daily_paper_fields(item: Any) -> dict[str, Any] | None:
    """One element of the answer -> paper fields; None when it names no arXiv paper."""
    if not isinstance(item, dict):
        return None
    paper = item.get("paper") if isinstance(item.get("paper"), dict) else {}

    def get(name: str) -> Any:
        """The paper's own value first, the daily entry's second (as PaperInfo reads them)."""
        value = paper.get(name)
        return value if value is not None else item.get(name)

    found = split_id(text(first((paper.get("id"), item.get("id"))), 100))
    if found is None:
        return None
    arxiv_id = found[0]
    authors = None
    raw_authors = get("authors")
    if isinstance(raw_authors, list):
        authors = []
        for author in raw_authors:
            name = fold(author.get("name"), MAX_NAME) if isinstance(author, dict) else None
            if name is not None:
                authors.append(name)
                if len(authors) >= MAX_AUTHORS:
                    break
    org = get("organization")
    submitter = first((paper.get("submittedOnDailyBy"), item.get("submittedBy")))
    linked = item.get("linkedModels", paper.get("linkedModels"))
    models = None
    if isinstance(linked, list):
        models = []
        for model in linked[:MAX_MODELS]:
            model_id = text(model.get("id"), 200) if isinstance(model, dict) else None
            if model_id is not None and model_id not in models:
                models.append(model_id)
    return {
        "id": arxiv_id,
        "version": None,
        "title": fold(first((paper.get("title"), item.get("title"))), MAX_TITLE),
        "authors": authors,
        "abstract": fold(get("summary"), MAX_ABSTRACT),
        "categories": None,
        "primary_category": None,
        # Nested: the paper's date is paper.publishedAt, the top-level one is the listing's.
        "published": parse_time(paper.get("publishedAt") if paper else item.get("publishedAt")),
        "updated": None,
        "links": None,
        "comment": None,
        "journal_ref": None,
        "doi": None,
        "url": ABS_URL + arxiv_id,
        "upvotes": integer(get("upvotes")),
        "comments": integer(item.get("numComments")),
        "github_stars": integer(get("githubStars")),
        "hf_url": HF_PAPERS_URL + arxiv_id,
        "code_url": _http_url(get("githubRepo")),
        "project_url": _http_url(get("projectPage")),
        "organization": text(org.get("name"), 200) if isinstance(org, dict) else None,
        "submitted_at": parse_time(
            first((paper.get("submittedOnDailyAt"), item.get("publishedAt") if paper else item.get("submittedOnDailyAt")))
        ),
        "submitted_by": text(submitter.get("user"), 200) if isinstance(submitter, dict) else None,
        "models": models,
    }


def _http_url(value: Any) -> str | None:
    url = text(value, MAX_URL)
    if url is None or not url.lower().startswith(("https://", "http://")):
        return None
    return url


# ---------------------------------------------------------------------------------------------
# The registry entry: options, item kinds, events (crawler/sources/__init__.py)

UNIT = "daily_papers"


class HfPapersSource(Source):
    """Hugging Face daily papers, optionally only those of watched `orgs` or with at least
    `min_upvotes`; one paper is one item and one `paper.published`, whichever source saw it first."""

    kind = "hf_papers"
    order = 31
    keys = ("orgs", "min_upvotes", "days")
    endpoints = {"huggingface": "https://huggingface.co"}
    item_kinds = (PaperKind(),)
    events = PAPER_EVENTS
    spider = "crawler.spiders.hf_papers.HfPapersSpider"
    settings = {"DOWNLOAD_MAXSIZE": MAX_ANSWER_BYTES}  # a day is a few dozen papers

    @classmethod
    def options(cls, read) -> dict[str, Any]:
        orgs = tuple(read.string_list("orgs", example='["deepseek-ai"]')) if read.has("orgs") else ()
        return {"orgs": orgs, "min_upvotes": read.integer("min_upvotes", default=0, minimum=0),
                "days": read.integer("days", default=3, minimum=1, maximum=30)}

    @classmethod
    def units(cls, options: Mapping[str, Any]) -> tuple[str, ...]:
        return (UNIT,)

    @classmethod
    def spider_args(cls, watch, endpoints: Mapping[str, str], prior: dict) -> dict[str, Any]:
        return {"watch": watch.name, "orgs": list(watch.orgs), "min_upvotes": watch.min_upvotes,
                "days": watch.days, "prior": prior, "endpoint": endpoints.get("huggingface")}
