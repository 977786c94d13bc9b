"""Hugging Face daily papers: `/api/daily_papers` and `/api/papers/{arxiv id}`.

Shapes follow huggingface_hub's `PaperInfo`, `PaperAuthor`, `User` and `Organization`
(src/huggingface_hub/hf_api.py), which read each answer of `list_daily_papers` as an outer
object (the daily-page submission: `publishedAt` = when it was featured, `title`,
`summary`, `thumbnail`, `numComments`, `submittedBy`, `organization`,
`isAuthorParticipating`) around a `paper` object (`id` = the arXiv id, `authors` =
`[{_id, name, hidden}]`, `publishedAt` = the arXiv date, `submittedOnDailyAt`,
`submittedOnDailyBy`, `title`, `summary`, `upvotes`, `discussionId`, `ai_summary`,
`ai_keywords`, optional `githubRepo`, `githubStars`, `projectPage`, `organization`).

Daily papers carry no model list: the models citing a paper are the ones whose tags hold
`arxiv:<id>` (`GET /api/models?filter=arxiv:<id>`); `/api/papers/{id}` adds them as
`linkedModels` / `numTotalModels` (the fields `paper_info` reads).

Query parameters of `/api/daily_papers` (those `list_daily_papers` sends): `date`
(YYYY-MM-DD), `week` (YYYY-Www), `month` (YYYY-MM), `submitter` (a user name), `sort`
(`publishedAt`, the default, newest first; or `trending`, most upvotes first), `p` (page,
from 0) and `limit` (default 50, at most 100). Without a date, the newest papers of any day.
"""

from __future__ import annotations

import hashlib
from datetime import date as date_cls
from datetime import datetime, timedelta

from .routing import Request, Response, json_response
from .times import UTC
from .times import iso_ms as iso  # papers keep milliseconds (unlike model times)

DEFAULT_LIMIT = 50
MAX_LIMIT = 100


def _object_id(*parts: str) -> str:
    """24 hex digits, like the Hub's MongoDB ids; stable for the same parts."""
    return hashlib.sha1("\0".join(parts).encode()).hexdigest()[:24]


def _as_datetime(value, default: datetime) -> datetime:
    if value is None:
        return default
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date_cls):
        return datetime(value.year, value.month, value.day, 13, 0, tzinfo=UTC)
    parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    if len(str(value)) == 10:  # a bare day: papers are featured during the (UTC) day
        parsed = parsed.replace(hour=13)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _user(name: str) -> dict:
    return {"_id": _object_id("user", name), "avatarUrl": f"/avatars/{_object_id('avatar', name)}.svg",
            "isPro": False, "fullname": name, "user": name, "type": "user"}


def _organization(value) -> dict | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = {"name": value}
    name = value["name"]
    return {"_id": _object_id("org", name), "name": name, "fullname": value.get("fullname", name),
            "avatar": value.get("avatar", f"https://cdn-avatars.huggingface.co/v1/production/uploads/{name}.png")}


class DailyPaper:
    """One paper featured on a day's daily papers page. Change it through `HubWorld`."""

    def __init__(self, arxiv_id, title, summary, authors, upvotes, featured_at, published_at, submitted_by,
                 organization, github_repo, project_page, ai_summary, ai_keywords, num_comments, seq):
        self.arxiv_id = arxiv_id
        self.title = title
        self.summary = summary
        self.authors = authors
        self.upvotes = upvotes
        self.featured_at = featured_at
        self.published_at = published_at
        self.submitted_by = submitted_by
        self.organization = organization
        self.github_repo = github_repo
        self.project_page = project_page
        self.ai_summary = ai_summary
        self.ai_keywords = ai_keywords
        self.num_comments = num_comments
        self.seq = seq

    @classmethod
    def make(cls, arxiv_id, *, title, summary, authors, upvotes, date, now, published_at, submitted_by,
             organization, github_repo, project_page, ai_summary, ai_keywords, num_comments, seq):
        featured = _as_datetime(date, now)
        published = _as_datetime(published_at, featured - timedelta(days=1))
        names = [a if isinstance(a, str) else a["name"] for a in authors]
        return cls(str(arxiv_id), title, summary, names, int(upvotes), featured, published, submitted_by,
                   _organization(organization), github_repo, project_page, ai_summary, list(ai_keywords),
                   int(num_comments), seq)

    @property
    def day(self) -> str:
        return self.featured_at.date().isoformat()

    def paper_object(self) -> dict:
        paper = {
            "id": self.arxiv_id,
            "authors": [{"_id": _object_id("author", self.arxiv_id, str(i), name), "name": name, "hidden": False}
                        for i, name in enumerate(self.authors)],
            "publishedAt": iso(self.published_at),
            "submittedOnDailyAt": iso(self.featured_at),
            "title": self.title,
            "submittedOnDailyBy": _user(self.submitted_by),
            "summary": self.summary,
            "upvotes": self.upvotes,
            "discussionId": _object_id("discussion", self.arxiv_id),
        }
        if self.project_page:
            paper["projectPage"] = self.project_page
        if self.github_repo:
            paper["githubRepo"] = self.github_repo
        paper["ai_summary"] = self.ai_summary or self.summary.split(". ")[0]
        paper["ai_keywords"] = list(self.ai_keywords)
        if self.github_repo:
            paper["githubStars"] = 0
        if self.organization:
            paper["organization"] = dict(self.organization)
        return paper

    def daily_object(self) -> dict:
        out = {
            "paper": self.paper_object(),
            "publishedAt": iso(self.featured_at),
            "title": self.title,
            "summary": self.summary,
            "thumbnail": f"https://cdn-thumbnails.huggingface.co/social-thumbnails/papers/{self.arxiv_id}.png",
            "numComments": self.num_comments,
            "submittedBy": _user(self.submitted_by),
        }
        if self.organization:
            out["organization"] = dict(self.organization)
        out["isAuthorParticipating"] = False
        return out


def _bad(message: str) -> Response:
    return json_response(400, {"error": message})


def _in_period(paper: DailyPaper, request: Request) -> bool | Response:
    day = request.param("date")
    week = request.param("week")
    month = request.param("month")
    featured = paper.featured_at.date()
    if day:
        return paper.day == day
    if week:
        year, _, number = week.partition("-W")
        iso_year, iso_week, _ = featured.isocalendar()
        return (str(iso_year), f"{iso_week:02d}") == (year, number.zfill(2))
    if month:
        return featured.strftime("%Y-%m") == month
    return True


def list_daily_papers(world, request: Request) -> Response:
    for name, fmt in (("date", "%Y-%m-%d"), ("month", "%Y-%m")):
        value = request.param(name)
        if value:
            try:
                datetime.strptime(value, fmt)
            except ValueError:
                return _bad(f'"{name}" must be a valid {fmt.replace("%", "")} date')
    week = request.param("week")
    if week and (len(week) < 7 or "-W" not in week):
        return _bad('"week" must be an ISO week such as 2025-W09')
    sort = request.param("sort") or "publishedAt"
    if sort not in ("publishedAt", "trending"):
        return _bad('"sort" must be one of [publishedAt, trending]')
    try:
        page = int(request.param("p") or 0)
        limit = int(request.param("limit") or DEFAULT_LIMIT)
    except ValueError:
        return _bad('"p" and "limit" must be numbers')
    if page < 0 or limit < 1:
        return _bad('"p" must be >= 0 and "limit" >= 1')
    limit = request.capped(min(limit, MAX_LIMIT))
    submitter = request.param("submitter")
    papers = [p for p in world.daily_papers()
              if _in_period(p, request) and (not submitter or p.submitted_by == submitter)]
    if sort == "trending":
        papers.sort(key=lambda p: (-p.upvotes, -p.featured_at.timestamp(), -p.seq))
    else:
        papers.sort(key=lambda p: (-p.featured_at.timestamp(), -p.seq))
    chosen = [] if request.empty else papers[page * limit:(page + 1) * limit]
    return json_response(200, [p.daily_object() for p in chosen])


def paper_info(world, request: Request, arxiv_id: str, model_object) -> Response:
    paper = world.daily_paper(arxiv_id)
    if paper is None:
        return json_response(404, {"error": "Paper not found"}, {"X-Error-Message": "Paper not found"})
    out = paper.paper_object()
    with world.lock:
        models = world.models_citing(arxiv_id)
        out["linkedModels"] = [model_object(m) for m in models[:MAX_LIMIT]]
    out["numTotalModels"] = len(models)
    return json_response(200, out)
