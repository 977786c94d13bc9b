"""The outbox: one `deliveries` row per event × matching subscription, and the dispatcher that
sends what is due. Deliveries are at-least-once (DESIGN.md rule 5): a row is marked `sent`
only after the receiver accepted it, so a crash between send and mark may resend, never skip.
Network I/O happens outside database transactions; every status change is its own short
`BEGIN IMMEDIATE` transaction.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping, Sequence

import sqlite_utils

from alerts import digest
from alerts.backoff import DEFAULT_POLICY, RetryPolicy
from alerts.channels import Channel, channel_class
from alerts.exceptions import AlertsError, ChannelConfigError, DeliveryError
from alerts.redaction import scrub
from alerts.subscriptions import matches
from alerts.transport import Transport
from crawler.events import event_from_row
from crawler.history.schema import immediate

if TYPE_CHECKING:
    from jobs.config import Config, Subscription

log = logging.getLogger("openwatch.alerts")

ISO = "%Y-%m-%dT%H:%M:%S.%fZ"
# A dispatcher takes the rows it is about to send by moving their due time this far ahead,
# so a second dispatcher (daemon and `openwatch deliver`) does not send them too. If it
# crashes, the rows become due again when the lease ends: resent, never skipped.
CLAIM_LEASE = timedelta(minutes=15)


def iso(moment: datetime) -> str:
    """ISO 8601 UTC with `Z`, the database's one time format (sorts as text)."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: pass an aware UTC time")
    return moment.astimezone(timezone.utc).strftime(ISO)


def parse_iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(timezone.utc)


# ---------------------------------------------------------------------------------------------
# enqueue: inside the ingest transaction


def enqueue(
    db: sqlite_utils.Database,
    events: Iterable[Mapping[str, Any]],
    subscriptions: Iterable["Subscription"],
    now: datetime,
) -> int:
    """Insert a pending delivery per event × matching subscription; returns how many rows are new.

    Runs inside the caller's transaction (it never begins or commits); `INSERT OR IGNORE` on
    UNIQUE(event_id, subscription) makes it idempotent. A digest subscription's rows are due
    at its next send time, others at once.
    """
    subs = list(subscriptions)
    created = iso(now)
    due = {sub.name: iso(digest.due_at(sub, now)) for sub in subs if sub.enabled}
    rows = [
        (event["id"], sub.name, sub.channel, "pending", 0, created, due[sub.name])
        for event in events
        for sub in subs
        if matches(sub, event)
    ]
    if not rows:
        return 0
    before = db.conn.total_changes
    db.conn.executemany(
        "INSERT OR IGNORE INTO deliveries"
        " (event_id, subscription, channel, status, attempts, created_at, next_attempt_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    return db.conn.total_changes - before


# ---------------------------------------------------------------------------------------------
# dispatch: outside any transaction


@dataclass
class DispatchReport:
    """What one `dispatch` did, counted in deliveries (event × subscription)."""

    sent: int = 0
    failed: int = 0          # will be retried
    dead: int = 0            # refused for good, or given up: see `openwatch status`
    suppressed: int = 0      # subscription removed from the config or disabled
    deferred: int = 0        # not attempted: an earlier message to the same receiver failed
    messages: int = 0        # messages / requests the receivers accepted
    errors: list[str] = field(default_factory=list)   # "subscription: reason", redacted
    by_subscription: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def attempted(self) -> int:
        return self.sent + self.failed + self.dead

    def count(self, subscription: str, outcome: str, n: int) -> None:
        setattr(self, outcome, getattr(self, outcome) + n)
        per = self.by_subscription.setdefault(subscription, defaultdict(int))
        per[outcome] += n

    def __str__(self) -> str:
        plural = "" if self.messages == 1 else "s"
        parts = [f"{self.sent} sent" + (f" in {self.messages} message{plural}" if self.messages else "")]
        for name in ("failed", "dead", "suppressed", "deferred"):
            if getattr(self, name):
                parts.append(f"{getattr(self, name)} {name}")
        return ", ".join(parts)

    def as_dict(self) -> dict[str, Any]:
        return {
            "sent": self.sent,
            "failed": self.failed,
            "dead": self.dead,
            "suppressed": self.suppressed,
            "deferred": self.deferred,
            "messages": self.messages,
            "errors": list(self.errors),
            "by_subscription": {k: dict(v) for k, v in self.by_subscription.items()},
        }


@dataclass
class _Due:
    id: int
    subscription: str
    attempts: int
    created_at: str
    event: dict[str, Any]


def dispatch(
    db: sqlite_utils.Database,
    config: "Config",
    *,
    now: Callable[[], datetime],
    force: bool = False,
    transport: Transport | None = None,
    policy: RetryPolicy = DEFAULT_POLICY,
) -> DispatchReport:
    """Send every due delivery (all pending and failed ones if `force`), grouped per subscription.

    A burst for one subscription becomes grouped messages (Slack, email), a digest one grouped
    message; webhooks get one request per event. Outcomes: `sent`; `failed` with the next
    attempt after backoff (never before `Retry-After`); `dead` for a refusal or after
    `policy` gives up; `suppressed` for subscriptions no longer in the config.
    """
    report = DispatchReport()
    own_transport = transport is None
    transport = transport or Transport()
    try:
        _suppress_orphans(db, config, now(), report)
        due = _claim(db, now(), force)
        by_sub: dict[str, list[_Due]] = defaultdict(list)
        for row in due:
            by_sub[row.subscription].append(row)
        for sub in config.subscriptions:  # in config order
            if sub.enabled and by_sub.get(sub.name):
                _dispatch_one(db, config, sub, by_sub[sub.name], now, transport, policy, report)
    finally:
        if own_transport:
            transport.close()
    return report


def _suppress_orphans(db: sqlite_utils.Database, config: "Config", moment: datetime, report: DispatchReport) -> None:
    enabled = [s.name for s in config.subscriptions if s.enabled]
    disabled = [s.name for s in config.subscriptions if not s.enabled]
    with immediate(db):
        rows = list(
            db.query(
                f"SELECT subscription, count(*) AS n FROM deliveries WHERE status IN ('pending', 'failed')"
                f" AND subscription NOT IN ({', '.join('?' * len(enabled))}) GROUP BY subscription",
                enabled,
            )
        )
        for row in rows:
            reason = (
                "subscription disabled in the config"
                if row["subscription"] in disabled
                else "subscription no longer in the config"
            )
            db.execute(
                "UPDATE deliveries SET status = 'suppressed', last_error = ?, next_attempt_at = NULL"
                " WHERE subscription = ? AND status IN ('pending', 'failed')",
                [reason, row["subscription"]],
            )
            report.count(row["subscription"], "suppressed", row["n"])
            log.info("suppressed %d deliveries of %r: %s", row["n"], row["subscription"], reason)


def _claim(db: sqlite_utils.Database, moment: datetime, force: bool) -> list[_Due]:
    """Read the due rows and push their due time past the lease, in one transaction."""
    where = "d.status IN ('pending', 'failed')"
    params: list[Any] = []
    if not force:
        where += " AND d.next_attempt_at <= ?"
        params.append(iso(moment))
    with immediate(db):
        rows = list(
            db.query(
                "SELECT d.id AS delivery_id, d.subscription, d.attempts, d.created_at, e.*"
                " FROM deliveries d JOIN events e ON e.id = d.event_id"
                f" WHERE {where} ORDER BY d.subscription, e.detected_at, e.seq, d.id",
                params,
            )
        )
        if rows:
            lease = iso(moment + CLAIM_LEASE)
            ids = [r["delivery_id"] for r in rows]
            for chunk in _chunks(ids, 500):
                db.execute(
                    f"UPDATE deliveries SET next_attempt_at = ? WHERE id IN ({', '.join('?' * len(chunk))})",
                    [lease, *chunk],
                )
    return [
        _Due(r["delivery_id"], r["subscription"], r["attempts"] or 0, r["created_at"], event_from_row(r))
        for r in rows
    ]


def _chunks(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _dispatch_one(
    db: sqlite_utils.Database,
    config: "Config",
    sub: "Subscription",
    rows: list[_Due],
    now: Callable[[], datetime],
    transport: Transport,
    policy: RetryPolicy,
    report: DispatchReport,
) -> None:
    """Send one subscription's due deliveries and record each message's outcome."""
    by_event = {row.event["id"]: row for row in rows}
    channel: Channel | None = None
    try:
        channel = channel_class(sub.channel)(transport, config)
        channel.check(sub)
        messages = channel.render(sub, [row.event for row in rows], digest_title=digest.title(sub))
    except AlertsError as exc:
        error = exc if isinstance(exc, DeliveryError) else ChannelConfigError(str(exc))
        _record_failure(db, sub, rows, error, channel, now(), transport, policy, report)
        return
    except Exception as exc:  # a rendering bug must not stop other subscriptions
        log.exception("rendering for subscription %r failed", sub.name)
        error = DeliveryError(f"internal error while rendering: {type(exc).__name__}: {exc}", retryable=True)
        _record_failure(db, sub, rows, error, channel, now(), transport, policy, report)
        return

    for index, message in enumerate(messages):
        message_rows = [by_event[i] for i in message.event_ids if i in by_event]
        try:
            receipt = channel.send(sub, message, now=now())
        except DeliveryError as exc:
            next_at = _record_failure(db, sub, message_rows, exc, channel, now(), transport, policy, report)
            if exc.retryable and next_at is not None:
                # The receiver is down or pacing us: keep the rest for the same retry time.
                rest = [by_event[i] for m in messages[index + 1 :] for i in m.event_ids if i in by_event]
                _defer(db, sub, rest, next_at, exc, channel, report)
                return
            continue
        except Exception as exc:  # a channel bug: retry later, never lose the delivery
            log.exception("channel %s failed for subscription %r", sub.channel, sub.name)
            error = DeliveryError(f"internal error: {type(exc).__name__}: {exc}", retryable=True)
            _record_failure(db, sub, message_rows, error, channel, now(), transport, policy, report)
            continue
        moment = iso(now())
        ids = [row.id for row in message_rows]
        with immediate(db):
            for chunk in _chunks(ids, 500):
                db.execute(
                    "UPDATE deliveries SET status = 'sent', sent_at = ?, last_attempt_at = ?,"
                    " attempts = attempts + 1, last_error = NULL, next_attempt_at = NULL"
                    f" WHERE id IN ({', '.join('?' * len(chunk))}) AND status IN ('pending', 'failed')",
                    [moment, moment, *chunk],
                )
        report.messages += 1
        report.count(sub.name, "sent", len(ids))
        log.info(
            "sent %d event(s) to %r (%s %s): %s",
            len(ids), sub.name, sub.channel, channel.target(sub), scrub(receipt, channel.secrets(sub)),
        )


def _secrets(channel: Channel | None, sub: "Subscription") -> list[str]:
    if channel is not None:
        return channel.secrets(sub)
    return [str(v) for v in sub.options.values() if isinstance(v, str)]


def _record_failure(
    db: sqlite_utils.Database,
    sub: "Subscription",
    rows: Sequence[_Due],
    error: DeliveryError,
    channel: Channel | None,
    moment: datetime,
    transport: Transport,
    policy: RetryPolicy,
    report: DispatchReport,
) -> datetime | None:
    """Mark `rows` failed (with their next attempt) or dead; returns the next attempt time
    when there is one. All rows of one message share it, so they are retried together."""
    if not rows:
        return None
    reason = scrub(error.message, _secrets(channel, sub))
    attempts = max(row.attempts for row in rows) + 1
    next_at = policy.next_attempt(attempts, moment, transport.rng, error.retry_after) if error.retryable else None
    stamp = iso(moment)
    outcome = {"failed": 0, "dead": 0}
    with immediate(db):
        for row in rows:
            tries = row.attempts + 1
            first_due = digest.due_at(sub, parse_iso(row.created_at))
            if not error.retryable:
                status, text, due = "dead", reason, None
            elif policy.gives_up(tries, first_due, moment):
                status, text, due = "dead", f"gave up after {tries} attempts: {reason}", None
            else:
                status, text, due = "failed", reason, iso(next_at)
            db.execute(
                "UPDATE deliveries SET status = ?, attempts = ?, last_attempt_at = ?, last_error = ?,"
                " next_attempt_at = ? WHERE id = ? AND status IN ('pending', 'failed')",
                [status, tries, stamp, text, due, row.id],
            )
            outcome[status] += 1
    for status, n in outcome.items():
        if n:
            report.count(sub.name, status, n)
    report.errors.append(f"{sub.name}: {reason}")
    level = logging.WARNING if error.retryable else logging.ERROR
    log.log(
        level,
        "delivery to %r (%s) failed for %d event(s)%s: %s",
        sub.name, sub.channel, len(rows),
        f", next attempt {iso(next_at)}" if outcome["failed"] else " (dead letter)",
        reason,
    )
    return next_at if outcome["failed"] else None


def _defer(
    db: sqlite_utils.Database,
    sub: "Subscription",
    rows: Sequence[_Due],
    next_at: datetime,
    error: DeliveryError,
    channel: Channel | None,
    report: DispatchReport,
) -> None:
    """Rows not attempted because the receiver just failed: same retry time, attempts unchanged."""
    if not rows:
        return
    reason = "not attempted: " + scrub(error.message, _secrets(channel, sub))
    ids = [row.id for row in rows]
    with immediate(db):
        for chunk in _chunks(ids, 500):
            db.execute(
                "UPDATE deliveries SET next_attempt_at = ?, last_error = ?"
                f" WHERE id IN ({', '.join('?' * len(chunk))}) AND status IN ('pending', 'failed')",
                [iso(next_at), reason, *chunk],
            )
    report.count(sub.name, "deferred", len(ids))
