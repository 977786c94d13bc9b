"""Small SQL helpers the history and the outbox share (one owner: `chunks`, `marks`)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TypeVar

T = TypeVar("T")

CHUNK = 900  # bound parameters per IN (...) query (SQLite's limit is 999 on old builds)


def chunks(values: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    """`values` in slices of at most `size`, for `IN (...)` lists within SQLite's parameter cap."""
    for start in range(0, len(values), size):
        yield values[start : start + size]


def marks(values: Sequence[object]) -> str:
    """`?, ?, ?`: one placeholder per value."""
    return ", ".join("?" * len(values))
