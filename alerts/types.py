"""The alerts package's own types: who hears about which events (`Subscription`), when a
digest is sent (`Digest`), the mail server (`Smtp`). The config loader (`jobs/config.py`)
builds them; nothing here reads a file."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from crawler.exceptions import OpenwatchError

WEEKDAYS = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")


@dataclass(frozen=True)
class Digest:
    """When a digest subscription is sent: `hourly`, `daily HH:MM` or `weekly MON HH:MM`.

    `weekday` is 0 for Monday (as `datetime.weekday()`); times are wall-clock in `timezone`.
    """

    kind: str
    weekday: int | None
    hour: int
    minute: int
    timezone: str = "UTC"

    def next_after(self, moment: datetime) -> datetime:
        """The first send time strictly after `moment` (an aware datetime), in UTC.

        A wall-clock time that a DST change skips is sent at the same UTC offset as before
        the change (02:30 on a spring-forward night becomes 03:30); one that occurs twice is
        sent the first time.
        """
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ValueError("next_after needs an aware datetime")
        zone = ZoneInfo(self.timezone)
        moment = moment.astimezone(timezone.utc)
        local = moment.astimezone(zone)
        if self.kind == "hourly":
            candidate = local.replace(minute=self.minute, second=0, microsecond=0)
            candidate = candidate.astimezone(timezone.utc)
            while candidate <= moment:
                candidate += timedelta(hours=1)
            return candidate
        for offset in range(9):
            day = local.date() + timedelta(days=offset)
            if self.kind == "weekly" and day.weekday() != self.weekday:
                continue
            wall = datetime.combine(day, time(self.hour, self.minute), tzinfo=zone)
            candidate = wall.astimezone(timezone.utc)
            if candidate > moment:
                return candidate
        raise AssertionError(f"no send time within 9 days for {self}")  # pragma: no cover

    def __str__(self) -> str:
        at = f"{self.hour:02d}:{self.minute:02d}"
        text = {
            "hourly": "hourly",
            "daily": f"daily {at}",
            "weekly": f"weekly {WEEKDAYS[self.weekday or 0]} {at}",
        }[self.kind]
        return text if self.timezone == "UTC" else f"{text} ({self.timezone})"


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
