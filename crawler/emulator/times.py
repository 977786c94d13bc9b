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


def iso(dt: datetime) -> str:
    """The Hub's timestamp format: `2025-01-20T03:46:07.000Z` (milliseconds, `Z`)."""
    dt = dt.astimezone(UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"
