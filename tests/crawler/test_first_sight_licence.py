"""A model first seen without any licence (no card, no `License`, an answer that does not
carry the field) reads `unknown`, as one whose card names none, so `license_category =
'unknown'` and `models --category unknown` find it; a later answer that still lacks the field
changes nothing, one that names a licence is one `model.license_changed` from `unknown`."""

from __future__ import annotations

import pytest

from crawler.history.schema import connect
from crawler.history.store import Store
from crawler.items import Batch, Observation, UnitEnd
from crawler.sources import modelscope as ms
from crawler.sources.huggingface import HubModel
from tests.support.cli import CLI, rows, write_config

HF, MS = HubModel(), ms.MsModel()


def hf_raw(model_id: str, sha: str, license: str | None = None) -> dict:
    raw = {"id": model_id, "sha": sha, "lastModified": "2026-12-01T00:00:00.000Z"}
    return raw | ({"cardData": {"license": license}} if license else {})


def ms_raw(model_id: str, sha: str, license: str | None = None) -> dict:
    owner, _, name = model_id.partition("/")
    # `sha` stands for a change the answer shows (ModelScope's own: a new update time)
    answer = {"Name": name, "Path": owner, "LastUpdatedTime": int(sha, 16) % 10**9}
    return ms.model_fields(answer | ({"License": license} if license else {}), owner)


KINDS = [pytest.param("huggingface", HF, hf_raw, "mit", id="huggingface"),
         pytest.param("modelscope", MS, ms_raw, "MIT License", id="modelscope")]


def batch(source: str, kind, *raws: dict, day: int) -> Batch:
    return Batch(watch="w", source=source, unit="acme", observed_at=f"2026-12-0{day}T00:00:00.000000Z",
                 observations=[Observation(key=kind.key(r["id"]), kind="model", raw=r) for r in raws],
                 end=UnitEnd(complete=True, count=len(raws)))


def licence(store: Store, key: str) -> tuple:
    return store.db.execute(
        "select license, license_category, json_extract(data, '$.license'), json_extract(data, '$.license_category')"
        " from items where key = ?", [key]).fetchone()


@pytest.mark.parametrize("source, kind, raw, named", KINDS)
def test_a_model_first_seen_without_a_licence_reads_unknown_and_later_silence_changes_nothing(
        tmp_path, source, kind, raw, named):
    store = Store(connect(tmp_path / "ow.db"))
    try:
        assert store.ingest(batch(source, kind, raw("acme/base", "a1"), day=1)).events == []  # the baseline
        assert licence(store, kind.key("acme/base")) == ("unknown",) * 4

        (added,) = store.ingest(batch(source, kind, raw("acme/base", "a1"), raw("acme/new", "b1"), day=2)).events
        assert added["type"] == "model.added"
        assert (added["data"]["license"], added["data"]["category"]) == ("unknown", "unknown")
        assert licence(store, kind.key("acme/new")) == ("unknown",) * 4

        # A later answer without the field (a new commit, still no licence): no licence event.
        later = store.ingest(batch(source, kind, raw("acme/base", "a2"), raw("acme/new", "b2"), day=3)).events
        assert {e["type"] for e in later} <= {"model.updated"}
        assert licence(store, kind.key("acme/new")) == ("unknown",) * 4

        (changed,) = store.ingest(batch(source, kind, raw("acme/base", "a2"), raw("acme/new", "b3", named),
                                        day=4)).events
        assert changed["type"] == "model.license_changed"
        assert (changed["data"]["license_before"], changed["data"]["license_after"]) == ("unknown", "mit")
        assert (changed["data"]["category_before"], changed["data"]["category_after"]) == ("unknown", "permissive")
        assert store.db.execute("select count(*) from items where license_category = 'unknown'").fetchone() == (1,)
    finally:
        store.db.close()


def test_models_without_a_licence_on_either_hub_are_found_as_unknown_through_the_cli(tmp_path, emulator):
    emulator.world.add_model("acme/no-card", files={"README.md": None})  # no card: no cardData at all
    emulator.world.add_model("acme/licensed", license="mit")
    emulator.modelscope.add_model("acme/no-licence", license=None)
    emulator.modelscope.add_model("acme/licensed", license="MIT License")
    path = write_config(tmp_path / "openwatch.toml", hf=emulator.url,
                        endpoints={k: v for k, v in emulator.endpoints().items() if k != "huggingface"},
                        watches=[{"name": "hf", "source": "huggingface", "orgs": ["acme"], "every": "1h"},
                                 {"name": "ms", "source": "modelscope", "orgs": ["acme"], "every": "1h"}])
    ow = CLI(path)
    ow("crawl", "hf", "ms")
    assert rows(ow, "select key from items where license_category = 'unknown' order by key") == [
        ("model:hf/acme/no-card",), ("model:ms/acme/no-licence",)]
    assert sorted((m["name"], m["source"]) for m in ow.json("models", "--category", "unknown")) == [
        ("acme/no-card", "huggingface"), ("acme/no-licence", "modelscope")]
    ow("crawl", "hf", "ms")  # read again, still without a licence: nothing changes
    assert ow.json("events") == []
    assert rows(ow, "select count(*) from items where license_category = 'unknown'") == [(2,)]


def test_models_stored_without_a_licence_before_read_unknown_after_the_upgrade(tmp_path):
    """Migration 008: a database written before first sights read `unknown` (its models with
    no licence are NULL) reads them `unknown` once opened by this version; other rows and
    models that name a licence are left as they were."""
    import json

    path = tmp_path / "old.db"
    db = connect(path)
    db["items"].insert_all([
        {"key": "model:hf/acme/bare", "kind": "model", "license": None, "license_category": None,
         "data": json.dumps({"id": "acme/bare", "sha": "a"})},
        {"key": "model:hf/acme/mit", "kind": "model", "license": "mit", "license_category": "permissive",
         "data": json.dumps({"id": "acme/mit", "license": "mit", "license_category": "permissive"})},
        {"key": "paper:arxiv/2501.00001", "kind": "paper", "license": None, "license_category": None, "data": "{}"},
    ])
    db.execute("delete from _migrations where name = '008_unknown_licences'")
    db.conn.commit()
    db.close()
    db = connect(path)
    got = {row["key"]: (row["license"], row["license_category"], json.loads(row["data"]).get("license_category"))
           for row in db.query("select key, license, license_category, data from items")}
    assert got == {"model:hf/acme/bare": ("unknown", "unknown", "unknown"),
                   "model:hf/acme/mit": ("mit", "permissive", "permissive"),
                   "paper:arxiv/2501.00001": (None, None, None)}
    assert json.loads(db["items"].get("model:hf/acme/bare")["data"])["license_name"] == "Unknown"
