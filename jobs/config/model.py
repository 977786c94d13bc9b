"""The configuration as the rest of openwatch sees it: `Config`, its `Watch`es, `Endpoints`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alerts.settings import AlertSettings
from alerts.types import MissingSecret, Smtp, Subscription
from jobs.daemon import DaemonSettings
from jobs.exceptions import UnknownNameError

MAX_DEFAULT_REQUEST_TIMEOUT = 60.0  # one answer; a crawl makes many


class Endpoints(Mapping):
    """Base URLs of the sources by `[endpoints]` key, without a trailing slash (mirrors and
    the emulator go here); also readable as attributes (`endpoints.huggingface`)."""

    def __init__(self, urls: Mapping[str, str]):
        self._urls = dict(urls)

    def __getitem__(self, key: str) -> str:
        return self._urls[key]

    def __iter__(self):
        return iter(self._urls)

    def __len__(self) -> int:
        return len(self._urls)

    def __getattr__(self, name: str) -> str:
        try:
            return self.__dict__["_urls"][name]
        except KeyError:
            raise AttributeError(name) from None

    def __repr__(self) -> str:
        return f"Endpoints({self._urls!r})"


@dataclass(frozen=True)
class Watch:
    """One `[[watch]]`: a source, what of it to crawl, and how often (durations in seconds).

    `options` holds the source's own keys as its class validated them (`watch.orgs` reads
    `options["orgs"]`); `units` are the watched units, each baselined on its own.
    """

    name: str
    source: str
    every: float
    timeout: float
    jitter: float
    enabled: bool
    failing_after: int
    options: Mapping[str, Any] = field(default_factory=dict)
    units: tuple[str, ...] = ()
    # Seconds one request may take (connect to last byte) before it is retried, then given up
    # (DOWNLOAD_TIMEOUT): default the crawl's timeout, at most a minute.
    request_timeout: float = MAX_DEFAULT_REQUEST_TIMEOUT

    def __getattr__(self, name: str) -> Any:
        options = self.__dict__.get("options") or {}
        if name in options:
            return options[name]
        raise AttributeError(f"{self.source} watches have no {name!r}")


@dataclass(frozen=True)
class Config:
    """A whole, valid `openwatch.toml`; `path` and `database` are absolute."""

    path: Path
    database: Path
    endpoints: Endpoints
    watches: tuple[Watch, ...]
    subscriptions: tuple[Subscription, ...]
    smtp: Smtp | None
    daemon: DaemonSettings
    feed_path: Path | None = None  # an Atom feed of events kept up to date after each crawl
    scrapyd: Any = None            # jobs.scrapyd.ScrapydSettings: crawls run as Scrapyd jobs
    missing_secrets: tuple[MissingSecret, ...] = ()  # only when loaded with `secrets=False`

    def require_secrets(self) -> None:
        """Raise the `ConfigError` of the first secret whose variable is unset (before sending)."""
        if self.missing_secrets:
            raise self.missing_secrets[0].error

    @property
    def alerts(self) -> AlertSettings:
        """What the alerts package gets of this config: subscriptions, [smtp], the User-Agent."""
        names = tuple(s.name for s in self.subscriptions)
        return AlertSettings(
            subscriptions=self.subscriptions,
            smtp=self.smtp,
            user_agent=self.daemon.user_agent,
            unknown=lambda name: UnknownNameError("subscription", name, names),
        )

    def watch(self, name: str) -> Watch:
        """The watch called `name`; else `UnknownNameError`, a `KeyError` and a `ConfigError`."""
        for watch in self.watches:
            if watch.name == name:
                return watch
        raise UnknownNameError("watch", name, (w.name for w in self.watches))

    def subscription(self, name: str) -> Subscription:
        """The subscription called `name`; `UnknownNameError` if none."""
        for subscription in self.subscriptions:
            if subscription.name == name:
                return subscription
        raise UnknownNameError("subscription", name, (s.name for s in self.subscriptions))

