"""Pure diffing and normalisation: previous state + observation -> events."""

from __future__ import annotations

import pytest

from crawler import diff
from crawler.normalize import content_hash
from crawler.sources.huggingface import LEGACY_CREATED_AT, HubModel, gating, model_fields

MODEL = HubModel()


class _Diff:
    """The model kind's diff, under the names these tables were written with."""

    Context = diff.Context

    @staticmethod
    def model_events(ctx, before, after):
        return MODEL.changed(ctx, before, after)


diff = _Diff()  # noqa: F811

CTX = diff.Context(key="model:hf/o/m", watch="w", url="https://huggingface.co/o/m", org="o", country="CN",
                   detected_at="2026-11-29T00:00:00.000000Z", seq=2)
BASE = {"id": "o/m", "org": "o", "name": "m", "license": "mit", "license_category": "permissive",
        "license_name": "MIT", "license_link": None, "gated": False, "sha": "a" * 40, "last_modified": "t1",
        "license_files": {"LICENSE": "h1"}, "downloads": 5, "likes": 1}


@pytest.mark.parametrize("change,types", [
    ({}, []),
    ({"downloads": 99, "likes": 7}, []),
    ({"sha": "b" * 40}, ["model.updated"]),
    ({"sha": "b" * 40, "license": "llama3.1", "license_category": "open-weight-restricted"}, ["model.license_changed"]),
    ({"sha": "b" * 40, "license_files": {"LICENSE": "h2"}}, ["model.license_file_changed"]),
    ({"gated": "manual"}, ["model.gating_changed"]),
    ({"sha": "b" * 40, "gated": "auto", "license_files": {}},
     ["model.license_file_changed", "model.gating_changed"]),
])
def test_one_change_one_event(change, types):
    events = diff.model_events(CTX, BASE, BASE | change)
    assert [e["type"] for e in events] == types
    assert len({e["dedupe_key"] for e in events}) == len(events)


@pytest.mark.parametrize("after_cat,direction", [
    ("non-commercial", "more_restrictive"), ("permissive", "lateral"), ("unknown", "unclear"),
])
def test_license_event_direction_and_changed_fields_only(after_cat, direction):
    after = BASE | {"license": "x", "license_category": after_cat}
    (event,) = diff.model_events(CTX, BASE, after)
    assert event["data"]["direction"] == direction
    changed = ["license"] if after_cat == "permissive" else ["license", "license_category"]
    assert event["before"] == {k: BASE[k] for k in changed}
    assert event["after"] == {k: after[k] for k in changed}
    assert "sha" not in event["before"]
    assert event["data"]["country"] == "CN" and event["data"]["org"] == "o"


def test_dedupe_keys_are_stable_and_seq_scoped():
    a = diff.model_events(CTX, BASE, BASE | {"gated": "auto"})[0]
    b = diff.model_events(CTX, BASE, BASE | {"gated": "auto"})[0]
    c = diff.model_events(diff.Context(**{**CTX.__dict__, "seq": 3}), BASE, BASE | {"gated": "auto"})[0]
    assert a["id"] == b["id"] and a["id"] != c["id"]


def test_model_fields_handles_sentinel_and_hostile_values():
    raw = {"id": "o/m", "author": "o", "createdAt": LEGACY_CREATED_AT[0] + ".000Z", "gated": True,
           "cardData": {"license": ["apache-2.0", "mit"], "base_model": {"bad": 1}, "datasets": "d" * 1000},
           "tags": ["arxiv:2401.00001", "license:apache-2.0", 5], "safetensors": {"total": 8_000_000_000},
           "downloads": "many", "sha": "c" * 40}
    fields = model_fields(raw)
    assert fields["created_at"] is None
    assert fields["license"] == "apache-2.0" and fields["license_category"] == "permissive"
    assert fields["gated"] == "auto" and fields["base_model"] == [] and len(fields["datasets"][0]) == 300
    assert fields["arxiv"] == ["2401.00001"] and fields["parameters"] == 8_000_000_000
    assert "downloads" not in fields and MODEL.counters(raw) == {}  # a counter, and not a number


@pytest.mark.parametrize("stamp", ["2022-03-02T23:29:04.000Z", "2022-03-02T23:29:05.000Z"])
def test_both_legacy_creation_dates_are_unknown(stamp):
    assert model_fields({"id": "o/m", "createdAt": stamp})["created_at"] is None
    assert model_fields({"id": "o/m", "createdAt": "2024-05-01T10:00:00.000Z"})["created_at"] == "2024-05-01T10:00:00.000Z"


def test_meaningful_tags_survive_the_size_cap():
    tags = [f"tag-{i:03d}" for i in range(400)] + ["license:mit", "arxiv:2501.12948", "base_model:o/base",
                                                  "dataset:o/data"]
    fields = model_fields({"id": "o/m", "tags": tags})
    assert fields["license"] == "mit" and fields["arxiv"] == ["2501.12948"]
    assert fields["base_model"] == ["o/base"] and fields["datasets"] == ["o/data"]
    assert {"license:mit", "arxiv:2501.12948", "base_model:o/base", "dataset:o/data"} <= set(fields["tags"])


def test_absent_fields_are_unknown_not_false():
    fields = model_fields({"id": "o/m", "sha": "a" * 40})
    assert fields == {"id": "o/m", "org": "o", "name": "m", "sha": "a" * 40}
    before = BASE | {"gated": "manual"}
    assert MODEL.changed(CTX, before, diff_merge(before, fields | {"sha": before["sha"]})) == []


def diff_merge(before, observed):
    from crawler.diff import merge_known

    return merge_known(before, observed)


@pytest.mark.parametrize("value,expected", [(False, False), (None, False), ("false", False), ("manual", "manual"),
                                            ("AUTO", "auto"), (True, "auto")])
def test_gating_values(value, expected):
    assert gating(value) == expected


def test_content_hash_ignores_quiet_fields():
    quiet = MODEL.quiet + MODEL.counter_fields
    assert content_hash(BASE, quiet) == content_hash(BASE | {"downloads": 10**9, "likes": 3, "tags": ["x"]}, quiet)
    assert content_hash(BASE, quiet) != content_hash(BASE | {"sha": "d" * 40}, quiet)


def test_new_licence_link_alone_is_a_licence_change():
    (event,) = diff.model_events(CTX, BASE, BASE | {"license_link": "https://example.org/terms-v2", "sha": "e" * 40})
    assert event["type"] == "model.license_changed"
    assert event["after"] == {"license_link": "https://example.org/terms-v2"}


def test_a_lone_surrogate_in_a_tag_is_replaced_as_in_every_other_text():
    """JSON can carry "\\ud800", SQLite's UTF-8 cannot: the fast path for plain-string tags
    cleans them like `normalize.text` does (else the whole batch's write fails)."""
    from crawler.sources.huggingface import model_fields

    assert model_fields({"id": "a/b", "tags": ["x\ud800", "license:mit"]})["tags"] == ["license:mit", "x\ufffd"]
