"""Every source end to end: the real `openwatch` CLI, real Scrapy crawls against the hub
emulator's GitHub, arXiv, feed, daily-papers and ModelScope services, a real SQLite file.
For each: the baseline is silent, each change is exactly one event, nothing repeats on a
re-crawl, and a transient failure removes nothing and invents nothing."""

from __future__ import annotations

import json

import pytest

from crawler.emulator import Fault
from tests.support.cli import CLI, write_config
from tests.support.cli import rows


def config(tmp_path, emulator, *watches, env=None) -> CLI:
    path = write_config(tmp_path / "openwatch.toml", hf=emulator.url, watches=list(watches),
                        endpoints={k: v for k, v in emulator.endpoints().items() if k != "huggingface"})
    return CLI(path, env=env)


def last_crawl(cli: CLI):
    return rows(cli, "select status, errors from crawls order by id desc limit 1")[0]


def types(cli: CLI) -> list[str]:
    return sorted(e["type"] for e in cli.json("events"))


# -- GitHub ------------------------------------------------------------------------------------


@pytest.mark.parametrize("token", [None, "ghp_test"], ids=["atom-without-token", "rest-with-token"])
def test_github_releases_licence_archive_and_rename(tmp_path, emulator, token):
    gh = emulator.github
    gh.add_repo("deepseek-ai/DeepSeek-V3", license_spdx="MIT")
    gh.add_release("deepseek-ai/DeepSeek-V3", "v1.0", body="First release")
    ow = config(tmp_path, emulator, {"name": "rel", "source": "github", "repos": ["deepseek-ai/DeepSeek-V3"],
                                     "every": "1h"}, env={"GITHUB_TOKEN": token} if token else None)
    ow("crawl", "rel")
    assert ow.json("events") == [] and last_crawl(ow)[0] == "ok"
    assert rows(ow, "select key from items order by key") == [
        ("release:github/deepseek-ai/DeepSeek-V3/v1.0",), ("repo:github/deepseek-ai/DeepSeek-V3",)]

    gh.add_release("deepseek-ai/DeepSeek-V3", "v1.1", name="V3.1",
                   body="Weights: https://huggingface.co/deepseek-ai/DeepSeek-V3.1 <!channel>", prerelease=True)
    ow("crawl", "rel")
    (release,) = ow.json("events")
    assert release["type"] == "release.published"
    assert release["item"] == "release:github/deepseek-ai/DeepSeek-V3/v1.1"
    assert release["after"]["tag"] == "v1.1" and release["after"]["name"] == "V3.1"
    assert release["after"]["prerelease"] is (True if token else None)  # the Atom feed has no flag
    assert "model:hf/deepseek-ai/DeepSeek-V3.1" in release["data"]["links"]
    assert "<!channel>" in release["data"]["excerpt"]  # stored intact; escaped at the channels

    ow("crawl", "rel")  # nothing new: conditional requests, no parsing, no events
    assert len(ow.json("events")) == 1

    gh.relicense_repo("deepseek-ai/DeepSeek-V3", "NOASSERTION")
    ow("crawl", "rel")
    lic = [e for e in ow.json("events") if e["type"] == "repo.license_changed"]
    assert len(lic) == 1 and lic[0]["data"]["direction"] == "unclear"  # NOASSERTION is unknown

    gh.archive_repo("deepseek-ai/DeepSeek-V3")
    ow("crawl", "rel")
    assert types(ow).count("repo.archived") == 1

    gh.rename_repo("deepseek-ai/DeepSeek-V3", "deepseek-ai/DeepSeek-V3-Base")
    ow("crawl", "rel")
    ow("crawl", "rel")
    got = types(ow)
    assert got.count("repo.renamed") == 1 and got.count("release.published") == 1  # releases moved, not new
    assert rows(ow, "select count(*) from items where key like 'repo:%'") == [(1,)]
    history = ow.json("history", "repo:github/deepseek-ai/DeepSeek-V3")  # the old key still finds it
    assert history[-1]["full_name"] == "deepseek-ai/DeepSeek-V3-Base"


def test_github_rate_limit_longer_than_the_watch_allows_is_partial_not_removal(tmp_path, emulator):
    emulator.github.add_repo("openai/gpt-oss", license_spdx="Apache-2.0")
    emulator.github.add_release("openai/gpt-oss", "v0.1")
    ow = config(tmp_path, emulator, {"name": "rel", "source": "github", "repos": ["openai/gpt-oss"],
                                     "every": "1h", "max_wait": "1s"})
    ow("crawl", "rel")
    reset = str(2**31)  # far in the future
    emulator.faults.add(Fault(r"/github", status=403, headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": reset,
                                                                "x-ratelimit-limit": "60"},
                              body=b'{"message": "API rate limit exceeded"}'))
    ow("crawl", "rel", check=False)
    status, errors = last_crawl(ow)
    assert status in ("partial", "failed") and "rate limit" in errors
    assert ow.json("events") == []
    assert rows(ow, "select count(*) from items") == [(2,)]


# -- arXiv -------------------------------------------------------------------------------------


def test_arxiv_papers_paced_error_entries_and_empty_pages(tmp_path, emulator):
    ax = emulator.arxiv
    for i in range(130):  # more than one page of 100
        ax.add_paper(f"2507.{i:05d}", title=f"Open-weight model {i}", abstract="open-weight release",
                     authors=["A. One", "B. Two", "C. Three"], categories=["cs.CL"])
    ow = config(tmp_path, emulator, {"name": "papers", "source": "arxiv", "query": 'abs:"open-weight"',
                                     "every": "6h", "cache": "0s"})
    ow("crawl", "papers")
    assert ow.json("events") == [] and last_crawl(ow)[0] == "ok"
    arrivals = [r.at for r in emulator.requests.log if r.path.startswith("/arxiv/api/query")]
    assert len(arrivals) >= 2
    assert all(b - a >= 2.95 for a, b in zip(arrivals, arrivals[1:]))  # one request every 3 seconds

    ax.add_paper("2508.00001", title="  A  New\n Open-weight   Model ", abstract="open-weight, code at "
                 "https://github.com/acme/new-model", authors=["X. First", "Y. Second", "Z. Last"],
                 categories=["cs.CL", "cs.LG"])
    ow("crawl", "papers")
    (paper,) = ow.json("events")
    assert paper["type"] == "paper.published" and paper["item"] == "paper:arxiv/2508.00001"
    assert paper["after"]["title"] == "A New Open-weight Model"
    assert paper["after"]["authors"] == ["X. First", "Y. Second", "Z. Last"]  # all of them, in order
    assert "repo:github/acme/new-model" in paper["data"]["links"]

    emulator.faults.add(Fault(r"/arxiv/api/query", empty=True))  # 200, totalResults > 0, no entries
    ow("crawl", "papers", check=False)
    assert last_crawl(ow)[0] in ("partial", "failed") and len(ow.json("events")) == 1
    emulator.faults.clear()

    ow.config.write_text(ow.config.read_text().replace('abs:\\"open-weight\\"', "ti:(unbalanced"))
    ow("crawl", "papers", check=False)  # an error entry is an error, never "no papers"
    assert last_crawl(ow)[0] == "failed" and len(ow.json("events")) == 1


# -- feeds -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "encoding", "declared"), [
    ("rss2", "utf-8", True), ("rss1", "iso-8859-1", True), ("atom", "utf-8", True), ("rss2", "iso-8859-1", False),
])
def test_feed_posts_once_whatever_the_format_and_encoding(tmp_path, emulator, kind, encoding, declared):
    emulator.feeds.add_feed("lab", kind=kind, encoding=encoding, declared=declared)
    emulator.feeds.add_entry("lab", "post-1", title="Hello", link="https://lab.example/1")
    url = emulator.url + "/feeds/lab"
    ow = config(tmp_path, emulator, {"name": "blog", "source": "feed", "urls": [url], "every": "2h"})
    ow("crawl", "blog")
    assert ow.json("events") == []

    emulator.feeds.add_entry("lab", "post-2", title="Über <b>Modelle</b> &amp; ‮mehr", link="https://lab.example/2",
                             summary="Weights: https://huggingface.co/lab/Model-9B")
    ow("crawl", "blog")
    emulator.feeds.edit_entry("lab", "post-2", title="Über Modelle (edited)")  # an edit is not new
    ow("crawl", "blog")
    (post,) = ow.json("events")
    assert post["type"] == "post.published" and post["after"]["title"].startswith("Über")
    assert "model:hf/lab/Model-9B" in post["data"]["links"]


def test_a_malformed_feed_is_read_as_far_as_possible_and_partial(tmp_path, emulator):
    emulator.feeds.add_feed("lab")
    emulator.feeds.add_entry("lab", "a", title="A")
    url = emulator.url + "/feeds/lab"
    ow = config(tmp_path, emulator, {"name": "blog", "source": "feed", "urls": [url], "every": "2h"})
    ow("crawl", "blog")
    emulator.feeds.add_entry("lab", "b", title="B")
    emulator.feeds.break_feed("lab")
    ow("crawl", "blog", check=False)
    assert last_crawl(ow)[0] in ("partial", "failed")
    assert rows(ow, "select count(*) from items where kind = 'post'")[0][0] >= 1


def test_a_feed_keyed_by_links_that_stays_malformed_still_reports_its_new_posts_once(tmp_path, emulator):
    """Review finding: keeping only entries with their own id in a malformed document dropped
    every post of an RSS feed without guids (keyed by link) for as long as it stayed malformed.
    Only the last entry can be the one a cut split, so only a last entry without an id waits."""
    emulator.feeds.add_feed("lab")
    emulator.feeds.add_entry("lab", None, title="A", link="https://lab.example/a")
    url = emulator.url + "/feeds/lab"
    ow = config(tmp_path, emulator, {"name": "blog", "source": "feed", "urls": [url], "every": "2h"})
    ow("crawl", "blog")  # the baseline, clean
    emulator.feeds.add_entry("lab", None, title="B", link="https://lab.example/b")
    emulator.feeds.break_feed("lab", "entity")  # an undefined entity in the newest title: malformed, whole
    for _ in range(2):  # reported while the feed stays malformed, and once
        ow("crawl", "blog", check=False)
        assert last_crawl(ow)[0] in ("partial", "failed")
        assert [(e["type"], e["after"]["title"]) for e in ow.json("events")] == [("post.published", "B")]
    emulator.feeds.break_feed("lab", None)
    ow("crawl", "blog")
    assert len(ow.json("events")) == 1


# -- Hugging Face daily papers -------------------------------------------------------------------


def test_daily_papers_and_arxiv_share_one_item(tmp_path, emulator):
    emulator.world.add_daily_paper("2501.12948", title="DeepSeek-R1", upvotes=500, organization="deepseek-ai",
                                   github_repo="https://github.com/deepseek-ai/DeepSeek-R1")
    ow = config(tmp_path, emulator, {"name": "daily", "source": "hf_papers", "every": "6h", "min_upvotes": 10},
                {"name": "papers", "source": "arxiv", "query": "all:reasoning", "every": "6h", "cache": "0s"})
    ow("crawl", "daily")
    ow("crawl", "papers")
    assert ow.json("events") == []
    emulator.world.add_daily_paper("2502.00002", title="Kimi k1.5", upvotes=120, organization="moonshotai")
    emulator.world.add_daily_paper("2502.00003", title="Ignored", upvotes=2)
    emulator.arxiv.add_paper("2502.00002", title="Kimi k1.5", abstract="reasoning", authors=["K. Team"])
    ow("crawl", "daily")
    ow("crawl", "papers")
    (paper,) = ow.json("events")
    assert paper["item"] == "paper:arxiv/2502.00002" and paper["watch"] == "daily"
    assert rows(ow, "select count(*) from items where key = 'paper:arxiv/2502.00002'") == [(1,)]


# -- ModelScope --------------------------------------------------------------------------------


def test_modelscope_models_with_the_hub_rules(tmp_path, emulator):
    ms = emulator.modelscope
    ms.add_model("Qwen/Qwen3-8B", license="Apache License 2.0")
    ms.add_model("Qwen/Qwen3-32B", license="Apache License 2.0")
    ow = config(tmp_path, emulator, {"name": "ms", "source": "modelscope", "orgs": ["Qwen"], "every": "1h"})
    ow("crawl", "ms")
    assert ow.json("events") == []

    ms.add_model("Qwen/Qwen3-235B", license="Apache License 2.0")
    ms.relicense("Qwen/Qwen3-8B", "CC BY-NC 4.0")
    ow("crawl", "ms")
    ow("crawl", "ms")
    events = {e["type"]: e for e in ow.json("events")}
    assert sorted(events) == ["model.added", "model.license_changed"]
    assert events["model.license_changed"]["data"]["direction"] == "more_restrictive"
    assert events["model.added"]["data"]["country"] == "CN"
    assert "model:hf/Qwen/Qwen3-235B" in events["model.added"]["data"]["links"]  # the same model on both hubs

    emulator.faults.add(Fault(r"/modelscope/api/v1/models", status=200,
                              body=json.dumps({"Code": 10010205001, "Success": False, "Message": "系统繁忙",
                                               "Data": None}).encode()))
    for _ in range(3):  # `Success: false` with a 200 is an error, never an empty listing
        ow("crawl", "ms", check=False)
        assert last_crawl(ow)[0] == "failed"
    emulator.faults.clear()
    assert types(ow) == ["model.added", "model.license_changed", "source.failing"]  # nothing invented

    ms.delete("Qwen/Qwen3-32B")
    for _ in range(2):
        ow("crawl", "ms")
    assert [t for t in types(ow) if t.startswith("model.")] == ["model.added", "model.license_changed"]
    ow("crawl", "ms")
    assert types(ow) == ["model.added", "model.license_changed", "model.removed", "source.failing",
                         "source.recovered"]


def test_arxiv_answers_are_cached_for_a_day(tmp_path, emulator):
    emulator.arxiv.add_paper("2507.00001", title="Open weights", abstract="open-weight")
    ow = config(tmp_path, emulator, {"name": "papers", "source": "arxiv", "query": 'abs:"open-weight"', "every": "6h"})
    ow("crawl", "papers")
    asked = emulator.requests.count("/arxiv/api/query")
    ow("crawl", "papers")
    assert emulator.requests.count("/arxiv/api/query") == asked and last_crawl(ow)[0] == "ok"


def test_an_org_on_two_hubs_is_two_units_each_with_its_own_baseline(tmp_path, emulator):
    """`Qwen` on Hugging Face and `Qwen` on ModelScope: the second hub's first crawl is a
    silent baseline too, and neither hub's direct checks ask the other for its models."""
    emulator.world.add_model("Qwen/Qwen3-8B", license="apache-2.0")
    emulator.modelscope.add_model("Qwen/Qwen3-8B", license="Apache License 2.0")
    emulator.modelscope.add_model("Qwen/Qwen3-MS-Only", license="Apache License 2.0")
    ow = config(tmp_path, emulator, {"name": "hf", "source": "huggingface", "orgs": ["Qwen"], "every": "1h"},
                {"name": "ms", "source": "modelscope", "orgs": ["Qwen"], "every": "1h"})
    ow("crawl", "hf")
    ow("crawl", "ms")
    ow("crawl", "hf")
    ow("crawl", "ms")
    assert ow.json("events") == []
    assert last_crawl(ow)[0] == "ok"
    assert rows(ow, "select source, count(*) from items group by source order by source") == [
        ("huggingface", 1), ("modelscope", 2)]


def test_links_the_deepseek_r1_way_model_tag_to_paper_release_to_model(tmp_path, emulator):
    """A model card's arxiv tag links the paper; a release naming the model links it; the
    paper's comment links the code. Shown in the events, in `history`, and in openness."""
    emulator.world.add_model("deepseek-ai/DeepSeek-R1", license="mit", arxiv=["2501.12948"])
    emulator.github.add_repo("deepseek-ai/DeepSeek-R1", license_spdx="MIT")
    emulator.github.add_release("deepseek-ai/DeepSeek-R1", "v1.0")
    emulator.arxiv.add_paper("2501.12948", title="DeepSeek-R1", abstract="reasoning via RL")
    ow = config(tmp_path, emulator,
                {"name": "hf", "source": "huggingface", "orgs": ["deepseek-ai"], "every": "1h"},
                {"name": "code", "source": "github", "repos": ["deepseek-ai/DeepSeek-R1"], "every": "1h"},
                {"name": "papers", "source": "arxiv", "query": "all:reasoning", "every": "6h", "cache": "0s"})
    for watch in ("hf", "code", "papers"):
        ow("crawl", watch)
    assert ow.json("events") == []

    emulator.arxiv.add_paper("2601.00001", title="DeepSeek-R2", abstract="more reasoning",
                             comment="Code: https://github.com/deepseek-ai/DeepSeek-R1")
    emulator.world.add_model("deepseek-ai/DeepSeek-R2", license="mit", arxiv=["2601.00001"])
    emulator.github.add_release("deepseek-ai/DeepSeek-R1", "v2.0",
                                body="Weights: https://huggingface.co/deepseek-ai/DeepSeek-R2")
    for watch in ("papers", "code", "hf"):
        ow("crawl", watch)
    events = {e["type"]: e for e in ow.json("events")}
    assert sorted(events) == ["model.added", "paper.published", "release.published"]
    assert "paper:arxiv/2601.00001" in events["model.added"]["data"]["links"]
    assert "model:hf/deepseek-ai/DeepSeek-R2" in events["release.published"]["data"]["links"]
    assert "repo:github/deepseek-ai/DeepSeek-R1" in events["paper.published"]["data"]["links"]
    assert events["model.added"]["data"]["openness"] == "open-weights+code"  # MIT weights, MIT code linked

    shown = ow("history", "deepseek-ai/DeepSeek-R2").stdout
    assert "cites_paper" in shown and "paper:arxiv/2601.00001" in shown and "announces (of)" in shown
    last = ow.json("history", "deepseek-ai/DeepSeek-R2")[-1]
    assert {link["key"] for link in last["links"]} >= {"paper:arxiv/2601.00001"}
