"""ModelScope parsing (crawler/sources/modelscope.py) and ModelScope owners in the registry."""

from __future__ import annotations

import csv
import json
from importlib import resources

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crawler.sources.huggingface import model_fields as hf_model_fields
from crawler.orgs import OrgTable, default_orgs
from crawler.sources import modelscope
from crawler.sources.modelscope import (
    ModelScopeError,
    MsListing,
    listing_body,
    listing_models,
    model_fields,
    model_key,
    model_path,
    model_url,
    unwrap,
)

# A model as GET /api/v1/models/<owner>/<name> answers it: the SDK's ModelInfo fields
# (modelscope/hub/info.py), Unix-second times as real answers carry them.
QWEN = {
    "Id": 123456,
    "Name": "Qwen2.5-7B-Instruct",
    "Path": "Qwen",
    "ChineseName": "通义千问2.5-7B-Instruct",
    "Description": "Qwen2.5 is the latest series of Qwen large language models.",
    "License": "Apache License 2.0",
    "Downloads": 1_234_567,
    "Stars": 890,
    "CreatedTime": 1726627200,
    "LastUpdatedTime": 1727318400,
    "Visibility": 5,
    "IsPublished": 1,
    "IsOnline": 1,
    "Tasks": [{"Name": "text-generation", "ChineseName": "文本生成"}],
    "Tags": ["chat", "arxiv:2407.10671", "dataset:modelscope/alpaca", "qwen"],
    "BaseModel": ["Qwen/Qwen2.5-7B"],
    "RelatedArxivId": ["2412.15115v1"],
    "Architectures": ["Qwen2ForCausalLM"],
    "Organization": {"Id": 1, "Name": "Qwen", "FullName": "通义千问"},
    "Revision": "master",
}
OK = {"Code": 200, "Success": True, "Message": "success", "RequestId": "4f5e-…", "Data": QWEN}
# Every field the Hugging Face normaliser gives for an answer that carries everything, plus
# the counters (which it leaves to the store's `counters`).
HF_KEYS = set(hf_model_fields({
    "id": "a/b", "author": "a", "cardData": {}, "tags": [], "gated": False, "private": False, "disabled": False,
    "sha": "0" * 40, "lastModified": "2024-01-01T00:00:00.000Z", "createdAt": "2024-01-01T00:00:00.000Z",
    "pipeline_tag": None, "library_name": None, "safetensors": {"total": 1},
})) - {"tags"} | {"tags", "downloads", "likes"}


# -- the envelope -----------------------------------------------------------------------------


@pytest.mark.parametrize("code", [200, "200", 200.0])
def test_unwrap_success(code):
    assert unwrap(OK | {"Code": code}) is QWEN


@pytest.mark.parametrize(
    "body, code, message",
    [
        ({"Code": 10010205001, "Success": False, "Message": "模型不存在", "RequestId": "r1"}, 10010205001, "模型不存在"),
        ({"Code": 200, "Success": False, "Message": "internal error", "RequestId": "r2", "Data": QWEN}, 200, "internal error"),
        ({"Code": 500, "Success": True, "Data": QWEN}, 500, None),
        ({"Code": 200, "Success": "true", "Data": QWEN}, 200, None),
        ({"Code": True, "Success": True, "Data": QWEN}, None, None),
        ({"Code": 200, "Data": QWEN}, 200, None),
        ({"Success": True, "Data": QWEN}, None, None),
    ],
)
def test_unwrap_refuses_a_failure_even_with_http_200(body, code, message):
    with pytest.raises(ModelScopeError) as info:
        unwrap(body)
    assert info.value.code == code
    assert info.value.retryable is True
    if message:
        assert str(info.value).endswith(message)
    if body.get("RequestId"):
        assert info.value.request_id == body["RequestId"]


@pytest.mark.parametrize(
    "body",
    [{"Code": 200, "Success": True}, {"Code": 200, "Success": True, "Data": None}, {"code": 200, "success": True, "data": {}},
     [], "<html>", None, {"message": "Not Found"}],
)
def test_unwrap_refuses_what_is_no_successful_envelope(body):
    with pytest.raises(ModelScopeError):
        unwrap(body)


# -- a model ----------------------------------------------------------------------------------


def test_model_fields_have_the_hugging_face_normalisers_keys():
    fields = model_fields(unwrap(OK))
    assert set(fields) == HF_KEYS
    assert fields == {
        "id": "Qwen/Qwen2.5-7B-Instruct",
        "org": "Qwen",
        "name": "Qwen2.5-7B-Instruct",
        "license": "apache-2.0",
        "license_name": "Apache license 2.0",
        "license_category": "permissive",
        "license_link": None,
        "gated": None,
        "private": False,
        "disabled": None,
        "sha": None,
        "last_modified": "2024-09-26T02:40:00.000000Z",
        "created_at": "2024-09-18T02:40:00.000000Z",
        "pipeline_tag": "text-generation",
        "library": None,
        "base_model": ["Qwen/Qwen2.5-7B"],
        "arxiv": ["2407.10671", "2412.15115"],
        "datasets": ["modelscope/alpaca"],
        "parameters": None,
        "downloads": 1_234_567,
        "likes": 890,
        "tags": ["arxiv:2407.10671", "chat", "dataset:modelscope/alpaca", "qwen"],
    }
    assert model_key("Qwen", "Qwen2.5-7B-Instruct") == "model:ms/Qwen/Qwen2.5-7B-Instruct"
    assert modelscope.MODEL_COUNTERS == ("downloads", "likes")


def test_a_field_the_answer_does_not_carry_is_unknown():
    fields = model_fields({"Name": "m", "Path": "o"})
    assert fields == {k: None for k in HF_KEYS} | {"id": "o/m", "org": "o", "name": "m"}


def test_empty_values_are_known_and_empty():
    fields = model_fields({"Name": "m", "Path": "o", "License": "", "Tags": [], "BaseModel": [], "RelatedArxivId": []})
    assert (fields["license"], fields["license_category"]) == ("unknown", "unknown")
    assert (fields["tags"], fields["base_model"], fields["arxiv"], fields["datasets"]) == ([], [], [], [])


def test_data_model_nesting_and_the_owner_hint():
    assert model_fields({"Model": QWEN})["id"] == "Qwen/Qwen2.5-7B-Instruct"
    assert model_fields({"Name": "m"}, owner="deepseek-ai")["id"] == "deepseek-ai/m"
    assert model_fields({"Name": "m", "Organization": {"Name": "ZhipuAI"}})["org"] == "ZhipuAI"


@pytest.mark.parametrize("data", [{"Name": "m"}, {"Path": "o"}, {"Name": "a/b", "Path": "o"}, {"Name": 5, "Path": "o"}, [], None])
def test_not_a_model(data):
    with pytest.raises(ModelScopeError):
        model_fields(data)


# The SDK's display names (modelscope/hub/constants.py, class Licenses) and what creators type.
@pytest.mark.parametrize(
    "name, lic, category",
    [
        ("Apache License 2.0", "apache-2.0", "permissive"),
        ("GPL-2.0", "gpl-2.0", "copyleft"),
        ("GPL-3.0", "gpl-3.0", "copyleft"),
        ("LGPL-2.1", "lgpl-2.1", "copyleft"),
        ("LGPL-3.0", "lgpl-3.0", "copyleft"),
        ("AFL-3.0", "afl-3.0", "permissive"),
        ("ECL-2.0", "ecl-2.0", "permissive"),
        ("MIT", "mit", "permissive"),
        ("Apache-2.0", "apache-2.0", "permissive"),
        ("apache-2.0", "apache-2.0", "permissive"),
        ("MIT License", "mit", "permissive"),
        ("cc-by-nc-4.0", "cc-by-nc-4.0", "non-commercial"),
        ("llama3.1", "llama3.1", "open-weight-restricted"),
        ("tongyi-qianwen", "other:tongyi-qianwen", "open-weight-restricted"),
        ("Other", "other", "unknown"),
        ("某某模型许可协议", "other:某某模型许可协议", "unknown"),
    ],
)
def test_licence_display_names(name, lic, category):
    fields = model_fields(QWEN | {"License": name})
    assert (fields["license"], fields["license_category"]) == (lic, category)


def test_a_licence_tag_is_used_only_when_the_licence_is_empty():
    assert model_fields(QWEN | {"License": "", "Tags": ["license:mit"]})["license"] == "mit"
    assert model_fields(QWEN | {"License": "Apache License 2.0", "Tags": ["license:mit"]})["license"] == "apache-2.0"


@pytest.mark.parametrize(
    "value, expected",
    [
        (1726627200, "2024-09-18T02:40:00.000000Z"),
        (1726627200.5, "2024-09-18T02:40:00.500000Z"),
        ("2023-01-01T00:00:00Z", "2023-01-01T00:00:00.000000Z"),
        ("2022-08-19T07:19:38.123456789Z", "2022-08-19T07:19:38.123456Z"),
        ("2024-09-18 10:40:00", "2024-09-18T02:40:00.000000Z"),  # naive: Asia/Shanghai, as the SDK reads it
        ("2024-09-18T10:40:00+08:00", "2024-09-18T02:40:00.000000Z"),
        (1726627200000, None),  # milliseconds: not seconds, not guessed
        (0, None),
        (True, None),
        ("yesterday", None),
        ("", None),
    ],
)
def test_times(value, expected):
    assert model_fields(QWEN | {"CreatedTime": value})["created_at"] == expected


@pytest.mark.parametrize("mode, gated", [(1, "manual"), (2, False), (3, None), ("1", None), (None, None)])
def test_gating(mode, gated):
    assert model_fields(QWEN | {"ProtectedMode": mode})["gated"] == gated


@pytest.mark.parametrize("visibility, private", [(5, False), (1, True), (3, True), (2, None), ("5", None), (None, None)])
def test_visibility(visibility, private):
    assert model_fields(QWEN | {"Visibility": visibility})["private"] == private


def test_stars_or_likes():
    no_stars = {k: v for k, v in QWEN.items() if k != "Stars"}
    assert model_fields(no_stars | {"Likes": 7})["likes"] == 7
    assert model_fields(QWEN | {"Stars": 0, "Likes": 7})["likes"] == 0
    assert model_fields(QWEN | {"Downloads": "12"})["downloads"] is None


def test_tags_dataset_style_and_sorted():
    fields = model_fields(QWEN | {"Tags": [{"Name": "nlp", "Color": "blue"}, "b", "a", "b", 3, None]})
    assert fields["tags"] == ["a", "b", "nlp"]


def test_seventy_tags_keep_the_ones_that_carry_meaning():
    tags = [f"tag-{i:02d}" for i in range(70)] + ["license:mit", "arxiv:2401.12345", "dataset:x/y"]
    fields = model_fields(QWEN | {"Tags": tags, "License": ""})
    assert len(fields["tags"]) == 73
    assert (fields["license"], fields["arxiv"][0], fields["datasets"]) == ("mit", "2401.12345", ["x/y"])


# -- listings ---------------------------------------------------------------------------------


def test_listing():
    second = QWEN | {"Name": "Qwen2.5-72B-Instruct", "Id": 2}
    listing = listing_models(unwrap({"Code": 200, "Success": True, "Data": {"Models": [QWEN, second, QWEN, {"x": 1}], "TotalCount": 57}}))
    assert [m["id"] for m in listing.models] == ["Qwen/Qwen2.5-7B-Instruct", "Qwen/Qwen2.5-72B-Instruct"]
    assert (listing.total, listing.skipped) == (57, 1)


def test_listing_without_models():
    assert listing_models({"Models": None, "TotalCount": 0}) == MsListing([], 0)
    assert listing_models({"Models": [{"Name": "m"}]}, owner="baichuan-inc").models[0]["id"] == "baichuan-inc/m"


@pytest.mark.parametrize("data", [{"TotalCount": 3}, {"Models": "x"}, [], None])
def test_not_a_listing(data):
    with pytest.raises(ModelScopeError):
        listing_models(data)


def test_request_helpers():
    assert json.loads(listing_body("Qwen", 2, 50)) == {"Path": "Qwen", "PageNumber": 2, "PageSize": 50}
    assert model_path("deepseek-ai", "DeepSeek-R1") == "/api/v1/models/deepseek-ai/DeepSeek-R1"
    assert model_url("https://modelscope.cn/", "Qwen", "Qwen3-8B") == "https://modelscope.cn/models/Qwen/Qwen3-8B"
    assert (modelscope.LISTING_METHOD, modelscope.LISTING_PATH) == ("PUT", "/api/v1/models/")
    for bad in ((("",), {}), (("a/b",), {}), (("Qwen", 0), {}), (("Qwen", 1, 101), {}), (("Qwen", True), {})):
        with pytest.raises(ValueError):
            listing_body(*bad[0], **bad[1])
    with pytest.raises(ValueError):
        model_key("Qwen", "")


# -- hostile content --------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["<!channel>", "<script>alert(1)<script>", "a\x00b", "r\u202el", "[x](javascript:1)"])
def test_hostile_names_survive(value):  # (a "/" cannot be in a name: see test_not_a_model)
    fields = model_fields(QWEN | {"Name": value, "Tags": [value]})
    assert fields["name"] == value and fields["tags"] == [value]
    assert fields["id"] == f"Qwen/{value}"


def test_200kb_and_surrogates():
    fields = model_fields(QWEN | {"License": "L" * 200_000, "Tags": ["t\ud800" * 1000]})
    assert fields["license"].startswith("other:") and len(fields["license_name"]) <= 300
    assert fields["tags"][0].encode("utf-8") and len(fields["tags"][0]) == modelscope.MAX_TAG


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda c: st.lists(c, max_size=4) | st.dictionaries(
        st.sampled_from(["Code", "Success", "Data", "Message", "Models", "TotalCount", "Model", "Name", "Path", "License",
                         "Tags", "Tasks", "CreatedTime", "LastUpdatedTime", "Downloads", "Stars", "BaseModel",
                         "RelatedArxivId", "Visibility", "ProtectedMode", "Organization", "x"]), c, max_size=8),
    max_leaves=40,
)


@settings(max_examples=400, deadline=None)
@given(JSON)
def test_any_json_gives_fields_or_a_modelscope_error(obj):
    for call in (lambda o: model_fields(unwrap(o)), lambda o: listing_models(unwrap(o)), model_fields, listing_models):
        try:
            out = call(obj)
        except ModelScopeError:
            continue
        for fields in out.models if isinstance(out, MsListing) else [out]:
            assert set(fields) == HF_KEYS
            model_key(fields["org"], fields["name"])


# -- the registry knows ModelScope owners -----------------------------------------------------

ROWS = list(csv.DictReader(resources.files("crawler").joinpath("data/orgs.csv").read_text(encoding="utf-8").splitlines()))


def test_orgs_csv_has_the_modelscope_column():
    assert list(ROWS[0]) == ["hf_org", "display_name", "country", "kind", "github_owners", "notes", "modelscope_owners"]


@pytest.mark.parametrize(
    "owner, hf_org",
    [("ZhipuAI", "zai-org"), ("Shanghai_AI_Laboratory", "internlm"), ("01ai", "01-ai"), ("MiniMax", "MiniMaxAI"),
     ("qwen", "Qwen"), ("deepseek-ai", "deepseek-ai"), ("baichuan-inc", "baichuan-inc")],
)
def test_modelscope_owners_map_to_labs_and_countries(owner, hf_org):
    registry = default_orgs()
    assert registry.lookup(owner).hf_org == hf_org
    assert registry.country(owner) == "CN"


def test_every_name_belongs_to_one_lab():
    seen: dict[str, str] = {}
    for org in default_orgs().orgs:
        for name in {n.lower() for n in (org.hf_org, *org.github_owners, *org.modelscope_owners)}:
            assert seen.setdefault(name, org.hf_org) == org.hf_org, name


def test_select_by_hub():
    registry = default_orgs()
    ms = registry.select("registry:CN", hub="modelscope")
    assert {"Qwen", "deepseek-ai", "ZhipuAI", "baichuan-inc"} <= set(ms)
    assert "zai-org" not in ms
    assert registry.select("registry:CN") == [o.hf_org for o in registry.orgs if o.country == "CN"]
    assert registry.expand(["registry:CN", "Qwen", "someone"], hub="modelscope")[-1] == "someone"
    with pytest.raises(KeyError):
        registry.select("registry:FR", hub="modelscope")  # known country, no ModelScope owner
    with pytest.raises(ValueError):
        registry.select("registry:CN", hub="gitlab")


def test_rows_without_the_column_still_load():
    registry = OrgTable.from_rows([{"hf_org": "x", "country": "us", "github_owners": "X-gh"}])
    assert registry.lookup("x-GH").modelscope_owners == ()
    assert registry.select("registry:US", hub="github") == ["X-gh"]
    with pytest.raises(KeyError):
        registry.select("registry:US", hub="modelscope")
