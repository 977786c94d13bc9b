"""Every paged source against a server that serves fewer items a page than asked: the real
CLI, real crawls, the emulator's `page_cap` fault. A source pages by what the answers say
(items received against the total, a `Link: rel="next"`, an empty page), never by the page
size it asked for."""

from __future__ import annotations

import json

from crawler.emulator import Fault
from crawler.emulator.modelscope import envelope, model_object
from tests.support.cli import CLI, rows, write_config


def config(tmp_path, emulator, *watches, env=None) -> CLI:
    path = write_config(tmp_path / "openwatch.toml", hf=emulator.url, watches=list(watches),
                        endpoints={k: v for k, v in emulator.endpoints().items() if k != "huggingface"})
    return CLI(path, env=env)


def last_crawl(cli: CLI):
    return rows(cli, "select status, errors from crawls order by id desc limit 1")[0]


def test_modelscope_reads_every_page_of_a_server_that_serves_50_a_page(tmp_path, emulator):
    emulator.modelscope.populate(120, "Qwen")
    emulator.faults.add(Fault.capped_pages(r"^/modelscope/api/v1/models/?$", 50))
    ow = config(tmp_path, emulator, {"name": "ms", "source": "modelscope", "orgs": ["Qwen"], "every": "1h"})
    ow("crawl", "ms")
    assert last_crawl(ow) == ("ok", "[]")
    assert rows(ow, "select count(*) from items where key like 'model:ms/%'") == [(120,)]
    assert emulator.requests.count("/modelscope/api/v1/models/") == 3  # 50 + 50 + 20, no empty page asked

    emulator.modelscope.add_model("Qwen/Qwen9-New", license="Apache License 2.0")
    ow("crawl", "ms")
    assert [(e["type"], e["item"]) for e in ow.json("events")] == [("model.added", "model:ms/Qwen/Qwen9-New")]


def test_arxiv_reads_every_page_of_a_server_that_serves_fewer_than_asked(tmp_path, emulator):
    emulator.arxiv.populate(130, category="cs.CL")
    emulator.faults.add(Fault.capped_pages(r"^/arxiv/api/query", 50))
    ow = config(tmp_path, emulator, {"name": "papers", "source": "arxiv", "query": "cat:cs.CL", "every": "6h",
                                     "cache": "0s"})
    ow("crawl", "papers")
    assert last_crawl(ow) == ("ok", "[]")
    assert rows(ow, "select count(*) from items where key like 'paper:arxiv/%'") == [(130,)]
    queries = [r.path for r in emulator.requests.log if r.path.startswith("/arxiv/api/query")]
    assert [q.split("&start=")[1].split("&")[0] for q in queries] == ["0", "50", "100"]


def test_github_reads_every_repo_of_an_owner_whose_pages_are_capped(tmp_path, emulator):
    for n in range(7):
        emulator.github.add_repo(f"QwenLM/repo-{n}", license_spdx="Apache-2.0")
    emulator.faults.add(Fault.capped_pages(r"^/github-api/(orgs|organizations)/[^/]+/repos", 2))
    ow = config(tmp_path, emulator, {"name": "gh", "source": "github", "orgs": ["QwenLM"], "every": "1h"})
    ow("crawl", "gh")
    assert last_crawl(ow) == ("ok", "[]")
    assert rows(ow, "select count(*) from items where key like 'repo:github/QwenLM/%'") == [(7,)]
    assert emulator.requests.count("/github-api/orgs/QwenLM/repos") == 1
    assert emulator.requests.count("/github-api/organizations/") == 3  # 2 + 2 + 2 + 1, by Link


def test_daily_papers_read_every_page_of_a_day(tmp_path, emulator):
    for n in range(1, 61):  # a busy day: more than the Hub's default page of 50
        emulator.world.add_daily_paper(f"2507.{n:05d}", title=f"Paper {n}", upvotes=n)
    emulator.faults.add(Fault.capped_pages(r"^/api/daily_papers", 50))
    ow = config(tmp_path, emulator, {"name": "daily", "source": "hf_papers", "every": "6h", "days": 2})
    ow("crawl", "daily")
    assert last_crawl(ow) == ("ok", "[]")
    assert rows(ow, "select count(*) from items where key like 'paper:arxiv/%'") == [(60,)]


def test_github_releases_page_until_a_known_one_when_pages_are_capped(tmp_path, emulator):
    gh = emulator.github
    gh.add_repo("deepseek-ai/DeepSeek-V3", license_spdx="MIT")
    for n in range(5):
        gh.add_release("deepseek-ai/DeepSeek-V3", f"v1.{n}")
    emulator.faults.add(Fault.capped_pages(r"^/github-api/(repos/[^/]+/[^/]+|repositories/\d+)/releases", 2))
    ow = config(tmp_path, emulator, {"name": "rel", "source": "github", "repos": ["deepseek-ai/DeepSeek-V3"],
                                     "every": "1h"}, env={"GITHUB_TOKEN": "ghp_test"})
    ow("crawl", "rel")
    assert ow.json("events") == [] and last_crawl(ow) == ("ok", "[]")
    assert emulator.requests.count("/github-api/repositories/") == 0  # a first sight reads the newest page

    for n in range(3):  # three new releases where a page holds two
        gh.add_release("deepseek-ai/DeepSeek-V3", f"v2.{n}")
    ow("crawl", "rel")
    assert last_crawl(ow) == ("ok", "[]")
    assert sorted(e["after"]["tag"] for e in ow.json("events") if e["type"] == "release.published") == [
        "v2.0", "v2.1", "v2.2"]
    ow("crawl", "rel")  # nothing new: one conditional request, no more events
    assert len(ow.json("events")) == 3


def test_modelscope_stops_at_a_server_that_serves_the_same_page_again(tmp_path, emulator):
    """A listing that ignores PageNumber (the same two models, a TotalCount of 1,000) never
    ends: the second page repeating the first is an error, not 500 requests or a removal."""
    emulator.modelscope.populate(2, "Qwen")
    ow = config(tmp_path, emulator, {"name": "ms", "source": "modelscope", "orgs": ["Qwen"], "every": "1h"})
    ow("crawl", "ms")
    models = [model_object(emulator.modelscope.get(m), detail=False) for m in emulator.modelscope.model_ids("Qwen")]
    same = json.dumps(envelope({"Models": models, "TotalCount": 1000})).encode()
    emulator.faults.add(Fault(r"^/modelscope/api/v1/models/?$", status=200, body=same))
    ow("crawl", "ms", check=False)
    status, errors = last_crawl(ow)
    assert status == "failed" and "page 2 repeats models already listed: the listing does not page" in errors
    assert emulator.requests.count("/modelscope/api/v1/models/") == 1 + 2
    assert rows(ow, "select count(*) from items where state = 'active'") == [(2,)]


def test_daily_papers_from_a_server_that_ignores_the_page_number_are_read_once(tmp_path, emulator):
    import httpx

    for n in range(1, 4):
        emulator.world.add_daily_paper(f"2507.{n:05d}", title=f"Paper {n}", upvotes=n)
    today = httpx.get(f"{emulator.url}/api/daily_papers", trust_env=False).content  # every page: this one
    emulator.faults.add(Fault(r"^/api/daily_papers", status=200, body=today, headers={"Content-Type": "application/json"}))
    ow = config(tmp_path, emulator, {"name": "daily", "source": "hf_papers", "every": "6h", "days": 2})
    asked = emulator.requests.count("/api/daily_papers")
    ow("crawl", "daily")
    assert last_crawl(ow) == ("ok", "[]")
    assert rows(ow, "select count(*) from items where key like 'paper:arxiv/%'") == [(3,)]
    # Both days' first pages, then the next page of the day that had new papers: a repeat.
    assert emulator.requests.count("/api/daily_papers") == asked + 3
