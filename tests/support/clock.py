"""A clock for tests: `now` until told to move (STYLE.md, "Fake the clock, not the scheduler")."""

from __future__ import annotations

from datetime import datetime, timedelta


class FakeClock:
    """Callable like `datetime.now`; `advance(hours=1)` moves it."""

    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs) -> None:
        self.now += timedelta(**kwargs)
