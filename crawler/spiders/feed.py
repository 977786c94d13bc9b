"""Feeds: each watched RSS/Atom URL, one `Batch` per feed document (feedparser reads it).

Conditional requests with the ETag / Last-Modified remembered in the unit's state; a 304 is
not parsed. A malformed feed is read as far as feedparser gets, and the crawl is `partial`.
"""

from __future__ import annotations

from typing import Any

import scrapy
from scrapy.http import Request, Response

from crawler.items import Batch, Observation, UnitEnd
from crawler.sources import feed as fd
from crawler.spiders import describe_failure, parse_units, read_prior
from crawler.times import utcnow


class FeedSpider(scrapy.Spider):
    """`-a urls=https://example.org/index.xml,…`"""

    name = "feed"
    source = "feed"

    def __init__(self, urls="", watch: str = "adhoc", prior: dict | str | None = None, prior_file: str | None = None,
                 prior_url: str | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.urls = parse_units(urls)
        if not self.urls:
            raise ValueError("feed spider needs urls, e.g. -a urls=https://example.org/index.xml")
        self.units = self.urls
        self.watch = watch
        self.prior = read_prior(prior, prior_file, prior_url)

    async def start(self):
        for url in self.urls:
            state = self.prior.get(url, {}).get("state") or {}
            headers = {"Accept": "application/atom+xml, application/rss+xml, application/xml;q=0.9, */*;q=0.5"}
            if state.get("etag"):
                headers["If-None-Match"] = state["etag"]
            if state.get("last_modified"):
                headers["If-Modified-Since"] = state["last_modified"]
            yield Request(url, headers=headers, callback=self.parse_feed, errback=self.failed,
                          cb_kwargs={"unit": url}, dont_filter=True)

    def _batch(self, unit: str, observations=(), **end) -> Batch:
        return Batch(watch=self.watch, source=self.source, unit=unit, observed_at=utcnow(),
                     observations=list(observations), end=UnitEnd(**end))

    def failed(self, failure):
        unit = failure.request.cb_kwargs["unit"]
        yield self._batch(unit, complete=False, count=0,
                          error=describe_failure(failure)[:300])

    def parse_feed(self, response: Response, unit: str):
        if response.status == 304:
            yield self._batch(unit, complete=True, count=0, incremental=True)
            return
        if response.status != 200:
            yield self._batch(unit, complete=False, count=0, error=f"HTTP {response.status}")
            return
        content_type = response.headers.get("Content-Type", b"").decode("latin-1") or None
        try:
            page = fd.parse_feed(response.body, content_type)
        except Exception as exc:  # not a feed at all
            yield self._batch(unit, complete=False, count=0, error=str(exc)[:300])
            return
        observations = []
        for entry in page.entries:
            raw = dict(entry) | {"feed": unit}
            observations.append(Observation(key=fd.post_key(self.watch, entry["entry_id"]), kind="post", raw=raw))
        state = {"etag": _header(response, "ETag"), "last_modified": _header(response, "Last-Modified")}
        if page.bozo:
            # Read as far as possible: what was read is recorded, the crawl says it was partial.
            # In a document cut off mid-entry, only the last entry can be cut: its guid may be
            # past the cut, and its link or hash would be another post's key (one post, two
            # events), so a last entry without its own id waits for a clean read. Every other
            # entry is whole (a feed keyed by links, with a DOCTYPE or one junk entry, is bozo
            # on every read: dropping all its link-keyed entries would lose its posts for ever).
            if observations and observations[-1].raw.get("id_from") != "id":
                observations = observations[:-1]
            yield self._batch(unit, observations, complete=False, count=len(observations),
                              error=f"malformed feed: {page.bozo}"[:300])
            return
        known = len(self.prior.get(unit, {}).get("models", {}))
        if not observations and known:
            # A feed keeps its last posts; one that lists none where posts are known is a
            # broken answer (a CMS or cache fault), not news: its state is not kept either.
            yield self._batch(unit, complete=False, count=0,
                              error=f"empty answer: no entries where {known} posts are known")
            return
        yield self._batch(unit, observations, complete=True, count=len(observations), incremental=True,
                          state={k: v for k, v in state.items() if v})


def _header(response: Response, name: str) -> str | None:
    value = response.headers.get(name)
    return value.decode("latin-1") if value else None
