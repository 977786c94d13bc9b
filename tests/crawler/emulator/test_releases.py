"""Hub behaviours the releases (issue 17) and race ledger (issue 18) features rely on, over real
HTTP on the emulator, each answer checked against the real shape it is modelled on:
`downloadsAllTime`, `childrenModelCount`, `baseModels`, the `base_model:<relation>:<id>` tags,
private-then-public repos, ModelScope mirrors, weights announced before they are public, and
the scripted season."""

from __future__ import annotations

from tests.support.cli import ROOT

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest

from crawler.emulator import HubEmulator
from crawler.emulator.releases import announce_weights
from crawler.emulator.season import TAKEOFF, build_season
from crawler.sources import modelscope as ms_source

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=timezone.utc)
TOKEN = {"Authorization": "Bearer hf_test"}
SAMPLES = ROOT.parent / "shared" / "samples"


def recorded(name: str) -> dict:
    """The body of a recorded real answer in ../shared/samples."""
    if not (SAMPLES / name).exists():
        pytest.skip("../shared/samples is not beside this checkout")
    return json.loads(json.loads((SAMPLES / name).read_text())["body"])


@pytest.fixture
def emu(emu, world):
    """Every service of the emulator on the world's clock (the conftest's `emu`)."""
    for service in (emu.modelscope, emu.github, emu.arxiv, emu.feeds):
        service.clock = world.clock
    return emu


def expand(client, model_id, *names, headers=None):
    response = client.get(f"/api/models/{model_id}", params=[("expand[]", n) for n in names], headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


# -- downloadsAllTime ----------------------------------------------------------------------------


def test_downloads_all_time_is_its_own_cumulative_counter(world, client, clock):
    world.add_model("Qwen/Qwen3-8B", downloads=70_000, downloads_all_time=2_000_000)
    info = expand(client, "Qwen/Qwen3-8B", "downloads", "downloadsAllTime")
    assert info == {"_id": world.get("Qwen/Qwen3-8B").object_id, "id": "Qwen/Qwen3-8B", "downloads": 70_000,
                    "downloadsAllTime": 2_000_000}
    # Only on request: the recorded model info and listing rows carry no downloadsAllTime.
    assert "downloadsAllTime" not in recorded("hf_model_google-bert_bert-base-uncased_200.json")
    assert "downloadsAllTime" not in client.get("/api/models/Qwen/Qwen3-8B").json()
    assert "downloadsAllTime" not in client.get("/api/models", params={"author": "Qwen"}).json()[0]
    world.set_stats("Qwen/Qwen3-8B", downloads_all_time=2_500_000)
    assert expand(client, "Qwen/Qwen3-8B", "downloadsAllTime")["downloadsAllTime"] == 2_500_000
    rows = client.get("/api/models", params=[("author", "Qwen"), ("expand[]", "downloadsAllTime")]).json()
    assert rows == [{"_id": world.get("Qwen/Qwen3-8B").object_id, "id": "Qwen/Qwen3-8B", "downloadsAllTime": 2_500_000}]


def test_add_downloads_grows_all_time_and_rolls_the_30_day_window(world, client, clock):
    world.add_model("o/new", downloads=0)
    for _ in range(40):  # 40 days of 1,000 downloads
        world.add_downloads("o/new", 1_000)
        clock.advance(days=1)
    info = expand(client, "o/new", "downloads", "downloadsAllTime")
    assert (info["downloads"], info["downloadsAllTime"]) == (30_000, 40_000)
    # A repo created with a 30-day count: that count ages out after 30 days.
    world.add_model("o/old", downloads=9_000, downloads_all_time=100_000)
    world.add_downloads("o/old", 10)
    assert (world.get("o/old").downloads, world.get("o/old").downloads_all_time) == (9_010, 100_010)
    clock.advance(days=29)  # the window is now the 30 days from the first add_downloads: 9,000 aged out
    world.add_downloads("o/old", 10)
    assert (world.get("o/old").downloads, world.get("o/old").downloads_all_time) == (20, 100_020)
    with pytest.raises(ValueError):
        world.add_downloads("o/old", -1)


# -- base models: tags, baseModels, childrenModelCount -------------------------------------------


def test_base_model_tags_follow_the_recorded_convention(world, client):
    sample = recorded("hf_model_deepset_roberta-base-squad2_200.json")
    world.add_model("FacebookAI/roberta-base", pipeline_tag="fill-mask")
    world.add_model("deepset/roberta-base-squad2", license="cc-by-4.0", pipeline_tag="question-answering",
                    base_model=sample["cardData"]["base_model"], datasets=("squad_v2",))
    tags = client.get("/api/models/deepset/roberta-base-squad2").json()["tags"]
    recorded_bases = [t for t in sample["tags"] if t.startswith("base_model:")]
    assert recorded_bases == ["base_model:FacebookAI/roberta-base", "base_model:finetune:FacebookAI/roberta-base"]
    assert [t for t in tags if t.startswith("base_model:")] == recorded_bases
    # As on the recorded answer: datasets before the base-model tags, the licence after them.
    assert tags.index("dataset:squad_v2") < tags.index(recorded_bases[0]) < tags.index("license:cc-by-4.0")


@pytest.mark.parametrize("kwargs, relation", [
    (dict(base_model_relation="quantized"), "quantized"),                            # stated in the card
    (dict(files={"model-q4_k_m.gguf": b"GGUF"}), "quantized"),                       # inferred: GGUF files
    (dict(files={"adapter_config.json": "{}"}, library_name="peft"), "adapter"),     # inferred: PEFT adapter
    (dict(files={"config.json": '{"quantization_config": {"quant_method": "fp8"}}'}), "quantized"),
    ({}, "finetune"),                                                                 # the Hub's default
])
def test_relation_stated_or_inferred_makes_the_tags_and_base_models(world, client, kwargs, relation):
    world.add_model("Qwen/Qwen3-8B")
    world.add_model("someone/child", base_model="Qwen/Qwen3-8B", **kwargs)
    info = expand(client, "someone/child", "tags", "baseModels", "cardData")
    assert [t for t in info["tags"] if t.startswith("base_model:")] == [
        "base_model:Qwen/Qwen3-8B", f"base_model:{relation}:Qwen/Qwen3-8B"]
    assert info["baseModels"] == {"relation": relation, "models": [{"_id": world.get("Qwen/Qwen3-8B").object_id,
                                                                    "id": "Qwen/Qwen3-8B"}]}
    # GGUF files give the format tag, as on a captured GGUF listing row ("gguf" after the library).
    assert ("gguf" in info["tags"]) == any(name.endswith(".gguf") for name in kwargs.get("files", {}))
    assert info["cardData"]["base_model"] == "Qwen/Qwen3-8B"
    assert info["cardData"].get("base_model_relation") == kwargs.get("base_model_relation")
    # The listing filters on the derived tag, as `filter=base_model:<relation>:<id>` does on the Hub.
    children = client.get("/api/models", params={"filter": f"base_model:{relation}:Qwen/Qwen3-8B"}).json()
    assert [m["id"] for m in children] == ["someone/child"]


def test_merge_of_a_list_of_bases(world, client):
    world.add_model("a/x")
    bases = ["a/x", "b/not-on-this-hub"]
    world.add_model("c/merged", base_model=bases)
    info = expand(client, "c/merged", "tags", "baseModels")
    assert [t for t in info["tags"] if t.startswith("base_model:")] == [
        "base_model:a/x", "base_model:merge:a/x", "base_model:b/not-on-this-hub", "base_model:merge:b/not-on-this-hub"]
    # A base the emulator does not hold has no `_id` to give.
    assert info["baseModels"] == {"relation": "merge", "models": [{"_id": world.get("a/x").object_id, "id": "a/x"},
                                                                  {"id": "b/not-on-this-hub"}]}
    assert "baseModels" not in expand(client, "a/x", "baseModels")  # no base model: absent


def test_children_model_count_counts_public_children_per_relation(world, client, clock):
    base = "meta-llama/Llama-3.1-8B"
    world.add_model(base)
    zero = {"adapter": 0, "merge": 0, "quantized": 0, "finetune": 0}
    assert expand(client, base, "childrenModelCount")["childrenModelCount"] == zero
    world.add_model("meta-llama/Llama-3.1-8B-Instruct", base_model=base)
    world.add_model("unsloth/Llama-3.1-8B-GGUF", base_model=base, files={"m.gguf": b"GGUF"})
    world.add_model("bartowski/Llama-3.1-8B-GGUF", base_model=[base], base_model_relation="quantized")
    world.add_model("x/lora", base_model=base, files={"adapter_config.json": "{}"})
    world.add_model("x/merge", base_model=[base, "mistralai/Mistral-7B-v0.1"])
    world.add_model("x/private-ft", base_model=base, private=True)
    world.add_model("x/deleted-ft", base_model=base)
    world.delete("x/deleted-ft")
    world.add_model("x/grandchild", base_model="meta-llama/Llama-3.1-8B-Instruct")
    counts = {"adapter": 1, "merge": 1, "quantized": 2, "finetune": 1}
    assert expand(client, base, "childrenModelCount")["childrenModelCount"] == counts
    assert expand(client, base, "childrenModelCount", headers=TOKEN)["childrenModelCount"] == counts
    assert expand(client, "meta-llama/Llama-3.1-8B-Instruct", "childrenModelCount")["childrenModelCount"] == (
        zero | {"finetune": 1})
    world.set_private("x/private-ft", False)  # a child turning public counts from then on
    assert expand(client, base, "childrenModelCount")["childrenModelCount"] == counts | {"finetune": 2}
    rows = client.get("/api/models", params=[("author", "meta-llama"), ("expand[]", "childrenModelCount")]).json()
    assert rows[0] == {"_id": world.get(base).object_id, "id": base, "childrenModelCount": counts | {"finetune": 2}}


def test_safetensors_total_counts_every_dtype(world, client):
    world.add_model("Qwen/Qwen3-8B-FP8", parameters={"BF16": 200, "F8_E4M3": 800}, base_model="Qwen/Qwen3-8B",
                    base_model_relation="quantized")
    # The recorded roberta answer's shape: {"parameters": {dtype: n}, "total": sum}.
    assert set(recorded("hf_model_deepset_roberta-base-squad2_200.json")["safetensors"]) == {"parameters", "total"}
    assert expand(client, "Qwen/Qwen3-8B-FP8", "safetensors")["safetensors"] == {
        "parameters": {"BF16": 200, "F8_E4M3": 800}, "total": 1_000}


# -- private, then public ------------------------------------------------------------------------


def test_repo_created_private_keeps_created_at_when_it_turns_public(world, client, clock):
    created = clock()
    world.add_model("Qwen/Qwen3.5-9B", private=True)
    sha = world.get("Qwen/Qwen3.5-9B").sha
    clock.advance(days=20)
    for path in ("/api/models/Qwen/Qwen3.5-9B", "/Qwen/Qwen3.5-9B/resolve/main/README.md"):
        hidden = client.get(path)
        assert (hidden.status_code, hidden.headers["X-Error-Code"]) == (401, "RepoNotFound")
    assert client.get("/api/models", params={"author": "Qwen"}).json() == []
    assert client.get("/api/models/Qwen/Qwen3.5-9B", headers=TOKEN).json()["private"] is True
    world.set_private("Qwen/Qwen3.5-9B", False)
    info = client.get("/api/models/Qwen/Qwen3.5-9B").json()
    assert info["private"] is False
    assert info["createdAt"] == created.strftime("%Y-%m-%dT%H:%M:%S.000Z") == "2026-03-02T12:00:00.000Z"
    assert (info["sha"], info["lastModified"]) == (sha, "2026-03-02T12:00:00.000Z")  # a setting, not a commit
    listed = client.get("/api/models", params={"author": "Qwen", "sort": "createdAt"}).json()
    assert [(m["id"], m["createdAt"]) for m in listed] == [("Qwen/Qwen3.5-9B", "2026-03-02T12:00:00.000Z")]


# -- ModelScope mirrors ------------------------------------------------------------------------


def test_modelscope_mirror_copies_the_card_and_may_disagree_on_the_licence(world, emu, client, clock):
    world.add_model("deepseek-ai/DeepSeek-V4", license="mit", files={"LICENSE": "MIT License\n"},
                    parameters=1_000, arxiv=("2605.00001",))
    clock.advance(days=1)
    same = emu.modelscope.add_mirror(world.get("deepseek-ai/DeepSeek-V4"), license="Apache License 2.0")
    copy = emu.modelscope.add_mirror(world.get("deepseek-ai/DeepSeek-V4"), "AI-ModelScope/DeepSeek-V4")
    assert (same.mirror_of, copy.mirror_of) == ("deepseek-ai/DeepSeek-V4", "deepseek-ai/DeepSeek-V4")
    hf_readme = client.get("/deepseek-ai/DeepSeek-V4/resolve/main/README.md").text
    hf_card = client.get("/api/models/deepseek-ai/DeepSeek-V4").json()["cardData"]
    answers = {}
    for model_id in ("deepseek-ai/DeepSeek-V4", "AI-ModelScope/DeepSeek-V4"):
        response = client.get(f"/modelscope/api/v1/models/{model_id}")
        assert response.status_code == 200
        envelope = response.json()
        assert set(envelope) == {"Code", "Data", "Message", "RequestId", "Success"}
        answers[model_id] = envelope["Data"]
    same_data, copy_data = answers["deepseek-ai/DeepSeek-V4"], answers["AI-ModelScope/DeepSeek-V4"]
    assert (same_data["Path"], same_data["Name"], copy_data["Path"]) == ("deepseek-ai", "DeepSeek-V4", "AI-ModelScope")
    assert same_data["ReadMeContent"] == copy_data["ReadMeContent"] == hf_readme
    assert (hf_card["license"], same_data["License"], copy_data["License"]) == ("mit", "Apache License 2.0", "MIT")
    assert same_data["RelatedArxivId"] == ["2605.00001"]
    assert same_data["Tasks"] == [{"Name": "text-generation", "ChineseName": "text-generation"}]
    assert same_data["CreatedTime"] == int((T0 + timedelta(days=1)).timestamp())
    # openwatch's ModelScope parser reads the mirror; its licence disagrees with the Hub's card.
    fields = ms_source.model_fields(ms_source.unwrap(client.get("/modelscope/api/v1/models/deepseek-ai/DeepSeek-V4")
                                                     .json()))
    assert (fields["id"], fields["license"]) == ("deepseek-ai/DeepSeek-V4", "apache-2.0")
    files = client.get("/modelscope/api/v1/models/deepseek-ai/DeepSeek-V4/repo/files").json()["Data"]["Files"]
    assert [f["Path"] for f in files] == ["LICENSE", "README.md", "config.json", "configuration.json"]


# -- weights pending -------------------------------------------------------------------------------


def test_weights_linked_by_a_paper_before_the_repo_exists(emu, client, clock):
    pending = announce_weights(emu, "allenai/Olmo-3-7B", via="arxiv", arxiv_id="2605.01234", title="Olmo 3")
    assert pending.url == "https://huggingface.co/allenai/Olmo-3-7B"
    feed = client.get("/arxiv/api/query", params={"id_list": "2605.01234"}).text
    assert "Weights: https://huggingface.co/allenai/Olmo-3-7B" in feed
    assert client.get("/api/models/allenai/Olmo-3-7B").status_code == 401
    clock.advance(days=3)
    pending.publish(license="apache-2.0")
    info = client.get("/api/models/allenai/Olmo-3-7B").json()
    assert (info["createdAt"], pending.published_at - pending.announced_at) == ("2026-03-05T12:00:00.000Z",
                                                                                timedelta(days=3))


def test_weights_linked_while_the_repo_is_private(emu, client, clock):
    pending = announce_weights(emu, "Qwen/Qwen3.5-9B", via="daily_paper", arxiv_id="2605.09388",
                               title="Qwen3.5 Technical Report", private_repo=True,
                               created_at=clock() - timedelta(days=18), arxiv=("2605.09388",))
    paper = client.get("/api/papers/2605.09388").json()
    assert "https://huggingface.co/Qwen/Qwen3.5-9B" in paper["summary"]
    assert (paper["linkedModels"], paper["numTotalModels"]) == ([], 0)
    assert client.get("/api/models/Qwen/Qwen3.5-9B").status_code == 401
    clock.advance(days=2)
    pending.publish()
    assert client.get("/api/models/Qwen/Qwen3.5-9B").json()["createdAt"] == "2026-02-12T12:00:00.000Z"
    paper = client.get("/api/papers/2605.09388").json()
    assert ([m["id"] for m in paper["linkedModels"]], paper["numTotalModels"]) == (["Qwen/Qwen3.5-9B"], 1)


def test_weights_linked_by_a_release_and_a_post_and_on_modelscope(emu, client, clock):
    release = announce_weights(emu, "allenai/Olmo-3-7B", via="github", repo="allenai/OLMo", tag="v1.0.0")
    post = announce_weights(emu, "Qwen/Qwen3.5-9B", via="feed", hub="ms", feed="qwen-blog")
    notes = client.get("/github-api/repos/allenai/OLMo/releases").json()
    assert [(r["tag_name"], "https://huggingface.co/allenai/Olmo-3-7B" in r["body"]) for r in notes] == [
        ("v1.0.0", True)]
    assert "https://modelscope.cn/models/Qwen/Qwen3.5-9B" in client.get("/feeds/qwen-blog").text
    assert client.get("/modelscope/api/v1/models/Qwen/Qwen3.5-9B").status_code == 404
    release.publish()
    post.publish(license="Apache License 2.0")
    assert client.get("/api/models/allenai/Olmo-3-7B").status_code == 200
    assert client.get("/modelscope/api/v1/models/Qwen/Qwen3.5-9B").json()["Data"]["License"] == "Apache License 2.0"
    with pytest.raises(ValueError):
        announce_weights(emu, "a/b", via="tweet")


# -- the season ------------------------------------------------------------------------------------


def test_season_lives_day_by_day_on_its_clock():
    season = build_season(days=30)
    assert build_season(days=30).schedule == season.schedule  # a script, not chance
    gap = min(season.gap_days)
    launch = next(n for n, events in season.schedule.items() if any("launches Qwen3.5" in e for e in events))
    seen_all_time = {}
    with HubEmulator(**season.worlds()) as emu, httpx.Client(base_url=emu.url, trust_env=False, timeout=10) as c:
        for n in range(season.days + 1):
            season.day(n, emu)
            assert season.clock() == season.start + timedelta(days=n)
            if n == gap:
                with pytest.raises(httpx.TransportError):
                    c.get("/api/models", params={"author": "Qwen"})
                assert c.get("/modelscope/api/v1/models/Qwen/Qwen3-8B").status_code == 200  # only the Hub is down
                continue
            takeoff = c.get(f"/api/models/{TAKEOFF}", params=[("expand[]", "downloadsAllTime"),
                                                                ("expand[]", "createdAt")])
            if n < launch:
                assert takeoff.status_code == 401  # created private, invisible until launch day
                continue
            info = takeoff.json()
            assert info["createdAt"] == (season.start + timedelta(days=launch - 20)).strftime(
                "%Y-%m-%dT%H:%M:%S.000Z")
            seen_all_time[n] = info["downloadsAllTime"]
        rows = c.get("/api/models", params=[("author", "Qwen"), ("expand[]", "downloads"),
                                            ("expand[]", "safetensors"), ("expand[]", "childrenModelCount")]).json()
        by_id = {r["id"]: r for r in rows}
        # Several sizes, MoE totals, base/instruct/FP8/GGUF variants of one family.
        family = sorted(i for i in by_id if i.startswith("Qwen/Qwen3.5-"))
        assert {"Qwen/Qwen3.5-0.8B-Base", "Qwen/Qwen3.5-35B-A3B", "Qwen/Qwen3.5-9B-FP8", "Qwen/Qwen3.5-9B-GGUF"} <= set(
            family)
        assert by_id["Qwen/Qwen3.5-35B-A3B"]["safetensors"]["total"] == 35_100_000_000
        # The take-off: over ten times the 30-day downloads of the other model of its class.
        assert by_id[TAKEOFF]["downloads"] > 10 * by_id["Qwen/Qwen3-8B"]["downloads"] // 3
        assert by_id[TAKEOFF]["childrenModelCount"]["quantized"] >= 2
        # The licence disagreement across hubs.
        v4 = c.get("/modelscope/api/v1/models/deepseek-ai/DeepSeek-V4").json()["Data"]
        assert (c.get("/api/models/deepseek-ai/DeepSeek-V4").json()["cardData"]["license"], v4["License"]) == (
            "mit", "Apache License 2.0")
    days_seen = sorted(seen_all_time)
    assert days_seen[0] == launch and gap not in days_seen
    assert all(seen_all_time[a] < seen_all_time[b] for a, b in zip(days_seen, days_seen[1:]))
    with pytest.raises(ValueError):
        season.day(3)  # days run in order
