"""Hugging Face daily papers (crawler/sources/hf_papers.py): the same paper item as arXiv's."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crawler.sources import hf_papers
from crawler.sources.arxiv import paper_key, parse_feed
from crawler.sources.hf_papers import HfPapersError, daily_paper_fields, parse_daily_papers

# The shape huggingface_hub's PaperInfo reads (hf_api.py, list_daily_papers), with values as
# published answers show them (authors with _id/hidden, submittedOnDailyBy with `user`).
DAILY = {
    "paper": {
        "id": "2509.04664",
        "authors": [
            {"_id": "68be5810c123124955ef60ac", "name": "Adam Tauman Kalai", "hidden": False},
            {"_id": "68be5810c123124955ef60ad", "name": "Ofir Nachum", "hidden": False},
            {"_id": "68be5810c123124955ef60ae", "name": "Santosh S. Vempala", "hidden": False},
            {"_id": "68be5810c123124955ef60af", "name": "Edwin Zhang", "hidden": True,
             "user": {"_id": "1", "user": "edwinzhang", "fullname": "Edwin Zhang", "type": "user"}},
        ],
        "mediaUrls": [],
        "publishedAt": "2025-09-04T21:26:31.000Z",
        "submittedOnDailyAt": "2025-09-08T02:44:20.973Z",
        "title": "Why Language Models Hallucinate",
        "submittedOnDailyBy": {
            "_id": "6039478ab3ecf716b1a5fd4d", "avatarUrl": "https://cdn-avatars.huggingface.co/x.jpeg",
            "isPro": True, "fullname": "taesiri", "user": "taesiri", "type": "user",
        },
        "summary": "Like students facing hard exam questions, large language models sometimes\nguess when uncertain,"
        " producing plausible yet incorrect statements instead of\nadmitting uncertainty.",
        "upvotes": 26,
        "discussionId": "68be5810c123124955ef60b0",
        "githubRepo": "https://github.com/openai/hallucination",
        "githubStars": 12,
        "projectPage": "https://openai.com/index/why-language-models-hallucinate/",
        "ai_summary": "Language models produce incorrect statements due to training and evaluation...",
        "ai_keywords": ["hallucinations", "binary classification"],
        "organization": {"_id": "5e6485f787403103f9f1055e", "name": "openai", "fullname": "OpenAI"},
    },
    "publishedAt": "2025-09-08T02:44:20.973Z",
    "title": "Why Language Models Hallucinate",
    "summary": "Short description for listing",
    "thumbnail": "https://cdn-thumbnails.huggingface.co/social-thumbnails/papers/2509.04664.png",
    "numComments": 3,
    "submittedBy": {"_id": "6039478ab3ecf716b1a5fd4d", "fullname": "taesiri", "user": "taesiri", "type": "user"},
    "organization": {"name": "openai", "fullname": "OpenAI"},
    "isAuthorParticipating": False,
}
ARXIV_2026 = Path("/work/shared/samples/arxiv_api_id_list_2026_recorded.json")


def test_one_daily_paper():
    (paper,) = parse_daily_papers([DAILY])
    assert paper == {
        "id": "2509.04664",
        "version": None,
        "title": "Why Language Models Hallucinate",
        "authors": ["Adam Tauman Kalai", "Ofir Nachum", "Santosh S. Vempala", "Edwin Zhang"],
        "abstract": "Like students facing hard exam questions, large language models sometimes guess when uncertain,"
        " producing plausible yet incorrect statements instead of admitting uncertainty.",
        "categories": None,
        "primary_category": None,
        "published": "2025-09-04T21:26:31.000000Z",
        "updated": None,
        "links": None,
        "comment": None,
        "journal_ref": None,
        "doi": None,
        "url": "https://arxiv.org/abs/2509.04664",
        "upvotes": 26,
        "comments": 3,
        "github_stars": 12,
        "hf_url": "https://huggingface.co/papers/2509.04664",
        "code_url": "https://github.com/openai/hallucination",
        "project_url": "https://openai.com/index/why-language-models-hallucinate/",
        "organization": "openai",
        "submitted_at": "2025-09-08T02:44:20.973000Z",
        "submitted_by": "taesiri",
        "models": None,  # daily papers do not list the models that cite a paper
    }
    assert paper_key(paper["id"]) == "paper:arxiv/2509.04664"


def test_the_same_field_names_as_arxiv():
    import json

    (arxiv_paper,) = parse_feed(json.loads(ARXIV_2026.read_text())["body"].encode()).papers
    (hf_paper,) = parse_daily_papers([DAILY])
    assert set(arxiv_paper) <= set(hf_paper)
    assert set(hf_paper) - set(arxiv_paper) == {
        "upvotes", "comments", "github_stars", "hf_url", "code_url", "project_url", "organization",
        "submitted_at", "submitted_by", "models",
    }
    assert hf_papers.PAPER_COUNTERS == ("upvotes", "comments", "github_stars")


def test_the_same_paper_from_both_sources_has_the_same_url_and_key():
    import json

    (arxiv_paper,) = parse_feed(json.loads(ARXIV_2026.read_text())["body"].encode()).papers
    item = copy.deepcopy(DAILY)
    item["paper"]["id"] = "2104.12255"
    (hf_paper,) = parse_daily_papers([item])
    assert (hf_paper["id"], hf_paper["url"]) == (arxiv_paper["id"], arxiv_paper["url"])


def test_the_flat_shape_paperinfo_also_reads():
    flat = {"id": "2401.12345", "title": "Flat", "summary": "s", "authors": [{"name": "A"}],
            "publishedAt": "2024-01-22T00:00:00.000Z", "upvotes": 5, "submittedOnDailyAt": "2024-01-23T00:00:00.000Z",
            "linkedModels": [{"id": "org/model-a"}, {"id": "org/model-b"}, {"id": "org/model-a"}, {"x": 1}]}
    (paper,) = parse_daily_papers([flat])
    assert (paper["id"], paper["title"], paper["authors"], paper["published"], paper["submitted_at"], paper["upvotes"]) == (
        "2401.12345", "Flat", ["A"], "2024-01-22T00:00:00.000000Z", "2024-01-23T00:00:00.000000Z", 5)
    assert paper["models"] == ["org/model-a", "org/model-b"]


def test_a_missing_field_is_unknown_not_empty():
    (paper,) = parse_daily_papers([{"paper": {"id": "2401.12345"}}])
    assert paper["authors"] is None and paper["upvotes"] is None and paper["title"] is None
    assert paper["code_url"] is None and paper["organization"] is None


@pytest.mark.parametrize(
    "item",
    [
        {"paper": {"id": "not-an-arxiv-id"}},
        {"paper": {"id": 2401.12345}},
        {"paper": {}},
        {"title": "no id at all"},
        "2401.12345",
        None,
    ],
)
def test_an_item_without_an_arxiv_id_is_skipped(item):
    assert daily_paper_fields(item) is None
    assert parse_daily_papers([item]) == []


def test_each_paper_once_in_order():
    second = copy.deepcopy(DAILY)
    second["paper"]["id"] = "2509.00001"
    versioned = copy.deepcopy(DAILY)
    versioned["paper"]["id"] = "2509.04664v2"
    assert [p["id"] for p in parse_daily_papers([DAILY, second, versioned])] == ["2509.04664", "2509.00001"]


@pytest.mark.parametrize("obj, match", [({"error": "Invalid date"}, "Invalid date"), ({}, "JSON array"), ("x", "JSON array"), (None, "JSON array")])
def test_not_a_list_is_an_error(obj, match):
    with pytest.raises(HfPapersError, match=match):
        parse_daily_papers(obj)


@pytest.mark.parametrize("value", [True, "26", 2.5, None])
def test_counters_are_ints_or_unknown(value):
    item = copy.deepcopy(DAILY)
    item["paper"]["upvotes"] = value
    assert daily_paper_fields(item)["upvotes"] is None


@pytest.mark.parametrize("url", ["javascript:alert(1)", "ftp://x", "github.com/x/y", 5, ""])
def test_links_are_http_urls_or_nothing(url):
    item = copy.deepcopy(DAILY)
    item["paper"]["githubRepo"] = url
    item["paper"]["projectPage"] = url
    fields = daily_paper_fields(item)
    assert (fields["code_url"], fields["project_url"]) == (None, None)


HOSTILE = ["<!channel> <@U123> <https://evil|x>", "<script>alert(1)</script>", "a\x00b", "r\u202el", "[x](javascript:1)"]


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_text_survives(value):
    item = copy.deepcopy(DAILY)
    item["paper"].update(title=value, summary=value, authors=[{"name": value}])
    fields = daily_paper_fields(item)
    assert fields["title"] == fields["abstract"] == value
    assert fields["authors"] == [value]


def test_200kb_and_surrogates():
    item = copy.deepcopy(DAILY)
    item["paper"].update(title="t" * 200_000, summary="s\ud800" * 100_000)
    fields = daily_paper_fields(item)
    assert len(fields["title"]) == 1000 and len(fields["abstract"]) == 20_000
    fields["abstract"].encode("utf-8")


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20) | st.sampled_from(["2401.12345", "hep-th/9901001v2"]),
    lambda c: st.lists(c, max_size=4) | st.dictionaries(
        st.sampled_from(["paper", "id", "title", "summary", "authors", "name", "upvotes", "publishedAt", "organization",
                         "submittedOnDailyBy", "user", "githubRepo", "linkedModels", "numComments", "x"]), c, max_size=6),
    max_leaves=40,
)


@settings(max_examples=400, deadline=None)
@given(JSON)
def test_any_json_gives_papers_or_an_error(obj):
    try:
        papers = parse_daily_papers(obj)
    except HfPapersError:
        return
    for paper in papers:
        paper_key(paper["id"])
        assert paper["authors"] is None or all(isinstance(a, str) for a in paper["authors"])
        assert paper["upvotes"] is None or type(paper["upvotes"]) is int
