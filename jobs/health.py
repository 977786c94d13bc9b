"""Source health: when a watch starts or stops failing (pure decisions), and the one function
that records a finished crawl's result and emits `source.failing` / `source.recovered`."""

from __future__ import annotations

import logging
import re

from crawler.events import make_event

logger = logging.getLogger("openwatch.daemon")

FAILING = "source.failing"
RECOVERED = "source.recovered"
MAX_ERROR = 300             # characters of an error kept in an event summary


def health_transition(status: str, consecutive_failures: int, failing: bool, failing_after: int) -> str | None:
    """`source.failing`, `source.recovered` or None, after a crawl ended with `status`.

    Only `failed` counts as a failure (a `partial` crawl reached the source). A watch that is
    already failing does not fail again; one that is not failing does not recover.
    """
    if status == "failed":
        return FAILING if consecutive_failures >= failing_after and not failing else None
    return RECOVERED if failing else None


def failing_event(watch, *, failures: int, error: str | None, episode: str, detected_at: str) -> dict:
    """The one `source.failing` of a failing episode.

    `episode` is the watch's last success before the failures (`never` if none): the dedupe
    key stays the same however often the decision is retried (a crash between storing the
    event and marking the watch failing does not make a second event).
    """
    error = one_line(error or "no error recorded")
    return make_event(
        type=FAILING,
        item=f"source:{watch.name}",
        watch=watch.name,
        detected_at=detected_at,
        summary=f"{watch.name} ({watch.source}) is failing: {failures} crawls in a row failed; last error: {error}",
        url=None,
        dedupe_key=f"{FAILING}:{watch.name}:{episode}",
        after={"failing": True},
        before={"failing": False},
        data={"source": watch.source, "failures": failures, "error": error},
    )


def recovered_event(watch, *, failing_key: str, failing_since: str | None, detected_at: str) -> dict:
    """The `source.recovered` that closes the episode opened by the event with `failing_key`."""
    since = f" (failing since {failing_since})" if failing_since else ""
    return make_event(
        type=RECOVERED,
        item=f"source:{watch.name}",
        watch=watch.name,
        detected_at=detected_at,
        summary=f"{watch.name} ({watch.source}) recovered: a crawl succeeded again{since}",
        url=None,
        dedupe_key=f"{RECOVERED}:{failing_key}",
        before={"failing": True},
        after={"failing": False},
        data={"source": watch.source, "failing_since": failing_since},
    )


def one_line(text: str) -> str:
    text = re.sub(r"\s+", " ", str(text)).strip()
    return text if len(text) <= MAX_ERROR else text[: MAX_ERROR - 1] + "…"


def record_health(store, watch, outcome) -> list[dict]:
    """Record a finished crawl in `watch_state`; emit `source.failing` / `source.recovered`
    when the watch crosses its `failing_after`. Returns the events that are new.

    Two transactions: the crawl's result, then the event (with its deliveries) together with
    the watch's `failing` flag, so a stored `source.failing` always has its flag set and the
    next success recovers it. A crash between the two is repaired by the next crawl without
    duplicates: the events' dedupe keys are stable per failing episode.
    """
    error = outcome.errors[-1] if outcome.errors else None
    if outcome.status == "failed" and error is None:
        error = "crawl failed"
    state = store.record_watch_result(watch.name, outcome.status, error if outcome.status == "failed" else None)
    change = health_transition(outcome.status, state["consecutive_failures"], bool(state["failing"]),
                               watch.failing_after)
    if change is None:
        return []
    if change == FAILING:
        last_ok = store.last_ok_at(watch.name)
        event = failing_event(watch, failures=state["consecutive_failures"], error=error,
                              episode=last_ok or "never", detected_at=store.clock())
        new = store.emit([event], outcome.crawl_id, failing=True)
        logger.warning("%s", event["summary"])
        return new
    opened = store.last_event(FAILING, watch.name)
    if opened is None:  # flagged failing with no `source.failing` on record: nothing to close
        store.set_failing(watch.name, False)
        return []
    event = recovered_event(watch, failing_key=opened[0], failing_since=opened[1], detected_at=store.clock())
    new = store.emit([event], outcome.crawl_id, failing=False)
    logger.info("%s", event["summary"])
    return new
