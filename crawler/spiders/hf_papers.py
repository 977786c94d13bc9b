"""Hugging Face daily papers (`/api/daily_papers?date=YYYY-MM-DD`): the last `days` days,
one `Batch` for them all, filtered by `orgs` and `min_upvotes`. Each day is read page after
page (`p`, `limit`) until an empty page."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import scrapy
from scrapy.http import Request, Response

from crawler.items import Batch, Observation, UnitEnd
from crawler.sources import hf_papers as hp
from crawler.sources._papers import PaperKind
from crawler.spiders import describe_failure, json_answer, parse_units, read_prior
from crawler.times import utcnow

PAPER = PaperKind()
LIMIT = 100      # the most the Hub serves a page (`limit`, default 50)
MAX_PAGES = 20   # a day of daily papers is a few dozen: a listing that never ends is an error


class HfPapersSpider(scrapy.Spider):
    name = "hf_papers"
    source = "hf_papers"

    def __init__(self, orgs="", min_upvotes: int | str = 0, days: int | str = 3, watch: str = "adhoc",
                 prior: dict | str | None = None, prior_file: str | None = None,
                 prior_url: str | None = None, endpoint: str | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.orgs = {o.lower() for o in parse_units(orgs)}
        self.min_upvotes = int(min_upvotes)
        self.days = int(days)
        self.units = [hp.UNIT]
        self.watch = watch
        self.prior = read_prior(prior, prior_file, prior_url)
        self.endpoint = (endpoint or "https://huggingface.co").rstrip("/")
        self.pending = self.days
        self.papers: list[Observation] = []
        self.listed: set[str] = set()   # arXiv ids read so far, every day
        self.errors: list[str] = []

    def day_request(self, day: str, page: int = 0) -> Request:
        return Request(f"{self.endpoint}/api/daily_papers?date={day}&limit={LIMIT}&p={page}",
                       callback=self.parse_day, errback=self.failed, cb_kwargs={"day": day, "page": page},
                       dont_filter=True, headers={"Accept": "application/json"})

    async def start(self):
        today = datetime.now(timezone.utc).date()
        for back in range(self.days):
            yield self.day_request((today - timedelta(days=back)).isoformat())

    def keep(self, paper: dict) -> bool:
        if (paper.get("upvotes") or 0) < self.min_upvotes:
            return False
        return not self.orgs or str(paper.get("organization") or "").lower() in self.orgs

    def failed(self, failure):
        self.errors.append(f"{failure.request.url}: {describe_failure(failure)}"[:300])
        yield from self.done()

    def parse_day(self, response: Response, day: str, page: int = 0):
        """One page of a day. The answer carries no total and a server may serve fewer than
        `limit` (the Hub's default is 50 a page): the day is read until an empty page."""
        if response.status != 200:
            self.errors.append(f"HTTP {response.status} from daily papers of {day}")
        else:
            try:
                papers = hp.parse_daily_papers(json_answer(response.body))
            except Exception as exc:  # noqa: BLE001 - an unreadable day is an incomplete listing
                self.errors.append(f"daily papers of {day}: {type(exc).__name__}: {exc}"[:300])
            else:
                new = [p for p in papers if p["id"] not in self.listed]
                self.listed.update(p["id"] for p in new)
                self.papers += [Observation(key=PAPER.prefix + p["id"], kind="paper", raw=p)
                                for p in new if self.keep(p)]
                # A page of papers already listed: a server that ignores `p` serves the first
                # again; what it serves is read, and asking on would never end.
                if new and page + 1 < MAX_PAGES:
                    yield self.day_request(day, page + 1)
                    return
                if new:
                    self.errors.append(f"daily papers of {day}: still more after {MAX_PAGES} pages")
        yield from self.done()

    def done(self):
        self.pending -= 1
        if self.pending:
            return
        end = UnitEnd(complete=not self.errors, count=len(self.papers), incremental=True,
                      error="; ".join(self.errors)[:300] or None)
        yield Batch(watch=self.watch, source=self.source, unit=hp.UNIT, observed_at=utcnow(),
                    observations=self.papers, end=end)
