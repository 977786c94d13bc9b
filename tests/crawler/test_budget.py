"""Rate-limit headers as the servers send them -> what is left of the quota."""

from __future__ import annotations

from tests.support.cli import ROOT

import json
from pathlib import Path

import pytest

from crawler.budget import Quota, github_quota, hf_bucket, hf_quota, quota


def test_hugging_face_ratelimit_and_policy_headers():
    headers = {"RateLimit": '"api";r=489;t=107', "RateLimit-Policy": '"fixed window";"api";q=500;w=300'}
    assert hf_quota(headers) == Quota("api", 489, 107.0, 500, 300.0)
    assert hf_quota({"ratelimit": '"resolvers";r=0;t=55'}) == Quota("resolvers", 0, 55.0)


SAMPLE = ROOT.parent / "shared" / "samples" / "github_releases_PyGithub_page1_Link_2022.json"


def test_github_headers():
    headers = {"x-ratelimit-limit": "5000", "x-ratelimit-remaining": "4991", "x-ratelimit-reset": "1700000600",
               "x-ratelimit-resource": "core"}
    assert github_quota(headers, now=1700000000.0) == Quota("core", 4991, 600.0, 5000, 3600.0)


@pytest.mark.skipif(not SAMPLE.exists(), reason="../shared/samples is not beside this checkout")
def test_github_headers_as_recorded():
    recorded = dict(json.loads(SAMPLE.read_text())["headers"])  # [name, value] pairs, as sent
    got = quota(recorded, now=float(recorded["X-RateLimit-Reset"]) - 1200)
    assert got == Quota(recorded.get("X-RateLimit-Resource", "core"), int(recorded["X-RateLimit-Remaining"]), 1200.0,
                        int(recorded["X-RateLimit-Limit"]), 3600.0)


@pytest.mark.parametrize("headers", [{}, {"RateLimit": "garbage"}, {"x-ratelimit-remaining": "x", "x-ratelimit-reset": "y"}])
def test_missing_or_garbled_headers_say_nothing(headers):
    assert quota(headers, now=0.0) is None


@pytest.mark.parametrize(("path", "bucket"), [("/api/models", "api"), ("/o/m/resolve/abc/LICENSE", "resolvers"),
                                              ("/o/m", "pages")])
def test_hub_buckets(path, bucket):
    assert hf_bucket(path) == bucket
