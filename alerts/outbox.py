"""The outbox: one `deliveries` row per event × matching subscription, and the dispatcher that
sends what is due. Deliveries are at-least-once (DESIGN.md rule 5): a row is marked `sent`
only after the receiver accepted it, so a crash between send and mark may resend, never skip.
Network I/O happens outside database transactions; every status change is its own short
`BEGIN IMMEDIATE` transaction.
"""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping, Sequence

import sqlite_utils

from alerts import digest
from crawler import times
from alerts.backoff import DEFAULT_POLICY, RetryPolicy
from alerts.channels import Channel, channel_class
from alerts.exceptions import AlertsError, ChannelConfigError, DeliveryError, RateLimited
from alerts.redaction import scrub
from alerts.types import Rendered
from alerts.subscriptions import matches
from alerts.transport import Transport
from crawler.events import event_from_row
from crawler.history.schema import immediate
from crawler.history.params import chunks, placeholders

if TYPE_CHECKING:
    from alerts.types import Subscription
    from alerts.settings import AlertSettings

log = logging.getLogger("openwatch.alerts")

# Why a delivery was suppressed (`deliveries.last_error`): `alerts retry` brings back only
# the first (what a daemon of before config reloads suppressed for a subscription it lacked).
RETIRED_REASON = "subscription no longer in the config"
DISABLED_REASON = "subscription disabled in the config"

ISO = times.ISO
# A dispatcher claims the rows it is about to send (`claim_id`, `claimed_until`) for this
# long, renewed before each message, so a second dispatcher (the daemon and `openwatch
# deliver`) does not send them too. If it is killed, the rows are free again when the claim
# expires: resent, never skipped.
CLAIM_LEASE = timedelta(minutes=15)


def iso(moment: datetime) -> str:
    """ISO 8601 UTC with `Z`, the database's one time format (`crawler.times`); aware times only."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: pass an aware UTC time")
    return times.iso(moment)


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
    suppressed: int = 0      # subscription removed or disabled by the dispatcher's own reload
    deferred: int = 0        # not attempted: the receiver failed or is paced; due again later
    busy: int = 0            # not attempted: another dispatcher holds them (it is sending them)
    waiting: int = 0         # for subscriptions this config lacks or disables: left for a process that has them
    messages: int = 0        # messages / requests the receivers accepted
    errors: list[str] = field(default_factory=list)   # "subscription: reason", redacted
    by_subscription: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def attempted(self) -> int:
        return self.sent + self.failed + self.dead

    def count(self, subscription: str, outcome: str, n: int) -> None:
        if not n:
            return
        setattr(self, outcome, getattr(self, outcome) + n)
        per = self.by_subscription.setdefault(subscription, defaultdict(int))
        per[outcome] += n

    def __str__(self) -> str:
        plural = "" if self.messages == 1 else "s"
        parts = [f"{self.sent} sent" + (f" in {self.messages} message{plural}" if self.messages else "")]
        for name in ("failed", "dead", "suppressed", "deferred"):
            if getattr(self, name):
                parts.append(f"{getattr(self, name)} {name}")
        if self.busy:
            parts.append(f"{self.busy} being sent by another dispatcher")
        if self.waiting:
            parts.append(f"{self.waiting} waiting for a process that knows their subscription (see status)")
        return ", ".join(parts)

    def as_dict(self) -> dict[str, Any]:
        return {
            "sent": self.sent,
            "failed": self.failed,
            "dead": self.dead,
            "suppressed": self.suppressed,
            "deferred": self.deferred,
            "busy": self.busy,
            "waiting": self.waiting,
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


@dataclass
class _Claim:
    """One dispatch run's hold on the rows it is sending (`deliveries.claim_id`, `claimed_until`).

    A row is free when it has no claim or its claim has expired (its dispatcher was killed):
    `claimed_until` is apart from `next_attempt_at`, so `force` overrides a backoff, never a
    live claim. Every status change a run makes is conditional on still holding the claim.
    """

    db: sqlite_utils.Database
    id: str
    now: Callable[[], datetime]
    lease: timedelta

    def until(self) -> str:
        return iso(self.now() + self.lease)

    def take(self, subscription: str, force: bool) -> tuple[list[_Due], int]:
        """Claim `subscription`'s due rows (all pending and failed ones if `force`) that no
        other dispatcher holds; returns them, oldest event first, and how many others hold."""
        moment = iso(self.now())
        where = "d.subscription = ? AND d.status IN ('pending', 'failed')"
        params: list[Any] = [subscription]
        if not force:
            where += " AND d.next_attempt_at <= ?"
            params.append(moment)
        with immediate(self.db):
            rows = list(
                self.db.query(
                    "SELECT d.id AS delivery_id, d.subscription, d.attempts, d.created_at,"
                    " d.claimed_until AS delivery_claimed_until, e.*"
                    " FROM deliveries d JOIN events e ON e.id = d.event_id"
                    f" WHERE {where} ORDER BY e.detected_at, e.seq, d.id",
                    params,
                )
            )
            free = [r for r in rows if not r["delivery_claimed_until"] or r["delivery_claimed_until"] <= moment]
            until = self.until()
            for chunk in chunks([r["delivery_id"] for r in free], 500):
                self.db.execute(
                    "UPDATE deliveries SET claim_id = ?, claimed_until = ?"
                    f" WHERE id IN ({placeholders(chunk)})",
                    [self.id, until, *chunk],
                )
        due = [
            _Due(r["delivery_id"], r["subscription"], r["attempts"] or 0, r["created_at"], event_from_row(r))
            for r in free
        ]
        return due, len(rows) - len(free)

    def renew(self, rows: Sequence[_Due]) -> set[int]:
        """Extend the claim on `rows`; returns the ids still held (not taken over by another
        dispatcher after this one's claim expired, and not settled meanwhile)."""
        ids = [row.id for row in rows]
        held: set[int] = set()
        until = self.until()
        with immediate(self.db):
            for chunk in chunks(ids, 500):
                self.db.execute(
                    f"UPDATE deliveries SET claimed_until = ? WHERE id IN ({placeholders(chunk)})"
                    " AND claim_id = ? AND status IN ('pending', 'failed')",
                    [until, *chunk, self.id],
                )
                held.update(
                    r["id"]
                    for r in self.db.query(
                        f"SELECT id FROM deliveries WHERE id IN ({placeholders(chunk)})"
                        " AND claim_id = ? AND status IN ('pending', 'failed')",
                        [*chunk, self.id],
                    )
                )
        return held

    def settle(self, rows: Sequence[_Due], assignments: str = "", params: Sequence[Any] = ()) -> int:
        """`UPDATE deliveries SET <assignments>` and release the claim, on those of `rows` this
        run still holds; returns how many rows changed. Without assignments: only release them
        (they are due as they were)."""
        sets = ", ".join(filter(None, [assignments, "claim_id = NULL, claimed_until = NULL"]))
        changed = 0
        with immediate(self.db):
            for chunk in chunks([row.id for row in rows], 500):
                cursor = self.db.execute(
                    f"UPDATE deliveries SET {sets} WHERE id IN ({placeholders(chunk)})"
                    " AND claim_id = ? AND status IN ('pending', 'failed')",
                    [*params, *chunk, self.id],
                )
                changed += cursor.rowcount
        return changed


def dispatch(
    db: sqlite_utils.Database,
    settings: "AlertSettings",
    *,
    now: Callable[[], datetime],
    force: bool = False,
    transport: Transport | None = None,
    policy: RetryPolicy = DEFAULT_POLICY,
    retired: Mapping[str, int] | None = None,
) -> DispatchReport:
    """Send every due delivery (all pending and failed ones if `force`), grouped per subscription.

    A burst for one subscription becomes grouped messages (Slack, email), a digest one grouped
    message; webhooks get one request per event. Outcomes: `sent`; `failed` with the next
    attempt after backoff (never before `Retry-After`); `dead` for a refusal or after
    `policy` gives up; `suppressed` for what waited for a subscription in `retired` (removed
    or disabled by a reload of the caller: see `_suppress_retired`); `deferred` when the
    receiver just failed or is paced (a 429's `Retry-After` on a shared webhook); `busy` when
    another dispatcher is sending them. Rows of a subscription that `settings` does not have
    enabled are otherwise left alone (pending, for a process that knows it): never claimed,
    never retried here, never in the way of the others.

    Each subscription's rows are claimed right before they are sent, and the claim is renewed
    before each message, so two dispatchers (the daemon and `openwatch deliver`) never send the
    same delivery twice; `force` overrides due times, never another dispatcher's claim.
    `transport` may be long-lived (the daemon's): its rate limits then span calls.
    """
    report = DispatchReport()
    own_transport = transport is None
    transport = transport or Transport()
    claim = _Claim(db, uuid.uuid4().hex, now, CLAIM_LEASE)
    try:
        if retired:
            _suppress_retired(db, settings, now(), report, retired)
        for sub in settings.subscriptions:  # in config order
            if not sub.enabled:
                continue
            rows, busy = claim.take(sub.name, force)
            report.count(sub.name, "busy", busy)
            if rows:
                _dispatch_one(claim, settings, sub, rows, now, transport, policy, report)
        enabled = [s.name for s in settings.subscriptions if s.enabled]
        (report.waiting,) = db.execute(
            "SELECT count(*) FROM deliveries WHERE status IN ('pending', 'failed')"
            f" AND subscription NOT IN ({placeholders(enabled)})",
            enabled,
        ).fetchone()
    finally:
        if own_transport:
            transport.close()
    return report


def _suppress_retired(
    db: sqlite_utils.Database,
    settings: "AlertSettings",
    moment: datetime,
    report: DispatchReport,
    retired: Mapping[str, int],
) -> None:
    """Suppress what waited for the subscriptions this process retired: `retired` maps a
    subscription that a config it ran had enabled, and the config it then reloaded removed or
    disabled, to the last delivery id queued when it did. Only those rows, and not while
    another dispatcher is sending them: a row queued later, or for a subscription this process
    never knew, was queued by a process with another config and waits for one that knows it
    (DESIGN.md rule 8; README, "Alerts")."""
    enabled = {s.name for s in settings.subscriptions if s.enabled}
    disabled = {s.name for s in settings.subscriptions if not s.enabled}
    stamp = iso(moment)
    waiting = (
        "status IN ('pending', 'failed') AND (claimed_until IS NULL OR claimed_until <= ?)"
        " AND subscription = ? AND id <= ?"
    )
    for name, mark in sorted(retired.items()):
        if name in enabled:  # added back since: its rows are sent
            continue
        reason = DISABLED_REASON if name in disabled else RETIRED_REASON
        with immediate(db):
            n = db.execute(
                "UPDATE deliveries SET status = 'suppressed', last_error = ?, next_attempt_at = NULL,"
                f" claim_id = NULL, claimed_until = NULL WHERE {waiting}",
                [reason, stamp, name, mark],
            ).rowcount
        if n:
            report.count(name, "suppressed", n)
            log.info("suppressed %d deliveries of %r: %s", n, name, reason)


def _render(channel: Channel, sub: "Subscription", rows: Sequence[_Due]) -> list[Rendered]:
    return channel.render(sub, [row.event for row in rows], digest_title=digest.title(sub))


def _dispatch_one(
    claim: _Claim,
    settings: "AlertSettings",
    sub: "Subscription",
    rows: list[_Due],
    now: Callable[[], datetime],
    transport: Transport,
    policy: RetryPolicy,
    report: DispatchReport,
) -> None:
    """Send one subscription's claimed deliveries and record each message's outcome.

    Before each message the claim on its rows is checked and renewed (and, every half lease,
    the claim on all the rows still waiting): rows another dispatcher took over meanwhile
    (this one outlived its lease) are skipped, and what is left is rendered again without them.
    """
    waiting = {row.event["id"]: row for row in rows}  # claimed, not yet settled
    channel: Channel | None = None
    try:
        channel = channel_class(sub.channel)(transport, settings)
        channel.check(sub)
        queue = _render(channel, sub, rows)
    except Exception as exc:
        _render_failed(claim, sub, rows, exc, channel, now, transport, policy, report)
        return

    renewed = now()
    while queue:
        if now() - renewed >= claim.lease / 2:  # a long burst keeps the rest of it
            claim.renew(list(waiting.values()))
            renewed = now()
        candidates = [waiting[i] for i in queue[0].event_ids if i in waiting]
        held = claim.renew(candidates)
        message_rows = [row for row in candidates if row.id in held]
        if len(message_rows) < len(queue[0].event_ids):
            lost = [row for row in candidates if row.id not in held]
            for row in lost:
                del waiting[row.event["id"]]
            report.count(sub.name, "busy", len(lost))
            log.warning("%d deliveries of %r were taken over by another dispatcher: skipped", len(lost), sub.name)
            try:
                queue = _render(channel, sub, list(waiting.values()))
            except Exception as exc:
                _render_failed(claim, sub, list(waiting.values()), exc, channel, now, transport, policy, report)
                return
            continue
        message = queue.pop(0)
        try:
            receipt = channel.send(sub, message, now=now())
        except RateLimited as exc:
            # Not attempted: the receiver's next slot is too far to sleep for. This message and
            # the rest wait for it in the database; other subscriptions go on.
            next_at = now() + timedelta(seconds=exc.retry_after or 0.0)
            _defer(claim, sub, list(waiting.values()), next_at, exc, channel, report)
            return
        except DeliveryError as exc:
            next_at = _record_failure(claim, sub, message_rows, exc, channel, now(), transport, policy, report)
            for row in message_rows:
                del waiting[row.event["id"]]
            if exc.retryable and next_at is not None:
                # The receiver is down or pacing us: keep the rest for the same retry time.
                _defer(claim, sub, list(waiting.values()), next_at, exc, channel, report)
                return
            continue
        except Exception as exc:  # a channel bug: retry later, never lose the delivery
            log.exception("channel %s failed for subscription %r", sub.channel, sub.name)
            error = DeliveryError(f"internal error: {type(exc).__name__}: {exc}", retryable=True)
            _record_failure(claim, sub, message_rows, error, channel, now(), transport, policy, report)
            for row in message_rows:
                del waiting[row.event["id"]]
            continue
        for row in message_rows:
            del waiting[row.event["id"]]
        moment = iso(now())
        marked = claim.settle(
            message_rows,
            "status = 'sent', sent_at = ?, last_attempt_at = ?, attempts = attempts + 1,"
            " last_error = NULL, next_attempt_at = NULL",
            [moment, moment],
        )
        report.messages += 1
        report.count(sub.name, "sent", marked)
        if marked < len(message_rows):
            # The claim lapsed during the send and another dispatcher took these rows: they may
            # reach the receiver twice (at least once, never lost; webhook-id tells them apart).
            log.warning("%d deliveries of %r were taken over while being sent", len(message_rows) - marked, sub.name)
        log.info(
            "sent %d event(s) to %r (%s %s): %s",
            len(message_rows), sub.name, sub.channel, channel.target(sub), scrub(receipt, channel.secrets(sub)),
        )
    if waiting:  # in no message (never expected): due again as they were
        claim.settle(list(waiting.values()))


def _render_failed(
    claim: _Claim,
    sub: "Subscription",
    rows: Sequence[_Due],
    exc: Exception,
    channel: Channel | None,
    now: Callable[[], datetime],
    transport: Transport,
    policy: RetryPolicy,
    report: DispatchReport,
) -> None:
    """A subscription that cannot be rendered for (bad config, a rendering bug) fails its rows;
    other subscriptions go on."""
    if isinstance(exc, DeliveryError):
        error = exc
    elif isinstance(exc, AlertsError):
        error = ChannelConfigError(str(exc))
    else:
        log.exception("rendering for subscription %r failed", sub.name, exc_info=exc)
        error = DeliveryError(f"internal error while rendering: {type(exc).__name__}: {exc}", retryable=True)
    _record_failure(claim, sub, rows, error, channel, now(), transport, policy, report)


def _secrets(channel: Channel | None, sub: "Subscription") -> list[str]:
    if channel is not None:
        return channel.secrets(sub)
    return [str(v) for v in sub.options.values() if isinstance(v, str)]


def _record_failure(
    claim: _Claim,
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
    for row in rows:
        tries = row.attempts + 1
        first_due = digest.due_at(sub, times.parse(row.created_at))
        if not error.retryable:
            status, text, due = "dead", reason, None
        elif policy.gives_up(tries, first_due, moment):
            status, text, due = "dead", f"gave up after {tries} attempts: {reason}", None
        else:
            status, text, due = "failed", reason, iso(next_at)
        outcome[status] += claim.settle(
            [row],
            "status = ?, attempts = ?, last_attempt_at = ?, last_error = ?, next_attempt_at = ?",
            [status, tries, stamp, text, due],
        )
    for status, n in outcome.items():
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
    claim: _Claim,
    sub: "Subscription",
    rows: Sequence[_Due],
    next_at: datetime,
    error: DeliveryError,
    channel: Channel | None,
    report: DispatchReport,
) -> None:
    """Rows not attempted because the receiver just failed or is paced: due at `next_at`,
    attempts unchanged."""
    if not rows:
        return
    reason = "not attempted: " + scrub(error.message, _secrets(channel, sub))
    deferred = claim.settle(rows, "next_attempt_at = ?, last_error = ?", [iso(next_at), reason])
    report.count(sub.name, "deferred", deferred)
    log.info("deferred %d deliveries of %r to %s: %s", deferred, sub.name, iso(next_at), reason)
