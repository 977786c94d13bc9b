"""Hub scale: incremental listings between reconciliations, and hub-wide watches, through the
real CLI against the hub emulator. Requests are counted by the emulator's own log."""

from __future__ import annotations


import pytest

from crawler.emulator import HubEmulator
from tests.support.cli import CLI, write_config
from tests.support.cli import rows


@pytest.fixture
def hub():
    emu = HubEmulator(page_size=1000)
    emu.start()
    try:
        yield emu
    finally:
        emu.stop()


def api_requests(hub) -> int:
    return hub.requests.count("/api/models")


def watch_config(tmp_path, hub, reconcile_every="1d", **extra):
    watch = {"name": "lab", "source": "huggingface", "orgs": ["big-lab"], "every": "1h",
             "reconcile_every": reconcile_every, **extra}
    return CLI(write_config(tmp_path / "openwatch.toml", hf=hub.url, watches=[watch]))


def test_an_unchanged_org_of_2500_models_costs_its_settings_check_and_one_request(tmp_path, hub):
    ids = hub.world.populate(2500, "big-lab")
    ow = watch_config(tmp_path, hub)
    ow("crawl", "lab")  # the baseline reads everything: 3 pages of 1000
    assert rows(ow, "select count(*) from items") == [(2500,)]

    before = hub.requests.total
    ow("crawl", "lab")  # the settings check (3 pages of small rows) and the newest page
    assert hub.requests.total - before == 4
    assert rows(ow, "select status, requests from crawls order by id desc limit 1") == [("ok", 4)]

    changed = ids[1234]
    hub.world.relicense(changed, "cc-by-nc-4.0")
    before = hub.requests.total
    ow("crawl", "lab")
    sent = hub.requests.total - before
    assert sent <= 5  # the settings check, the newest page, and the LICENSE file if the repo has one
    (event,) = ow.json("events")
    assert event["type"] == "model.license_changed" and event["item"] == f"model:hf/{changed}"

    before = hub.requests.total
    ow("crawl", "lab")  # the change is at the watermark now: read again, unchanged
    assert hub.requests.total - before == 4 and len(ow.json("events")) == 1, _debug_log(hub, hub.requests.total - before)


def test_a_model_changed_between_reconciliations_is_found_at_the_next_cycle(tmp_path, hub):
    ids = hub.world.populate(300, "big-lab")
    ow = watch_config(tmp_path, hub)
    ow("crawl", "lab")
    hub.world.commit(ids[7], files={"config.json": b'{"hidden_size": 1}'})
    hub.world.add_model("big-lab/Brand-New-7B", license="apache-2.0")
    ow("crawl", "lab")
    assert sorted(e["type"] for e in ow.json("events")) == ["model.added", "model.updated"]


def test_removal_needs_three_direct_checks_one_at_each_crawl(tmp_path, hub):
    ids = hub.world.populate(40, "big-lab")
    ow = watch_config(tmp_path, hub)  # one page: read completely every crawl, whatever reconcile_every
    ow("crawl", "lab")
    hub.world.delete(ids[3])
    for _ in range(2):
        ow("crawl", "lab")
    assert ow.json("events") == []
    assert rows(ow, "select state, missing_count from items where key = ?", [f"model:hf/{ids[3]}"]) == [("missing", 2)]
    ow("crawl", "lab")
    (event,) = ow.json("events")
    assert event["type"] == "model.removed" and event["item"] == f"model:hf/{ids[3]}"


def test_a_hub_wide_watch_finds_exactly_the_new_matching_models(tmp_path, hub):
    for i in range(20):
        hub.world.populate(15, f"lab-{i:02d}", seed=i)
    watch = {"name": "apache", "source": "huggingface", "filter": ["license:apache-2.0"], "every": "1h"}
    ow = CLI(write_config(tmp_path / "openwatch.toml", hf=hub.url, watches=[watch]))
    ow("crawl", "apache")
    assert ow.json("events") == []  # the newest page is the baseline
    before = hub.requests.total
    ow("crawl", "apache")
    assert hub.requests.total - before == 1 and ow.json("events") == []

    hub.world.add_model("lab-03/Open-A", license="apache-2.0")
    hub.world.add_model("newcomer/Open-B", license="apache-2.0")
    hub.world.add_model("lab-05/Closed-C", license="cc-by-nc-4.0")
    ow("crawl", "apache")
    added = sorted(e["item"] for e in ow.json("events"))
    assert added == ["model:hf/lab-03/Open-A", "model:hf/newcomer/Open-B"]
    ow("crawl", "apache")
    assert len(ow.json("events")) == 2


def _debug_log(hub, n):
    return [(r.method, r.path[:120], r.status) for r in hub.requests.log[-n:]]


@pytest.mark.slow
def test_a_simulated_day_of_400_orgs_every_30_minutes_stays_inside_the_anonymous_quota(tmp_path):
    """48 cycles of `run --once` over 400 orgs, the emulator's clock moved 30 minutes between
    them, its rate limits enforced at the anonymous plan (500 API calls per 5 minutes): no 429,
    and no 5-minute window over the quota."""
    now = [1_000_000.0]
    emu = HubEmulator(page_size=1000, enforce_rate_limits=True, clock=lambda: now[0])
    emu.start()
    try:
        orgs = [f"lab-{i:03d}" for i in range(400)]
        for i, org in enumerate(orgs):
            emu.world.add_model(f"{org}/Model-{i}", license="apache-2.0")
        watch = {"name": "all", "source": "huggingface", "orgs": orgs, "every": "30m", "reconcile_every": "1d",
                 "timeout": "10m"}
        ow = CLI(write_config(tmp_path / "openwatch.toml", hf=emu.url, watches=[watch]))
        for cycle in range(48):
            if cycle == 20:
                emu.world.add_model("lab-007/New-Model", license="mit")  # one change in the day
            ow("run", "--once", timeout=600)
            now[0] += 30 * 60
        windows = emu.requests.per_window(300, service="huggingface", bucket="api")
        assert emu.requests.count("/api/models", status=429) == 0
        assert max(windows.values()) <= 500, windows
        assert sum(windows.values()) == 400 * 48  # one request per org per cycle, the change included
        assert [e["type"] for e in ow.json("events")] == ["model.added"]
    finally:
        emu.stop()
