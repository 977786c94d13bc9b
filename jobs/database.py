"""The openwatch database as `jobs` opens it: the history's tables and the alerts outbox's.

The history layer migrates its own tables and knows no other; the outbox's migrations belong
to alerts (alerts/schema.py). Every command, the daemon and the crawls it runs open the file
through `connect` here, so a database is never written without the table its events are
queued in.
"""

from __future__ import annotations

from pathlib import Path

import sqlite_utils


def connect(path: str | Path, *, readonly: bool = False) -> sqlite_utils.Database:
    """`crawler.history.schema.connect` with the alerts tables' migrations (none when `readonly`:
    readers treat a database without `deliveries` as one with nothing queued yet)."""
    from alerts.schema import MIGRATIONS as ALERTS
    from crawler.history.schema import connect as connect_history

    return connect_history(path, readonly=readonly, also=(ALERTS,))
