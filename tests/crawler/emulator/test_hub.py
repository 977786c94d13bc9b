"""Hugging Face behaviour the emulator grew for issues 7 and 9, over real HTTP: renamed repos,
legacy creation dates, long tag lists, absent fields, listing filters and sorts, daily
papers, rate-limit windows."""

from __future__ import annotations

from datetime import datetime, timezone

import httpx
import pytest

from crawler.emulator import LEGACY_CREATED_ATS, HubEmulator
from crawler.emulator.synthetic import long_card
from tests.support.clock import FakeClock

T0 = datetime(2025, 6, 1, 12, 0, tzinfo=timezone.utc)
TOKEN = {"Authorization": "Bearer hf_test"}




def listed(client, **params) -> list[str]:
    out, response = [], client.get("/api/models", params=params)
    while True:
        assert response.status_code == 200, response.text
        out += [m["id"] for m in response.json()]
        if "next" not in response.links:
            return out
        response = client.get(response.links["next"]["url"])


# -- renames ------------------------------------------------------------------------------------


def test_renamed_repo_answers_307_to_the_new_id_and_lists_under_it(client, world):
    sha = world.add_model("KB/bert-base-swedish-cased", license="mit", files={"LICENSE": "MIT\n"})
    before = client.get("/api/models/KB/bert-base-swedish-cased").json()
    world.rename("KB/bert-base-swedish-cased", "KBLab/bert-base-swedish-cased")

    moved = client.get("/api/models/KB/bert-base-swedish-cased", params={"expand[]": "sha"})
    assert moved.status_code == 307
    # Relative, as the Hub sends it (huggingface_hub follows only relative redirects), query kept.
    assert moved.headers["Location"] == "/api/models/KBLab/bert-base-swedish-cased?expand%5B%5D=sha"
    followed = client.get("/api/models/KB/bert-base-swedish-cased", follow_redirects=True).json()
    assert followed["id"] == "KBLab/bert-base-swedish-cased"
    assert (followed["_id"], followed["sha"], followed["createdAt"]) == (before["_id"], sha, before["createdAt"])

    assert listed(client, author="KB") == []
    assert listed(client, author="KBLab") == ["KBLab/bert-base-swedish-cased"]
    resolve = client.get("/KB/bert-base-swedish-cased/resolve/main/LICENSE")
    assert (resolve.status_code, resolve.headers["Location"]) == (307, "/KBLab/bert-base-swedish-cased/resolve/main/LICENSE")
    assert client.get("/KB/bert-base-swedish-cased/resolve/main/LICENSE", follow_redirects=True).text == "MIT\n"
    revision = client.get(f"/api/models/KB/bert-base-swedish-cased/revision/{sha}")
    assert revision.headers["Location"] == f"/api/models/KBLab/bert-base-swedish-cased/revision/{sha}"


def test_rename_chains_and_a_new_repo_under_the_old_name_wins(client, world):
    world.add_model("org/a")
    world.rename("org/a", "org/b")
    world.rename("org/b", "org/c")
    assert client.get("/api/models/org/a").headers["Location"] == "/api/models/org/c"
    assert client.get("/api/models/org/b").headers["Location"] == "/api/models/org/c"
    world.add_model("org/a", license="apache-2.0")
    fresh = client.get("/api/models/org/a")
    assert fresh.status_code == 200 and fresh.json()["cardData"]["license"] == "apache-2.0"
    assert listed(client, author="org") == ["org/c", "org/a"]  # creation order kept
    with pytest.raises(ValueError):
        world.rename("org/c", "org/a")


def test_rename_across_owners_keeps_creation_order(client, world):
    world.add_model("new-owner/first")
    world.add_model("old-owner/moved")
    world.add_model("new-owner/last")
    world.rename("old-owner/moved", "new-owner/moved")
    assert listed(client, author="new-owner") == ["new-owner/first", "new-owner/moved", "new-owner/last"]


# -- legacy dates, long tag lists, absent fields -------------------------------------------------


@pytest.mark.parametrize("legacy", LEGACY_CREATED_ATS)
def test_both_legacy_creation_dates_are_served_as_given(client, world, legacy):
    world.add_model("openai/clip-vit-base-patch32", license=None, created_at=legacy)
    created = client.get("/api/models/openai/clip-vit-base-patch32").json()["createdAt"]
    assert created == legacy.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    assert created in ("2022-03-02T23:29:04.000Z", "2022-03-02T23:29:05.000Z")


def test_synthetic_worlds_use_both_legacy_dates_and_long_tag_lists(client, world):
    ids = world.populate(2000, "bench", seed=3)
    created = {world.get(i).created_at for i in ids}
    assert set(LEGACY_CREATED_ATS) <= created
    tag_counts = [len(row["tags"]) for row in client.get("/api/models", params={"author": "bench", "limit": 50,
                                                                               "expand[]": "tags"}).json()]
    everything = [len(m["tags"]) for m in
                  (client.get(f"/api/models/{i}", params={"expand[]": "tags"}).json() for i in ids[:400])]
    assert tag_counts and max(everything) >= 60
    assert all(n <= 80 for n in everything)


def test_a_seventy_tag_model_keeps_the_meaningful_tags_late_in_the_list(client, world):
    world.add_model("bigscience/bloomz-7b1", license="bigscience-bloom-rail-1.0", base_model="bigscience/bloom-7b1",
                    arxiv=["2211.01786"], card_extra=long_card(70), parameters=7_069_016_064)
    tags = client.get("/api/models/bigscience/bloomz-7b1").json()["tags"]
    assert 60 <= len(tags) <= 80
    assert len(tags) == len(set(tags))
    assert tags[:4] == ["transformers", "safetensors", "llama", "text-generation"]
    for meaningful in ("license:bigscience-bloom-rail-1.0", "arxiv:2211.01786", "base_model:bigscience/bloom-7b1"):
        assert tags.index(meaningful) >= 55, (meaningful, tags.index(meaningful))
    assert any(t.startswith("dataset:") for t in tags[50:])
    assert {"en", "zh", "fr", "region:us", "endpoints_compatible"} <= set(tags)


def test_hidden_fields_and_models_without_a_card_leave_keys_out(client, world):
    world.add_model("meta-llama/Llama-3.2-1B", license="llama3.2", gated="manual")
    world.add_model("old/no-card", files={"README.md": None})
    world.hide_fields("meta-llama/Llama-3.2-1B", "gated")
    info = client.get("/api/models/meta-llama/Llama-3.2-1B").json()
    assert "gated" not in info and info["cardData"]["license"] == "llama3.2"
    (row,) = client.get("/api/models", params={"author": "meta-llama", "expand[]": ["gated", "sha"]}).json()
    assert set(row) == {"_id", "id", "sha"}
    no_card = client.get("/api/models/old/no-card").json()
    assert "cardData" not in no_card and "pipeline_tag" not in no_card
    assert not any(t.startswith("license:") for t in no_card["tags"])
    world.show_fields("meta-llama/Llama-3.2-1B")
    assert client.get("/api/models/meta-llama/Llama-3.2-1B").json()["gated"] == "manual"


# -- listing: filter, search, sort, small first pages ----------------------------------------


def test_filter_tags_are_anded_repeated_or_comma_separated(client, world):
    world.add_model("a/mit-gen", license="mit")
    world.add_model("a/mit-asr", license="mit", pipeline_tag="automatic-speech-recognition")
    world.add_model("b/apache-gen", license="apache-2.0", arxiv=["2501.12948"])
    world.add_model("b/derived", license="apache-2.0", base_model="b/apache-gen")
    assert listed(client, filter="license:mit") == ["a/mit-gen", "a/mit-asr"]
    assert listed(client, filter="license:mit,text-generation") == ["a/mit-gen"]
    assert listed(client, filter=["license:mit", "text-generation"]) == ["a/mit-gen"]
    assert listed(client, filter="arxiv:2501.12948") == ["b/apache-gen"]
    assert listed(client, filter="base_model:b/apache-gen") == ["b/derived"]
    assert listed(client, filter="license:mit", author="b") == []
    assert listed(client, search="GEN") == ["a/mit-gen", "b/apache-gen"]
    assert listed(client, search=["apache", "gen"]) == ["b/apache-gen"]
    assert listed(client, search="gen", filter="license:apache-2.0") == ["b/apache-gen"]


def test_incremental_listing_by_last_modified_with_a_small_first_page(client, world, clock):
    ids = []
    for i in range(30):
        clock.advance(minutes=1)
        ids.append(f"org/m{i:02d}")
        world.add_model(ids[-1])
    clock.advance(minutes=1)
    world.commit("org/m03", files={"notes.txt": "changed"})
    first = client.get("/api/models", params={"author": "org", "sort": "lastModified", "direction": "-1",
                                              "limit": 3, "expand[]": ["lastModified", "sha"]})
    rows = first.json()
    assert [r["id"] for r in rows] == ["org/m03", "org/m29", "org/m28"]
    assert rows[0]["lastModified"] > rows[1]["lastModified"] > rows[2]["lastModified"]
    assert "next" in first.links
    newest = listed(client, sort="createdAt", direction="-1", limit=7)
    assert newest == list(reversed(ids))
    oldest = listed(client, sort="createdAt", direction="1", limit=7, filter="text-generation")
    assert oldest == ids


def test_hub_wide_watch_finds_new_models_matching_a_filter(client, world, clock):
    for org in ("a", "b", "c"):
        world.populate(40, org, seed=1)
    clock.advance(days=400)
    world.add_model("c/new-mit", license="mit")
    world.add_model("a/new-apache", license="apache-2.0")
    (top,) = client.get("/api/models", params={"filter": "license:mit", "sort": "createdAt", "direction": "-1",
                                               "limit": 1}).json()
    assert top["id"] == "c/new-mit"


# -- daily papers -------------------------------------------------------------------------------

# What huggingface_hub's PaperInfo reads (hf_api.py): outer and `paper` keys.
PAPERINFO_OUTER = {"paper", "publishedAt", "title", "summary", "thumbnail", "numComments", "submittedBy"}
PAPERINFO_PAPER = {"id", "authors", "publishedAt", "submittedOnDailyAt", "title", "submittedOnDailyBy", "summary",
                   "upvotes", "discussionId"}


def test_daily_papers_shape_and_date_filter(client, world):
    world.add_model("deepseek-ai/DeepSeek-R1", license="mit", arxiv=["2501.12948"])
    world.add_daily_paper("2501.12948", title="DeepSeek-R1: Incentivizing Reasoning Capability in LLMs via RL",
                          summary="We introduce DeepSeek-R1.", authors=["DeepSeek-AI", "Daya Guo"], upvotes=300,
                          date="2025-01-23", organization={"name": "deepseek-ai", "fullname": "DeepSeek"},
                          github_repo="https://github.com/deepseek-ai/DeepSeek-R1")
    world.add_daily_paper("2412.15115", title="Qwen2.5 Technical Report", authors=["Qwen Team"], upvotes=120,
                          date="2024-12-20")
    (paper,) = client.get("/api/daily_papers", params={"date": "2025-01-23"}).json()
    assert PAPERINFO_OUTER <= set(paper) and PAPERINFO_PAPER <= set(paper["paper"])
    inner = paper["paper"]
    assert inner["id"] == "2501.12948" and inner["upvotes"] == 300
    assert [a["name"] for a in inner["authors"]] == ["DeepSeek-AI", "Daya Guo"]
    assert all(set(a) == {"_id", "name", "hidden"} for a in inner["authors"])
    assert inner["githubRepo"] == "https://github.com/deepseek-ai/DeepSeek-R1"
    assert paper["organization"]["name"] == "deepseek-ai" and inner["organization"]["fullname"] == "DeepSeek"
    assert paper["publishedAt"].startswith("2025-01-23T") and inner["publishedAt"] < paper["publishedAt"]
    assert paper["submittedBy"]["user"] == "akhaliq"
    assert client.get("/api/daily_papers", params={"date": "2025-01-24"}).json() == []
    newest = [p["paper"]["id"] for p in client.get("/api/daily_papers").json()]
    assert newest == ["2501.12948", "2412.15115"]
    assert [p["paper"]["id"] for p in client.get("/api/daily_papers", params={"month": "2024-12"}).json()] == [
        "2412.15115"]
    assert [p["paper"]["id"] for p in client.get("/api/daily_papers", params={"week": "2025-W04"}).json()] == [
        "2501.12948"]
    assert client.get("/api/daily_papers", params={"date": "23/01/2025"}).status_code == 400
    # The models citing a paper: its arxiv: tag, through the listing or paper_info.
    assert listed(client, filter="arxiv:2501.12948") == ["deepseek-ai/DeepSeek-R1"]
    info = client.get("/api/papers/2501.12948").json()
    assert info["numTotalModels"] == 1 and info["linkedModels"][0]["id"] == "deepseek-ai/DeepSeek-R1"
    assert client.get("/api/papers/2999.00001").status_code == 404


def test_daily_papers_sort_paging_and_upvote_changes(client, world):
    for i in range(7):
        world.add_daily_paper(f"2506.{i:05d}", title=f"Paper {i}", upvotes=i * 10, date="2025-06-02",
                              submitted_by="akhaliq" if i % 2 else "someone")
    world.set_paper_upvotes("2506.00000", 1000)
    trending = [p["paper"]["id"] for p in client.get("/api/daily_papers",
                                                     params={"date": "2025-06-02", "sort": "trending"}).json()]
    assert trending[0] == "2506.00000" and trending[1] == "2506.00006"
    pages = [[p["paper"]["id"] for p in client.get("/api/daily_papers", params={"p": n, "limit": 3}).json()]
             for n in range(4)]
    assert [len(p) for p in pages] == [3, 3, 1, 0]
    assert len({i for page in pages for i in page}) == 7
    mine = client.get("/api/daily_papers", params={"submitter": "akhaliq"}).json()
    assert {p["submittedBy"]["user"] for p in mine} == {"akhaliq"} and len(mine) == 3


# -- rate-limit windows ---------------------------------------------------------------------------


def test_requests_per_five_minute_window_per_bucket(world):
    ticks = FakeClock(1000.0)
    world.add_model("org/m")
    with HubEmulator(world, clock=ticks) as emu, httpx.Client(base_url=emu.url, trust_env=False) as c:
        for _ in range(3):
            c.get("/api/models/org/m")
        c.get("/org/m/resolve/main/README.md")
        ticks.now += 301
        last = c.get("/api/models/org/m")
        assert last.headers["RateLimit"].startswith('"api";r=499;')  # a new window, a new count
        c.get("/api/daily_papers")
        assert emu.requests.per_window(300, service="huggingface", bucket="api") == {0: 3, 1: 2}
        assert emu.requests.per_window(300, bucket="resolvers") == {0: 1}
        assert emu.rate_limiter.used("api") == 2
        assert emu.requests.times(service="huggingface") == [1000.0] * 4 + [1301.0] * 2
