"""Errors of the alerts package. `DeliveryError.retryable` separates a receiver that is down
(retry with backoff) from one that refuses for good (dead letter)."""

from __future__ import annotations

from crawler.exceptions import OpenwatchError


class AlertsError(OpenwatchError):
    """Base class for every error raised by the alerts package."""


class DeliveryError(AlertsError):
    """A delivery attempt did not succeed; `retryable` says whether to try again."""

    def __init__(
        self,
        message: str,
        *,
        retryable: bool,
        retry_after: float | None = None,
        status: int | str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = retryable
        self.retry_after = retry_after
        self.status = status


class ChannelConfigError(DeliveryError):
    """A subscription lacks what its channel needs (URL, recipients, [smtp]); never retried."""

    def __init__(self, message: str) -> None:
        super().__init__(message, retryable=False)


class RateLimited(DeliveryError):
    """Not sent: the receiver's next free slot is `retry_after` seconds away (pacing, or a
    429's `Retry-After`). Nothing was attempted; the outbox defers the deliveries to that time."""

    def __init__(self, message: str, *, retry_after: float) -> None:
        super().__init__(message, retryable=True, retry_after=retry_after)


class UnknownSubscription(AlertsError):
    """No subscription of that name in the configuration."""


class UnknownChannel(AlertsError):
    """No channel registered under that kind."""
