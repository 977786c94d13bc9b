"""Errors of the history layer (below `crawler.exceptions.OpenwatchError`).

    HistoryError
     └── DatabaseUnusable   the database file cannot be used as it is (not retryable)
"""

from __future__ import annotations

import re
from pathlib import Path

from crawler.exceptions import OpenwatchError


class HistoryError(OpenwatchError):
    """Base class of the history layer's errors."""


class DatabaseUnusable(HistoryError):
    """The database file cannot be used: `<path>: <problem>; <fix>`, one line. Not retryable:
    someone has to move, repair or re-permission a file."""

    def __init__(self, path: str | Path, problem: str, fix: str):
        self.path = Path(path)
        self.problem = re.sub(r"\s+", " ", problem).strip()
        self.fix = fix
        super().__init__(f"{self.path}: {self.problem}; {fix}")
