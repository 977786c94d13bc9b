"""`openwatch deploy`'s work: the project egg uploaded to every server (addversion.json)."""

from __future__ import annotations

import asyncio
import tempfile
from dataclasses import dataclass
from pathlib import Path

import httpx

from jobs.scrapyd.client import ScrapydClient, http_client
from jobs.scrapyd.egg import build_egg, deploy_version
from jobs.scrapyd.exceptions import ScrapydError
from jobs.scrapyd.settings import ScrapydSettings


@dataclass
class DeployResult:
    url: str
    ok: bool
    version: str
    spiders: int = 0
    error: str | None = None


async def deploy_async(settings: ScrapydSettings, *, version: str | None = None, egg: Path | None = None,
                       transport: httpx.AsyncBaseTransport | None = None) -> list[DeployResult]:
    """Upload the project egg (built now unless `egg` is given) to every server, at once."""
    version = version or deploy_version()
    if egg is None:
        with tempfile.TemporaryDirectory(prefix="openwatch-deploy-") as tmp:
            data = (await asyncio.to_thread(build_egg, Path(tmp))).read_bytes()
    else:
        data = Path(egg).read_bytes()

    async def one(http: httpx.AsyncClient, url: str) -> DeployResult:
        client = ScrapydClient(http, url, settings.project)
        try:
            answer = await client.addversion(version, data)
        except ScrapydError as exc:
            return DeployResult(url, False, version, error=str(exc))
        return DeployResult(url, True, version, spiders=int(answer.get("spiders") or 0))

    # addversion.json runs `scrapy list` on the egg before it answers: allow for it.
    async with http_client(settings, transport, timeout=max(settings.timeout, 120.0)) as http:
        return list(await asyncio.gather(*(one(http, url) for url in settings.urls)))


def deploy(settings: ScrapydSettings, *, version: str | None = None, egg: Path | None = None) -> list[DeployResult]:
    """`deploy_async` for callers without an event loop (the CLI)."""
    return asyncio.run(deploy_async(settings, version=version, egg=egg))
