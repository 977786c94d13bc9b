"""Scrapyd's JSON API on one server, and the HTTP client every call goes through."""

from __future__ import annotations

from typing import Any, Mapping

import httpx

from jobs.scrapyd.exceptions import MAX_ERROR, ScrapydError
from jobs.scrapyd.settings import ScrapydSettings


class ScrapydClient:
    """Scrapyd's JSON API on one server (https://scrapyd.readthedocs.io/en/latest/api.html).

    Scrapyd answers most errors with HTTP 200 and `{"status": "error", "message": …}`; both
    that and HTTP errors become `ScrapydError`.
    """

    def __init__(self, http: httpx.AsyncClient, url: str, project: str):
        self.http = http
        self.url = url.rstrip("/")
        self.project = project

    def absolute(self, path: str) -> str:
        """listjobs' `log_url` / `items_url` are root paths of the server: `/logs/…`."""
        return self.url + path if path.startswith("/") else f"{self.url}/{path}"

    async def call(self, method: str, endpoint: str, **kwargs) -> dict:
        try:
            response = await self.http.request(method, f"{self.url}/{endpoint}", **kwargs)
        except httpx.HTTPError as exc:
            raise ScrapydError(f"{self.url}: {endpoint}: {type(exc).__name__}: {exc}"[:MAX_ERROR]) from exc
        if response.status_code == 401:
            raise ScrapydError(f"{self.url}: {endpoint}: HTTP 401: check [scrapyd] username and password")
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise ScrapydError(f"{self.url}: {endpoint}: HTTP {response.status_code}, not a Scrapyd answer"
                               f" ({response.text[:100]!r})")
        if body.get("status") != "ok":
            raise ScrapydError(f"{self.url}: {endpoint}: {str(body.get('message') or body)[:200]}")
        return body

    async def daemonstatus(self) -> dict:
        return await self.call("GET", "daemonstatus.json")

    async def addversion(self, version: str, egg: bytes) -> dict:
        return await self.call("POST", "addversion.json", data={"project": self.project, "version": version},
                               files={"egg": ("project.egg", egg, "application/octet-stream")})

    async def schedule(self, spider: str, jobid: str, args: list[tuple[str, str]], settings: Mapping[str, str]) -> str:
        data: dict[str, Any] = {"project": self.project, "spider": spider, "jobid": jobid}
        if settings:
            data["setting"] = [f"{k}={v}" for k, v in settings.items()]
        data.update(dict(args))
        return (await self.call("POST", "schedule.json", data=data))["jobid"]

    async def status(self, job: str) -> str | None:
        """"pending", "running", "finished", or None: this server does not know the job."""
        return (await self.call("GET", "status.json", params={"job": job, "project": self.project}))["currstate"]

    async def job(self, job: str) -> dict | None:
        """The job's entry in listjobs.json, with its state added."""
        listing = await self.call("GET", "listjobs.json", params={"project": self.project})
        for state in ("finished", "running", "pending"):
            for entry in listing.get(state) or ():
                if entry.get("id") == job:
                    return {**entry, "state": state}
        return None

    async def cancel(self, job: str, signal: str = "INT") -> str | None:
        return (await self.call("POST", "cancel.json", data={"project": self.project, "job": job,
                                                             "signal": signal})).get("prevstate")


def http_client(settings: ScrapydSettings, transport=None, *, timeout: float | None = None) -> httpx.AsyncClient:
    """An HTTP client for the servers of `settings`."""
    # trust_env=False: servers are named in the config; an HTTP(S)_PROXY meant for the
    # sources must not swallow calls to workers on a private network.
    return httpx.AsyncClient(auth=settings.auth, timeout=timeout or settings.timeout, transport=transport,
                             trust_env=False, headers={"User-Agent": "openwatch-scrapyd-client"})

