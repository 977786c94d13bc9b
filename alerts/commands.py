"""What the CLI calls for alerts: `openwatch alerts test`, `alerts list`, `status`, `deliver`.

Read-only functions (`subscription_stats`, `dead_letters`, `failing_receivers`) work on a
read-only connection; every target, error and secret they return is redacted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlite_utils

from alerts import digest
from alerts.channels import Channel, channel_class
from alerts.exceptions import AlertsError, DeliveryError
from alerts.outbox import RETIRED_REASON, iso
from alerts.redaction import redact_url, scrub
from alerts.transport import Transport
from crawler.events import make_event
from crawler.history.schema import immediate

if TYPE_CHECKING:
    from alerts.types import Subscription
    from alerts.settings import AlertSettings

STATUSES = ("sent", "pending", "failed", "dead", "suppressed")
# Deliveries of a subscription this config does not have: queued by a process whose config
# has it, they wait for one (`alerts.outbox._suppress_retired`), never suppressed for that.
WAITING_ELSEWHERE = "(not in this config: waiting for a process that knows it)"


def sample_event(subscription: str, now: datetime) -> dict[str, Any]:
    """A realistic licence change, marked as a test, to show what a subscription receives."""
    stamp = iso(now)
    return make_event(
        type="model.license_changed",
        item="model:hf/openwatch-test/Example-Model-7B",
        watch="openwatch-test",
        detected_at=stamp,
        summary=f"Test alert from openwatch for subscription {subscription!r}: "
        "licence changed from apache-2.0 to cc-by-nc-4.0 (not a real change)",
        url="https://huggingface.co/openwatch-test/Example-Model-7B",
        dedupe_key=f"test:{subscription}:{stamp}",
        before={"license": "apache-2.0"},
        after={"license": "cc-by-nc-4.0"},
        data={
            "org": "openwatch-test",
            "country": None,
            "license_before": "apache-2.0",
            "license_after": "cc-by-nc-4.0",
            "category_before": "permissive",
            "category_after": "non-commercial",
            "direction": "more_restrictive",
            "test": True,
        },
    )


@dataclass(frozen=True)
class TestResult:
    """The receiver's answer to a test alert (`ok` when it accepted it)."""

    __test__ = False  # not a pytest test class

    subscription: str
    channel: str
    target: str          # redacted
    ok: bool
    status: int | str | None
    detail: str          # the receiver's answer or the error, redacted
    retryable: bool | None = None
    messages: int = 0

    def __str__(self) -> str:
        where = f"{self.subscription} ({self.channel} → {self.target or 'no target'})"
        if self.ok:
            answer = " ".join(str(p) for p in (self.status, self.detail) if p not in (None, ""))
            return f"{where}: accepted: {answer}"
        kind = "transient, deliveries would be retried" if self.retryable else "permanent"
        return f"{where}: not accepted ({kind}): {self.detail}"


def send_test(
    settings: "AlertSettings", name: str, *, now: datetime, transport: Transport | None = None
) -> TestResult:
    """Send a sample event through subscription `name` now, bypassing the outbox (and its
    filters and digest schedule, but in its format), and report what the receiver answered."""
    sub = settings.subscription(name)
    own = transport is None
    transport = transport or Transport()
    channel: Channel | None = None
    target = ""
    try:
        channel = channel_class(sub.channel)(transport, settings)
        target = channel.target(sub)
        channel.check(sub)
        messages = channel.render(sub, [sample_event(sub.name, now)], digest_title=digest.title(sub))
        receipts = [channel.send(sub, message, now=now) for message in messages]
    except DeliveryError as exc:
        secrets = channel.secrets(sub) if channel else []
        return TestResult(sub.name, sub.channel, target, False, exc.status, scrub(exc.message, secrets), exc.retryable)
    except AlertsError as exc:
        return TestResult(sub.name, sub.channel, target, False, None, scrub(exc, []), False)
    finally:
        if own:
            transport.close()
    last = receipts[-1] if receipts else None
    detail = scrub(last.detail if last else "", channel.secrets(sub))
    return TestResult(sub.name, sub.channel, target, True, last.status if last else None, detail, None, len(receipts))


def _target(settings: "AlertSettings", sub: "Subscription") -> str:
    try:
        return channel_class(sub.channel)(Transport(), settings).target(sub)
    except AlertsError:
        url = sub.options.get("url")
        return redact_url(str(url)) if url else ""


def subscription_stats(db: sqlite_utils.Database, settings: "AlertSettings") -> list[dict[str, Any]]:
    """One row per subscription of the config (and per unknown one with deliveries still
    waiting: `WAITING_ELSEWHERE`): name, channel, redacted target, digest, and delivery
    counts by status."""
    counts: dict[str, dict[str, int]] = {}
    last_sent: dict[str, str | None] = {}
    if db["deliveries"].exists():
        for row in db.query(
            "SELECT subscription, status, count(*) AS n, max(sent_at) AS last_sent"
            " FROM deliveries GROUP BY subscription, status"
        ):
            counts.setdefault(row["subscription"], {})[row["status"]] = row["n"]
            if row["status"] == "sent":
                last_sent[row["subscription"]] = row["last_sent"]
    rows = []
    for sub in settings.subscriptions:
        per = counts.get(sub.name, {})
        rows.append(
            {
                "name": sub.name,
                "channel": sub.channel,
                "target": _target(settings, sub),
                "digest": str(sub.digest) if sub.digest else "",
                "enabled": sub.enabled,
                **{status: per.get(status, 0) for status in STATUSES},
                "last_sent": last_sent.get(sub.name),
            }
        )
    known = {sub.name for sub in settings.subscriptions}
    for name in sorted(set(counts) - known):
        per = counts[name]
        if per.get("pending") or per.get("failed"):
            rows.append(
                {
                    "name": name,
                    "channel": "",
                    "target": WAITING_ELSEWHERE,
                    "digest": "",
                    "enabled": False,
                    **{status: per.get(status, 0) for status in STATUSES},
                    "last_sent": last_sent.get(name),
                }
            )
    return rows


def dead_letters(db: sqlite_utils.Database, limit: int = 20) -> list[dict[str, Any]]:
    """The most recent dead deliveries with their reason, newest first."""
    if not db["deliveries"].exists():
        return []
    return [
        {**row, "error": scrub(row["error"] or "")}
        for row in db.query(
            "SELECT d.id, d.subscription, d.channel, d.event_id, e.type, e.item, d.attempts,"
            " d.last_attempt_at, d.last_error AS error"
            " FROM deliveries d LEFT JOIN events e ON e.id = d.event_id"
            " WHERE d.status = 'dead' ORDER BY d.last_attempt_at DESC, d.id DESC LIMIT ?",
            [limit],
        )
    ]


def failing_receivers(db: sqlite_utils.Database) -> list[dict[str, Any]]:
    """Subscriptions whose receiver is failing now: deliveries waiting for a retry, the oldest,
    the next attempt and the latest error."""
    if not db["deliveries"].exists():
        return []
    rows = []
    for row in db.query(
        "SELECT subscription, channel, count(*) AS failed, max(attempts) AS attempts,"
        " min(created_at) AS oldest, min(next_attempt_at) AS next_attempt_at"
        " FROM deliveries WHERE status = 'failed' GROUP BY subscription, channel ORDER BY subscription"
    ):
        latest = next(
            iter(
                db.query(
                    "SELECT last_error FROM deliveries WHERE subscription = ? AND status = 'failed'"
                    " ORDER BY last_attempt_at DESC, id DESC LIMIT 1",
                    [row["subscription"]],
                )
            ),
            {"last_error": ""},
        )
        rows.append({**row, "last_error": scrub(latest["last_error"] or "")})
    return rows


def retry_dead(
    db: sqlite_utils.Database, *, now: datetime, subscription: str | None = None
) -> int:
    """Put dead letters back in the outbox (after fixing a receiver); returns how many.

    They are due at once with a fresh attempt count; the next `dispatch` sends them.
    """
    where, params = "status = 'dead'", [iso(now)]
    if subscription is not None:
        where += " AND subscription = ?"
        params.append(subscription)
    with immediate(db):
        cursor = db.execute(
            "UPDATE deliveries SET status = 'pending', attempts = 0, next_attempt_at = ?,"
            f" last_error = NULL WHERE {where}",
            params,
        )
        return cursor.rowcount


def retry_suppressed(db: sqlite_utils.Database, *, now: datetime, subscriptions: list[str]) -> int:
    """Put the suppressed deliveries of `subscriptions` (enabled in the config now) back in
    the outbox; returns how many. A daemon that predates config reloads suppressed what was
    queued for a subscription its config did not have yet: this brings those back, as
    `retry_dead` brings back dead letters (due at once, a fresh attempt count). Only rows
    suppressed as "no longer in the config" come back: what was suppressed because the
    subscription was disabled stays suppressed (a month of stale alerts is not news)."""
    if not subscriptions or not db["deliveries"].exists():
        return 0
    marks = ", ".join("?" * len(subscriptions))
    with immediate(db):
        cursor = db.execute(
            "UPDATE deliveries SET status = 'pending', attempts = 0, next_attempt_at = ?, last_error = NULL,"
            f" claim_id = NULL, claimed_until = NULL WHERE status = 'suppressed' AND subscription IN ({marks})"
            " AND last_error = ?",
            [iso(now), *subscriptions, RETIRED_REASON],
        )
        return cursor.rowcount
