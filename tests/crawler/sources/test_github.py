"""GitHub parsing (crawler/sources/github.py): repos, releases (REST and Atom), paging, limits."""

from __future__ import annotations

import copy
import json
from datetime import datetime, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scrapy.http import Headers

from crawler.sources import github
from crawler.sources.feed import FeedError, NotAFeed
from crawler.sources.github import (
    GitHubParseError,
    ReleaseList,
    api_error,
    parse_link,
    parse_link_next,
    rate_limit_wait,
    release_fields,
    release_key,
    releases_from_api,
    releases_from_atom,
    repo_fields,
    repo_key,
    repos_from_listing,
)

SAMPLES = Path("/work/shared/samples")
OCTOKIT = json.loads((SAMPLES / "octokit_get-repository_raw-fixture.json").read_text())[0]
REPO = OCTOKIT["response"]
PYGITHUB = json.loads((SAMPLES / "github_releases_PyGithub_page1_Link_2022.json").read_text())
RELEASES = json.loads(PYGITHUB["body"])
HEADERS = PYGITHUB["headers"]  # a list of [name, value] pairs, as recorded
COMIXED = (SAMPLES / "github_releases_comixed.atom.xml").read_bytes()
REPO_KEYS = {
    "id", "full_name", "owner", "name", "url", "description", "archived", "disabled", "fork",
    "default_branch", "pushed_at", "created_at", "license", "license_name", "license_category",
    "license_spdx", "stars",
}
RELEASE_KEYS = {
    "repo", "repo_id", "id", "tag", "name", "published_at", "created_at", "updated_at", "prerelease",
    "draft", "url", "body_excerpt", "body", "body_truncated", "body_format", "author", "via",
}


def with_license(license_: object) -> dict:
    obj = copy.deepcopy(REPO)
    obj["license"] = license_
    return obj


# -- repos ------------------------------------------------------------------------------------


def test_repo_fields_of_the_octokit_recording():
    assert repo_fields(REPO) == {
        "id": 103703892,
        "full_name": "octokit-fixture-org/hello-world",
        "owner": "octokit-fixture-org",
        "name": "hello-world",
        "url": "https://github.com/octokit-fixture-org/hello-world",
        "description": None,
        "archived": False,
        "disabled": False,
        "fork": False,
        "default_branch": "master",
        "pushed_at": "2017-11-03T20:11:46.000000Z",
        "created_at": "2017-09-15T21:43:08.000000Z",
        # `license: null`: GitHub found no licence file; a known "unknown", not a missing field
        "license": "unknown",
        "license_name": "Unknown",
        "license_category": "unknown",
        "license_spdx": None,
        "stars": 0,
    }


@pytest.mark.parametrize(
    "license_, expected",
    [
        ({"key": "mit", "name": "MIT License", "spdx_id": "MIT"}, ("mit", "permissive", "MIT")),
        ({"key": "apache-2.0", "name": "Apache License 2.0", "spdx_id": "Apache-2.0"}, ("apache-2.0", "permissive", "Apache-2.0")),
        ({"key": "gpl-3.0", "name": "GNU General Public License v3.0", "spdx_id": "GPL-3.0"}, ("gpl-3.0", "copyleft", "GPL-3.0")),
        ({"key": "agpl-3.0", "name": "GNU Affero General Public License v3.0", "spdx_id": "AGPL-3.0"}, ("agpl-3.0", "copyleft", "AGPL-3.0")),
        ({"key": "cc-by-nc-4.0", "name": "Creative Commons Attribution Non Commercial 4.0", "spdx_id": "CC-BY-NC-4.0"},
         ("cc-by-nc-4.0", "non-commercial", "CC-BY-NC-4.0")),
        # a licence file GitHub cannot identify: unknown
        ({"key": "other", "name": "Other", "spdx_id": "NOASSERTION", "url": None}, ("other", "unknown", "NOASSERTION")),
        ({"key": "mit", "name": "MIT License"}, ("mit", "permissive", None)),  # no spdx_id: the key
        (None, ("unknown", "unknown", None)),
        ({}, ("unknown", "unknown", None)),
    ],
)
def test_repo_licence_normalised(license_, expected):
    fields = repo_fields(with_license(license_))
    assert (fields["license"], fields["license_category"], fields["license_spdx"]) == expected


@pytest.mark.parametrize("license_", ["MIT", 3, ["mit"], True])
def test_a_licence_of_the_wrong_type_is_not_known(license_):
    fields = repo_fields(with_license(license_))
    assert [fields[k] for k in ("license", "license_name", "license_category", "license_spdx")] == [None] * 4


def test_fields_the_answer_does_not_carry_are_none():
    fields = repo_fields({"full_name": "a/b"})
    assert set(fields) == REPO_KEYS
    assert fields == {k: None for k in REPO_KEYS} | {"full_name": "a/b", "owner": "a", "name": "b"}


def test_archived_and_stars():
    obj = copy.deepcopy(REPO) | {"archived": True, "stargazers_count": 4200}
    fields = repo_fields(obj)
    assert (fields["archived"], fields["stars"]) == (True, 4200)
    assert github.REPO_COUNTERS == ("stars",)


@pytest.mark.parametrize("value", ["true", 1, None])
def test_flags_are_bools_or_unknown(value):
    assert repo_fields(copy.deepcopy(REPO) | {"archived": value})["archived"] is None


@pytest.mark.parametrize(
    "obj, message",
    [
        ({"message": "Not Found", "documentation_url": "https://docs.github.com/rest"}, "not a repo object: Not Found"),
        ({"message": "API rate limit exceeded for 1.2.3.4."}, "not a repo object: API rate limit exceeded for 1.2.3.4."),
        ({}, "not a repo object (no full_name)"),
        ([], "a repo is a JSON object, not list"),
        ("<html>", "a repo is a JSON object, not str"),
    ],
)
def test_not_a_repo(obj, message):
    with pytest.raises(GitHubParseError) as info:
        repo_fields(obj)
    assert str(info.value) == message


def test_repos_from_listing_skips_what_is_not_a_repo():
    second = copy.deepcopy(REPO) | {"id": 2, "name": "two", "full_name": "octokit-fixture-org/two"}
    assert [r["full_name"] for r in repos_from_listing([REPO, 42, {"x": 1}, second])] == [
        "octokit-fixture-org/hello-world", "octokit-fixture-org/two"]
    with pytest.raises(GitHubParseError, match="Not Found"):
        repos_from_listing({"message": "Not Found"})


def test_api_error():
    assert api_error({"message": "Bad credentials"}) == "Bad credentials"
    assert api_error([1]) is None and api_error({"message": 3}) is None


# -- releases: REST ---------------------------------------------------------------------------


def test_release_fields_of_the_pygithub_recording():
    release = release_fields(RELEASES[0], "PyGithub/PyGithub")
    assert {k: v for k, v in release.items() if k not in ("body", "body_excerpt")} == {
        "repo": "PyGithub/PyGithub",
        "repo_id": None,
        "id": 41982557,
        "tag": "v1.55",
        "name": None,  # "" in the answer: GitHub shows the tag
        "published_at": "2021-04-26T04:44:57.000000Z",
        "created_at": "2021-04-26T04:43:40.000000Z",
        "updated_at": None,
        "prerelease": False,
        "draft": False,
        "url": "https://github.com/PyGithub/PyGithub/releases/tag/v1.55",
        "body_truncated": False,
        "body_format": "markdown",
        "author": "s-t-e-v-e-n-k",
        "via": "api",
    }
    assert release["body"] == RELEASES[0]["body"]  # as sent, \r\n and all
    assert release["body_excerpt"].startswith("**Breaking Changes** * Remove client_id/client_secret authentication (#1888)")


def test_every_release_of_the_page():
    releases = releases_from_api(RELEASES, "PyGithub/PyGithub")
    assert len(releases) == 10
    assert all(set(r) == RELEASE_KEYS for r in releases)
    assert releases[0]["tag"] == "v1.55"
    assert len({r["tag"] for r in releases}) == 10


def test_body_excerpt_whole_words_and_body_cap():
    body = ("lorem ipsum " * 10_000) + "END"
    release = release_fields(RELEASES[0] | {"body": body}, "a/b")
    excerpt = release["body_excerpt"]
    assert len(excerpt) <= github.EXCERPT_CHARS and excerpt.endswith("…")
    assert excerpt[:-1].rstrip().split(" ")[-1] in ("lorem", "ipsum")
    assert release["body"] == body[: github.MAX_BODY] and release["body_truncated"] is True
    short = release_fields(RELEASES[0] | {"body": "Fixes.\r\n\r\n* one"}, "a/b")
    assert (short["body_excerpt"], short["body_truncated"]) == ("Fixes. * one", False)


def test_a_release_without_body_or_author():
    release = release_fields({"tag_name": "v1", "body": None, "author": None}, "a/b")
    assert (release["body"], release["body_excerpt"], release["author"], release["prerelease"]) == (None, None, None, None)


@pytest.mark.parametrize("obj", [{"name": "no tag"}, {"tag_name": ""}, {"tag_name": "   "}, {"tag_name": 5}, [], None])
def test_a_release_without_a_tag_is_refused(obj):
    with pytest.raises(GitHubParseError):
        release_fields(obj, "a/b")


def test_releases_from_api_refuses_an_error_body_and_skips_bad_items():
    with pytest.raises(GitHubParseError, match="Not Found"):
        releases_from_api({"message": "Not Found"}, "a/b")
    assert [r["tag"] for r in releases_from_api([{"tag_name": "v2"}, "x", {"tag_name": "v2"}, {"tag_name": "v1"}], "a/b")] == ["v2", "v1"]


@pytest.mark.parametrize("repo", ["", "a", "a/", "/b", None, "a/b/c"])
def test_release_needs_owner_slash_repo(repo):
    with pytest.raises(ValueError):
        release_fields({"tag_name": "v1"}, repo)


# -- releases: Atom ---------------------------------------------------------------------------


def test_releases_from_the_comixed_atom_feed():
    releases = releases_from_atom(COMIXED, "comixed/comixed")
    assert isinstance(releases, ReleaseList) and releases.bozo is None
    first, second = releases
    assert {k: v for k, v in first.items() if k not in ("body", "body_excerpt")} == {
        "repo": "comixed/comixed",
        "repo_id": 222923662,
        "id": None,
        "tag": "v1.0.3-1",
        "name": "Changes For 1.0.3-1",
        "published_at": None,  # the feed has no <published>: unknown, not invented
        "created_at": None,
        "updated_at": "2022-05-07T15:48:02.000000Z",  # -04:00 in the feed
        "prerelease": None,  # no flag in the feed: unknown, never False
        "draft": None,
        "url": "https://github.com/comixed/comixed/releases/tag/v1.0.3-1",
        "body_truncated": False,
        "body_format": "html",
        "author": "github-actions[bot]",
        "via": "atom",
    }
    assert first["body"].startswith('<h2>Commits</h2>\n<ul>\n<li><a class="commit-link"')
    assert first["body_excerpt"].startswith("Commits c9a584e: Fixed sorting and archive filters in collections [#1239]")
    assert second["tag"] == "v1.0.2-1"
    assert set(first) == RELEASE_KEYS


def atom_entry(entry_id: str, link: str, title: str = "t") -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?><feed xmlns="http://www.w3.org/2005/Atom"><id>x</id><title>r</title>'
        f'<entry><id>{entry_id}</id><updated>2024-01-01T00:00:00Z</updated><link rel="alternate" type="text/html" href="{link}"/>'
        f"<title>{title}</title><content type=\"html\">&lt;p&gt;b&lt;/p&gt;</content></entry></feed>"
    ).encode()


@pytest.mark.parametrize(
    "entry_id, link, tag, repo_id",
    [
        ("tag:github.com,2008:Repository/1/release/2.0", "https://github.com/o/r/releases/tag/release%2F2.0", "release/2.0", 1),
        ("urn:other", "https://github.com/o/r/releases/tag/v1.0%2Bbuild", "v1.0+build", None),
        ("urn:other", "https://github.com/o/r/releases/tag/%E2%80%AEgnp.exe?x=1#y", "\u202egnp.exe", None),
    ],
)
def test_atom_tag_from_the_entry_id_or_the_link(entry_id, link, tag, repo_id):
    (release,) = releases_from_atom(atom_entry(entry_id, link), "o/r")
    assert (release["tag"], release["repo_id"]) == (tag, repo_id)
    assert release_key("o", "r", release["tag"]) == f"release:github/o/r/{tag}"


def test_an_atom_entry_naming_no_tag_is_skipped_and_reported():
    releases = releases_from_atom(atom_entry("urn:x", "https://github.com/o/r/commits"), "o/r")
    assert list(releases) == [] and releases.bozo == "1 entries name no release tag"


def test_atom_that_is_not_a_feed():
    with pytest.raises(NotAFeed):
        releases_from_atom(b"<html><body>Rate limited</body></html>", "o/r", "text/html")


def test_a_cut_off_atom_feed_is_partial():
    releases = releases_from_atom(COMIXED[: COMIXED.index(b"v1.0.2-1") + 200], "comixed/comixed")
    assert [r["tag"] for r in releases] == ["v1.0.3-1", "v1.0.2-1"]
    assert releases.bozo is not None


# -- paging -----------------------------------------------------------------------------------

LINK = dict(HEADERS)["Link"]


def test_link_next_of_the_recorded_page():
    assert parse_link_next(LINK) == "https://api.github.com/repositories/3544490/releases?per_page=10&page=2"
    assert parse_link(LINK) == {
        "next": "https://api.github.com/repositories/3544490/releases?per_page=10&page=2",
        "last": "https://api.github.com/repositories/3544490/releases?per_page=10&page=3",
    }


@pytest.mark.parametrize(
    "header, expected",
    [
        ('<https://api.github.com/x?page=1>; rel="prev", <https://api.github.com/x?page=1>; rel="first"', None),
        ("<https://a/x?page=2>; rel=next", "https://a/x?page=2"),
        ('<https://a/x?page=2>; rel="next last"', "https://a/x?page=2"),
        ('<https://a/x?page=2>; title="a, b"; REL="Next"', "https://a/x?page=2"),
        (b'<https://a/x?page=2>; rel="next"', "https://a/x?page=2"),
        (['<https://a/x?page=1>; rel="prev"', '<https://a/x?page=3>; rel="next"'], "https://a/x?page=3"),
        ("", None),
        (None, None),
        ("garbage <<<>>> ;;; rel=", None),
        ("<>; rel=next", None),
        ("<" * 100_000, None),
    ],
)
def test_parse_link_next(header, expected):
    assert parse_link_next(header) == expected


# -- rate limits ------------------------------------------------------------------------------

RESET = 1641832874  # the recording's x-ratelimit-reset


def exhausted(headers: list) -> list:
    return [[k, "0"] if k == "X-RateLimit-Remaining" else [k, v] for k, v in headers]


@pytest.mark.parametrize(
    "status, headers, now, body, wait",
    [
        (200, HEADERS, RESET - 100, None, None),
        (403, HEADERS, RESET - 100, None, None),  # remaining 4639: a plain 403 (no access)
        (403, exhausted(HEADERS), RESET - 100, None, 100.0),
        (429, exhausted(HEADERS), RESET - 100, None, 100.0),
        (403, exhausted(HEADERS), RESET + 5, None, 0.0),  # reset already passed
        (403, {"x-ratelimit-remaining": "0"}, 0, None, 60.0),  # no reset: a minute
        (429, {"Retry-After": "30"}, 0, None, 30.0),
        (403, {"retry-after": "7", "x-ratelimit-remaining": "0", "x-ratelimit-reset": "999"}, 0, None, 7.0),
        (429, {"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}, datetime(2015, 10, 21, 7, 27, 30, tzinfo=timezone.utc), None, 30.0),
        (429, {"Retry-After": "soon"}, 0, None, 60.0),
        (429, {}, 0, None, 60.0),  # a secondary limit without headers: at least a minute
        (403, {}, 0, b'{"message": "You have exceeded a secondary rate limit."}', 60.0),
        (403, {}, 0, "API rate limit exceeded for 1.2.3.4.", 60.0),
        (403, {}, 0, b'{"message": "Resource not accessible"}', None),
        (500, {"Retry-After": "5"}, 0, None, None),
    ],
)
def test_rate_limit_wait(status, headers, now, body, wait):
    assert rate_limit_wait(status, headers, now, body) == wait


def test_rate_limit_wait_reads_scrapy_headers():
    headers = Headers({"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(RESET)})
    assert rate_limit_wait(403, headers, RESET - 42.5) == 42.5
    assert rate_limit_wait(403, {b"x-ratelimit-remaining": [b"0"], b"x-ratelimit-reset": [b"10"]}, 4) == 6.0


@pytest.mark.parametrize("headers", [None, 5, "x", [("a",)], {"x-ratelimit-reset": "1e99", "x-ratelimit-remaining": "0"}])
def test_odd_headers_are_no_crash(headers):
    assert rate_limit_wait(403, headers, 0) in (None, 60.0)


# -- keys and hostile content -----------------------------------------------------------------


def test_keys():
    assert repo_key("deepseek-ai", "DeepSeek-V3") == "repo:github/deepseek-ai/DeepSeek-V3"
    assert release_key("openai", "gpt-oss", "v0.1/rc 1") == "release:github/openai/gpt-oss/v0.1/rc 1"
    for bad in (("", "r"), ("o", ""), ("o/x", "r"), (None, "r")):
        with pytest.raises(ValueError):
            repo_key(*bad)
    with pytest.raises(ValueError):
        release_key("o", "r", "")


HOSTILE = [
    "<!channel> <@U123> <https://evil.example|click>",
    "<script>alert(1)</script>",
    "a\x00b",
    "right\u202eleft",
    "**md** [x](javascript:alert(1))",
    "<![CDATA[x]]>",
]


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_release_text_survives(value):
    release = release_fields({"tag_name": value, "name": value, "body": value}, "a/b")
    assert release["tag"] == release["name"] == release["body"] == value
    assert repo_fields({"full_name": "a/b", "description": value})["description"] == value


def test_lone_surrogates_become_replacement_characters():
    release = release_fields({"tag_name": "v\ud800", "body": "x\udfffy"}, "a/b")
    assert (release["tag"], release["body"]) == ("v\ufffd", "x\ufffdy")
    release["body"].encode("utf-8")


def test_200kb_strings_are_capped():
    big = "x" * 200_000
    release = release_fields({"tag_name": big, "name": big, "body": big}, "a/b")
    assert (len(release["tag"]), len(release["name"]), len(release["body"])) == (github.MAX_TAG, github.MAX_TEXT, github.MAX_BODY)
    assert len(repo_fields({"full_name": "a/b", "description": big})["description"]) == github.MAX_TEXT


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=15), children, max_size=5),
    max_leaves=30,
)
REPO_LIKE = st.fixed_dictionaries(
    {}, optional={k: JSON for k in ("id", "full_name", "name", "owner", "license", "archived", "pushed_at", "stargazers_count", "description")}
)


@settings(max_examples=300, deadline=None)
@given(st.one_of(JSON, REPO_LIKE))
def test_any_json_gives_fields_or_a_github_error(obj):
    for call in (repo_fields, lambda o: release_fields(o, "a/b"), lambda o: releases_from_api(o, "a/b"), repos_from_listing):
        try:
            out = call(obj)
        except GitHubParseError:
            continue
        for fields in out if isinstance(out, list) else [out]:
            assert set(fields) in (REPO_KEYS, RELEASE_KEYS)
            for key in ("pushed_at", "created_at", "published_at"):
                assert fields.get(key) is None or fields[key].endswith("Z")


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2000))
def test_any_bytes_as_atom_give_releases_or_a_feed_error(data):
    try:
        releases = releases_from_atom(data, "o/r")
    except FeedError:
        return
    assert all(set(r) == RELEASE_KEYS and r["tag"] for r in releases)
