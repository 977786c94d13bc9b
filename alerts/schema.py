"""The alerts tables: the outbox (`deliveries`), created and migrated by their owner.

The history database runs these through its migration runner (`crawler.history.schema.migrate`,
names recorded in `_migrations` with an `alerts/` prefix); `jobs.database.connect` hands them
over, so the history layer knows no table of alerts. Tables are a public interface (README,
"Schema"): change them only by appending a migration, never by editing an applied one.

Until the history and alerts migrations were split, the history's own `001_initial` and
`002_delivery_claims` created this table. Both steps here therefore look before they create:
on such a database they find everything in place and only record themselves.
"""

from __future__ import annotations

from typing import Callable

import sqlite_utils


def _m001_deliveries(db: sqlite_utils.Database) -> None:
    """One row per (event, subscription): the outbox the ingest writes in its own transaction."""
    if not db["deliveries"].exists():
        db["deliveries"].create(
            {
                "id": int,
                "event_id": str,
                "subscription": str,
                "channel": str,
                "status": str,          # pending | sent | failed | dead | suppressed
                "attempts": int,
                "created_at": str,
                "next_attempt_at": str,  # due time (for digests: the digest's send time)
                "last_attempt_at": str,
                "sent_at": str,
                "last_error": str,
            },
            pk="id",
            foreign_keys=[("event_id", "events", "id")],
        )
    db["deliveries"].create_index(["event_id", "subscription"], unique=True, if_not_exists=True)
    db["deliveries"].create_index(["status", "next_attempt_at"], if_not_exists=True)


def _m002_delivery_claims(db: sqlite_utils.Database) -> None:
    """A dispatcher's claim on the deliveries it is sending, kept apart from their due time:
    `openwatch deliver` overrides the due time (backoff), never another dispatcher's live claim."""
    columns = db["deliveries"].columns_dict
    if "claimed_until" not in columns:
        db["deliveries"].add_column("claimed_until", str)  # ISO UTC `Z`; NULL or past: nobody is sending it
    if "claim_id" not in columns:
        db["deliveries"].add_column("claim_id", str)       # the dispatch run that holds the claim


MIGRATIONS: list[tuple[str, Callable[[sqlite_utils.Database], None]]] = [
    ("alerts/001_deliveries", _m001_deliveries),
    ("alerts/002_delivery_claims", _m002_delivery_claims),
]


def anything_waiting(db: sqlite_utils.Database) -> bool:
    """Whether a dispatch could have work: a delivery pending or failed (to send, retry or
    suppress). Without one the caller need not load the channels, templates and HTTP client."""
    if not db["deliveries"].exists():
        return False
    return db.execute("SELECT 1 FROM deliveries WHERE status IN ('pending', 'failed') LIMIT 1").fetchone() is not None
