"""Digest subscriptions: when they are sent (`Digest`, read from `digest` and `timezone`),
and how deliveries wait until then, to go out together as one message grouped by type and org
with counts (`render.group_events`). The one home of digests."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone
from typing import Any, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones



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


DIGEST_EXAMPLES = 'use "hourly", "daily HH:MM" or "weekly MON HH:MM", e.g. "daily 09:00"'


def _clock(text: str) -> tuple[int, int]:
    """"09:00" -> (9, 0); ValueError for anything that is not a 24-hour time of day."""
    match = re.fullmatch(r"(\d{1,2}):(\d{2})", text)
    if not match or int(match.group(1)) > 23 or int(match.group(2)) > 59:
        raise ValueError(text)
    return int(match.group(1)), int(match.group(2))


def _weekday(text: str) -> int:
    """"mon" or "monday" -> 0 … "sun" or "sunday" -> 6."""
    full = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
    for number, (short, name) in enumerate(zip(WEEKDAYS, full)):
        if text.lower() in (short.lower(), name):
            return number
    raise ValueError(text)


def read_digest(read: Any) -> Digest | None:
    """A subscription's `digest` (and `timezone`) from the config's reader; None without one."""
    zone = "UTC"
    if read.has("timezone"):
        zone = read.string("timezone", example='"Europe/Paris"')
        if not read.has("digest"):
            raise read.error("timezone", "is set but digest is not", 'add digest = "daily 09:00", or remove timezone')
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            close = difflib.get_close_matches(zone, sorted(available_timezones()), n=1)
            fix = f'did you mean "{close[0]}"?' if close else 'use an IANA name such as "Europe/Paris" or "UTC"'
            raise read.error("timezone", f"{read.show(zone)} is not a time zone", fix) from None
    if not read.has("digest"):
        return None
    text = read.string("digest", example='"daily 09:00"')
    words = text.lower().split()
    kind = words[0] if words else ""
    try:
        if kind == "hourly" and len(words) == 1:
            return Digest("hourly", None, 0, 0, zone)
        if kind == "daily" and len(words) == 2:
            hour, minute = _clock(words[1])
            return Digest("daily", None, hour, minute, zone)
        if kind == "weekly" and len(words) == 3:
            hour, minute = _clock(words[2])
            return Digest("weekly", _weekday(words[1]), hour, minute, zone)
    except ValueError:
        pass
    raise read.error("digest", f"{read.show(text)} is not a digest schedule", DIGEST_EXAMPLES)


class Subscribed(Protocol):
    """What the digest helpers read of a subscription (`alerts.types.Subscription`)."""

    digest: "Digest | None"


def is_digest(sub: Subscribed) -> bool:
    return getattr(sub, "digest", None) is not None


def title(sub: Subscribed) -> str | None:
    """`daily digest`, `weekly digest`, …; None for a subscription sent as events happen."""
    if not is_digest(sub):
        return None
    return f"{sub.digest.kind} digest"


def due_at(sub: Subscribed, created: datetime) -> datetime:
    """When a delivery created at `created` is first due: now, or the next digest time."""
    return sub.digest.next_after(created) if is_digest(sub) else created
