"""The one time format of openwatch: ISO 8601 UTC with `Z`, microseconds (database, JSON, logs)."""

from __future__ import annotations

from datetime import datetime, timezone

ISO = "%Y-%m-%dT%H:%M:%S.%fZ"


def utcnow() -> str:
    """Now as ISO 8601 UTC with `Z`."""
    return iso(datetime.now(timezone.utc))


def iso(moment: datetime) -> str:
    """An aware (or UTC-naive) datetime as ISO 8601 UTC with `Z`."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc)
    return moment.strftime(ISO)


def iso_seconds(moment: datetime) -> str:
    """To the second, for people (status, logs): `2026-11-29T01:12:44Z`."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse(text: str) -> datetime:
    """ISO 8601 (with `Z` or an offset) -> an aware datetime; a time without either is UTC.

    Raises ValueError for text that is not ISO 8601."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
