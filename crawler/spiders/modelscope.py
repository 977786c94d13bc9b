"""ModelScope: every model of the watched owners, one `Batch` per listing page; direct checks
before removal, as for Hugging Face.

Endpoints as the ModelScope SDK uses them (`modelscope/hub/api.py`): the owner's listing is
`PUT /api/v1/models/` with `{"Path": owner, "PageNumber": n, "PageSize": size}`, one model
`GET /api/v1/models/{owner}/{name}`; every answer is an envelope `{Code, Success, Data,
Message}` whose `Success` decides, whatever the HTTP status.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import scrapy
from scrapy.http import Request, Response

from crawler.items import Batch, Observation, Probe, UnitEnd
from crawler.rules import PROBE_SAMPLE, SHORT_LISTING_RATIO
from crawler.sources import modelscope as ms
from crawler.spiders import describe_error, describe_failure, json_answer, parse_units, read_prior
from crawler.times import utcnow

PAGE_SIZE = 100
MAX_PAGES = 500  # 50,000 models at the SDK's 50 a page: a listing that never ends is an error
MODEL = ms.MsModel()


class ModelScopeSpider(scrapy.Spider):
    name = "modelscope"
    source = "modelscope"

    def __init__(self, orgs="", watch: str = "adhoc", prior: dict | str | None = None, prior_file: str | None = None,
                 prior_url: str | None = None,
                 endpoint: str | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.orgs = parse_units(orgs)
        if not self.orgs:
            raise ValueError("modelscope spider needs orgs, e.g. -a orgs=Qwen")
        self.units = self.orgs
        self.watch = watch
        self.prior = read_prior(prior, prior_file, prior_url)
        self.endpoint = (endpoint or "https://modelscope.cn").rstrip("/")
        self.seen: dict[str, set[str]] = {org: set() for org in self.orgs}
        self.received: dict[str, int] = {org: 0 for org in self.orgs}   # entries over pages

    def listing(self, org: str, page: int) -> Request:
        return Request(f"{self.endpoint}{ms.LISTING_PATH}", method=ms.LISTING_METHOD,
                       body=ms.listing_body(org, page, PAGE_SIZE),
                       headers={"Content-Type": "application/json", "Accept": "application/json"},
                       callback=self.parse_listing, errback=self.failed, cb_kwargs={"org": org, "page": page},
                       dont_filter=True)

    async def start(self):
        for org in self.orgs:
            yield self.listing(org, 1)

    def _batch(self, org: str, **kwargs) -> Batch:
        return Batch(watch=self.watch, source=self.source, unit=org, observed_at=utcnow(), **kwargs)

    def _failed(self, org: str, error: str) -> Batch:
        return self._batch(org, end=UnitEnd(complete=False, count=len(self.seen[org]), error=error[:300]))

    def failed(self, failure):
        org = failure.request.cb_kwargs["org"]
        yield self._failed(org, describe_failure(failure))

    async def parse_listing(self, response: Response, org: str, page: int):
        try:
            data = ms.unwrap(json_answer(response.body))
            listing = ms.listing_models(data, org)
        except Exception as exc:  # a 200 with Success false is an error too
            yield self._failed(org, f"HTTP {response.status}: {type(exc).__name__}: {exc}")
            return
        if listing.skipped:
            yield self._failed(org, f"{listing.skipped} unreadable models on page {page}")
            return
        models = listing.models
        if page > 1 and models and all(f.get("id") in self.seen[org] for f in models):
            # A server that ignores PageNumber serves page 1 again: the listing would never end.
            yield self._failed(org, f"page {page} repeats models already listed: the listing does not page")
            return
        observations = []
        for fields in models:
            if not fields.get("id"):
                continue
            self.seen[org].add(fields["id"])
            observations.append(Observation(key=MODEL.key(fields["id"]), kind="model", raw=fields))
        batch = self._batch(org, observations=observations)
        # Paged by what the answers say, never by the page size asked: a server may serve fewer
        # (the SDK caps its OpenAPI pages at 50). More pages while the models received fall
        # short of TotalCount and the last page was not empty, within MAX_PAGES.
        self.received[org] += len(models)
        total = listing.total
        if models and isinstance(total, int) and self.received[org] < total:
            if page >= MAX_PAGES:
                yield self._failed(org, f"listing still short of its TotalCount {total} after {MAX_PAGES} pages")
                return
            yield batch
            yield self.listing(org, page + 1)
            return
        yield await self.finish(org, batch)

    async def finish(self, org: str, batch: Batch) -> Batch:
        prior = self.prior.get(org, {})
        known = {k.removeprefix(MODEL.prefix) for k in prior.get("models", {})}
        last = prior.get("last_complete_count") or len(known)
        count = len(self.seen[org])
        if count == 0 and not last:
            batch.end = UnitEnd(complete=False, count=0, error="empty listing: not taken as a baseline")
            return batch
        missing = sorted(known - self.seen[org])
        short = bool(last) and count < SHORT_LISTING_RATIO * last
        checks = missing[:PROBE_SAMPLE] if short else missing
        results = await asyncio.gather(*(self.probe(m) for m in checks))
        if short and (not missing or len(checks) < len(missing)
                      or not all(isinstance(r, Probe) and r.status == "not_found" for r in results)):
            batch.end = UnitEnd(complete=False, count=count,
                                error=f"suspiciously short listing: {count} models, last complete had {last}")
            return batch
        for result in results:
            if isinstance(result, Probe):
                batch.probes.append(result)
            else:
                batch.observations.append(result)
        batch.requests += len(checks)
        batch.end = UnitEnd(complete=True, count=count, confirmed=short)
        return batch

    async def probe(self, model_id: str) -> Probe | Observation:
        key = MODEL.key(model_id)
        owner, _, name = model_id.partition("/")
        request = Request(f"{self.endpoint}{ms.model_path(owner, name)}", headers={"Accept": "application/json"},
                          dont_filter=True)
        try:
            response = await self.crawler.engine.download_async(request)
        except Exception as exc:  # network errors after retries: transient, never "gone"
            return Probe(key, "error", describe_error(exc)[:300])
        try:
            envelope = json.loads(response.body)
        except ValueError:
            envelope = None
        if ms.is_not_found(response.status, envelope):
            return Probe(key, "not_found", f"HTTP {response.status} {ms.message(envelope)}".strip()[:300])
        try:
            fields = ms.model_fields(ms.unwrap(envelope), owner)
        except Exception as exc:  # noqa: BLE001
            return Probe(key, "error", f"HTTP {response.status}: {exc}"[:300])
        if fields.get("id"):
            return Observation(key=MODEL.key(fields["id"]), kind="model", raw=fields)
        return Probe(key, "error", f"HTTP {response.status}: no model in the answer")
