"""Errors of the alerts package. `DeliveryError.retryable` separates a receiver that is down
(retry with backoff) from one that refuses for good (dead letter)."""

from __future__ import annotations


class AlertsError(Exception):
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


class UnknownSubscription(AlertsError):
    """No subscription of that name in the configuration."""


class UnknownChannel(AlertsError):
    """No channel registered under that kind."""
