"""Times as the Hub writes them."""

from __future__ import annotations

from datetime import datetime, timezone

UTC = timezone.utc

# Repos older than the Hub's `createdAt` field report one of two instants a second apart
# (both seen in real answers): they mean "unknown", not "new" (DESIGN.md, rule 3).
SENTINEL_CREATED_AT = datetime(2022, 3, 2, 23, 29, 4, tzinfo=UTC)
SENTINEL_CREATED_AT_05 = datetime(2022, 3, 2, 23, 29, 5, tzinfo=UTC)
LEGACY_CREATED_ATS = (SENTINEL_CREATED_AT, SENTINEL_CREATED_AT_05)


def utcnow() -> datetime:
    return datetime.now(UTC)


def to_second(dt: datetime) -> datetime:
    """A time as the Hub keeps it: whole seconds (two commits within one second share it)."""
    return dt.replace(microsecond=0)


def iso(dt: datetime) -> str:
    """The Hub's timestamp format: `2025-01-20T03:46:07.000Z`. Every `lastModified` and
    `createdAt` in recorded answers (shared/samples, huggingface_hub's test cassettes) ends in
    `.000Z`: one-second precision written with a millisecond field."""
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def iso_ms(dt: datetime) -> str:
    """Milliseconds kept (`2025-01-20T03:46:07.123Z`): the daily papers' times."""
    dt = dt.astimezone(UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"
