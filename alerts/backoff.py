"""When to try a failed delivery again, and when to give up. Pure: the clock and the random
source are passed in, so the schedule is tested without waiting."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta


BASE_DELAY = 30.0               # seconds: the ceiling of the first retry's delay
MAX_DELAY = 3600.0              # seconds: the delay ceiling never grows past an hour
MAX_ATTEMPTS = 20               # failed attempts before a delivery goes to dead letters
MAX_AGE = timedelta(hours=24)   # … or this long past its first due time (after 3 attempts)


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter, capped, never earlier than `Retry-After`.

    Full jitter (a uniform draw between 0 and the exponential ceiling) spreads retries of many
    deliveries that failed together, so a receiver coming back is not hit by all of them at once:
    https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/
    A delivery is given up (dead letter) after `max_attempts` failed attempts, or once it has
    failed `min_attempts_before_expiry` times and is more than `max_age` past its first due
    time: a daemon that was stopped for two days does not kill a delivery on its first try.
    """

    base: float = BASE_DELAY
    cap: float = MAX_DELAY
    max_attempts: int = MAX_ATTEMPTS
    max_age: timedelta = MAX_AGE
    min_attempts_before_expiry: int = 3

    def ceiling(self, attempts: int) -> float:
        """Upper bound of the delay after the `attempts`-th failed attempt (1-based)."""
        exponent = min(max(attempts, 1) - 1, 62)
        return min(self.cap, self.base * (2**exponent))

    def delay(self, attempts: int, rng: random.Random, retry_after: float | None = None) -> float:
        """Seconds to wait after the `attempts`-th failure; at least `retry_after` if given."""
        wait = rng.uniform(0.0, self.ceiling(attempts))
        if retry_after is not None and retry_after > wait:
            wait = float(retry_after)
        return wait

    def gives_up(self, attempts: int, first_due: datetime, now: datetime) -> bool:
        """True when a delivery that has now failed `attempts` times goes to dead letters."""
        if attempts >= self.max_attempts:
            return True
        return attempts >= self.min_attempts_before_expiry and now - first_due >= self.max_age

    def next_attempt(
        self, attempts: int, now: datetime, rng: random.Random, retry_after: float | None = None
    ) -> datetime:
        return now + timedelta(seconds=self.delay(attempts, rng, retry_after))


DEFAULT_POLICY = RetryPolicy()
