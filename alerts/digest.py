"""Digest subscriptions: deliveries wait until the digest's send time, then go out together as
one message grouped by type and org with counts (`render.group_events`)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from alerts.types import Subscription


def is_digest(sub: "Subscription") -> bool:
    return getattr(sub, "digest", None) is not None


def title(sub: "Subscription") -> str | None:
    """`daily digest`, `weekly digest`, …; None for a subscription sent as events happen."""
    if not is_digest(sub):
        return None
    return f"{sub.digest.kind} digest"


def due_at(sub: "Subscription", created: datetime) -> datetime:
    """When a delivery created at `created` is first due: now, or the next digest time."""
    return sub.digest.next_after(created) if is_digest(sub) else created
