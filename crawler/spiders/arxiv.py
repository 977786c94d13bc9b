"""arXiv: the newest submissions matching the watch's query, one `Batch` per API page.

Pacing is the source's Scrapy settings (one request every 3 s, one connection, answers kept
until arXiv's next announcement). Reads page after page, newest first, until a page holds a paper already known (or
`max_results`). An error entry is an error, not a paper; a page that is empty although the
total says otherwise (an arXiv flake) is retried, never read as "no papers".
"""

from __future__ import annotations

from typing import Any

import scrapy
from scrapy.http import Request, Response

from crawler.items import Batch, Observation, UnitEnd
from crawler.sources import arxiv as ax
from crawler.spiders import describe_failure, read_prior
from crawler.times import utcnow

PAGE = 100
EMPTY_RETRIES = 3


class ArxivSpider(scrapy.Spider):
    """`-a query='abs:"open-weight"'` (and `categories`, `max_results`)."""

    name = "arxiv"
    source = "arxiv"

    def __init__(self, query: str = "", categories="", watch: str = "adhoc", prior: dict | str | None = None, prior_file: str | None = None,
                 prior_url: str | None = None,
                 endpoint: str | None = None, max_results: int | str = 200, **kwargs: Any):
        super().__init__(**kwargs)
        if not query:
            raise ValueError("arxiv spider needs a query, e.g. -a query='abs:\"open-weight\"'")
        self.query = query
        self.categories = [c.strip() for c in (categories.split(",") if isinstance(categories, str) else categories)
                           if c and c.strip()]
        self.units = [query]
        self.watch = watch
        self.prior = read_prior(prior, prior_file, prior_url)
        self.endpoint = (endpoint or "https://export.arxiv.org").rstrip("/")
        self.max_results = int(max_results)
        self.known = set(self.prior.get(query, {}).get("models", {}))
        self.seen = 0

    def page_request(self, start: int, attempt: int = 0) -> Request:
        size = min(PAGE, self.max_results - start)
        url = ax.query_url(self.endpoint, self.query, self.categories, start, size)
        return Request(url, callback=self.parse_page, errback=self.failed, dont_filter=True,
                       cb_kwargs={"start": start, "attempt": attempt},
                       meta={"dont_cache": attempt > 0})

    async def start(self):
        yield self.page_request(0)

    def _end(self, observations=(), **end) -> Batch:
        return Batch(watch=self.watch, source=self.source, unit=self.query, observed_at=utcnow(),
                     observations=list(observations), end=UnitEnd(**end))

    def failed(self, failure):
        yield self._end(complete=False, count=self.seen,
                        error=describe_failure(failure)[:300])

    def parse_page(self, response: Response, start: int, attempt: int):
        if response.status != 200:
            # arXiv's refusals are error entries (HTTP 400): say what arXiv said; any other
            # answer (a 5xx page, a proxy's) is named by its status, not by why it is no Atom.
            try:
                ax.parse_feed(response.body)
            except ax.ArxivError as exc:
                yield self._end(complete=False, count=self.seen, error=f"arXiv: {exc}"[:300])
                return
            except Exception:  # noqa: BLE001 - the status says it
                pass
            yield self._end(complete=False, count=self.seen, error=f"HTTP {response.status} from arXiv")
            return
        try:
            page = ax.parse_feed(response.body)
        except ax.ArxivEmptyPage:
            if attempt < EMPTY_RETRIES:
                yield self.page_request(start, attempt + 1)
            else:
                yield self._end(complete=False, count=self.seen,
                                error=f"arXiv answered empty pages {EMPTY_RETRIES + 1} times at start={start}")
            return
        except Exception as exc:  # an error entry, or not Atom at all: never "no papers"
            yield self._end(complete=False, count=self.seen, error=f"arXiv: {exc}"[:300])
            return
        observations = [Observation(key=ax.paper_key(p["id"]), kind="paper", raw=p) for p in page.papers]
        self.seen += len(observations)
        known = any(o.key in self.known for o in observations)
        # The next page starts after the entries this one held, however many were asked
        # (a server may serve fewer); totalResults says when to stop.
        following = start + len(page.papers) + page.skipped
        if observations and not known and following < min(self.max_results, page.total_results or 0):
            yield Batch(watch=self.watch, source=self.source, unit=self.query, observed_at=utcnow(),
                        observations=observations)
            yield self.page_request(following)
            return
        yield self._end(observations, complete=True, count=self.seen, incremental=True)
