"""Hugging Face: every model of the watched orgs, their licence metadata and LICENSE-like files.

Knows nothing of SQLite: what it must know of the past (last shas, ETags, known model ids,
last complete count) comes in as the `prior` argument.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import scrapy
from scrapy.http import Request, Response

from crawler.items import ListingResult, ModelObservation, ModelProbe
from crawler.normalize import gating

# https://huggingface.co/docs/hub/api#get-apimodels : `expand` cannot be combined with `full`.
EXPAND = (
    "author", "cardData", "createdAt", "disabled", "downloads", "gated", "lastModified",
    "library_name", "likes", "pipeline_tag", "private", "safetensors", "sha", "siblings", "tags",
)
PAGE_SIZE = 1000
LICENSE_FILE = re.compile(r"^(LICEN[CS]E|COPYING|USE_POLICY)[^/]*$", re.IGNORECASE)
MAX_LICENSE_BYTES = 1024 * 1024
PROBE_SAMPLE = 20  # direct checks tried first when a listing looks short


def _gone(result) -> bool:
    return isinstance(result, ModelProbe) and result.status == "not_found"


def utcnow() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def license_files(raw: dict[str, Any]) -> list[str]:
    """Root files named LICENSE*, LICENCE*, COPYING*, USE_POLICY*, plus a `license_link`
    that points inside the repo (relative, or …/<repo>/blob|resolve/<rev>/<path>)."""
    names = []
    for sibling in raw.get("siblings") or []:
        name = sibling.get("rfilename") if isinstance(sibling, dict) else None
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
        siblings = {s.get("rfilename") for s in raw.get("siblings") or [] if isinstance(s, dict)}
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
        prior: dict | None = None,
        prior_file: str | None = None,
        endpoint: str | None = None,
        token: str | None = None,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.orgs = [o.strip() for o in (orgs.split(",") if isinstance(orgs, str) else orgs) if o.strip()]
        if not self.orgs:
            raise ValueError("huggingface spider needs orgs, e.g. -a orgs=deepseek-ai,Qwen")
        self.units = self.orgs  # the watched units: one baseline and one listing result each
        self.watch = watch
        if prior is None and prior_file:
            prior = json.loads(Path(prior_file).read_text())
        self.prior: dict[str, dict] = prior or {}
        self._endpoint = endpoint
        self.token = token if token is not None else os.environ.get("HF_TOKEN") or None
        self.seen: dict[str, set[str]] = {org: set() for org in self.orgs}

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

    async def start(self):
        for org in self.orgs:
            yield Request(
                self.listing_url(org),
                headers=self._headers(),
                callback=self.parse_listing,
                errback=self.listing_failed,
                cb_kwargs={"org": org},
                dont_filter=True,
            )

    # -- listing ------------------------------------------------------------------------

    def _listing_result(self, org: str, complete: bool, error: str | None = None) -> ListingResult:
        return ListingResult(
            watch=self.watch, unit=org, source=self.source, complete=complete,
            count=len(self.seen[org]), observed_at=utcnow(), error=error,
        )

    def listing_failed(self, failure):
        org = failure.request.cb_kwargs["org"]
        self.logger.warning("listing of %s failed: %s", org, failure.getErrorMessage())
        yield self._listing_result(org, False, f"{type(failure.value).__name__}: {failure.getErrorMessage()}"[:300])

    async def parse_listing(self, response: Response, org: str):
        if response.status != 200:
            yield self._listing_result(org, False, f"HTTP {response.status} from {response.url}")
            return
        try:
            page = json.loads(response.text)
            if not isinstance(page, list):
                raise ValueError("listing is not a JSON array")
        except ValueError as exc:
            yield self._listing_result(org, False, f"unreadable listing page: {exc}"[:300])
            return

        models = [m for m in page if isinstance(m, dict) and isinstance(m.get("id"), str)]
        observations = await asyncio.gather(*(self.observe(m, org, "listing") for m in models))
        for observation in observations:
            self.seen[org].add(observation.raw["id"])
            yield observation

        next_url = self.next_link(response)
        if next_url:
            yield Request(
                response.urljoin(next_url),
                headers=self._headers(),
                callback=self.parse_listing,
                errback=self.listing_failed,
                cb_kwargs={"org": org},
                dont_filter=True,
            )
            return

        async for item in self.finish_org(org):
            yield item

    @staticmethod
    def next_link(response: Response) -> str | None:
        """`Link: <url>; rel="next"` (the GitHub format the Hub uses for its cursor)."""
        for value in response.headers.getlist("Link"):
            for part in value.decode("latin-1").split(","):
                match = re.match(r'\s*<([^>]+)>\s*;(.*)$', part)
                if match and re.search(r'rel\s*=\s*"?next"?', match.group(2)):
                    return match.group(1)
        return None

    async def finish_org(self, org: str):
        """A complete listing: check directly each previously known model it no longer shows."""
        prior = self.prior.get(org, {})
        known = prior.get("models", {})
        last = prior.get("last_complete_count") or len(known)
        ratio = self.crawler.settings.getfloat("OPENWATCH_SHORT_LISTING_RATIO", 0.5)
        count = len(self.seen[org])
        missing = sorted(set(known) - self.seen[org])
        short = bool(last) and count < ratio * last
        if count == 0 and not last:
            # Never baseline on nothing: an empty first answer is more likely a fault than a lab.
            yield self._listing_result(org, False, "empty listing: not taken as a baseline")
            return
        if short:
            # Suspicious: trust it only if direct checks confirm every missing model is gone,
            # starting with a sample so a transient short answer costs few requests.
            sample = await asyncio.gather(*(self.probe(m, org) for m in missing[:PROBE_SAMPLE]))
            rest = []
            if sample and all(_gone(r) for r in sample):
                rest = await asyncio.gather(*(self.probe(m, org) for m in missing[PROBE_SAMPLE:]))
            if not missing or not all(_gone(r) for r in [*sample, *rest]):
                yield self._listing_result(
                    org, False, f"suspiciously short listing: {count} models, last complete had {last}"
                )
                return
            results = [*sample, *rest]
        else:
            results = await asyncio.gather(*(self.probe(model_id, org) for model_id in missing))
        for result in results:
            yield result
        done = self._listing_result(org, True)
        done.confirmed = short
        yield done

    async def probe(self, model_id: str, org: str):
        request = Request(self.model_url(model_id), headers=self._headers(), dont_filter=True)
        try:
            response = await self.crawler.engine.download_async(request)
        except Exception as exc:  # network errors after retries: transient, never "gone"
            return ModelProbe(self.watch, org, model_id, "error", f"{type(exc).__name__}: {exc}"[:300], utcnow())
        error_code = response.headers.get("X-Error-Code", b"").decode("latin-1")
        # Without a token the Hub answers 401 RepoNotFound for a missing (or private) repo,
        # with one 404: huggingface_hub.utils._http.hf_raise_for_status.
        if response.status in (401, 404) and error_code == "RepoNotFound":
            return ModelProbe(self.watch, org, model_id, "not_found", f"HTTP {response.status} RepoNotFound", utcnow())
        if response.status == 200:
            try:
                raw = json.loads(response.text)
            except ValueError:
                raw = None
            if isinstance(raw, dict) and raw.get("id") == model_id:
                return await self.observe(raw, org, "probe")
            if isinstance(raw, dict) and isinstance(raw.get("id"), str):
                # The Hub redirects a renamed or transferred repo: the old id is gone.
                return ModelProbe(self.watch, org, model_id, "not_found", f"moved to {raw['id'][:200]}", utcnow())
        return ModelProbe(self.watch, org, model_id, "error", f"HTTP {response.status} {error_code}".strip(), utcnow())

    # -- one model ----------------------------------------------------------------------

    async def observe(self, raw: dict[str, Any], org: str, via: str) -> ModelObservation:
        observation = ModelObservation(watch=self.watch, unit=org, raw=raw, observed_at=utcnow(), via=via)
        known = self.prior.get(org, {}).get("models", {}).get(raw["id"])
        ungated = bool(known and known.get("gated")) and gating(raw.get("gated")) is False
        read_at = (known or {}).get("read_sha", (known or {}).get("sha"))
        if known is not None and read_at == raw.get("sha") and not ungated:
            return observation  # files read at this commit already (and still unreadable if gated)
        etags = (known or {}).get("files", {})
        names = license_files(raw)
        results = await asyncio.gather(*(self.fetch_file(raw, name, etags.get(name)) for name in names))
        observation.license_files = dict(zip(names, results))
        return observation

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
            return {"status": "error", "error": f"{type(exc).__name__}: {exc}"[:300]}
        error_code = response.headers.get("X-Error-Code", b"").decode("latin-1")
        if response.status == 304:
            return {"status": "not_modified", "etag": etag}
        if response.status == 200:
            new_etag = response.headers.get("ETag", b"").decode("latin-1") or None
            return {"status": "ok", "etag": new_etag, "text": response.body.decode("utf-8", "replace")}
        if response.status in (401, 403) and error_code == "GatedRepo":
            return {"status": "gated"}
        return {"status": "error", "error": f"HTTP {response.status} {error_code}".strip()}
