"""arXiv: papers matching a search query, newest submissions first (`paper:arxiv/<id>`).

The export API (https://info.arxiv.org/help/api/user-manual.html), paged with
`start`/`max_results`; its terms ask for one request every 3 seconds on one connection
(https://info.arxiv.org/help/api/tou.html): that pacing is this source's Scrapy settings.
"""

from __future__ import annotations

from typing import Any, Mapping

from crawler.sources import Source
from crawler.sources._papers import PAPER_EVENTS, PaperKind


class ArxivSource(Source):
    """arXiv papers matching `query` (arXiv search syntax), optionally within `categories`.

    Polite by construction: one request every 3 s, one connection, answers cached for a day.
    """

    kind = "arxiv"
    order = 30
    keys = ("query", "categories", "max_results")
    endpoints = {"arxiv": "https://export.arxiv.org"}
    item_kinds = (PaperKind(),)
    events = PAPER_EVENTS
    spider = "crawler.spiders.arxiv.ArxivSpider"
    settings = {
        "DOWNLOAD_DELAY": 3.0,
        "RANDOMIZE_DOWNLOAD_DELAY": False,
        "CONCURRENT_REQUESTS": 1,
        "CONCURRENT_REQUESTS_PER_DOMAIN": 1,
        "HTTPCACHE_ENABLED": True,
        "HTTPCACHE_EXPIRATION_SECS": 24 * 3600,
        "HTTPCACHE_IGNORE_HTTP_CODES": [400, 403, 404, 408, 429, 500, 502, 503, 504],
    }

    @classmethod
    def options(cls, read) -> dict[str, Any]:
        query = read.string("query", example="'abs:\"open-weight\" AND cat:cs.CL'")
        categories = tuple(read.string_list("categories", example='["cs.CL", "cs.LG"]')) if read.has("categories") else ()
        return {"query": query, "categories": categories,
                "max_results": read.integer("max_results", default=200, minimum=1, maximum=2000)}

    @classmethod
    def units(cls, options: Mapping[str, Any]) -> tuple[str, ...]:
        return (options["query"],)

    @classmethod
    def spider_args(cls, watch, endpoints: Mapping[str, str], prior: dict) -> dict[str, Any]:
        return {"watch": watch.name, "query": watch.query, "categories": list(watch.categories),
                "max_results": watch.max_results, "prior": prior, "endpoint": endpoints.get("arxiv")}
