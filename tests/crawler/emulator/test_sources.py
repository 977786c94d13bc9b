"""The emulator's GitHub, arXiv, feed and ModelScope services over real HTTP, checked against
the real answers in ../shared/samples (their key sets and structure are written out here
too, so the checks hold where the samples folder is absent)."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path
from xml.etree import ElementTree

import feedparser
import httpx
import pytest

from crawler.emulator import Fault, HubEmulator
from crawler.emulator.arxiv import ArxivWorld
from crawler.emulator.feeds import FeedWorld
from crawler.emulator.github import GitHubWorld
from crawler.emulator.modelscope import ModelScopeWorld
from tests.support.clock import FakeClock

T0 = datetime(2025, 6, 1, 12, 0, tzinfo=timezone.utc)
GH_TOKEN = {"Authorization": "token ghp_test"}
ATOM_NS = "{http://www.w3.org/2005/Atom}"
ARXIV_NS = "{http://arxiv.org/schemas/atom}"
OPENSEARCH_NS = "{http://a9.com/-/spec/opensearch/1.1/}"


def _samples() -> Path | None:
    for parent in Path(__file__).resolve().parents:
        candidate = parent / "shared" / "samples"
        if candidate.is_dir():
            return candidate
    return None


SAMPLES = _samples()
needs_samples = pytest.mark.skipif(SAMPLES is None, reason="../shared/samples not found")

# Keys of each release in samples/github_releases_PyGithub_page1_Link_2022.json, in order.
RELEASE_KEYS = ["url", "assets_url", "upload_url", "html_url", "id", "author", "node_id", "tag_name",
                "target_commitish", "name", "draft", "prerelease", "created_at", "published_at", "assets",
                "tarball_url", "zipball_url", "body"]
USER_KEYS = ["login", "id", "node_id", "avatar_url", "gravatar_id", "url", "html_url", "followers_url",
             "following_url", "gists_url", "starred_url", "subscriptions_url", "organizations_url", "repos_url",
             "events_url", "received_events_url", "type", "site_admin"]
# Keys of samples/octokit_get-repository_raw-fixture.json that only an admin's token sees.
ADMIN_ONLY_REPO_KEYS = {"permissions", "temp_clone_token", "allow_squash_merge", "allow_merge_commit",
                        "allow_rebase_merge", "allow_auto_merge", "delete_branch_on_merge", "allow_update_branch",
                        "use_squash_pr_title_as_default"}
# Child elements of an entry in samples/arxiv_api_id_list_2026_recorded.json and of the
# 2026 fixtures with comments, journal refs and DOIs (lukasschwab/arxiv.py), in order;
# repeated elements (categories, authors) collapsed.
ARXIV_ENTRY_ORDER = ["id", "title", "updated", "link", "summary", "category", "published", "comment",
                     "primary_category", "journal_ref", "author", "doi", "link"]


def _collapsed(tags) -> list[str]:
    out = []
    for tag in tags:
        name = tag.split("}")[1]
        if not out or out[-1] != name:
            out.append(name)
    return out


@pytest.fixture
def emu(clock):
    with HubEmulator(github=GitHubWorld(clock), arxiv=ArxivWorld(clock), feeds=FeedWorld(clock),
                     modelscope=ModelScopeWorld(clock)) as emulator:
        yield emulator


@pytest.fixture
def client(emu):
    with httpx.Client(trust_env=False, timeout=10) as c:
        yield c


def test_endpoints_are_one_port_with_prefixes(emu):
    assert emu.endpoints() == {"huggingface": emu.url, "github": f"{emu.url}/github",
                               "github_api": f"{emu.url}/github-api", "arxiv": f"{emu.url}/arxiv",
                               "modelscope": f"{emu.url}/modelscope"}
    assert emu.feed_url("lab") == f"{emu.url}/feeds/lab"


# -- GitHub REST API ------------------------------------------------------------------------------


@pytest.fixture
def gh(emu, client):
    api = emu.endpoints()["github_api"]
    return lambda path, **kw: client.get(api + path, **kw)


def test_repo_object_has_the_recorded_keys_and_license(emu, gh):
    emu.github.add_repo("deepseek-ai/DeepSeek-V3", license_spdx="MIT", description="DeepSeek-V3")
    emu.github.add_repo("meta-llama/llama-models", license_spdx="NOASSERTION")
    emu.github.add_repo("someone/no-licence", license_spdx=None, owner_type="User")
    repo = gh("/repos/deepseek-ai/DeepSeek-V3").json()
    assert repo["full_name"] == "deepseek-ai/DeepSeek-V3" and repo["archived"] is False
    assert repo["license"]["spdx_id"] == "MIT" and repo["license"]["key"] == "mit"
    assert repo["license"]["url"] == f"{emu.url}/github-api/licenses/mit"
    assert gh("/licenses/mit").json()["name"] == "MIT License"
    assert repo["html_url"] == f"{emu.url}/github/deepseek-ai/DeepSeek-V3"
    assert list(repo["owner"]) == USER_KEYS and repo["owner"]["type"] == "Organization"
    other = gh("/repos/meta-llama/llama-models").json()["license"]
    assert (other["spdx_id"], other["key"], other["url"]) == ("NOASSERTION", "other", None)
    assert gh("/repos/someone/no-licence").json()["license"] is None
    assert gh("/repos/DEEPSEEK-AI/deepseek-v3").json()["id"] == repo["id"]  # names are case-insensitive
    missing = gh("/repos/deepseek-ai/nope")
    assert missing.status_code == 404 and missing.json()["message"] == "Not Found"
    if SAMPLES is not None:
        recorded = json.loads((SAMPLES / "octokit_get-repository_raw-fixture.json").read_text())[0]["response"]
        assert set(recorded) - ADMIN_ONLY_REPO_KEYS <= set(repo)
        assert [k for k in repo if k in recorded] == [k for k in recorded if k in repo]  # same order


def test_relicense_and_archive_show_in_the_repo(emu, gh):
    emu.github.add_repo("moonshotai/Kimi-K2", license_spdx="NOASSERTION")
    emu.github.relicense_repo("moonshotai/Kimi-K2", "MIT")
    emu.github.archive_repo("moonshotai/Kimi-K2")
    repo = gh("/repos/moonshotai/Kimi-K2").json()
    assert repo["license"]["spdx_id"] == "MIT" and repo["archived"] is True
    with pytest.raises(ValueError):
        emu.github.relicense_repo("moonshotai/Kimi-K2", "Apache 2")  # not an SPDX id


def test_releases_json_matches_the_pygithub_recording_and_pages_by_link(emu, gh):
    emu.github.add_repo("PyGithub/PyGithub", license_spdx="LGPL-3.0")
    tags = emu.github.populate_releases("PyGithub/PyGithub", 25)
    first = gh("/repos/PyGithub/PyGithub/releases", params={"per_page": 10})
    rows = first.json()
    assert len(rows) == 10 and all(list(r) == RELEASE_KEYS for r in rows)
    assert list(rows[0]["author"]) == USER_KEYS
    assert rows[0]["tag_name"] == tags[-1]  # newest first
    repo_id = gh("/repos/PyGithub/PyGithub").json()["id"]
    base = f"{emu.url}/github-api/repositories/{repo_id}/releases?per_page=10"
    assert first.headers["Link"] == f'<{base}&page=2>; rel="next", <{base}&page=3>; rel="last"'
    for key in ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset", "X-RateLimit-Used",
                "X-RateLimit-Resource"):
        assert key in first.headers
    assert first.headers["ETag"].startswith('W/"')
    seen, response = [], first
    while True:
        seen += [r["tag_name"] for r in response.json()]
        if "next" not in response.links:
            break
        response = gh(response.links["next"]["url"].removeprefix(f"{emu.url}/github-api"))
    assert seen == list(reversed(tags))
    middle = gh(f"/repositories/{repo_id}/releases", params={"per_page": 10, "page": 2})
    assert [rel for rel in ("prev", "next", "last", "first") if rel in middle.links] == ["prev", "next", "last",
                                                                                           "first"]
    if SAMPLES is not None:
        recorded = json.loads((SAMPLES / "github_releases_PyGithub_page1_Link_2022.json").read_text())
        body = json.loads(recorded["body"]) if isinstance(recorded["body"], str) else recorded["body"]
        assert all(list(r) == list(body[0]) for r in rows)
        recorded_link = dict(recorded["headers"])["Link"]
        shape = re.sub(r"<https://api\.github\.com(/repositories/)\d+", r"<\1", recorded_link)
        assert re.sub(rf"<{re.escape(emu.url)}/github-api(/repositories/)\d+", r"<\1", first.headers["Link"]) == shape


def test_drafts_prereleases_latest_and_lookups(emu, gh):
    emu.github.add_repo("openai/gpt-oss")
    emu.github.add_release("openai/gpt-oss", "v0.0.8", body="Weights: https://huggingface.co/openai/gpt-oss-20b")
    emu.github.add_release("openai/gpt-oss", "v0.0.9rc1", prerelease=True)
    emu.github.add_release("openai/gpt-oss", "v0.1.0", draft=True)
    anonymous = [r["tag_name"] for r in gh("/repos/openai/gpt-oss/releases").json()]
    assert anonymous == ["v0.0.9rc1", "v0.0.8"]
    with_token = gh("/repos/openai/gpt-oss/releases", headers=GH_TOKEN).json()
    assert [(r["tag_name"], r["draft"], r["published_at"] is None) for r in with_token][0] == ("v0.1.0", True, True)
    assert gh("/repos/openai/gpt-oss/releases/latest").json()["tag_name"] == "v0.0.8"
    by_tag = gh("/repos/openai/gpt-oss/releases/tags/v0.0.9rc1").json()
    assert by_tag["prerelease"] is True and gh(f"/repos/openai/gpt-oss/releases/{by_tag['id']}").json() == by_tag
    emu.github.publish_release("openai/gpt-oss", "v0.1.0")
    assert gh("/repos/openai/gpt-oss/releases/latest").json()["tag_name"] == "v0.1.0"
    edited = emu.github.edit_release("openai/gpt-oss", "v0.0.8", body="Edited notes")
    assert gh(f"/repos/openai/gpt-oss/releases/{edited.id}").json()["body"] == "Edited notes"


def test_renamed_repo_answers_301_to_repositories_id(emu, gh, client):
    emu.github.add_repo("jasonrudolph/jasonrudolph.com")
    emu.github.add_release("jasonrudolph/jasonrudolph.com", "v1")
    repo_id = gh("/repos/jasonrudolph/jasonrudolph.com").json()["id"]
    emu.github.rename_repo("jasonrudolph/jasonrudolph.com", "jasonrudolph/jasonrudolph.github.io")
    moved = gh("/repos/jasonrudolph/jasonrudolph.com")
    assert moved.status_code == 301
    assert moved.headers["Location"] == f"{emu.url}/github-api/repositories/{repo_id}"
    assert moved.json()["message"] == "Moved Permanently" and moved.json()["url"] == moved.headers["Location"]
    followed = gh("/repos/jasonrudolph/jasonrudolph.com", follow_redirects=True).json()
    assert (followed["id"], followed["full_name"]) == (repo_id, "jasonrudolph/jasonrudolph.github.io")
    releases = gh("/repos/jasonrudolph/jasonrudolph.com/releases", params={"per_page": 5})
    assert releases.headers["Location"] == f"{emu.url}/github-api/repositories/{repo_id}/releases?per_page=5"
    atom = client.get(f"{emu.url}/github/jasonrudolph/jasonrudolph.com/releases.atom")
    assert atom.status_code == 301
    assert atom.headers["Location"] == f"{emu.url}/github/jasonrudolph/jasonrudolph.github.io/releases.atom"
    emu.github.rename_repo("jasonrudolph/jasonrudolph.github.io", "someone-else/site")  # a transfer
    assert gh(f"/repositories/{repo_id}").json()["owner"]["login"] == "someone-else"


def test_owner_repo_listings_page_and_sort(emu, gh, clock):
    for i in range(35):
        clock.advance(days=1)
        emu.github.add_repo(f"QwenLM/repo-{i:02d}")
    emu.github.add_repo("octocat/hello", owner_type="User")
    first = gh("/orgs/QwenLM/repos")
    assert len(first.json()) == 30 and first.json()[0]["name"] == "repo-34"  # newest created first
    assert "/github-api/organizations/" in first.links["next"]["url"]
    rest = gh(first.links["next"]["url"].removeprefix(f"{emu.url}/github-api")).json()
    assert len(rest) == 5 and rest[-1]["name"] == "repo-00"
    by_name = gh("/users/QwenLM/repos", params={"sort": "full_name", "per_page": 100}).json()
    assert [r["name"] for r in by_name] == sorted(r["name"] for r in by_name)
    assert gh("/orgs/octocat/repos").status_code == 404
    assert [r["name"] for r in gh("/users/octocat/repos").json()] == ["hello"]


def test_etag_304_is_free_and_limits_count_per_client(emu, gh):
    emu.github.add_repo("allenai/OLMo")
    first = gh("/repos/allenai/OLMo")
    assert first.headers["X-RateLimit-Limit"] == "60" and first.headers["X-RateLimit-Remaining"] == "59"
    assert first.headers["ETag"].startswith('"') and "Last-Modified" in first.headers
    again = gh("/repos/allenai/OLMo", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["X-RateLimit-Remaining"] == "59" and again.headers["ETag"] == first.headers["ETag"]
    assert gh("/repos/allenai/OLMo").headers["X-RateLimit-Used"] == "2"
    token = gh("/repos/allenai/OLMo", headers=GH_TOKEN)
    assert (token.headers["X-RateLimit-Limit"], token.headers["X-RateLimit-Remaining"]) == ("5000", "4999")
    free = gh("/rate_limit").json()
    assert free["resources"]["core"]["remaining"] == 58 and gh("/rate_limit").json()["rate"]["used"] == 2
    assert int(first.headers["X-RateLimit-Reset"]) > datetime.now(timezone.utc).timestamp()


def test_enforced_limit_answers_403_with_remaining_zero():
    with HubEmulator(github_rate_limits={"anonymous": 3}, enforce_rate_limits={"github_api"}) as emu, \
            httpx.Client(base_url=emu.url + "/github-api", trust_env=False) as c:
        emu.github.add_repo("org/r")
        first = c.get("/repos/org/r")
        statuses = [first.status_code] + [c.get("/repos/org/r").status_code for _ in range(3)]
        assert statuses == [200, 200, 200, 403]
        refused = c.get("/repos/org/r")
        assert refused.headers["X-RateLimit-Remaining"] == "0" and "X-RateLimit-Reset" in refused.headers
        assert refused.json()["message"].startswith("API rate limit exceeded for ")
        # A conditional request still gets its 304 (it costs nothing).
        assert c.get("/repos/org/r", headers={"If-None-Match": first.headers["ETag"]}).status_code == 304
        assert c.get("/repos/org/r", headers={"Authorization": "Bearer x"}).status_code == 200
        assert c.get(emu.url + "/api/models").status_code == 200  # Hugging Face is not enforced here


# -- GitHub releases.atom ---------------------------------------------------------------------------


def test_releases_atom_has_the_comixed_shape(emu, client):
    emu.github.add_repo("comixed/comixed")
    emu.github.add_release("comixed/comixed", "v1.0.2-1", name="Changes For 1.0.2-1",
                           body="## Commits\n\n* Fixed sorting <script>x</script>\n* See https://huggingface.co/org/m")
    emu.github.add_release("comixed/comixed", "v1.0.3-1", name="Changes For 1.0.3-1", prerelease=True)
    emu.github.add_release("comixed/comixed", "v2.0.0", draft=True)
    url = f"{emu.url}/github/comixed/comixed/releases.atom"
    response = client.get(url)
    assert response.headers["Content-Type"] == "application/atom+xml; charset=utf-8"
    parsed = feedparser.parse(response.content)
    assert not parsed.bozo and parsed.version == "atom10"
    assert parsed.feed.title == "Release notes from comixed"
    assert [e.title for e in parsed.entries] == ["Changes For 1.0.3-1", "Changes For 1.0.2-1"]  # no draft
    entry = parsed.entries[1]
    repo_id = emu.github.get_repo("comixed/comixed").id
    assert entry.id == f"tag:github.com,2008:Repository/{repo_id}/v1.0.2-1"
    assert entry.link == f"{emu.url}/github/comixed/comixed/releases/tag/v1.0.2-1"
    assert "published" not in entry and re.search(r"[+-]\d\d:\d\d$", entry.updated)
    assert entry.content[0].type == "text/html" and entry.author == "github-actions[bot]"
    assert "<h2>Commits</h2>" in entry.content[0].value and "huggingface.co/org/m" in entry.content[0].value
    assert "media_thumbnail" in entry
    assert client.get(entry.link).status_code == 200
    again = client.get(url, headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304
    if SAMPLES is not None:
        sample = ElementTree.parse(SAMPLES / "github_releases_comixed.atom.xml").getroot()
        ours = ElementTree.fromstring(response.content)
        assert [c.tag for c in ours][:6] == [c.tag for c in sample][:6]
        sample_entry = sample.find(f"{ATOM_NS}entry")
        assert [c.tag for c in ours.find(f"{ATOM_NS}entry")] == [c.tag for c in sample_entry]


# -- arXiv --------------------------------------------------------------------------------------------


@pytest.fixture
def arxiv(emu, client):
    api = emu.endpoints()["arxiv"] + "/api/query"
    return lambda **params: client.get(api, params=params)


def _seed_papers(world: ArxivWorld):
    world.add_paper("2501.12948", title="DeepSeek-R1: Incentivizing Reasoning Capability in LLMs via\n  "
                    "Reinforcement Learning", authors=["DeepSeek-AI", "Daya Guo", ("Dejian Yang", "DeepSeek")],
                    categories=["cs.CL", "cs.AI", "cs.LG"], published=datetime(2025, 1, 22, 15, 19, tzinfo=timezone.utc),
                    abstract="We introduce DeepSeek-R1. Weights at https://huggingface.co/deepseek-ai/DeepSeek-R1",
                    comment="Code: https://github.com/deepseek-ai/DeepSeek-R1", journal_ref="Nature 645 (2025)",
                    doi="10.1038/s41586-025-09422-z")
    world.add_paper("2412.15115", title="Qwen2.5 Technical Report", authors=["Qwen Team"], categories=["cs.CL"],
                    published=datetime(2024, 12, 19, tzinfo=timezone.utc),
                    abstract="Open-weight large language models in seven sizes.")
    world.add_paper("2501.00656", title="2 OLMo 2 Furious", authors=["Team OLMo", "Luca Soldaini"],
                    categories=["cs.CL", "cs.LG"], published=datetime(2024, 12, 31, tzinfo=timezone.utc),
                    abstract="Fully open language models: weights, data and code.")
    world.add_paper("2503.00001", title="Vision transformers for open weights", authors=["A. Vision"],
                    categories=["cs.CV"], published=datetime(2025, 3, 1, tzinfo=timezone.utc),
                    abstract="An open weights vision model.")


def test_arxiv_feed_has_the_2026_structure(emu, arxiv):
    _seed_papers(emu.arxiv)
    response = arxiv(search_query="au:DeepSeek", max_results=5)
    assert response.headers["Content-Type"] == "application/atom+xml; charset=utf-8"
    root = ElementTree.fromstring(response.content)
    assert [c.tag.split("}")[1] for c in root][:7] == ["id", "title", "updated", "link", "itemsPerPage",
                                                       "totalResults", "startIndex"]
    assert response.content.startswith(b"<?xml version='1.0' encoding='UTF-8'?>\n<feed xmlns:opensearch=")
    assert root.find(f"{ATOM_NS}title").text == "arXiv Query: search_query=au:DeepSeek&id_list=&start=0&max_results=5"
    assert re.fullmatch(r"https://arxiv\.org/api/[A-Za-z0-9+/]{27}", root.find(f"{ATOM_NS}id").text)
    (entry,) = root.findall(f"{ATOM_NS}entry")
    assert _collapsed(c.tag for c in entry) == ARXIV_ENTRY_ORDER
    assert [c.tag for c in entry].count(f"{ATOM_NS}author") == 3
    parsed = feedparser.parse(response.content)
    assert parsed.feed.opensearch_totalresults == "1"
    e = parsed.entries[0]
    assert e.id == "http://arxiv.org/abs/2501.12948v1"
    assert [a.name for a in e.authors] == ["DeepSeek-AI", "Daya Guo", "Dejian Yang"]  # all of them
    assert e.arxiv_primary_category["term"] == "cs.CL" and [t.term for t in e.tags] == ["cs.CL", "cs.AI", "cs.LG"]
    assert e.arxiv_comment == "Code: https://github.com/deepseek-ai/DeepSeek-R1"
    assert e.arxiv_doi == "10.1038/s41586-025-09422-z"
    assert {link.get("title") for link in e.links} == {None, "pdf", "doi"}
    assert e.link == f"{emu.url}/arxiv/abs/2501.12948v1"
    page = httpx.get(e.link, trust_env=False)
    assert page.status_code == 200 and "Reinforcement Learning" in page.text
    pdf = next(link.href for link in e.links if link.get("title") == "pdf")
    assert httpx.get(pdf, trust_env=False).content.startswith(b"%PDF-")
    if SAMPLES is not None:
        recorded = json.loads((SAMPLES / "arxiv_api_id_list_2026_recorded.json").read_text())["body"]
        sample = ElementTree.fromstring(recorded.encode())
        assert [c.tag for c in sample if c.tag != f"{ATOM_NS}entry"] == [c.tag for c in root if c.tag != f"{ATOM_NS}entry"]
        sample_entry = _collapsed(c.tag for c in sample.find(f"{ATOM_NS}entry"))
        remaining = iter(ARXIV_ENTRY_ORDER)
        assert all(tag in remaining for tag in sample_entry), sample_entry  # same order, fewer fields


@pytest.mark.parametrize("query, expected", [
    ("all:open", {"2412.15115", "2501.00656", "2503.00001"}),
    ("ti:qwen2.5", {"2412.15115"}),
    ("au:deepseek", {"2501.12948"}),
    ('abs:"open weights"', {"2503.00001"}),
    ("cat:cs.CL AND abs:open", {"2412.15115", "2501.00656"}),
    ("cat:cs.* ANDNOT cat:cs.CV", {"2501.12948", "2412.15115", "2501.00656"}),
    ("ti:(qwen2.5 OR olmo)", {"2412.15115", "2501.00656"}),
    ("au:Team_OLMo", {"2501.00656"}),
    ("reasoning reinforcement", {"2501.12948"}),
    ("co:github", {"2501.12948"}),
    ("all:weights AND NOT cat:cs.CV", {"2501.00656", "2501.12948"}),
    ("submittedDate:[202412010000 TO 202412312359]", {"2412.15115", "2501.00656"}),
    ("id:2501.12948", {"2501.12948"}),
])
def test_arxiv_query_matcher(emu, arxiv, query, expected):
    _seed_papers(emu.arxiv)
    parsed = feedparser.parse(arxiv(search_query=query, max_results=50).content)
    assert {e.id.rsplit("/", 1)[1].split("v")[0] for e in parsed.entries} == expected


def test_arxiv_sorting_paging_and_id_list(emu, arxiv, clock):
    ids = emu.arxiv.populate(25, category="cs.CL")
    emu.arxiv.revise_paper(ids[0], abstract="Revised.", updated=clock() + timedelta(days=1))

    def page(**params):
        parsed = feedparser.parse(arxiv(**params).content)
        return parsed, [e.id.rsplit("/", 1)[1] for e in parsed.entries]

    seen = []
    for start in (0, 10, 20):
        parsed, got = page(search_query="cat:cs.CL", sortBy="submittedDate", sortOrder="descending", start=start,
                           max_results=10)
        assert parsed.feed.opensearch_totalresults == "25" and parsed.feed.opensearch_startindex == str(start)
        seen += got
    assert [s.split("v")[0] for s in seen] == list(reversed(ids))
    _, updated = page(search_query="cat:cs.CL", sortBy="lastUpdatedDate", max_results=1)
    assert updated == [f"{ids[0]}v2"]
    _, ascending = page(search_query="cat:cs.CL", sortBy="submittedDate", sortOrder="ascending", max_results=2)
    assert [a.split("v")[0] for a in ascending] == ids[:2]
    _, listed = page(id_list=f"{ids[3]},{ids[1]}")
    assert [x.split("v")[0] for x in listed] == [ids[3], ids[1]]
    parsed, nothing = page(search_query="cat:cs.CL", start=100)
    assert nothing == [] and parsed.feed.opensearch_totalresults == "25"


@pytest.mark.parametrize("params, message", [
    ({"id_list": "abc"}, "incorrect id format for abc"),
    ({"search_query": "all:x", "start": "-1"}, "start must be non-negative"),
    ({"search_query": "all:x", "max_results": "ten"}, "max_results must be an integer"),
    ({"search_query": "ti:(llm AND"}, "Invalid query string: '(ti:llm AND'"),
    ({"search_query": "all:x", "sortBy": "date"}, "sortBy must be in: relevance, lastUpdatedDate, submittedDate"),
    ({}, "Either a search_query or id_list must be specified for the classic API."),
])
def test_arxiv_errors_are_400_with_an_error_entry(arxiv, params, message):
    response = arxiv(**params)
    assert response.status_code == 400
    parsed = feedparser.parse(response.content)
    (entry,) = parsed.entries
    assert entry.title == "Error" and entry.summary == message
    assert entry.id.startswith("https://arxiv.org/api/errors") and entry.author == "arXiv api core"


@needs_samples
def test_arxiv_error_entry_is_the_recorded_one():
    recorded = json.loads((SAMPLES / "arxiv_api_error_entry_id_abc_400_2026.json").read_text())
    with HubEmulator() as emu:
        response = httpx.get(f"{emu.url}/arxiv/api/query", params={"search_query": "", "id_list": "abc"},
                             trust_env=False)
    assert response.status_code == recorded["status_code"] == 400
    stamp = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")
    assert stamp.sub("T", response.text) == stamp.sub("T", recorded["body"])


def test_arxiv_spurious_empty_page_and_arrival_times():
    ticks = FakeClock(500.0)
    with HubEmulator(clock=ticks) as emu, httpx.Client(base_url=emu.url + "/arxiv", trust_env=False) as c:
        emu.arxiv.populate(5)
        emu.faults.add(Fault.empty_listing(r"^/arxiv/api/query", times=1))
        flaky = feedparser.parse(c.get("/api/query", params={"search_query": "cat:cs.CL"}).content)
        assert flaky.entries == [] and flaky.feed.opensearch_totalresults == "5"
        ticks.now += 3.0
        assert len(feedparser.parse(c.get("/api/query", params={"search_query": "cat:cs.CL"}).content).entries) == 5
        ticks.now += 3.5
        c.get("/api/query", params={"search_query": "cat:cs.CL", "start": 5})
        assert emu.requests.times(service="arxiv") == [500.0, 503.0, 506.5]
        assert emu.requests.gaps(service="arxiv") == [3.0, 3.5]
        assert len(emu.requests.connections(service="arxiv")) == 1  # one keep-alive connection


def test_arxiv_min_interval_refuses_impatient_clients():
    ticks = FakeClock(0.0)
    with HubEmulator(clock=ticks) as emu, httpx.Client(base_url=emu.url + "/arxiv", trust_env=False) as c:
        emu.service("arxiv").min_interval = 3.0
        assert c.get("/api/query", params={"search_query": "all:x"}).status_code == 200
        ticks.now += 1.0
        assert c.get("/api/query", params={"search_query": "all:x"}).status_code == 429
        ticks.now += 3.0
        assert c.get("/api/query", params={"search_query": "all:x"}).status_code == 200


# -- feeds ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind, encoding, declared, version", [
    ("rss2", "utf-8", True, "rss20"),
    ("rss1", "iso-8859-1", True, "rss10"),
    ("atom", "utf-8", True, "atom10"),
    ("rss2", "iso-8859-1", False, "rss20"),
])
def test_feeds_in_every_kind_and_encoding_read_back_intact(emu, client, kind, encoding, declared, version):
    title = "Glasfaserförderung: “neue” Modelle — 模型 <!channel> \u202eevil"
    emu.feeds.add_feed("lab", kind=kind, encoding=encoding, declared=declared, title="Golem.de")
    emu.feeds.add_entry("lab", "https://www.golem.de/news/1.html", title=title, link="https://www.golem.de/news/1.html",
                        summary="Ab April soll es wieder Förderung geben. <b>&amp;</b>", content="<p>Voll</p>")
    response = client.get(emu.feed_url("lab"))
    content_type = response.headers["Content-Type"]
    if declared:
        assert content_type.endswith(f"; charset={encoding}")
        assert response.content.startswith(f'<?xml version="1.0" encoding="{encoding.upper()}"?>'.encode())
    else:
        assert "charset" not in content_type and response.content.startswith(b'<?xml version="1.0"?>')
    if encoding == "iso-8859-1":
        assert "Glasfaserförderung".encode("latin-1") in response.content
        assert b"&#27169;" in response.content  # what Latin-1 cannot hold is a character reference
    parsed = feedparser.parse(response.content, response_headers={"content-type": content_type})
    assert parsed.version == version and parsed.bozo == (not declared)
    (entry,) = parsed.entries
    assert entry.title == title and entry.id == "https://www.golem.de/news/1.html"
    assert "Förderung" in entry.summary


def test_edited_entry_keeps_its_id_and_validators_change(emu, client, clock):
    emu.feeds.add_feed("blog", kind="atom")
    emu.feeds.add_entry("blog", "tag:blog,2025:1", title="Release", link="https://example.org/1", summary="v1")
    first = client.get(emu.feed_url("blog"))
    assert first.headers["ETag"].startswith('"') and "Last-Modified" in first.headers
    assert client.get(emu.feed_url("blog"), headers={"If-None-Match": first.headers["ETag"]}).status_code == 304
    assert client.get(emu.feed_url("blog"), headers={"If-Modified-Since": first.headers["Last-Modified"]}
                      ).status_code == 304
    clock.advance(hours=2)
    emu.feeds.edit_entry("blog", "tag:blog,2025:1", summary="v1, corrected")
    second = client.get(emu.feed_url("blog"), headers={"If-None-Match": first.headers["ETag"]})
    assert second.status_code == 200 and second.headers["ETag"] != first.headers["ETag"]
    (entry,) = feedparser.parse(second.content).entries
    assert entry.id == "tag:blog,2025:1" and entry.summary == "v1, corrected" and entry.updated > entry.published


def test_rss_item_without_guid_and_malformed_feeds(emu, client):
    emu.feeds.add_feed("b", kind="rss2")
    emu.feeds.add_entry("b", None, title="Only a link", link="https://example.org/a")
    emu.feeds.add_entry("b", "g2", title="Second", link="https://example.org/b")
    assert "guid" not in feedparser.parse(client.get(emu.feed_url("b")).content).entries[1]
    for how in ("entity", "tag", "cut"):
        emu.feeds.break_feed("b", how)
        parsed = feedparser.parse(client.get(emu.feed_url("b")).content)
        assert parsed.bozo, how
        assert parsed.entries, how  # parsed as far as possible
    emu.feeds.break_feed("b", None)
    assert not feedparser.parse(client.get(emu.feed_url("b")).content).bozo
    bomb = b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><rss><channel>&b;</channel></rss>'
    emu.feeds.set_raw("b", bomb, "application/xml")
    raw = client.get(emu.feed_url("b"))
    assert raw.content == bomb and raw.headers["Content-Type"] == "application/xml"
    assert client.get(emu.feed_url("nope")).status_code == 404


# -- ModelScope ---------------------------------------------------------------------------------------------


@pytest.fixture
def ms(emu, client):
    base = emu.endpoints()["modelscope"]

    def call(method, path, **kw):
        return client.request(method, base + path, **kw)

    return call


# What modelscope.hub.info.ModelInfo pops from `Data` (PascalCase).
MODELINFO_KEYS = {"Id", "Name", "ChineseName", "Visibility", "IsPublished", "IsOnline", "AlreadyStar",
                  "Description", "License", "Downloads", "Stars", "CreatedTime", "LastUpdatedTime", "Architectures",
                  "ModelType", "Tasks", "ReadMeContent", "Organization", "CreatedBy", "IsCertification",
                  "ApprovalMode", "CardReady", "BackendSupport", "ModelInfos", "Tags", "IsAccessible", "Revision",
                  "RelatedArxivId", "RelatedPaper"}


def _is_ok(body) -> bool:  # modelscope/hub/errors.py
    return body["Code"] == 200 and body["Success"]


def test_modelscope_model_detail_envelope(emu, ms, clock):
    emu.modelscope.add_model("Qwen/Qwen3-8B", license="Apache License 2.0", chinese_name="通义千问3-8B",
                             arxiv=["2505.09388"], files={"LICENSE": "Apache License\n"})
    response = ms("GET", "/api/v1/models/Qwen/Qwen3-8B", params={"Revision": "master"})
    body = response.json()
    assert response.status_code == 200 and _is_ok(body)
    assert set(body) == {"Code", "Data", "Message", "RequestId", "Success"}
    data = body["Data"]
    assert MODELINFO_KEYS <= set(data)
    assert (data["Name"], data["Path"], data["License"], data["ChineseName"]) == (
        "Qwen3-8B", "Qwen", "Apache License 2.0", "通义千问3-8B")
    assert isinstance(data["CreatedTime"], int) and data["RelatedArxivId"] == ["2505.09388"]
    assert set(data["Organization"]) >= {"Id", "Name", "FullName", "GmtCreated", "GmtModified"}
    clock.advance(days=1)
    emu.modelscope.relicense("Qwen/Qwen3-8B", "MIT", license_text="MIT License\n")
    after = ms("GET", "/api/v1/models/Qwen/Qwen3-8B").json()["Data"]
    assert after["License"] == "MIT" and after["LastUpdatedTime"] == data["LastUpdatedTime"] + 86400
    files = ms("GET", "/api/v1/models/Qwen/Qwen3-8B/repo/files", params={"Recursive": "true"}).json()["Data"]["Files"]
    assert {"LICENSE", "README.md", "configuration.json"} <= {f["Path"] for f in files}
    raw = ms("GET", "/api/v1/models/Qwen/Qwen3-8B/repo", params={"Revision": "master", "FilePath": "LICENSE"})
    assert raw.content == b"MIT License\n"


def test_modelscope_listing_pages_with_page_number_and_size(emu, ms, clock):
    ids = []
    for i in range(23):
        clock.advance(minutes=1)
        ids.append(emu.modelscope.add_model(f"deepseek-ai/model-{i:02d}").model_id)
    emu.modelscope.add_model("Qwen/other")
    seen = []
    for page in (1, 2, 3, 4):
        body = ms("PUT", "/api/v1/models/", json={"Path": "deepseek-ai", "PageNumber": page, "PageSize": 10}).json()
        assert _is_ok(body) and body["Data"]["TotalCount"] == 23
        seen += [f"{m['Path']}/{m['Name']}" for m in body["Data"]["Models"]]
    assert sorted(seen) == sorted(ids) and len(seen) == 23
    nobody = ms("PUT", "/api/v1/models/", json={"Path": "nobody", "PageNumber": 1, "PageSize": 10}).json()
    assert _is_ok(nobody) and nobody["Data"] == {"Models": [], "TotalCount": 0}


def test_modelscope_missing_deleted_and_private_models(emu, ms):
    emu.modelscope.add_model("ZhipuAI/GLM-4.5", license="MIT")
    emu.modelscope.add_model("ZhipuAI/secret", private=True)
    missing = ms("GET", "/api/v1/models/ZhipuAI/nope")
    assert missing.status_code == 404 and missing.json()["Success"] is False and not _is_ok(missing.json())
    assert missing.json()["Message"] == "模型不存在"
    assert ms("GET", "/api/v1/models/ZhipuAI/secret").status_code == 404
    assert ms("GET", "/api/v1/models/ZhipuAI/secret", headers={"Cookie": "m_session_id=abc"}).status_code == 200
    emu.modelscope.delete("ZhipuAI/GLM-4.5")
    assert ms("GET", "/api/v1/models/ZhipuAI/GLM-4.5").status_code == 404
    listing = ms("PUT", "/api/v1/models/", json={"Path": "ZhipuAI", "PageNumber": 1, "PageSize": 10}).json()
    assert listing["Data"]["TotalCount"] == 0
    emu.modelscope.restore("ZhipuAI/GLM-4.5")
    emu.modelscope.missing_status = 200
    quiet = ms("GET", "/api/v1/models/ZhipuAI/nope")
    assert quiet.status_code == 200 and not _is_ok(quiet.json())


def test_modelscope_success_false_under_http_200(emu, ms):
    emu.modelscope.add_model("Qwen/Qwen3-8B")
    emu.faults.add(Fault.modelscope_error(r"^/modelscope/api/v1/models", times=1))
    refused = ms("PUT", "/api/v1/models/", json={"Path": "Qwen", "PageNumber": 1, "PageSize": 10})
    assert refused.status_code == 200 and refused.json()["Success"] is False and refused.json()["Data"] is None
    assert _is_ok(ms("PUT", "/api/v1/models/", json={"Path": "Qwen", "PageNumber": 1, "PageSize": 10}).json())
