"""Hugging Face: every model of the watched orgs, their licence metadata and LICENSE-like files.

Yields one `Batch` per listing page. Knows nothing of SQLite: what it must know of the past
(last shas, ETags, known model ids, last complete count) comes in as the `prior` argument
(or `prior_file`, a JSON file, for `scrapy crawl`; or `prior_url` for Scrapyd jobs).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
from typing import Any
from urllib.parse import quote, urlencode

import scrapy
from scrapy.http import Request, Response

from crawler.items import Batch, Observation, Probe, UnitEnd
from crawler.rules import MAX_ANSWER_BYTES, PROBE_SAMPLE, SHORT_LISTING_RATIO
from crawler.sources.huggingface import (
    PAGE_SIZE, SETTINGS_EXPAND, HubModel, gating, hub_wide_unit, reconcile_due, same_second, settings_moved,
    single_page,
)
from crawler.spiders import describe_error, describe_failure, json_answer, next_link, parse_units, read_prior, short_url
from crawler.times import utcnow

# https://huggingface.co/docs/hub/api#get-apimodels : `expand` cannot be combined with `full`.
EXPAND = (
    "author", "cardData", "createdAt", "disabled", "downloads", "gated", "lastModified",
    "library_name", "likes", "pipeline_tag", "private", "safetensors", "sha", "siblings", "tags",
)
INCREMENTAL_PAGE = 50   # an incremental listing's page: one request when a few models changed
HUB_WIDE_PAGE = 100
# Pages of one org's complete listing or settings check in one crawl: 300,000 models at the
# Hub's 1,000 a page. A `Link: rel="next"` that never ends there is an error. Newest-first
# listings are not counted: they stop at the watermark, and a hub-wide watch back from a long
# outage may rightly read many pages of 100 before it.
MAX_PAGES = 300
LICENSE_FILE = re.compile(r"^(LICEN[CS]E|COPYING|USE_POLICY)[^/]*$", re.IGNORECASE)
MAX_LICENSE_BYTES = 1024 * 1024
# A listing's answer is capped by what its page can hold (DOWNLOAD_MAXSIZE per request): a
# model with every field expanded is a few kB, its siblings included; 16 kB is generous. Never
# under MAX_ANSWER_BYTES, though: one repo of thousands of files (~60 B a sibling) must not
# push a page of 50 or a direct check over its cap, or that org stays partial for ever.
MAX_BYTES_PER_MODEL = 16 * 1024


def answer_cap(models: int) -> int:
    """DOWNLOAD_MAXSIZE of an answer of up to `models` models."""
    return max(models * MAX_BYTES_PER_MODEL, MAX_ANSWER_BYTES)
MODEL = HubModel()


def license_files(raw: dict[str, Any]) -> list[str]:
    """Root files named LICENSE*, LICENCE*, COPYING*, USE_POLICY*, plus a `license_link`
    that points inside the repo (relative, or …/<repo>/blob|resolve/<rev>/<path>)."""
    names = []
    siblings = {s.get("rfilename") for s in raw.get("siblings") or [] if isinstance(s, dict)}
    for name in siblings:
        if isinstance(name, str) and LICENSE_FILE.match(name):
            names.append(name)
    card = raw.get("cardData") if isinstance(raw.get("cardData"), dict) else {}
    link = card.get("license_link")
    if isinstance(link, str) and link.strip():
        link = link.strip()
        path = None
        match = re.search(re.escape(str(raw.get("id", ""))) + r"/(?:blob|resolve)/[^/]+/(.+)$", link)
        if match:
            path = match.group(1)
        elif "://" not in link and not link.startswith(("/", "#")):
            path = link.removeprefix("./")
        if path and path in siblings and path not in names:
            names.append(path)
    return sorted(names)


class HuggingFaceSpider(scrapy.Spider):
    """Hugging Face model hub: `-a orgs=deepseek-ai,Qwen` (and, from the job runner, `prior`)."""

    name = "huggingface"
    source = "huggingface"

    def __init__(
        self,
        orgs: str | list[str] = "",
        watch: str = "adhoc",
        prior: dict | str | None = None,
        prior_file: str | None = None,
        prior_url: str | None = None,
        endpoint: str | None = None,
        token: str | None = None,
        reconcile_every: float | str | None = None,
        search: str | None = None,
        filter: str | list[str] | None = None,
        watched: str | list[str] | None = None,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.orgs = parse_units(orgs)
        self.search = search or None
        self.filter = parse_units(filter or "")
        self.hub_wide = None
        if not self.orgs:
            if not (self.search or self.filter):
                raise ValueError("huggingface spider needs orgs, e.g. -a orgs=deepseek-ai,Qwen (or search/filter)")
            self.hub_wide = hub_wide_unit(self.search, self.filter)
            self.orgs = [self.hub_wide]
        # Incremental listings between reconciliations (None: every crawl reads everything).
        self.reconcile_every = float(reconcile_every) if reconcile_every not in (None, "") else None
        self.units = self.orgs  # the watched units: one baseline and one listing result each
        self.watch = watch
        self.prior: dict[str, dict] = read_prior(prior, prior_file, prior_url)
        self._endpoint = endpoint
        self.token = token if token is not None else os.environ.get("HF_TOKEN") or None
        self.seen: dict[str, set[str]] = {org: set() for org in self.orgs}
        self.followed: dict[str, int] = {org: 0 for org in self.orgs}  # next links followed, every listing
        # New ids of an org already known are held to the org's end: one of them may be a
        # known model renamed, which the direct check of the old id tells (never added + removed).
        self.held: dict[str, list[Observation]] = {org: [] for org in self.orgs}
        self.newest: dict[str, str] = {}  # the newest lastModified of a full listing: the watermark
        self.pages: dict[str, int] = {org: 0 for org in self.orgs}  # pages of this crawl's full listing
        # Models on a subscription's watchlist: read directly when their org is read incrementally.
        self.watched = parse_units(watched or "")
        # Per incrementally read org: ids the settings check lists that are not known (new, or
        # made public, or moved in): those the newest-first listing does not reach are read directly.
        self.fresh: dict[str, set[str]] = {org: set() for org in self.orgs}
        self.settings_seen: dict[str, dict[str, dict]] = {org: {} for org in self.orgs}

    @property
    def endpoint(self) -> str:
        if self._endpoint:
            return self._endpoint.rstrip("/")
        settings_value = self.crawler.settings.get("OPENWATCH_HF_ENDPOINT") if hasattr(self, "crawler") else None
        return (os.environ.get("HF_ENDPOINT") or settings_value or "https://huggingface.co").rstrip("/")

    def _headers(self) -> dict[str, str]:
        headers = {"Accept": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        return headers

    def listing_url(self, org: str) -> str:
        params = [("author", org), ("limit", str(PAGE_SIZE))] + [("expand[]", e) for e in EXPAND]
        return f"{self.endpoint}/api/models?{urlencode(params)}"

    def model_url(self, model_id: str) -> str:
        params = urlencode([("expand[]", e) for e in EXPAND])
        return f"{self.endpoint}/api/models/{quote(model_id)}?{params}"

    def _known(self, org: str) -> dict[str, dict]:
        return self.prior.get(org, {}).get("models", {})

    def settings_url(self, org: str) -> str:
        """Every model of the org with its settings only (`gated`, `private`, `disabled`): a
        row is ~130 bytes where a fully expanded one is ~760 (bench/RESULTS.md)."""
        params = [("author", org), ("limit", str(PAGE_SIZE))] + [("expand[]", e) for e in SETTINGS_EXPAND]
        return f"{self.endpoint}/api/models?{urlencode(params)}"

    def incremental_url(self, org: str) -> str:
        """Newest commits first: stops at the watermark (https://huggingface.co/docs/hub/api)."""
        params = [("author", org), ("sort", "lastModified"), ("direction", "-1"),
                  ("limit", str(INCREMENTAL_PAGE))] + [("expand[]", e) for e in EXPAND]
        return f"{self.endpoint}/api/models?{urlencode(params)}"

    def hub_wide_url(self) -> str:
        """New models across the whole Hub, newest first, matching `search` and `filter`."""
        params = ([("search", self.search)] if self.search else []) + [("filter", f) for f in self.filter]
        params += [("sort", "createdAt"), ("direction", "-1"), ("limit", str(HUB_WIDE_PAGE))]
        params += [("expand[]", e) for e in EXPAND]
        return f"{self.endpoint}/api/models?{urlencode(params)}"

    def mode(self, org: str) -> str:
        """`full` (a complete listing: baseline, reconciliation, and every crawl of an org
        whose complete listing is one request), `incremental` or `hub`."""
        if self.hub_wide:
            return "hub"
        prior = self.prior.get(org, {})
        if self.reconcile_every is None or not prior.get("baselined") or not prior.get("watermark"):
            return "full"
        if single_page(prior):
            return "full"  # one request either way, and a complete one sees every setting and removal
        last = prior.get("last_reconciled_at")
        if not last:
            return "full"
        from crawler.times import parse

        return "incremental" if parse(utcnow()) < reconcile_due(last, self.reconcile_every) else "full"

    async def start(self):
        for org in self.orgs:
            mode = self.mode(org)
            if mode == "hub":
                yield self._listing_request(self.hub_wide_url(), org, self.parse_newest, key="createdAt")
            elif mode == "incremental":
                yield self._listing_request(self.settings_url(org), org, self.parse_settings)
            else:
                yield self._listing_request(self.listing_url(org), org)

    def _listing_request(self, url: str, org: str, callback=None, **kwargs) -> Request:
        from urllib.parse import parse_qs, urlsplit

        limit = parse_qs(urlsplit(url).query).get("limit", [""])[0]
        page = int(limit) if limit.isdigit() else PAGE_SIZE
        return Request(url, headers=self._headers(), callback=callback or self.parse_listing,
                       errback=self.listing_failed, cb_kwargs={"org": org, **kwargs}, dont_filter=True,
                       meta={"download_maxsize": answer_cap(page)})

    async def parse_settings(self, response: Response, org: str):
        """The settings check of an org read incrementally: every model's id and settings.

        A known model it no longer lists (removed, renamed, made private, moved away) or
        whose gating, visibility or `disabled` moved makes this crawl read the org completely
        (a reconciliation, at once); otherwise the newest-first listing reads the commits.
        """
        try:
            page = self._page(response)
        except ValueError as exc:
            yield self._failed(org, f"settings check: {exc}")
            return
        rows = self.settings_seen[org]
        for raw in page:
            rows[raw["id"]] = raw
        next_url = self._next(response, org)
        if next_url is False:
            yield self._endless(org)
            return
        if next_url:
            yield self._listing_request(next_url, org, self.parse_settings)
            return
        known = self._known(org)
        missing = sorted(set(known) - set(rows))
        moved = sorted(i for i in set(known) & set(rows) if settings_moved(known[i].get("settings") or {}, rows[i]))
        if missing or moved:
            self.logger.info("%s: %d known models not listed, %d with new settings: reading it completely",
                             org, len(missing), len(moved))
            yield self._listing_request(self.listing_url(org), org)
            return
        self.fresh[org] = set(rows) - set(known)
        yield self._listing_request(self.incremental_url(org), org, self.parse_newest, key="lastModified")

    async def parse_newest(self, response: Response, org: str, key: str):
        """An incremental listing (newest `key` first): read down to the watermark's second
        and stop at the first older stamp.

        The Hub's times have one-second precision (`….000Z`), so a commit in the watermark's
        own second may be new: it is read again and its fingerprint says whether it changed.
        The listing says nothing of models it did not reach, so nothing is removed from it;
        the settings check before it (`parse_settings`) sends removals and settings to a
        complete listing, and counters wait for the next (`reconcile_every`). A hub-wide watch
        has no full listing: its first crawl records the newest page as the baseline, later
        ones what was created since.
        """
        try:
            page = self._page(response)
        except ValueError as exc:
            yield self._failed(org, str(exc))
            return
        watermark = self.prior.get(org, {}).get("watermark")
        newest = self.newest.get(org) or watermark  # across the pages of this listing
        observations, reached = [], False
        for raw in page:
            stamp = raw.get(key) if isinstance(raw.get(key), str) else None
            if watermark and stamp and same_second(stamp) < same_second(watermark):
                reached = True  # older than the watermark's second: seen at an earlier cycle
                break
            self.seen[org].add(raw["id"])
            observations.append(Observation(key=MODEL.key(raw["id"]), kind="model", raw=raw))
            if stamp and (newest is None or stamp > newest):
                newest = self.newest[org] = stamp
        requests = await self.fetch_files(observations, org)
        batch = self._batch(org, observations=observations, requests=requests)
        next_url = self._own(response, next_link(response)) if watermark and not reached and page else None
        if next_url:
            yield batch
            yield self._listing_request(next_url, org, self.parse_newest, key=key)
            return
        if not watermark and not page:
            batch.end = UnitEnd(complete=False, count=0, error="empty listing: not taken as a baseline")
        elif not page and self._known(org):
            # Newest first, the answer lists every model (down to the watermark and past it):
            # none at all where models are known is a fault, never "nothing new".
            batch.end = UnitEnd(complete=False, count=0,
                                error=f"empty answer: no models where {len(self._known(org))} are known")
        else:
            direct, sent = await self.read_directly(org)
            batch.observations += direct
            batch.requests += sent
            batch.end = UnitEnd(complete=True, count=len(self.seen[org]), incremental=True, watermark=newest)
        yield batch

    async def read_directly(self, org: str) -> tuple[list[Observation], int]:
        """`/api/models/<id>` for the models an incremental read must not miss: ids the settings
        check found unknown and the newest-first listing did not reach (made public, moved in),
        and the org's models on a subscription's watchlist. A redirect is a rename."""
        if self.hub_wide:
            return [], 0
        prefix = org.lower() + "/"
        ids = sorted((self.fresh[org] | {m for m in self.watched if m.lower().startswith(prefix)}) - self.seen[org])
        results = await asyncio.gather(*(self.probe(model_id) for model_id in ids))
        found = []
        for asked, result in zip(ids, results):
            if not isinstance(result, Observation) or result.raw["id"] in self.seen[org]:
                continue  # gone or failing: the settings check and the next reconciliation decide
            self.seen[org].add(result.raw["id"])
            if result.raw["id"] != asked and asked in self._known(org):
                result.renamed_from = MODEL.key(asked)
            found.append(result)
        return found, len(ids) + await self.fetch_files(found, org)

    def _next(self, response: Response, org: str) -> str | None | bool:
        """The next page of `org`'s listing; None on its last page; False past `MAX_PAGES`."""
        url = self._own(response, next_link(response))
        if url:
            self.followed[org] += 1
            if self.followed[org] >= MAX_PAGES:
                return False
        return url

    def _endless(self, org: str) -> Batch:
        return self._failed(org, f"still a next page after {MAX_PAGES} pages: the listing never ends")

    def _own(self, response: Response, link: str | None) -> str | None:
        """A next link on the endpoint's own origin; any other is not followed (it would
        carry the token elsewhere, and the Hub's cursor never points away)."""
        from urllib.parse import urlsplit

        if not link:
            return None
        url = response.urljoin(link)
        mine, theirs = urlsplit(self.endpoint), urlsplit(url)
        if (mine.scheme, mine.netloc) != (theirs.scheme, theirs.netloc):
            self.logger.warning("not following a next link to another origin: %s", theirs.netloc[:100])
            return None
        return url

    def _page(self, response: Response) -> list[dict]:
        if response.status != 200:
            raise ValueError(f"HTTP {response.status} from {short_url(response.url)}")
        try:
            page = json_answer(response.body)
        except ValueError as exc:
            raise ValueError(f"unreadable listing page: {exc}") from None
        if not isinstance(page, list):
            raise ValueError("unreadable listing page: listing is not a JSON array")
        return [m for m in page if isinstance(m, dict) and isinstance(m.get("id"), str)]

    # -- listing ------------------------------------------------------------------------

    def _batch(self, org: str, **kwargs) -> Batch:
        return Batch(watch=self.watch, source=self.source, unit=org, observed_at=utcnow(), **kwargs)

    def _failed(self, org: str, error: str) -> Batch:
        return self._batch(org, end=UnitEnd(complete=False, count=len(self.seen[org]), error=error[:300]))

    def listing_failed(self, failure):
        org = failure.request.cb_kwargs["org"]
        problem = describe_failure(failure)
        # The crawl's summary says it once per host (jobs/views/explain.py): one line per org here
        # would repeat it for every org of an unreachable Hub.
        self.logger.debug("listing of %s failed: %s", org, problem)
        yield self._failed(org, problem)

    async def parse_listing(self, response: Response, org: str):
        try:
            page = self._page(response)
        except ValueError as exc:
            yield self._failed(org, str(exc))
            return

        known = self._known(org)
        hold = bool(known)
        self.pages[org] += 1
        ready: list[Observation] = []
        for raw in page:
            self.seen[org].add(raw["id"])
            stamp = raw.get("lastModified")
            if isinstance(stamp, str) and stamp > self.newest.get(org, ""):
                self.newest[org] = stamp
            observation = Observation(key=MODEL.key(raw["id"]), kind="model", raw=raw)
            if hold and raw["id"] not in known:
                self.held[org].append(observation)
            else:
                ready.append(observation)
        requests = await self.fetch_files(ready, org)
        batch = self._batch(org, observations=ready, requests=requests)

        next_url = self._next(response, org)
        if next_url is False:
            yield batch
            yield self._endless(org)
            return
        if next_url:
            yield batch
            yield self._listing_request(next_url, org)
            return
        async for item in self.finish_org(org, batch):
            yield item

    async def finish_org(self, org: str, last_page: Batch):
        """A complete listing: check directly each previously known model it no longer shows."""
        prior = self.prior.get(org, {})
        known = prior.get("models", {})
        last = prior.get("last_complete_count") or len(known)
        ratio = self.crawler.settings.getfloat("OPENWATCH_SHORT_LISTING_RATIO", SHORT_LISTING_RATIO)
        count = len(self.seen[org])
        missing = sorted(set(known) - self.seen[org])
        short = bool(last) and count < ratio * last
        if count == 0 and not last:
            # Never baseline on nothing: an empty first answer is more likely a fault than a lab.
            yield last_page
            yield self._failed(org, "empty listing: not taken as a baseline")
            return
        if short:
            # Suspicious: trust it only if direct checks confirm every missing model is gone,
            # starting with a sample so a transient short answer costs few requests.
            sample = await asyncio.gather(*(self.probe(m) for m in missing[:PROBE_SAMPLE]))
            rest = []
            if sample and all(_gone(r) for r in sample):
                rest = await asyncio.gather(*(self.probe(m) for m in missing[PROBE_SAMPLE:]))
            results = [*sample, *rest]
            if not missing or not all(_gone(r) for r in results):
                # New models are still new: recorded now, whatever the listing's length says.
                held = self.held[org]
                last_page.requests += await self.fetch_files(held, org)
                last_page.observations += held
                yield last_page
                yield self._failed(org, f"suspiciously short listing: {count} models, last complete had {last}")
                return
        else:
            results = await asyncio.gather(*(self.probe(model_id) for model_id in missing))
        held = {o.raw["id"]: o for o in self.held[org]}
        found: list[Observation] = []
        probes: list[Probe] = []
        for old_id, result in zip(missing, results):
            if isinstance(result, Probe):
                probes.append(result)
                continue
            new_id = result.raw["id"]
            if new_id != old_id:
                # The Hub redirected the old id: a rename (or transfer), one item moving.
                observation = held.pop(new_id, None) or result
                observation.renamed_from = MODEL.key(old_id)
                found.append(observation)
            else:
                found.append(result)
        found += held.values()
        requests = await self.fetch_files([o for o in found if o.files is None], org) + len(missing)
        last_page.observations += found
        last_page.probes = probes
        last_page.requests += requests
        last_page.end = UnitEnd(complete=True, count=count, confirmed=short, watermark=self.newest.get(org),
                                state={"pages": self.pages[org]})
        yield last_page

    async def probe(self, model_id: str) -> Probe | Observation:
        """`/api/models/<id>`: gone (not found), still there, or moved (a redirect to another id)."""
        key = MODEL.key(model_id)
        request = Request(self.model_url(model_id), headers=self._headers(), dont_filter=True,
                          meta={"download_maxsize": answer_cap(1)})
        try:
            response = await self.crawler.engine.download_async(request)
        except Exception as exc:  # network errors after retries: transient, never "gone"
            return Probe(key, "error", describe_error(exc)[:300])
        error_code = _error_code(response)
        # Without a token the Hub answers 401 RepoNotFound for a missing (or private) repo,
        # with one 404: huggingface_hub.utils._http.hf_raise_for_status.
        if response.status in (401, 404) and error_code == "RepoNotFound":
            return Probe(key, "not_found", f"HTTP {response.status} RepoNotFound")
        if response.status == 200:
            try:
                raw = json.loads(response.body)
            except ValueError:
                raw = None
            if isinstance(raw, dict) and isinstance(raw.get("id"), str):
                return Observation(key=MODEL.key(raw["id"]), kind="model", raw=raw)
        return Probe(key, "error", f"HTTP {response.status} {error_code}".strip())

    # -- LICENSE-like files ---------------------------------------------------------------

    def _needs_files(self, raw: dict[str, Any], org: str) -> bool:
        known = self._known(org).get(raw["id"])
        if known is None:
            return True
        ungated = bool(known.get("gated")) and gating(raw.get("gated")) is False
        return known.get("read_sha", known.get("sha")) != raw.get("sha") or ungated

    async def fetch_files(self, observations: list[Observation], org: str) -> int:
        """Fetch the LICENSE-like files of the models whose commit moved since they were read."""
        jobs = []
        for observation in observations:
            raw = observation.raw
            if not self._needs_files(raw, org):
                continue  # files read at this commit already (and still unreadable if gated)
            etags = (self._known(org).get(raw["id"]) or {}).get("files", {})
            names = license_files(raw)
            observation.files = {}
            for name in names:
                jobs.append((observation, name, self.fetch_file(raw, name, etags.get(name))))
        results = await asyncio.gather(*(job for _, _, job in jobs))
        for (observation, name, _), got in zip(jobs, results):
            observation.files[name] = got
        return len(jobs)

    async def fetch_file(self, raw: dict[str, Any], name: str, etag: str | None) -> dict[str, Any]:
        revision = raw.get("sha") or "main"
        url = f"{self.endpoint}/{quote(raw['id'])}/resolve/{quote(revision)}/{quote(name)}"
        headers = self._headers()
        headers.pop("Accept", None)
        if etag:
            headers["If-None-Match"] = etag
        request = Request(url, headers=headers, dont_filter=True, meta={"download_maxsize": MAX_LICENSE_BYTES})
        try:
            response = await self.crawler.engine.download_async(request)
        except Exception as exc:
            return {"status": "error", "error": describe_error(exc)[:300]}
        error_code = _error_code(response)
        if response.status == 304:
            return {"status": "not_modified", "etag": etag}
        if response.status == 200:
            new_etag = response.headers.get("ETag", b"").decode("latin-1") or None
            return {"status": "ok", "etag": new_etag, "text": response.body.decode("utf-8", "replace")}
        if response.status in (401, 403) and error_code == "GatedRepo":
            return {"status": "gated"}
        return {"status": "error", "error": f"HTTP {response.status} {error_code}".strip()}


def _error_code(response: Response) -> str:
    """The Hub's `X-Error-Code` (`RepoNotFound`, `GatedRepo`, …) as a short word, else empty:
    a hostile endpoint's header is never copied into errors (it could carry the token)."""
    value = response.headers.get("X-Error-Code", b"").decode("latin-1").strip()
    return value if re.fullmatch(r"[A-Za-z]{1,40}", value) else ""


def _gone(result) -> bool:
    return isinstance(result, Probe) and result.status == "not_found"
