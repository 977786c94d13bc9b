"""Bound parameters of `IN (…)` lists: slices within SQLite's limit, and their placeholders.

The one chunker of openwatch: the store, the read queries and the outbox import it.
"""

from __future__ import annotations

from typing import Iterator, Sequence, Sized, TypeVar

T = TypeVar("T")

CHUNK = 900  # bound parameters per IN (...) query (SQLite's limit is 999 on old builds)


def chunks(values: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    """`values` in slices of at most `size`, in order."""
    for start in range(0, len(values), size):
        yield values[start : start + size]


def placeholders(values: Sized) -> str:
    """One placeholder per value: `?, ?, ?`."""
    return ", ".join("?" * len(values))
