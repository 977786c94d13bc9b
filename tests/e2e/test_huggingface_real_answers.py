"""What the real Hub does, handled: renamed repos, both legacy creation dates, models with 60+
tags, answers that do not carry a field. The real CLI against the hub emulator."""

from __future__ import annotations

import base64
import json

from datetime import datetime, timezone

import pytest

from crawler.emulator.times import LEGACY_CREATED_ATS
from crawler.history.schema import connect
from crawler.history.store import Store
from crawler.items import Batch, Observation, UnitEnd
from tests.support.cli import CLI, write_config
from tests.support.cli import rows

SECRET = "whsec_" + base64.b64encode(b"s" * 32).decode()


@pytest.fixture
def ow(tmp_path, emulator, http):
    for i in range(4):
        emulator.world.add_model(f"deepseek-ai/Model-{i}", license="mit", files={"LICENSE": f"MIT {i}"})
    config = write_config(
        tmp_path / "openwatch.toml", hf=emulator.url,
        watches=[{"name": "labs", "source": "huggingface", "orgs": ["deepseek-ai", "newlab"], "every": "1h"}],
        subscriptions=[{"name": "pin", "channel": "webhook", "url": http.url("/hook"), "secret": SECRET,
                        "models": ["deepseek-ai/Model-2"], "events": ["*"]}],
    )
    return CLI(config)


def test_a_renamed_repo_is_one_event_and_keeps_its_history(ow, emulator, http):
    ow("run", "--once")
    emulator.world.relicense("deepseek-ai/Model-2", "apache-2.0", license_text="Apache 2.0")
    ow("run", "--once")
    emulator.world.rename("deepseek-ai/Model-2", "deepseek-ai/Model-2-Instruct")
    for _ in range(4):  # never a removal of the old id, never an addition of the new one
        ow("run", "--once")
    events = ow.json("events")
    assert [e["type"] for e in events] == ["model.renamed", "model.license_file_changed", "model.license_changed"]
    renamed = events[0]
    assert renamed["item"] == "model:hf/deepseek-ai/Model-2-Instruct"
    assert renamed["before"] == {"id": "deepseek-ai/Model-2"} and renamed["after"] == {"id": "deepseek-ai/Model-2-Instruct"}
    assert renamed["data"]["aliases"] == ["model:hf/deepseek-ai/Model-2"]
    assert rows(ow, "select count(*) from items where key like 'model:hf/deepseek-ai/Model-2%'") == [(1,)]
    assert rows(ow, "select key from metrics where key like 'model:hf/deepseek-ai/Model-2%' group by key") == [
        ("model:hf/deepseek-ai/Model-2-Instruct",)]  # the daily counters follow the item

    history = ow.json("history", "deepseek-ai/Model-2")  # the old id still finds it
    assert [s["license"] for s in history][:2] == ["mit", "apache-2.0"]
    assert history[-1]["id"] == "deepseek-ai/Model-2-Instruct"
    texts = ow.json("history", "deepseek-ai/Model-2", "--texts")
    assert texts[1]["license_texts"]["LICENSE"] == "Apache 2.0"  # licence texts reachable under the new key

    # `models = ["deepseek-ai/Model-2"]` still matches after the rename
    delivered = [json.loads(r.body)["type"] for r in http.requests if r.path == "/hook"]
    assert sorted(delivered) == ["model.license_changed", "model.license_file_changed", "model.renamed"]


def test_a_repo_moved_to_another_org_of_the_watch_is_renamed_too(ow, emulator):
    ow("run", "--once")
    emulator.world.add_model("newlab/Other", license="mit")
    ow("run", "--once")
    emulator.world.rename("deepseek-ai/Model-1", "newlab/Model-1")
    for _ in range(4):
        ow("run", "--once")
    events = ow.json("events")
    got = sorted(e["type"] for e in events)
    # Never a removal. The orgs are read concurrently: when the old org's direct check (the
    # Hub's 307) comes first, the move is one `model.renamed`; when the new org's listing comes
    # first, the model is `model.added` there, then the old key merges into it with
    # `model.renamed` (README, "Event types"). Either way one item, under the new key.
    assert got in (["model.renamed"], ["model.added", "model.renamed"]), got
    assert {e["item"] for e in events} == {"model:hf/newlab/Model-1"}
    (renamed,) = [e for e in events if e["type"] == "model.renamed"]
    assert renamed["before"] == {"id": "deepseek-ai/Model-1"} and renamed["after"] == {"id": "newlab/Model-1"}
    assert rows(ow, "select key, state, unit from items where key like 'model:hf/%/Model-1'") == [
        ("model:hf/newlab/Model-1", "active", "newlab")]
    assert rows(ow, "select old_key, new_key from item_aliases") == [
        ("model:hf/deepseek-ai/Model-1", "model:hf/newlab/Model-1")]
    history = ow.json("history", "deepseek-ai/Model-1")  # the old id finds the one item, its past first
    assert history[0]["id"] == "deepseek-ai/Model-1" and history[-1]["id"] == "newlab/Model-1"


@pytest.mark.parametrize("stamp", LEGACY_CREATED_ATS, ids=["23:29:04", "23:29:05"])
def test_both_legacy_creation_dates_are_unknown(ow, emulator, stamp):
    emulator.world.add_model("deepseek-ai/Old-Model", license="mit", created_at=stamp)
    emulator.world.add_model("deepseek-ai/New-Model", license="mit",
                             created_at=datetime(2025, 1, 20, 10, tzinfo=timezone.utc))
    ow("crawl", "labs")
    created = dict(rows(ow, "select name, json_extract(data, '$.created_at') from items"))
    assert created["deepseek-ai/Old-Model"] is None
    assert created["deepseek-ai/New-Model"] == "2025-01-20T10:00:00.000Z"
    assert ow.json("models", "--sort", "created")[-1]["name"] == "deepseek-ai/Old-Model"  # unknown sorts last


def test_a_model_with_70_tags_keeps_every_tag_that_carries_meaning(ow, emulator):
    tags = [f"lang-{i:02d}" for i in range(62)] + ["license:llama3.1", "arxiv:2407.21783", "base_model:meta-llama/Llama-3.1-8B",
                                                   "dataset:HuggingFaceFW/fineweb", "endpoints_compatible", "region:us",
                                                   "text-generation", "safetensors"]
    assert len(tags) == 70
    emulator.world.add_model("deepseek-ai/Tagged", license=None, tags=tags, files={"README.md": "no card header"})
    ow("crawl", "labs")
    (data,) = rows(ow, "select data from items where name = 'deepseek-ai/Tagged'")[0]
    fields = json.loads(data)
    assert fields["license"] == "llama3.1" and fields["arxiv"] == ["2407.21783"]
    assert fields["base_model"] == ["meta-llama/Llama-3.1-8B"] and fields["datasets"] == ["HuggingFaceFW/fineweb"]
    assert {"license:llama3.1", "arxiv:2407.21783"} <= set(fields["tags"])
    assert rows(ow, "select dst, relation from links where src = 'model:hf/deepseek-ai/Tagged'") == [
        ("paper:arxiv/2407.21783", "cites_paper")]


def test_a_model_whose_card_disappears_makes_no_licence_change(ow, emulator):
    ow("crawl", "labs")
    emulator.world.commit("deepseek-ai/Model-0", delete=["README.md"])  # no card: cardData is absent
    ow("crawl", "labs")
    assert [e["type"] for e in ow.json("events")] == ["model.updated"]  # a commit, and nothing else
    assert rows(ow, "select license from items where name = 'deepseek-ai/Model-0'") == [("mit",)]


def test_a_field_an_answer_does_not_carry_is_unknown_and_never_a_change(tmp_path):
    store = Store(connect(tmp_path / "ow.db"))
    full = {"id": "o/m", "author": "o", "sha": "a" * 40, "lastModified": "2025-01-01T00:00:00.000Z",
            "gated": "manual", "private": False, "cardData": {"license": "mit"}, "tags": ["license:mit"]}
    without = {k: v for k, v in full.items() if k not in ("gated", "cardData", "tags")}  # an `expand` variant

    def batch(raw, n):
        return Batch(watch="w", source="huggingface", unit="o", observed_at=f"2025-01-0{n}T00:00:00.000000Z",
                     observations=[Observation(key="model:hf/o/m", kind="model", raw=raw)],
                     end=UnitEnd(complete=True, count=1))

    assert store.ingest(batch(full, 1)).events == []  # the baseline
    assert store.ingest(batch(without, 2)).events == []
    fields = json.loads(store.db.execute("select data from items").fetchone()[0])
    assert fields["gated"] == "manual" and fields["license"] == "mit"  # the last known values stand
    assert store.ingest(batch(full | {"gated": False}, 3)).events[0]["type"] == "model.gating_changed"
