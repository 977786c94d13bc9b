"""The crawl executors: one interface, chosen by alias (jobs/crawls/base.py)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from jobs.crawls.base import EXECUTORS, CrawlExecutor, executor_alias, executor_class


@pytest.mark.parametrize("alias", sorted(EXECUTORS))
def test_each_alias_names_an_executor_of_that_alias(alias):
    cls = executor_class(alias)
    assert issubclass(cls, CrawlExecutor)
    assert cls.alias == alias
    assert cls.mode in ("inprocess", "subprocess")
    assert cls.__doc__


def test_the_mode_and_the_scrapyd_section_choose_the_executor():
    local, remote = SimpleNamespace(scrapyd=None), SimpleNamespace(scrapyd=object())
    assert executor_alias(local) == "inprocess"
    assert executor_alias(local, "subprocess") == "subprocess"
    assert executor_alias(remote) == "scrapyd"
    assert executor_alias(remote, "subprocess") == "subprocess"  # each child crawls through Scrapyd


def test_the_outbox_hook_reads_the_running_subscriptions_at_every_batch(tmp_path, http):
    """A daemon's crawl hands the store `outbox(lambda: <running config's subscriptions>)`: a
    subscription added by a reload while the crawl runs gets what the crawl stores after the
    reload, and one removed gets nothing more (DESIGN.md, rule 8)."""
    from crawler.events import event_to_row
    from crawler.history.schema import immediate
    from jobs.crawls.store import outbox
    from tests.support.alerts import Clock, event, make_config, open_db

    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = make_config(tmp_path / "a", [{"name": "old", "channel": "slack", "url": http.url("/old")}])
    second = make_config(tmp_path / "b", [{"name": "new", "channel": "slack", "url": http.url("/new")}])
    running = {"config": first}
    on_events = outbox(lambda: running["config"].subscriptions)
    db, clock = open_db(tmp_path), Clock()

    def batch(name: str) -> None:
        events = [event(name=name)]
        with immediate(db):
            db["events"].insert_all([event_to_row(e) for e in events])
            on_events(db, events, clock())

    batch("Before")
    running["config"] = second  # a reload while the crawl runs
    batch("After")
    got = [(r["subscription"], r["item"]) for r in db.query(
        "select d.subscription, e.item from deliveries d join events e on e.id = d.event_id order by d.id")]
    assert got == [("old", "model:hf/deepseek-ai/Before"), ("new", "model:hf/deepseek-ai/After")]
    assert outbox(first.subscriptions) is not None  # a plain tuple still works (one-shot commands)
