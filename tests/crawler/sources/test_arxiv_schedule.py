"""arXiv's answers change when arXiv announces (Sunday to Thursday, 20:00 US Eastern): a cached
answer is kept until the next announcement after its fetch, never past it. The schedule as
a pure function (across DST changes and weekends), the Scrapy cache policy on an injected
clock, the emulator's schedule, and the real CLI: a paper announced after a fetch is seen
at the first crawl after the announcement."""

from __future__ import annotations

import pickle
import time
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from scrapy.http import Request, Response
from scrapy.settings import Settings

from crawler.emulator import ArxivWorld, HubEmulator
from crawler.emulator.arxiv import announcement_of
from crawler.middlewares import ArxivAnnouncementPolicy
from crawler.sources.arxiv import fresh_until, last_announcement, next_announcement
from tests.support.cli import CLI, rows, write_config

NY = ZoneInfo("America/New_York")
UTC = timezone.utc


def ny(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=NY)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize("after, expected", [
    # 2026-03-02 is a Monday; EST (UTC-5) until Sunday 2026-03-08 02:00, EDT (UTC-4) after.
    (ny("2026-03-02T12:00"), utc("2026-03-03T01:00")),   # Monday noon: Monday 20:00 EST
    (ny("2026-03-02T19:59:59"), utc("2026-03-03T01:00")),
    (ny("2026-03-02T20:00"), utc("2026-03-04T01:00")),   # at an announcement: the next one
    (ny("2026-03-05T20:00"), utc("2026-03-09T00:00")),   # Thursday's: then Sunday, now in EDT
    (ny("2026-03-06T10:00"), utc("2026-03-09T00:00")),   # Friday: none until Sunday
    (ny("2026-03-07T23:00"), utc("2026-03-09T00:00")),   # Saturday night
    (ny("2026-03-08T01:59"), utc("2026-03-09T00:00")),   # Sunday, the hour before DST starts
    (ny("2026-03-08T03:00"), utc("2026-03-09T00:00")),   # Sunday, the hour after
    (ny("2026-03-08T21:00"), utc("2026-03-10T00:00")),   # Sunday after its announcement: Monday
    (ny("2026-10-30T08:00"), utc("2026-11-02T01:00")),   # Friday before DST ends: Sunday in EST
    (ny("2026-11-01T01:30"), utc("2026-11-02T01:00")),   # the repeated hour, first time (EDT)
    (ny("2026-11-01T01:30").replace(fold=1), utc("2026-11-02T01:00")),  # and second (EST)
    (utc("2026-07-01T23:59"), utc("2026-07-02T00:00")),  # Wednesday 19:59 EDT, given in UTC
    (utc("2026-07-02T00:00"), utc("2026-07-03T00:00")),  # Wednesday 20:00 EDT exactly
    (utc("2026-07-03T00:00"), utc("2026-07-06T00:00")),  # Thursday's: Sunday's
    (datetime(2026, 7, 3, 7, 59, tzinfo=timezone(timedelta(hours=8))), utc("2026-07-03T00:00")),  # Beijing time
    (ny("2026-12-31T20:00"), utc("2027-01-04T01:00")),   # a Thursday: Sunday 2027-01-03
])
def test_next_announcement(after, expected):
    got = next_announcement(after)
    assert got == expected and got.tzinfo == UTC
    assert last_announcement(got) == got and last_announcement(got - timedelta(microseconds=1)) < got


@pytest.mark.parametrize("fetched, until", [
    (ny("2026-03-02T12:00"), utc("2026-03-03T01:00")),   # before Monday's: until it
    (ny("2026-03-02T20:10"), utc("2026-03-03T02:00")),   # just after it: until it settled (+1 h)
    (ny("2026-03-02T21:00"), utc("2026-03-04T01:00")),   # settled: until Tuesday's
    (ny("2026-03-06T12:00"), utc("2026-03-09T00:00")),   # Friday: until Sunday's
])
def test_an_answer_is_fresh_until_the_next_announcement_never_past_it(fetched, until):
    assert fresh_until(fetched) == until


def test_a_naive_time_is_refused():
    with pytest.raises(ValueError, match="aware"):
        next_announcement(datetime(2026, 3, 2, 12, 0))


def test_the_cache_policy_serves_an_answer_until_the_next_announcement():
    now = [ny("2026-03-02T12:00").timestamp()]
    policy = ArxivAnnouncementPolicy(Settings(), clock=lambda: now[0])
    request = Request("https://export.arxiv.org/api/query?search_query=all:x",
                      meta={"cache_timestamp": ny("2026-03-02T11:00").timestamp()})
    cached = Response(request.url, body=b"<feed/>")
    assert policy.is_cached_response_fresh(cached, request)
    now[0] = ny("2026-03-02T19:59:59").timestamp()
    assert policy.is_cached_response_fresh(cached, request)
    now[0] = ny("2026-03-02T20:00").timestamp()
    assert not policy.is_cached_response_fresh(cached, request)
    assert not policy.is_cached_response_valid(cached, Response(request.url, body=b"<feed/>"), request)
    assert not policy.is_cached_response_fresh(cached, Request(request.url))  # no fetch time: ask


@pytest.mark.parametrize("submitted, announced", [
    (ny("2026-03-02T13:59"), utc("2026-03-03T01:00")),   # Monday before the deadline: Monday 20:00
    (ny("2026-03-02T14:00"), utc("2026-03-04T01:00")),   # Monday after it: Tuesday
    (ny("2026-03-05T15:00"), utc("2026-03-09T00:00")),   # Thursday after it: Sunday (EDT)
    (ny("2026-03-06T15:00"), utc("2026-03-10T00:00")),   # Friday after it: Monday
    (ny("2026-03-07T10:00"), utc("2026-03-10T00:00")),   # Saturday: Monday
])
def test_the_emulator_announces_by_arxiv_s_deadlines(submitted, announced):
    assert announcement_of(submitted) == announced


def test_a_paper_announced_after_a_fetch_is_seen_at_the_first_crawl_after_the_announcement(tmp_path):
    clock = [ny("2026-03-02T15:00").astimezone(UTC)]  # Monday, after the day's deadline
    world = ArxivWorld(clock=lambda: clock[0], schedule=True)
    world.add_paper("2602.00001", title="Open weights", abstract="open-weight", published=clock[0] - timedelta(days=7))
    world.add_paper("2603.00002", title="Newer open weights", abstract="open-weight")  # for Tuesday 20:00
    with HubEmulator(arxiv=world) as emulator:
        path = write_config(tmp_path / "openwatch.toml", hf=emulator.url,
                            endpoints={"arxiv": emulator.endpoints()["arxiv"]},
                            watches=[{"name": "papers", "source": "arxiv", "query": 'abs:"open-weight"',
                                      "every": "1h"}])
        ow = CLI(path)
        ow("crawl", "papers")
        assert rows(ow, "select key from items") == [("paper:arxiv/2602.00001",)]
        asked = emulator.requests.count("/arxiv/api/query")

        clock[0] = ny("2026-03-03T20:01").astimezone(UTC)  # arXiv announced the new paper
        (meta,) = (tmp_path / ".openwatch-cache").rglob("pickled_meta")
        fetched = pickle.loads(meta.read_bytes())["timestamp"]
        ow("crawl", "papers")
        if time.time() < fresh_until(datetime.fromtimestamp(fetched, UTC)).timestamp():
            # No real announcement since the fetch: the cached answer is still arXiv's newest.
            assert emulator.requests.count("/arxiv/api/query") == asked and ow.json("events") == []

        # The real clock's turn: the fetch now lies before the latest real announcement.
        before = last_announcement(datetime.now(UTC)) - timedelta(minutes=1)
        stored = pickle.loads(meta.read_bytes())
        meta.write_bytes(pickle.dumps(stored | {"timestamp": before.timestamp()}, protocol=4))
        ow("crawl", "papers")
        assert emulator.requests.count("/arxiv/api/query") == asked + 1
        assert [(e["type"], e["item"]) for e in ow.json("events")] == [("paper.published", "paper:arxiv/2603.00002")]
        refetched = pickle.loads(meta.read_bytes())["timestamp"]
        ow("crawl", "papers")  # the new answer is kept in its turn
        if time.time() < fresh_until(datetime.fromtimestamp(refetched, UTC)).timestamp():
            assert emulator.requests.count("/arxiv/api/query") == asked + 1
