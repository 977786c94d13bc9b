"""Every crawl's Scrapy settings, built here once: the project's (`crawler/settings.py`), the
source's pacing, and what the config says of the watch."""

from __future__ import annotations

import os
from typing import Any

from scrapy.settings import Settings
from scrapy.utils.project import get_project_settings

from crawler.sources import source_for


def watch_settings(config, watch) -> dict[str, Any]:
    """What the config tells every crawl of `watch`, wherever it runs: its User-Agent and
    request timeout."""
    return {"USER_AGENT": config.daemon.user_agent, "DOWNLOAD_TIMEOUT": watch.request_timeout}


def job_settings(config, watch) -> dict[str, Any]:
    """A Scrapyd job's settings (`-s`): the source's pacing and `watch_settings`. A worker
    keeps no cache and writes no database."""
    return {**source_for(watch.source).settings, **watch_settings(config, watch)}


def crawler_settings(config, watch, *, log_level: str = "WARNING") -> Settings:
    """The settings of a crawl of `watch` in this process: it writes the history database
    and keeps the cache of sources that have one (`Source.crawl_settings`) beside it."""
    os.environ.setdefault("SCRAPY_SETTINGS_MODULE", "crawler.settings")
    settings = get_project_settings()
    settings.setmodule("crawler.settings", priority="project")
    settings.setdict(source_for(watch.source).crawl_settings(watch), priority="spider")
    settings.setdict(
        {
            **watch_settings(config, watch),
            "OPENWATCH_DATABASE": str(config.database),
            # Sources that cache (arXiv: a day) keep it beside the database.
            "HTTPCACHE_DIR": str(config.database.parent / ".openwatch-cache"),
            "LOG_LEVEL": log_level,
        },
        priority="cmdline",
    )
    return settings
