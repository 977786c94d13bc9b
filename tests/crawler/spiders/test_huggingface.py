"""Spider callbacks fed real-shaped responses (bodies and headers from the hub emulator),
without a reactor."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from scrapy.http import Request, TextResponse
from scrapy.utils.test import get_crawler

from crawler.items import Batch
from crawler.spiders import next_link
from crawler.spiders.huggingface import HuggingFaceSpider, license_files


def make_spider(prior=None, endpoint="http://hub.test"):
    crawler = get_crawler(HuggingFaceSpider)
    return HuggingFaceSpider.from_crawler(crawler, orgs="deepseek-ai", watch="w", prior=prior, endpoint=endpoint)


def fetch(emulator, spider, url) -> TextResponse:
    """GET from the emulator and wrap the answer as Scrapy would hand it to the callback."""
    answer = httpx.get(url)
    return TextResponse(url=url, status=answer.status_code, headers=dict(answer.headers), body=answer.content,
                        request=Request(url), encoding="utf-8")


def run(agen):
    async def collect():
        return [item async for item in agen]

    return asyncio.run(collect())


@pytest.fixture
def world(emulator):
    for i in range(7):
        emulator.world.add_model(f"deepseek-ai/M-{i}", license="mit")
    return emulator.world


def known(world, ids):
    return {"deepseek-ai": {"last_complete_count": len(ids),
                            "models": {i: {"sha": world.get(i).sha, "files": {}} for i in ids}}}


def test_first_page_yields_models_and_a_request_for_the_next(emulator, world):
    ids = [f"deepseek-ai/M-{i}" for i in range(7)]
    spider = make_spider(known(world, ids), emulator.url)
    response = fetch(emulator, spider, spider.listing_url("deepseek-ai"))
    out = run(spider.parse_listing(response, org="deepseek-ai"))
    (batch,) = [o for o in out if isinstance(o, Batch)]
    requests = [o for o in out if isinstance(o, Request)]
    assert [m.raw["id"] for m in batch.observations] == ids[:5]
    assert [m.key for m in batch.observations] == [f"model:hf/{i}" for i in ids[:5]]
    assert len(requests) == 1 and "cursor=" in requests[0].url
    assert batch.end is None  # one batch per page; the org's end comes with its last page
    assert all(m.files is None for m in batch.observations)  # same sha: no LICENSE fetch


def test_last_page_closes_the_listing(emulator, world):
    ids = [f"deepseek-ai/M-{i}" for i in range(7)]
    spider = make_spider(known(world, ids), emulator.url)
    first = fetch(emulator, spider, spider.listing_url("deepseek-ai"))
    next_url = [o for o in run(spider.parse_listing(first, org="deepseek-ai")) if isinstance(o, Request)][0].url
    out = run(spider.parse_listing(fetch(emulator, spider, next_url), org="deepseek-ai"))
    result = out[-1]
    assert isinstance(result, Batch) and result.end.complete and result.end.count == 7
    assert [m.raw["id"] for m in result.observations] == ids[5:]


def test_suspiciously_short_listing_is_incomplete(emulator, world):
    prior = {"deepseek-ai": {"last_complete_count": 40, "models": {}}}
    spider = make_spider(prior, emulator.url)
    first = fetch(emulator, spider, spider.listing_url("deepseek-ai"))
    next_url = [o for o in run(spider.parse_listing(first, org="deepseek-ai")) if isinstance(o, Request)][0].url
    result = run(spider.parse_listing(fetch(emulator, spider, next_url), org="deepseek-ai"))[-1]
    assert not result.end.complete and "suspiciously short" in result.end.error


def test_a_listing_whose_next_link_never_ends_is_incomplete():
    """A server that always answers `Link: rel="next"` (to itself) is cut at MAX_PAGES pages
    and the org is left incomplete: nothing is removed, no crawl runs for ever."""
    from crawler.spiders import huggingface

    spider = make_spider()
    url = spider.listing_url("deepseek-ai")
    body = b'[{"id": "deepseek-ai/M-0", "sha": "abc"}]'
    endless = TextResponse(url=url, status=200, body=body, request=Request(url), encoding="utf-8",
                           headers={"Link": f'<{url}&cursor=again>; rel="next"'})
    for page in range(1, huggingface.MAX_PAGES):
        out = run(spider.parse_listing(endless, org="deepseek-ai"))
        assert [type(o) for o in out] == [Batch, Request], page
    out = run(spider.parse_listing(endless, org="deepseek-ai"))
    assert [type(o) for o in out] == [Batch, Batch]
    assert not out[-1].end.complete and "never ends" in out[-1].end.error


@pytest.mark.parametrize("status,body", [(500, b"oops"), (200, b"[{\"id\": \"a/b\""), (200, b'{"error": "x"}')])
def test_bad_listing_is_incomplete_never_empty(status, body):
    spider = make_spider()
    url = spider.listing_url("deepseek-ai")
    response = TextResponse(url=url, status=status, body=body, request=Request(url), encoding="utf-8")
    (result,) = run(spider.parse_listing(response, org="deepseek-ai"))
    assert isinstance(result, Batch) and not result.end.complete and result.end.error and not result.observations


def test_next_link_parsing():
    url = "http://hub.test/api/models?author=x"
    response = TextResponse(url=url, body=b"[]", request=Request(url), headers={
        "Link": '<http://hub.test/api/models?author=x&cursor=abc>; rel="next"'})
    assert next_link(response) == "http://hub.test/api/models?author=x&cursor=abc"
    assert next_link(TextResponse(url=url, body=b"[]")) is None


@pytest.mark.parametrize("siblings,link,expected", [
    (["LICENSE", "README.md", "config.json"], None, ["LICENSE"]),
    (["LICENSE.txt", "LICENCE-MODEL", "COPYING", "USE_POLICY.md", "docs/LICENSE"], None,
     ["COPYING", "LICENCE-MODEL", "LICENSE.txt", "USE_POLICY.md"]),
    (["README.md", "MODEL_LICENSE.md"], "MODEL_LICENSE.md", ["MODEL_LICENSE.md"]),
    (["README.md", "terms.md"], "https://huggingface.co/o/m/blob/main/terms.md", ["terms.md"]),
    (["README.md"], "https://llama.com/llama3_1/license/", []),
    (["README.md"], "missing.md", []),
])
def test_license_like_files(siblings, link, expected):
    raw = {"id": "o/m", "siblings": [{"rfilename": s} for s in siblings], "cardData": {"license_link": link}}
    assert license_files(raw) == expected
