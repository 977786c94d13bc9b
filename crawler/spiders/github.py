"""GitHub: each watched repo's state (`/repos/{o}/{r}`) and releases; one `Batch` per repo.

With a token, releases come from the REST API; without one from `releases.atom` (no
prerelease flag, no published date). Every request is conditional (`If-None-Match` with the
ETag remembered in the unit's state): a 304 costs nothing against the rate limit and is not
parsed. 403/429 with `x-ratelimit-remaining: 0` waits for the reset when that is within the
watch's `max_wait`, else the repo's listing ends incomplete (the crawl is `partial`).
"""

from __future__ import annotations

import os
import time
from typing import Any

import scrapy
from scrapy.http import Request, Response

from crawler.cut import pause
from crawler.exceptions import OpenwatchError
from crawler.items import Batch, Observation, UnitEnd
from crawler.sources import github as gh
from crawler.spiders import describe_error, json_answer, parse_units, read_prior
from crawler.times import utcnow

PER_PAGE = 100
MAX_PAGES = 100  # of an owner's repos: 10,000 at GitHub's 100 a page
MAX_RELEASE_PAGES = 10  # of new releases since the last crawl: past it, the repo is left incomplete


class RateLimitedError(OpenwatchError):
    """GitHub's quota is used up for longer than the watch may wait."""


class UnexpectedStatus(ValueError):
    """GitHub answered a status the spider cannot read as a result (its message says which)."""


class GitHubSpider(scrapy.Spider):
    """`-a repos=deepseek-ai/DeepSeek-V3,openai/gpt-oss` or `-a orgs=deepseek-ai`."""

    name = "github"
    source = "github"

    def __init__(self, repos="", orgs="", watch: str = "adhoc", prior: dict | str | None = None, prior_file: str | None = None,
                 prior_url: str | None = None,
                 api: str | None = None, web: str | None = None, token: str | None = None,
                 max_wait: float | str = 300.0, **kwargs: Any):
        super().__init__(**kwargs)
        self.repos = parse_units(repos)
        self.orgs = parse_units(orgs)
        if not self.repos and not self.orgs:
            raise ValueError("github spider needs repos or orgs, e.g. -a repos=openai/gpt-oss")
        self.units = self.repos + self.orgs
        self.watch = watch
        self.prior = read_prior(prior, prior_file, prior_url)
        self.api = (api or "https://api.github.com").rstrip("/")
        self.web = (web or "https://github.com").rstrip("/")
        self.token = token if token is not None else os.environ.get("GITHUB_TOKEN") or None
        self.max_wait = float(max_wait)

    def headers(self, etag: str | None = None, accept: str = "application/vnd.github+json") -> dict[str, str]:
        headers = {"Accept": accept, "X-GitHub-Api-Version": "2022-11-28"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        if etag:
            headers["If-None-Match"] = etag
        return headers

    def state(self, unit: str) -> dict[str, Any]:
        return dict(self.prior.get(unit, {}).get("state") or {})

    async def start(self):
        # Repos are read one after another through `download`, so a rate limit stops the rest.
        yield Request(f"{self.api}/rate_limit", headers=self.headers(), callback=self.run_all, dont_filter=True,
                      errback=self.run_all_anyway)

    async def run_all_anyway(self, failure):
        async for item in self.run_all(None):
            yield item

    async def run_all(self, response: Response | None):
        for repo in self.repos:
            yield await self.crawl_repo(repo, unit=repo)
        for owner in self.orgs:
            async for batch in self.crawl_owner(owner):
                yield batch

    async def get(self, url: str, etag: str | None = None, accept: str = "application/vnd.github+json") -> Response:
        """One GET; waits out an exhausted quota when the reset is within `max_wait`."""
        for _ in range(2):
            response = await self.crawler.engine.download_async(
                Request(url, headers=self.headers(etag, accept), dont_filter=True))
            wait = gh.rate_limit_wait(response.status, _headers(response), time.time(), response.body)
            if wait is None:
                return response
            if wait > self.max_wait:
                raise RateLimitedError(f"GitHub rate limit exhausted; resets in {wait:.0f}s (over max_wait "
                                       f"{self.max_wait:.0f}s): set GITHUB_TOKEN or raise max_wait")
            self.logger.info("GitHub rate limit: waiting %.0fs", wait)
            await pause(self.crawler, wait)  # a cut ends the wait at once (CrawlCut)
        return response

    async def crawl_repo(self, full_name: str, unit: str) -> Batch:
        batch = Batch(watch=self.watch, source=self.source, unit=unit, observed_at=utcnow())
        state = self.state(unit) if unit == full_name else self.state(unit).get(full_name, {})
        new_state = dict(state)
        try:
            response = await self.get(f"{self.api}/repos/{full_name}", state.get("repo_etag"))
            batch.requests += 1
            current = full_name
            if response.status == 200:
                raw = gh.repo_fields(json_answer(response.body))
                current = raw.get("full_name") or full_name
                observation = Observation(key=gh.repo_key_of(current), kind="repo", raw=raw)
                if current.lower() != full_name.lower():  # GitHub answered a 301 to the new name
                    observation.renamed_from = gh.repo_key_of(full_name)
                batch.observations.append(observation)
                new_state["repo_etag"] = _header(response, "ETag")
                new_state["name"] = current
            elif response.status != 304:
                raise UnexpectedStatus(f"HTTP {response.status} from {response.url}")
            current = new_state.get("name") or full_name
            releases = await self.releases(current, state, new_state, batch, self.known_releases(unit, current))
            renamed = current.lower() != full_name.lower()
            for raw in releases:
                observation = Observation(key=gh.release_key_of(current, raw["tag"]), kind="release", raw=raw)
                if renamed:
                    observation.renamed_from = gh.release_key_of(full_name, raw["tag"])
                batch.observations.append(observation)
            batch.end = UnitEnd(complete=True, count=len(releases), incremental=True)
        except RateLimitedError as exc:
            batch.end = UnitEnd(complete=False, count=0, error=str(exc))
        except Exception as exc:  # noqa: BLE001 - transient or unreadable: the repo is incomplete
            # The store names the unit; a repo of an owner's unit is named here.
            problem = str(exc) if isinstance(exc, UnexpectedStatus) else describe_error(exc)
            batch.end = UnitEnd(complete=False, count=0,
                                error=(problem if unit == full_name else f"{full_name}: {problem}")[:300])
        if unit == full_name:
            batch.end.state = new_state
        else:
            batch.end.state = {**self.state(unit), full_name: new_state}
        return batch

    async def releases(self, full_name: str, state: dict, new_state: dict, batch: Batch,
                       known: set[str] = frozenset()) -> list[dict]:
        """The newest releases. With a token, page after page (by `Link: rel="next"`, however
        many a page holds) until a page shows a release already known; a first sight reads
        the newest page only. Without one, `releases.atom` (one document, the newest ten)."""
        if self.token:
            url = f"{self.api}/repos/{full_name}/releases?per_page={PER_PAGE}"
            response = await self.get(url, state.get("releases_etag"))
            batch.requests += 1
            if response.status == 304:
                return []
            first, found = response, []
            for page in range(1, MAX_RELEASE_PAGES + 1):
                if response.status != 200:
                    raise UnexpectedStatus(f"HTTP {response.status} from {response.url}")
                listed = [r for r in gh.releases_from_api(json_answer(response.body), full_name)
                          if not r.get("draft")]
                found += listed
                url = gh.parse_link_next(_header(response, "Link"))
                if not known or not url or any(gh.release_key_of(full_name, r["tag"]).lower() in known
                                                for r in listed):
                    break
                if page == MAX_RELEASE_PAGES:
                    raise UnexpectedStatus(f"no known release in the newest {MAX_RELEASE_PAGES} pages")
                response = await self.get(url)
                batch.requests += 1
            self._not_suspicious(found, len(known))
            # The ETag only once the answer was read: a cut or refused answer's would make the
            # next request a 304, and what it missed would stay missed.
            new_state["releases_etag"] = _header(first, "ETag")
            return found
        response = await self.get(f"{self.web}/{full_name}/releases.atom", state.get("atom_etag"),
                                  accept="application/atom+xml")
        batch.requests += 1
        if response.status == 304:
            return []
        if response.status != 200:
            raise UnexpectedStatus(f"HTTP {response.status} from {response.url}")
        found = list(gh.releases_from_atom(response.body, full_name, _header(response, "Content-Type")))
        self._not_suspicious(found, len(known))
        new_state["atom_etag"] = _header(response, "ETag")
        return found

    @staticmethod
    def _not_suspicious(found: list, known: int) -> None:
        """Releases are almost never all deleted: none listed where some are known is a fault
        (an empty page from a flaky server), never read as "nothing new"."""
        if not found and known:
            raise UnexpectedStatus(f"empty answer: no releases where {known} are known; left for the next crawl")

    def known_releases(self, unit: str, full_name: str) -> set[str]:
        """The keys (lowercased) of the releases of `full_name` the store knows."""
        prefix = gh.release_key_of(full_name, "-")[:-1].lower()
        return {key.lower() for key in self.prior.get(unit, {}).get("models", {}) if key.lower().startswith(prefix)}

    async def crawl_owner(self, owner: str):
        """Every public repo of `owner` (an org, else a user), one batch per repo."""
        url = f"{self.api}/orgs/{owner}/repos?per_page={PER_PAGE}&type=public"
        names: list[str] = []
        pages = 0
        try:
            while url:
                pages += 1
                if pages > MAX_PAGES:  # a `Link: rel="next"` that never ends
                    raise UnexpectedStatus(f"still a next page after {MAX_PAGES} pages of repos")
                response = await self.get(url)
                if response.status == 404 and "/orgs/" in url:
                    url = f"{self.api}/users/{owner}/repos?per_page={PER_PAGE}&type=owner"
                    continue
                if response.status != 200:
                    raise UnexpectedStatus(f"HTTP {response.status} from {response.url}")
                names += [r["full_name"] for r in json_answer(response.body) if isinstance(r, dict) and r.get("full_name")]
                url = gh.parse_link_next(_header(response, "Link"))
        except Exception as exc:  # noqa: BLE001
            yield Batch(watch=self.watch, source=self.source, unit=owner, observed_at=utcnow(),
                        end=UnitEnd(complete=False, count=0, error=f"{owner}: {describe_error(exc)}"[:300]))
            return
        merged = Batch(watch=self.watch, source=self.source, unit=owner, observed_at=utcnow())
        state = {}
        complete = True
        errors = []
        for name in names:
            batch = await self.crawl_repo(name, unit=owner)
            merged.observations += batch.observations
            merged.requests += batch.requests
            state[name] = (batch.end.state or {}).get(name, {})
            if not batch.end.complete:
                complete = False
                errors.append(batch.end.error)
        merged.end = UnitEnd(complete=complete, count=len(names), incremental=True,
                             error="; ".join(e for e in errors if e)[:300] or None, state=state)
        yield merged


def _header(response: Response, name: str) -> str | None:
    value = response.headers.get(name)
    return value.decode("latin-1") if value else None


def _headers(response: Response) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v[0].decode("latin-1") for k, v in response.headers.items() if v}
