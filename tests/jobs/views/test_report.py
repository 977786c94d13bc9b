"""`openwatch report`: what the page holds (from a realistic history), that scraped text is
escaped, that empty data reads as "no data yet", and the real CLI on a real crawl."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from html.parser import HTMLParser

import pytest

from crawler.history.schema import connect
from jobs.views.report import country_group, gather, human_count, item_url, render
from tests.support import history_world
from tests.support.cli import CLI, write_config

NOW = datetime(2026, 5, 20, 12, 0, tzinfo=timezone.utc)
SINCE = (NOW - timedelta(days=90)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@pytest.fixture
def world_db(tmp_path):
    history_world.build(tmp_path / "openwatch.db", now=NOW)
    db = connect(tmp_path / "openwatch.db", readonly=True)
    yield db
    db.conn.close()


@pytest.mark.parametrize(("n", "text"), [
    (72_706_203_648, "72.7B"), (1_026_470_731_776, "1.03T"), (8_030_261_248, "8.03B"),
    (108_641_793_536, "109B"), (685_396_921_376, "685B"), (999_600_000, "1B"), (560_000_000, "560M"),
    (24_000, "24K"), (512, "512"), (None, ""), (0, ""), ("72B", ""),
])
def test_parameter_counts_read_like_model_names(n, text):
    assert human_count(n) == text


@pytest.mark.parametrize(("country", "group"), [
    ("US", "US"), ("CN", "CN"), ("FR", "EU"), ("de", "EU"), ("PT", "EU"), ("GR", "EU"), ("EL", "EU"),
    ("GB", "other"), ("CH", "other"), ("AE", "other"), (None, "other"), ("", "other"),
])
def test_country_groups(country, group):
    assert country_group(country) == group


@pytest.mark.parametrize(("key", "url"), [
    ("paper:arxiv/2501.00656", "https://arxiv.org/abs/2501.00656"),
    ("repo:github/allenai/OLMo", "https://github.com/allenai/OLMo"),
    ("release:github/openai/gpt-oss/v0.1.0", "https://github.com/openai/gpt-oss/releases/tag/v0.1.0"),
    ("model:hf/Qwen/Qwen3-8B", "https://huggingface.co/Qwen/Qwen3-8B"),
    ("post:blogs/abc", None),
])
def test_item_urls_from_keys(key, url):
    assert item_url(key) == url


def test_gather_counts_the_world(world_db):
    data = gather(world_db, since=SINCE, now=NOW)
    assert data["months"] == ["2026-02", "2026-03", "2026-04", "2026-05"]
    new = data["new_models"]
    # released within 90 days of NOW: every model but Llama 3.3 (150 d), Qwen2.5 (250 d), the undated one
    assert new["total"] == len(history_world.MODELS) - 3
    assert sum(sum(v) for v in new["by_group"].values()) == new["total"]
    assert sum(new["by_group"]["EU"]) == 3 and sum(new["by_group"]["other"]) == 2  # FR, FR, PT / CH, AE
    assert data["totals"]["by_group"] == {"US": 6, "CN": 6, "EU": 3, "other": 3}
    levels = dict(zip(data["openness"]["groups"], zip(*data["openness"]["levels"].values())))
    assert levels["US"] == (2, 0, 1, 2, 1)  # fully-open, +code, open-weights, restricted, unknown (NULL)
    directions = {c["name"]: c["direction"] for c in data["licence_changes"]}
    assert directions == {"google/gemma-3-27b-it": "more open", "tiiuae/Falcon-H1-34B-Instruct": "more restrictive",
                          "moonshotai/Kimi-K2-Instruct": "lateral", "zai-org/GLM-4.5": "unclear"}
    releases = {r["name"]: r for r in data["releases"]}
    assert releases["Qwen/Qwen2.5-72B-Instruct"]["parameters"] == "72.7B"
    assert [link["label"] for link in releases["allenai/OLMo-2-0325-32B"]["links"]] == [
        "paper 2501.00656", "code allenai/OLMo"]
    assert releases["allenai/OLMo-2-0325-32B"]["links"][0]["href"] == "https://arxiv.org/abs/2501.00656"
    assert releases["unknown-lab/mystery-7b"]["released"] == "unknown"
    assert data["releases"][0]["name"] == "swiss-ai/Apertus-8B-Instruct-2509"  # newest first
    downloads = data["downloads"]
    assert len(downloads["days"]) == 61
    assert all(abs(sum(downloads["shares"][g][i] for g in downloads["shares"]) - 1) < 1e-9 for i in range(61))
    health = {h["watch"]: h for h in data["health"]}
    assert health["papers"]["status"] == "failed" and health["papers"]["failing"] and health["papers"]["failures"] == 3
    assert health["labs"]["status"] == "ok"


class _Page(HTMLParser):
    """Tags, attributes and the text of every table row of a page."""

    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.svgs = 0
        self.tables: dict[str, list[list[str]]] = {}
        self._table = self._row = self._cell = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append((tag, attrs))
        if tag == "svg":
            self.svgs += 1
        elif tag == "table":
            self._table = self.tables.setdefault(attrs.get("data-table", "?"), [])
        elif tag == "tr" and self._table is not None:
            self._row = []
        elif tag == "td" and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag):
        if tag == "td" and self._cell is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr" and self._row:
            self._table.append(self._row)
            self._row = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def parse(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    return page


def test_page_is_self_contained_and_escapes_scraped_text(world_db):
    html = render(gather(world_db, since=SINCE, now=NOW))
    page = parse(html)
    assert page.svgs == 5
    tags = {tag for tag, _ in page.tags}
    assert not tags & {"script", "img", "link", "iframe", "object", "embed"}
    for tag, attrs in page.tags:
        assert not (attrs.get("src") or "").strip(), tag
        href = attrs.get("href")
        if href is not None and tag == "a":
            assert href.startswith(("https://", "http://")), href  # never javascript:
    assert "javascript:" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    release = next(r for r in page.tables["releases"] if r[1] == "unknown-lab/mystery-7b")
    assert release[3] == "other:<img src=x onerror=alert(1)> unknown"
    assert [r[5] for r in page.tables["licence-changes"]] == ["unclear", "lateral", "more restrictive", "more open"]
    assert "more_restrictive" not in html
    assert not re.search(r"(?<![\w-])(?:url\(|@import)\s*['\"]?https?:", html)  # no CSS fetches


def test_empty_history_reads_as_no_data_yet(tmp_path):
    connect(tmp_path / "empty.db").conn.close()
    db = connect(tmp_path / "empty.db", readonly=True)
    html = render(gather(db, since=SINCE, now=NOW))
    page = parse(html)
    assert page.svgs == 0
    assert re.findall(r'data-empty="([\w-]+)"', html) == ["new-models", "openness", "downloads"]
    assert "No download data yet" in html
    assert page.tables["releases"] == [["No models tracked yet."]]


def test_no_metrics_yet_keeps_the_other_charts(tmp_path):
    history_world.build(tmp_path / "openwatch.db", now=NOW, metrics=False)
    db = connect(tmp_path / "openwatch.db", readonly=True)
    html = render(gather(db, since=SINCE, now=NOW))
    assert re.findall(r'data-empty="([\w-]+)"', html) == ["downloads"]
    assert parse(html).svgs == 4


def test_report_command_writes_the_page(tmp_path):
    history_world.build(tmp_path / "openwatch.db")
    config = write_config(tmp_path / "openwatch.toml", hf="http://127.0.0.1:9", watches=[
        {"name": "labs", "source": "huggingface", "orgs": ["meta-llama"], "every": "1h"}])
    proc = CLI(config)("report", "--since", "30d", "-o", "out/report.html", check=False)
    assert proc.returncode != 0 and "out" in proc.stderr  # a missing directory is a one-line error
    (tmp_path / "out").mkdir()
    proc = CLI(config)("report", "--since", "30d", "-o", "out/report.html")
    assert proc.stdout == "wrote out/report.html\n"
    page = parse((tmp_path / "out" / "report.html").read_text())
    assert page.svgs == 5
    # 30 days: the licence changes (2 to 6 days old) are in, the 40-day-old Llama 4 release is not new
    assert len(page.tables["licence-changes"]) == 4
    assert [t for t in page.tables["releases"] if t[1].startswith("meta-llama/Llama-4")]


def test_report_of_a_real_crawl(tmp_path, emulator):
    world = emulator.world
    world.add_model("Qwen/Qwen2.5-72B-Instruct", license="other", license_name="qwen",
                    parameters=72_706_203_648, created_at=datetime(2024, 9, 16, 11, 55, tzinfo=timezone.utc),
                    downloads=250_000)
    world.add_model("meta-llama/Llama-3.1-8B", license="llama3.1", gated="manual", downloads=5_000_000)
    config = write_config(tmp_path / "openwatch.toml", hf=emulator.url, watches=[
        {"name": "labs", "source": "huggingface", "orgs": ["Qwen", "meta-llama"], "every": "1h"}])
    ow = CLI(config)
    ow("crawl", "labs")
    world.add_model("Qwen/Qwen3-8B", license="apache-2.0", parameters=8_190_735_360)
    world.relicense("meta-llama/Llama-3.1-8B", "other", license_name="llama4")
    ow("crawl", "labs")
    ow("report", "-o", "report.html")
    page = parse((tmp_path / "report.html").read_text())
    releases = {r[1]: r for r in page.tables["releases"]}
    assert releases["Qwen/Qwen2.5-72B-Instruct"][5] == "72.7B"
    assert releases["Qwen/Qwen3-8B"][5] == "8.19B"
    assert releases["Qwen/Qwen3-8B"][2] == "CN" and releases["meta-llama/Llama-3.1-8B"][2] == "US"
    (change,) = page.tables["licence-changes"]
    assert change[1] == "meta-llama/Llama-3.1-8B" and change[3] == "llama3.1 → llama4"
    assert [h[0] for h in page.tables["health"]] == ["labs"]
    assert page.svgs >= 3  # new models (Qwen3-8B, Qwen2.5's createdAt is older), openness, directions
