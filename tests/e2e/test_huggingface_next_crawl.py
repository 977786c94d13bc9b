"""Every Hugging Face change at the next crawl (issue 15, items 1 and 2), through the real CLI
against the hub emulator. The emulator serves 5 models a page here, so an org of 7 models
needs two pages (read incrementally between reconciliations) and one of 3 needs one (read
completely every crawl). Watches set a real `reconcile_every`: conftest's default is "0s"."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from tests.support.cli import CLI, rows, write_config

T0 = datetime(2026, 12, 1, 10, 0, 0, 200_000, tzinfo=timezone.utc)


def at(emulator, when: datetime) -> None:
    """Commits and settings changes of the emulated Hub happen at `when` from now on."""
    emulator.world.clock = lambda: when


def org_watch(tmp_path, emulator, orgs=("big-lab",), subscriptions=(), reconcile_every="1d") -> CLI:
    watch = {"name": "lab", "source": "huggingface", "orgs": list(orgs), "every": "1h",
             "reconcile_every": reconcile_every}
    return CLI(write_config(tmp_path / "openwatch.toml", hf=emulator.url, watches=[watch],
                            subscriptions=list(subscriptions)))


def big_lab(emulator, n=7) -> list[str]:
    ids = []
    for i in range(n):  # a second apart: the newest page of an idle org stops at the second row
        at(emulator, T0 + timedelta(seconds=i))
        emulator.world.add_model(f"big-lab/Model-{i}", license="apache-2.0")
        ids.append(f"big-lab/Model-{i}")
    return ids


def events(ow) -> list[tuple[str, str]]:
    return sorted((e["type"], e["item"]) for e in ow.json("events"))


def reconciled(ow, unit="big-lab") -> str:
    return rows(ow, "select last_reconciled_at from units where unit = ?", [unit])[0][0]


def test_the_emulated_hub_writes_times_to_the_second_as_the_real_one(emulator):
    at(emulator, T0 + timedelta(milliseconds=650))
    emulator.world.add_model("lab/A", license="mit")
    emulator.world.relicense("lab/A", "cc-by-4.0")  # a second commit in the same second
    import httpx

    (row,) = httpx.get(f"{emulator.url}/api/models", params={"author": "lab", "expand[]": ["lastModified",
                                                                                        "createdAt", "sha"]}).json()
    assert row["lastModified"] == row["createdAt"] == "2026-12-01T10:00:00.000Z"
    assert len(emulator.world.get("lab/A").commits) == 2


def test_a_licence_change_in_the_watermarks_own_second_is_an_event_at_the_next_crawl(tmp_path, emulator):
    big_lab(emulator)
    ow = org_watch(tmp_path, emulator)
    ow("crawl", "lab")  # the baseline: two pages
    baseline = reconciled(ow)

    at(emulator, T0 + timedelta(minutes=5))  # …:05:00.200
    emulator.world.commit("big-lab/Model-2", files={"notes.txt": "one"})
    ow("crawl", "lab")
    assert events(ow) == [("model.updated", "model:hf/big-lab/Model-2")]
    assert rows(ow, "select watermark from units") == [("2026-12-01T10:05:00.000Z",)]

    at(emulator, T0 + timedelta(minutes=5, milliseconds=700))  # …:05:00.900: the same second
    emulator.world.relicense("big-lab/Model-5", "cc-by-nc-4.0")
    ow("crawl", "lab")
    assert events(ow) == [("model.license_changed", "model:hf/big-lab/Model-5"),
                          ("model.updated", "model:hf/big-lab/Model-2")]
    assert reconciled(ow) == baseline  # found by the incremental read, not a reconciliation

    ow("crawl", "lab")  # both are in the watermark's second: read again, nothing new
    assert len(ow.json("events")) == 2


def test_an_org_of_one_page_is_read_completely_every_crawl_for_one_request(tmp_path, emulator):
    at(emulator, T0)
    for name in ("A", "B", "C"):
        emulator.world.add_model(f"small-lab/{name}", license="apache-2.0")
    ow = org_watch(tmp_path, emulator, orgs=("small-lab",))
    ow("crawl", "lab")
    assert ow.json("status")["watches"][0]["next_reconcile"] == "every crawl"

    emulator.world.set_gated("small-lab/A", "manual")      # a setting: no commit
    emulator.world.rename("small-lab/B", "small-lab/B-v2")  # the old id answers 307
    before = emulator.requests.total
    ow("crawl", "lab")
    assert events(ow) == [("model.gating_changed", "model:hf/small-lab/A"),
                          ("model.renamed", "model:hf/small-lab/B-v2")]
    assert emulator.requests.total - before == 3  # the listing; the old id's 307 and the new id

    before = emulator.requests.total
    ow("crawl", "lab")  # idle: the same one request
    assert emulator.requests.total - before == 1 and len(ow.json("events")) == 2
    assert rows(ow, "select status, requests from crawls order by id desc limit 1") == [("ok", 1)]


def test_a_gating_change_in_an_org_of_several_pages_is_found_by_the_settings_check(tmp_path, emulator):
    big_lab(emulator)
    ow = org_watch(tmp_path, emulator)
    ow("crawl", "lab")
    baseline = reconciled(ow)

    before = emulator.requests.total
    ow("crawl", "lab")  # idle: the settings check (2 pages of small rows) and the newest page
    assert emulator.requests.total - before == 3 and ow.json("events") == []
    assert reconciled(ow) == baseline

    emulator.world.set_gated("big-lab/Model-6", "auto")
    ow("crawl", "lab")
    assert events(ow) == [("model.gating_changed", "model:hf/big-lab/Model-6")]
    assert reconciled(ow) > baseline  # the settings check moved: read completely at once


def test_a_renamed_model_that_then_commits_is_one_rename_at_the_next_crawl(tmp_path, emulator):
    big_lab(emulator)
    ow = org_watch(tmp_path, emulator)
    ow("crawl", "lab")
    emulator.world.rename("big-lab/Model-3", "big-lab/Model-3-Instruct")
    at(emulator, T0 + timedelta(hours=1))
    emulator.world.commit("big-lab/Model-3-Instruct", files={"notes.txt": "renamed"})
    ow("crawl", "lab")
    assert [e["type"] for e in ow.json("events") if e["type"] != "model.updated"] == ["model.renamed"]
    assert rows(ow, "select key, state from items where name like '%Model-3%'") == [
        ("model:hf/big-lab/Model-3-Instruct", "active")]
    for _ in range(2):
        ow("crawl", "lab")
    assert [e["type"] for e in ow.json("events") if e["type"] != "model.updated"] == ["model.renamed"]


def test_a_watched_model_of_an_org_read_incrementally_is_read_directly_every_crawl(tmp_path, emulator):
    big_lab(emulator)
    watching = {"name": "mine", "channel": "webhook", "url": "http://127.0.0.1:9/hook",
                "secret": "whsec_MDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDA=",
                "models": ["big-lab/Model-4"]}
    ow = org_watch(tmp_path, emulator, subscriptions=[watching])
    ow("crawl", "lab")
    emulator.world.set_stats("big-lab/Model-4", downloads=12345)  # a counter: no commit, no setting
    before = emulator.requests.count("/api/models/big-lab/Model-4")
    ow("crawl", "lab")
    assert emulator.requests.count("/api/models/big-lab/Model-4") - before == 1
    (counters,) = rows(ow, "select json_extract(counters, '$.downloads') from items where name = ?",
                       ["big-lab/Model-4"])
    assert counters == (12345,)


def test_status_says_when_each_org_is_next_read_completely(tmp_path, emulator):
    big_lab(emulator)
    at(emulator, T0)
    emulator.world.add_model("small-lab/A", license="mit")
    ow = org_watch(tmp_path, emulator, orgs=("big-lab", "small-lab"))
    assert ow.json("status")["watches"][0]["next_reconcile"] == "next crawl"
    ow("crawl", "lab")
    (last,) = rows(ow, "select last_reconciled_at from units where unit = 'big-lab'")[0]
    # a day after the last complete read, less the slack for the crawl's own length and jitter (10 min)
    due = (datetime.fromisoformat(last.replace("Z", "+00:00")) + timedelta(days=1, minutes=-10)).strftime(
        "%Y-%m-%dT%H:%M:%SZ")
    assert ow.json("status")["watches"][0]["next_reconcile"] == f"big-lab {due}; the others every crawl"


def test_a_model_made_public_in_an_org_of_several_pages_is_added_at_the_next_crawl(tmp_path, emulator):
    big_lab(emulator)
    emulator.world.set_private("big-lab/Model-0", True)  # the oldest: behind the watermark
    ow = org_watch(tmp_path, emulator)
    ow("crawl", "lab")
    assert rows(ow, "select count(*) from items") == [(6,)]
    emulator.world.set_private("big-lab/Model-0", False)  # a setting: no commit, an old lastModified
    ow("crawl", "lab")
    assert events(ow) == [("model.added", "model:hf/big-lab/Model-0")]


def test_the_runner_hands_over_the_watched_models_of_the_watchs_own_orgs():
    from types import SimpleNamespace

    from alerts.types import Subscription
    from crawler.sources.huggingface import HuggingFaceSource

    def sub(models, watches=None, enabled=True):
        return Subscription(name="s", channel="slack", events=frozenset({"*"}), orgs=None, countries=None,
                            categories=None, watches=watches, models=frozenset(models), digest=None,
                            enabled=enabled, options={})

    watch = SimpleNamespace(name="lab", orgs=("Big-Lab",))
    subs = [sub({"model:hf/big-lab/A", "model:hf/other/B", "repo:github/big-lab/C"}),
            sub({"model:hf/Big-Lab/D"}, watches=frozenset({"elsewhere"})),
            sub({"model:hf/Big-Lab/E"}, enabled=False)]
    assert HuggingFaceSource.watchlist_args(watch, subs) == {"watched": ["big-lab/A"]}
    assert HuggingFaceSource.watchlist_args(watch, []) == {}


def test_when_an_org_is_next_read_completely():
    from crawler.sources.huggingface import next_complete_read

    now = datetime(2026, 12, 7, 12, tzinfo=timezone.utc)
    day = 86400.0
    last = "2026-12-07T10:00:00Z"
    assert next_complete_read({}, day, now) == "next crawl"
    assert next_complete_read({"last_reconciled_at": last, "state": {"pages": 1}}, day, now) == "every crawl"
    assert next_complete_read({"last_reconciled_at": last, "last_complete_count": 1000}, day, now) == "every crawl"
    assert next_complete_read({"last_reconciled_at": last, "state": {"pages": 3}}, 0.0, now) == "every crawl"
    assert next_complete_read({"last_reconciled_at": last, "state": {"pages": 3}}, day, now) == datetime(
        2026, 12, 8, 9, 50, tzinfo=timezone.utc)  # a day less 10 min of slack (crawl length, jitter)
    assert next_complete_read({"last_reconciled_at": last, "last_complete_count": 1001}, 3600.0, now) == "next crawl"


def test_reconcile_every_equal_to_every_reads_completely_every_crawl(monkeypatch):
    """The last complete read is stamped when it ended, seconds into its crawl, and jitter
    moves the next start earlier: with `reconcile_every = every` the next crawl still reads
    completely (it was every other crawl, so a 1d reconciliation under every 6h took 30 h)."""
    import crawler.spiders.huggingface as spider_module
    from crawler.sources.huggingface import reconcile_due

    six_hours = 6 * 3600.0
    last = "2026-12-07T06:00:20.000000Z"  # 20 s into the 06:00 crawl
    assert reconcile_due(last, six_hours) == datetime(2026, 12, 7, 11, 50, 20, tzinfo=timezone.utc)
    spider = spider_module.HuggingFaceSpider(orgs="big-lab", reconcile_every=six_hours, prior={"big-lab": {
        "baselined": True, "watermark": "2026-12-07T05:00:00.000Z", "last_reconciled_at": last,
        "state": {"pages": 3}, "models": {}}})
    for now, mode in (("2026-12-07T11:59:40.000000Z", "full"),      # the next crawl, 20 s of jitter early
                      ("2026-12-07T09:00:00.000000Z", "incremental")):
        monkeypatch.setattr(spider_module, "utcnow", lambda now=now: now)
        assert spider.mode("big-lab") == mode, now
