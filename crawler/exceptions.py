"""The one root of openwatch's own errors, and the crawler's.

    OpenwatchError                       every domain error: the CLI prints it as one line
     ├── jobs.exceptions.ConfigError       the configuration is missing or invalid (exit 2)
     │    └── UnknownNameError             no watch/subscription of that name
     ├── jobs.lock.AlreadyRunning          another daemon uses the database (exit 1)
     ├── crawler.history.exceptions.HistoryError   the database cannot be used as it is
     ├── crawler.sources.SourceError       a source that does not exist or is malformed
     ├── crawler.spiders.github.RateLimitedError   a quota that resets later than a watch may wait
     ├── crawler.cut.CrawlCut              a request abandoned because its crawl was cut (also an IgnoreRequest)
     └── alerts.exceptions.AlertsError     delivery errors (`retryable` says whether to retry)

Each package keeps its own `exceptions.py` below this root; third-party errors are wrapped
with `raise … from exc`.
"""

from __future__ import annotations


class OpenwatchError(Exception):
    """Base class of openwatch's own errors."""
