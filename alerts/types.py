"""The alerts package's own types: who hears about which events (`Subscription`), the mail
server (`Smtp`), a secret left unset (`MissingSecret`). `alerts/config.py` reads them from
the config's tables; nothing here reads a file. When a digest is sent: `alerts/digest.py`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from alerts.digest import Digest
from crawler.exceptions import OpenwatchError

@dataclass(frozen=True)
class Subscription:
    """One `[[subscription]]`: who hears about which events, through which channel.

    A filter that is `None` matches everything. `orgs` are lower-cased (compare with
    `org.lower()`), `countries` upper-cased, `models` are item keys (`model:hf/owner/name`).
    `options` holds the channel's settings (`url`, `to`, `secret`) and is left out of repr.
    """

    name: str
    channel: str
    events: frozenset[str]
    orgs: frozenset[str] | None
    countries: frozenset[str] | None
    categories: frozenset[str] | None
    watches: frozenset[str] | None
    models: frozenset[str] | None
    digest: Digest | None
    enabled: bool
    options: Mapping[str, Any] = field(repr=False, hash=False)


@dataclass(frozen=True)
class MissingSecret:
    """A secret whose `${VAR}` is unset, in a config loaded for queries (`secrets=False`).

    Not a string, so it cannot be sent by mistake; `str()` shows the reference (`status`
    lists it as a subscription's target); `error` is the config's error naming the variable,
    raised by `Config.require_secrets()` before anything is sent.
    """

    variable: str
    error: OpenwatchError = field(compare=False, repr=False)

    def __str__(self) -> str:
        return f"${{{self.variable}}} (not set)"


@dataclass(frozen=True)
class Smtp:
    """The mail server email subscriptions go through (`timeout` in seconds)."""

    host: str
    port: int
    starttls: bool
    ssl: bool
    username: str
    password: str | MissingSecret = field(repr=False)
    sender: str
    timeout: float


class Rendered(NamedTuple):
    """One message to send and the events it carries (a delivery is sent when its message is)."""

    event_ids: tuple[str, ...]
    payload: Any
