"""The Hugging Face watch end to end: the real CLI, real Scrapy crawls against the hub
emulator, a real SQLite file. One scenario per trust rule of DESIGN.md."""

from __future__ import annotations

import sqlite3

import pytest

from crawler.emulator import Fault
from tests.support.cli import CLI, write_config
from tests.support.cli import rows as db_rows

LLAMA_LICENSE = "LLAMA 3.1 COMMUNITY LICENSE AGREEMENT\nLlama 3.1 Version Release Date: July 23, 2024\n"


def seed(world):
    world.add_model("meta-llama/Llama-3.1-8B", license="llama3.1", gated="manual",
                    files={"LICENSE": LLAMA_LICENSE, "USE_POLICY.md": "Acceptable use policy v1"})
    world.add_model("meta-llama/Llama-3.2-1B", license="llama3.2", gated="manual")
    for i in range(11):  # more than one page (page_size=5)
        world.add_model(f"deepseek-ai/DeepSeek-Model-{i}", license="mit", files={"LICENSE": f"MIT License {i}"})


@pytest.fixture
def ow(tmp_path, emulator):
    seed(emulator.world)
    config = write_config(
        tmp_path / "openwatch.toml",
        hf=emulator.url,
        watches=[{"name": "labs", "source": "huggingface", "orgs": ["meta-llama", "deepseek-ai"], "every": "1h"}],
    )
    return CLI(config)


def crawl(ow: CLI, check=True):
    return ow("crawl", "labs", check=check)


def test_baseline_records_everything_and_alerts_nothing(ow, emulator):
    crawl(ow)
    assert ow.json("events") == []
    assert db_rows(ow, "select count(*) from items where state = 'active'") == [(13,)]
    (status, items, requests), = db_rows(ow, "select status, items, requests from crawls")
    assert status == "ok" and items == 13
    # pagination: deepseek-ai's 11 models came in 3 pages, meta-llama in 1
    assert emulator.requests.count("/api/models?") == 4
    crawl(ow)
    assert ow.json("events") == []
    assert db_rows(ow, "select count(*) from snapshots") == [(13,)]


def test_each_change_is_exactly_one_event(ow, emulator):
    world = emulator.world
    crawl(ow)
    world.add_model("deepseek-ai/DeepSeek-V4", license="mit")
    world.relicense("meta-llama/Llama-3.2-1B", "other", license_name="llama4")
    world.set_gated("deepseek-ai/DeepSeek-Model-1", "auto")
    world.commit("deepseek-ai/DeepSeek-Model-2", files={"config.json": '{"hidden_size": 1}'})
    world.commit("deepseek-ai/DeepSeek-Model-3", files={"LICENSE": "MIT License, amended"})
    crawl(ow)
    events = ow.json("events")
    by_type = {e["type"]: e for e in events}
    assert sorted(by_type) == sorted([
        "model.added", "model.license_changed", "model.gating_changed", "model.updated",
        "model.license_file_changed",
    ]) and len(events) == 5

    added = by_type["model.added"]
    assert added["item"] == "model:hf/deepseek-ai/DeepSeek-V4"
    assert added["data"]["org"] == "deepseek-ai" and added["data"]["country"] == "CN"
    assert added["url"].endswith("/deepseek-ai/DeepSeek-V4")

    lic = by_type["model.license_changed"]
    # `license: other` + a license_name that is itself an HF id resolves to that id
    assert lic["before"]["license"] == "llama3.2" and lic["after"]["license"] == "llama4"
    assert lic["data"]["license_before"] == "llama3.2" and lic["data"]["country"] == "US"
    assert lic["data"]["direction"] == "lateral"

    gate = by_type["model.gating_changed"]
    assert gate["before"] == {"gated": False} and gate["after"] == {"gated": "auto"}

    upd = by_type["model.updated"]
    assert upd["item"].endswith("DeepSeek-Model-2") and upd["before"]["sha"] != upd["after"]["sha"]

    lf = by_type["model.license_file_changed"]
    assert lf["item"].endswith("DeepSeek-Model-3") and lf["data"]["files"] == ["LICENSE"]
    for event in events:
        assert set(event) >= {"id", "type", "item", "watch", "detected_at", "summary", "url", "before", "after", "data"}
        assert event["detected_at"].endswith("Z") and event["watch"] == "labs"

    crawl(ow)  # nothing changed: nothing new
    assert len(ow.json("events")) == 5


def test_license_direction_and_history_evidence(ow, emulator):
    crawl(ow)
    emulator.world.relicense("deepseek-ai/DeepSeek-Model-0", "cc-by-nc-4.0",
                             license_text="Creative Commons Attribution-NonCommercial 4.0")
    crawl(ow)
    lic = [e for e in ow.json("events") if e["type"] == "model.license_changed"]
    assert len(lic) == 1
    assert lic[0]["data"]["category_before"] == "permissive"
    assert lic[0]["data"]["category_after"] == "non-commercial"
    assert lic[0]["data"]["direction"] == "more_restrictive"
    snapshots = ow.json("history", "deepseek-ai/DeepSeek-Model-0")
    assert [s["license"] for s in snapshots] == ["mit", "cc-by-nc-4.0"]
    assert snapshots[0]["changed"] == {}
    assert snapshots[1]["changed"]["license"] == {"before": "mit", "after": "cc-by-nc-4.0"}
    diff = snapshots[1]["license_diffs"]["LICENSE"]
    assert "-MIT License 0" in diff and "+Creative Commons Attribution-NonCommercial 4.0" in diff


def test_gated_repo_licence_file_unreadable_is_not_a_change(ow, emulator):
    crawl(ow)
    world = emulator.world
    world.set_gated("deepseek-ai/DeepSeek-Model-4", "manual")
    world.commit("deepseek-ai/DeepSeek-Model-4", files={"README.md": "new card"})
    crawl(ow)
    types = sorted(e["type"] for e in ow.json("events"))
    assert types == ["model.gating_changed"]


def test_500_storm_removes_nothing_and_other_orgs_are_crawled(ow, emulator):
    crawl(ow)
    emulator.world.delete("deepseek-ai/DeepSeek-Model-5")
    emulator.faults.add(Fault("author=deepseek-ai", status=500))
    for _ in range(3):
        proc = crawl(ow)
    assert "partial" in proc.stdout
    emulator.world.add_model("meta-llama/Llama-5", license="llama4")
    crawl(ow)
    assert [e["type"] for e in ow.json("events")] == ["model.added"]
    assert db_rows(ow, "select status from crawls order by id") == [("ok",)] + [("partial",)] * 4


@pytest.mark.parametrize("fault", [
    Fault("author=deepseek-ai", empty=True),
    Fault("author=deepseek-ai", truncate=True),
    Fault("author=deepseek-ai", status=429, headers={"Retry-After": "100000"}),
], ids=["empty-listing", "truncated-body", "long-429"])
def test_transient_is_not_gone(ow, emulator, fault):
    crawl(ow)
    # One model really is gone: were the faulty listing taken as complete, the direct checks
    # would confirm it three times and remove it. It must stay until a listing is complete.
    emulator.world.delete("deepseek-ai/DeepSeek-Model-8")
    emulator.faults.add(fault)
    for _ in range(3):
        crawl(ow, check=False)
    assert ow.json("events") == []
    assert db_rows(ow, "select count(*) from items where state = 'active'") == [(13,)]
    assert db_rows(ow, "select status from crawls where id > 1") == [("partial",)] * 3


def test_deleted_model_removed_once_after_three_not_found_then_restored(ow, emulator):
    crawl(ow)
    emulator.world.delete("deepseek-ai/DeepSeek-Model-7")
    crawl(ow)
    crawl(ow)
    assert ow.json("events") == []
    assert db_rows(ow, "select state, missing_count from items where key like '%Model-7'") == [("missing", 2)]
    crawl(ow)
    crawl(ow)
    events = ow.json("events")
    assert [e["type"] for e in events] == ["model.removed"]
    assert events[0]["item"] == "model:hf/deepseek-ai/DeepSeek-Model-7"
    emulator.world.restore("deepseek-ai/DeepSeek-Model-7")
    crawl(ow)
    assert [e["type"] for e in ow.json("events")] == ["model.restored", "model.removed"]


def test_private_model_counts_as_not_found(ow, emulator):
    crawl(ow)
    emulator.world.set_private("meta-llama/Llama-3.2-1B", True)
    for _ in range(3):
        crawl(ow)
    assert [e["type"] for e in ow.json("events")] == ["model.removed"]


def test_rate_limit_is_waited_out(ow, emulator):
    emulator.faults.add(Fault("author=meta-llama", status=429,
                              headers={"RateLimit": '"api";r=0;t=1', "RateLimit-Policy": '"fixed window";"api";q=500;w=300'},
                              times=2))
    crawl(ow)
    (status,), = db_rows(ow, "select status from crawls")
    assert status == "ok"
    statuses = [s for (_, path, s, _) in emulator.requests.log if "author=meta-llama" in path]
    assert statuses == [429, 429, 200]


def test_org_added_to_watch_is_baselined_silently(ow, emulator, tmp_path):
    crawl(ow)
    emulator.world.add_model("Qwen/Qwen3-8B", license="apache-2.0")
    write_config(ow.config, hf=emulator.url, watches=[
        {"name": "labs", "source": "huggingface", "orgs": ["meta-llama", "deepseek-ai", "Qwen"], "every": "1h"}])
    crawl(ow)
    assert ow.json("events") == []
    emulator.world.add_model("Qwen/Qwen3-32B", license="apache-2.0")
    crawl(ow)
    assert [e["item"] for e in ow.json("events")] == ["model:hf/Qwen/Qwen3-32B"]


def test_events_readable_while_a_crawl_writes(ow, emulator):
    crawl(ow)
    for i in range(40):
        emulator.world.add_model(f"deepseek-ai/New-{i}", license="mit", files={"LICENSE": f"MIT {i}"})
    emulator.faults.add(Fault("/resolve/", delay=0.05))
    writer = ow.popen("crawl", "labs")
    failures = []
    reads = 0
    while writer.poll() is None:
        proc = ow("events", "--json", check=False)
        reads += 1
        if proc.returncode != 0:
            failures.append(proc.stderr)
    writer.communicate()
    assert writer.returncode == 0
    assert reads >= 2 and failures == []
    assert len(ow.json("events")) == 40


def test_events_filters(ow, emulator):
    crawl(ow)
    emulator.world.add_model("deepseek-ai/DeepSeek-V9", license="mit")
    emulator.world.add_model("meta-llama/Llama-9", license="llama4")
    crawl(ow)
    assert [e["data"]["org"] for e in ow.json("events", "--country", "CN")] == ["deepseek-ai"]
    assert [e["data"]["org"] for e in ow.json("events", "--org", "meta-llama")] == ["meta-llama"]
    assert len(ow.json("events", "--type", "model.added", "--since", "1d", "--watch", "labs")) == 2
    assert ow.json("events", "--type", "model.removed") == []
    csv_out = ow("events", "--csv").stdout.splitlines()
    assert csv_out[0] == "detected_at,type,item,org,country,summary" and len(csv_out) == 3
    table = ow("events").stdout
    assert "DeepSeek-V9" in table and "Llama-9" in table


def test_status_reports_each_watch(ow, emulator):
    crawl(ow)
    report = ow.json("status")
    (watch,) = report["watches"]
    assert watch["watch"] == "labs" and watch["result"] == "ok" and watch["items"] == 13
    assert report["daemon"] == "not running"


def test_licence_file_of_gated_model_first_read_after_ungating_is_not_a_change(ow, emulator):
    crawl(ow)  # Llama-3.1-8B is gated: its LICENSE could not be read at baseline
    emulator.world.set_gated("meta-llama/Llama-3.1-8B", False)
    crawl(ow)
    assert [e["type"] for e in ow.json("events")] == ["model.gating_changed"]
    snapshots = ow.json("history", "meta-llama/Llama-3.1-8B", "--texts")
    assert snapshots[-1]["license_texts"]["LICENSE"] == LLAMA_LICENSE
    emulator.world.commit("meta-llama/Llama-3.1-8B", files={"LICENSE": LLAMA_LICENSE + "Amended.\n"})
    crawl(ow)
    assert [e["type"] for e in ow.json("events")][0] == "model.license_file_changed"


def test_scrapy_commands_work_from_the_repo_root(tmp_path, emulator):
    """`scrapy list` and `scrapy crawl huggingface -a orgs=…` (raw items, or into a database)."""
    import json
    import subprocess
    import sys

    from tests.support.cli import ROOT

    scrapy = [sys.executable, "-m", "scrapy"]
    listed = subprocess.run([*scrapy, "list"], cwd=ROOT, capture_output=True, text=True, check=True)
    assert listed.stdout.split() == ["arxiv", "feed", "github", "hf_papers", "huggingface", "modelscope"]
    emulator.world.add_model("deepseek-ai/A", license="mit", files={"LICENSE": "MIT"})
    out = tmp_path / "items.jsonl"
    db = tmp_path / "openwatch.db"
    subprocess.run([*scrapy, "crawl", "huggingface", "-a", "orgs=deepseek-ai", "-s", f"OPENWATCH_HF_ENDPOINT={emulator.url}",
                    "-s", f"OPENWATCH_DATABASE={db}", "-O", str(out), "-s", "LOG_LEVEL=WARNING"],
                   cwd=ROOT, capture_output=True, text=True, check=True)
    items = [json.loads(line) for line in out.read_text().splitlines()]
    (batch,) = items  # one listing page: one batch, which also closes the org
    (model,) = batch["observations"]
    assert model["raw"]["id"] == "deepseek-ai/A" and model["files"]["LICENSE"]["text"] == "MIT"
    assert batch["end"]["complete"] is True and batch["unit"] == "deepseek-ai"
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("select key, license from items").fetchall() == [("model:hf/deepseek-ai/A", "mit")]
        assert conn.execute("select status from crawls").fetchall() == [("ok",)]
        # The history layer alone made this file: no outbox table in it (alerts migrates its own).
        assert conn.execute("select count(*) from sqlite_master where name = 'deliveries'").fetchone() == (0,)
    finally:
        conn.close()
    # The openwatch commands read it as it is, and the first one that writes adds the outbox.
    ow = CLI(write_config(tmp_path / "openwatch.toml", hf=emulator.url, watches=[
        {"name": "labs", "source": "huggingface", "orgs": ["deepseek-ai"], "every": "1h"}]))
    assert "labs" in ow("status").stdout and ow.json("events") == []
    ow("crawl", "labs")
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("select count(*) from deliveries").fetchone() == (0,)
        names = {name for (name,) in conn.execute("select name from _migrations")}
        assert {"alerts/001_deliveries", "alerts/002_delivery_claims"} <= names
    finally:
        conn.close()


def test_atom_feed_of_events_parses_with_feedparser(ow, emulator, tmp_path):
    import feedparser

    crawl(ow)
    emulator.world.add_model("deepseek-ai/DeepSeek-V9", license="mit")
    emulator.world.relicense("meta-llama/Llama-3.2-1B", "other", license_name="<b>bold</b> & <!channel>")
    crawl(ow)
    ow("feed", "-o", str(tmp_path / "events.xml"))
    parsed = feedparser.parse((tmp_path / "events.xml").read_bytes())
    assert not parsed.bozo
    entries = {e.tags[0].term: e for e in parsed.entries}
    assert sorted(entries) == ["model.added", "model.license_changed"] and len(parsed.entries) == 2
    assert entries["model.added"].link.endswith("/deepseek-ai/DeepSeek-V9")
    # text content: escaped in the XML, intact when read back
    assert "<b>bold</b>" in entries["model.license_changed"].content[0].value
    assert ow("feed").stdout.startswith("<?xml")


def test_licence_file_change_survives_a_failed_fetch(ow, emulator):
    crawl(ow)
    emulator.world.commit("deepseek-ai/DeepSeek-Model-6", files={"LICENSE": "MIT License, new terms"})
    fault = emulator.faults.add(Fault("/resolve/", status=500))
    crawl(ow, check=False)
    assert [e["type"] for e in ow.json("events", "--type", "model.license_file_changed")] == []
    emulator.faults.remove(fault)
    crawl(ow)  # same sha as last crawl, but the files were never read at it: fetched now
    assert [e["item"] for e in ow.json("events", "--type", "model.license_file_changed")] == [
        "model:hf/deepseek-ai/DeepSeek-Model-6"]


def test_two_watches_on_one_org_share_its_baseline(ow, emulator):
    crawl(ow)
    write_config(ow.config, hf=emulator.url, watches=[
        {"name": "labs", "source": "huggingface", "orgs": ["meta-llama", "deepseek-ai"], "every": "1h"},
        {"name": "cn", "source": "huggingface", "orgs": ["deepseek-ai"], "every": "1h"}])
    emulator.world.add_model("deepseek-ai/DeepSeek-New", license="mit")
    ow("crawl", "cn")  # cn's first crawl, but deepseek-ai is baselined already: the change is reported
    (event,) = ow.json("events")
    assert event["type"] == "model.added" and event["watch"] == "cn"
    assert event["data"]["watches"] == ["cn", "labs"]
    crawl(ow)
    assert len(ow.json("events")) == 1


def test_empty_first_listing_is_not_a_baseline(ow, emulator):
    fault = emulator.faults.add(Fault("author=deepseek-ai", empty=True))
    crawl(ow, check=False)
    emulator.faults.remove(fault)
    crawl(ow)  # the real baseline for deepseek-ai: silent
    assert ow.json("events") == []


def test_org_that_really_lost_most_models_is_confirmed_by_direct_checks(ow, emulator):
    crawl(ow)
    for i in range(7):
        emulator.world.delete(f"deepseek-ai/DeepSeek-Model-{i}")
    for _ in range(3):
        crawl(ow)
    events = ow.json("events")
    assert sorted(e["item"] for e in events) == sorted(f"model:hf/deepseek-ai/DeepSeek-Model-{i}" for i in range(7))
    assert {e["type"] for e in events} == {"model.removed"}
    assert db_rows(ow, "select status from crawls order by id desc limit 1") == [("ok",)]


def test_cli_edge_cases(ow, emulator):
    bad = ow("events", "--since", "7x", check=False)  # no database yet: the usage error comes first
    assert bad.returncode == 2 and "7x" in bad.stderr and len(bad.stderr.strip().splitlines()) == 1
    crawl(ow)
    assert ow("events", "--since", "99999999999d", check=False).returncode == 2
    assert ow.json("history", "https://huggingface.co/deepseek-ai/DeepSeek-Model-0")[0]["id"] == \
        "deepseek-ai/DeepSeek-Model-0"
    missing = ow("history", "nobody/nothing", check=False)
    assert missing.returncode == 1 and "Traceback" not in missing.stderr
    assert ow("crawl", "no-such-watch", check=False).returncode == 2


def test_report_is_one_self_contained_page(ow, emulator, tmp_path):
    from html.parser import HTMLParser

    crawl(ow)
    emulator.world.add_model("deepseek-ai/DeepSeek-R9", license="mit")
    emulator.world.relicense("meta-llama/Llama-3.2-1B", "other", license_name="<script>alert(1)</script>")
    crawl(ow)
    out = tmp_path / "report.html"
    ow("report", "-o", str(out))
    html = out.read_text()

    class Tags(HTMLParser):
        def __init__(self):
            super().__init__()
            self.tags, self.external = [], []

        def handle_starttag(self, tag, attrs):
            self.tags.append(tag)
            attrs = dict(attrs)
            if tag in ("script", "link", "img") or (tag != "a" and attrs.get("src")):
                self.external.append(tag)

    parser = Tags()
    parser.feed(html)
    assert parser.external == [] and parser.tags.count("svg") >= 3  # charts: tests/jobs/views/test_report*.py
    assert "<script>" not in html
    assert "CN" in html and "US" in html and "deepseek-ai released DeepSeek-R9" in html
    assert "<b>14</b>models tracked" in html


def test_status_counts_items_of_every_watch_sharing_an_org(ow, emulator):
    write_config(ow.config, hf=emulator.url, watches=[
        {"name": "labs", "source": "huggingface", "orgs": ["meta-llama", "deepseek-ai"], "every": "1h"},
        {"name": "cn", "source": "huggingface", "orgs": ["deepseek-ai"], "every": "1h"}])
    crawl(ow)
    ow("crawl", "cn")
    counts = {w["watch"]: w["items"] for w in ow.json("status")["watches"]}
    assert counts == {"labs": 13, "cn": 11}


def test_feed_path_is_kept_up_to_date_after_crawls(ow, emulator):
    import feedparser

    ow.config.write_text('feed_path = "public/events.xml"\n' + ow.config.read_text())
    (ow.config.parent / "public").mkdir()
    crawl(ow)
    feed = ow.config.parent / "public" / "events.xml"
    assert feedparser.parse(feed.read_bytes()).entries == []  # the baseline: a feed with nothing yet
    emulator.world.add_model("deepseek-ai/DeepSeek-V9", license="mit")
    crawl(ow)
    parsed = feedparser.parse(feed.read_bytes())
    assert not parsed.bozo and [e.title for e in parsed.entries] == ["deepseek-ai released DeepSeek-V9"]


def test_a_crawl_shows_progress_on_a_terminal_and_stays_quiet_otherwise(ow):
    import os
    import pty
    import subprocess
    import sys

    piped = ow("crawl", "labs")
    assert "units complete" not in piped.stderr  # piped: quiet
    leader, follower = pty.openpty()
    try:
        proc = subprocess.run([sys.executable, "-m", "jobs", "--config", str(ow.config), "crawl", "labs"],
                              stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=follower, env=ow.env,
                              cwd=ow.config.parent, timeout=180)
    finally:
        os.close(follower)
    seen = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    os.close(leader)
    assert proc.returncode == 0
    assert b"labs: 13 items, 2/2 units complete" in seen


def test_run_once_with_nothing_to_deliver_never_loads_the_alerts_stack(tmp_path, emulator):
    """Issue 7: nothing imports channels, templates or the HTTP client of alerts when nothing
    waits in the outbox; the first event that does wait is sent by the same command."""
    from alerts.receivers import HttpReceiver
    from tests.e2e.test_alerts import SECRET

    seed(emulator.world)
    with HttpReceiver() as http:
        config = write_config(
            tmp_path / "openwatch.toml", hf=emulator.url,
            watches=[{"name": "labs", "source": "huggingface", "orgs": ["deepseek-ai"], "every": "1h"}],
            subscriptions=[{"name": "hook", "channel": "webhook", "url": http.url("/hook"), "secret": SECRET}])
        profiled = CLI(config, env={"PYTHONPROFILEIMPORTTIME": "1"})

        def loaded(proc) -> set[str]:
            return {line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines() if line.startswith("import time:")}

        baseline = profiled("run", "--once")
        assert "deliveries: 0 sent" in baseline.stdout
        modules = loaded(baseline)
        assert "jobs.database" in modules  # the profile is real: it sees what the command loads
        assert not {"alerts.outbox", "alerts.render", "alerts.transport", "jinja2"} & modules
        emulator.world.add_model("deepseek-ai/DeepSeek-V9", license="mit")
        changed = profiled("run", "--once")
        assert "deliveries: 1 sent" in changed.stdout and "alerts.outbox" in loaded(changed)
        assert [r.json["type"] for r in http.requests if r.path == "/hook"] == ["model.added"]
