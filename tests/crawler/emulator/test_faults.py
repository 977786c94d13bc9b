"""Every fault kind on every service of the emulator, over real HTTP; the request log's
service, bucket and timing fields; the standalone emulator with the demo world."""

from __future__ import annotations

import json
import subprocess
import sys
from xml.etree import ElementTree

import httpx
import pytest

from crawler.emulator import Fault, HubEmulator

# (service, method, path, JSON body, kind of document answered)
ENDPOINTS = [
    ("huggingface", "GET", "/api/models?author=org", None, "json"),
    ("huggingface", "GET", "/api/daily_papers", None, "json"),
    ("github_api", "GET", "/github-api/repos/org/repo/releases", None, "json"),
    ("github", "GET", "/github/org/repo/releases.atom", None, "xml"),
    ("arxiv", "GET", "/arxiv/api/query?search_query=all:open", None, "xml"),
    ("modelscope", "PUT", "/modelscope/api/v1/models/", {"Path": "org", "PageNumber": 1, "PageSize": 10}, "json"),
    ("feeds", "GET", "/feeds/blog", None, "xml"),
]
IDS = [f"{service}:{path.split('?')[0]}" for service, _, path, _, _ in ENDPOINTS]


@pytest.fixture
def emu():
    with HubEmulator() as emulator:
        emulator.world.populate(3, "org")
        emulator.world.add_daily_paper("2501.12948", title="DeepSeek-R1", upvotes=3)
        emulator.github.add_repo("org/repo")
        emulator.github.populate_releases("org/repo", 3)
        emulator.arxiv.add_paper("2501.00656", title="2 OLMo 2 Furious", abstract="Fully open models.")
        emulator.modelscope.add_model("org/model")
        emulator.feeds.add_feed("blog")
        emulator.feeds.add_entry("blog", "post-1", title="Hello", link="https://example.org/1")
        yield emulator


@pytest.fixture
def call(emu):
    client = httpx.Client(base_url=emu.url, trust_env=False, timeout=10)

    def request(method, path, body, **kwargs):
        return client.request(method, path, json=body, **kwargs)

    yield request
    client.close()


def _parse(kind: str, content: bytes):
    return json.loads(content) if kind == "json" else ElementTree.fromstring(content)


@pytest.mark.parametrize("service, method, path, body, kind", ENDPOINTS, ids=IDS)
def test_clean_answers_parse_and_are_logged_per_service(emu, call, service, method, path, body, kind):
    response = call(method, path, body)
    assert response.status_code == 200
    _parse(kind, response.content)
    (logged,) = emu.requests.log
    assert (logged.service, logged.method, logged.path, logged.status) == (service, method, path, 200)
    assert logged.connection.startswith("127.0.0.1:")


@pytest.mark.parametrize("service, method, path, body, kind", ENDPOINTS, ids=IDS)
def test_status_faults_answer_in_the_service_format(emu, call, service, method, path, body, kind):
    emu.faults.add(Fault(path.split("?")[0], status=503, times=1))
    failed = call(method, path, body)
    assert failed.status_code == 503
    assert call(method, path, body).status_code == 200  # spent after one
    if service == "github_api":
        assert failed.json()["message"] and "X-RateLimit-Remaining" in failed.headers
    if service == "huggingface":
        assert "error" in failed.json() and failed.headers["RateLimit"].startswith('"api";')
    if service == "modelscope":
        assert failed.json()["Success"] is False


@pytest.mark.parametrize("service, method, path, body, kind", ENDPOINTS, ids=IDS)
def test_connection_reset(emu, call, service, method, path, body, kind):
    emu.faults.add(Fault.connection_reset(path.split("?")[0], times=1))
    with pytest.raises((httpx.ReadError, httpx.RemoteProtocolError)):
        call(method, path, body)
    assert call(method, path, body).status_code == 200
    assert [r.status for r in emu.requests.log] == [0, 200]


@pytest.mark.parametrize("service, method, path, body, kind", ENDPOINTS, ids=IDS)
def test_html_error_page_with_status_200(emu, call, service, method, path, body, kind):
    emu.faults.add(Fault.html_error_page(path.split("?")[0], times=1))
    response = call(method, path, body)
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/html")
    assert b"<h1>503 Service Temporarily Unavailable</h1>" in response.content
    if kind == "json":
        with pytest.raises(ValueError):
            response.json()


def test_invalid_json(emu, call):
    emu.faults.add(Fault.invalid_json(r"^/api/models\?", times=1))
    response = call("GET", "/api/models?author=org", None)
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("application/json")
    with pytest.raises(ValueError):
        response.json()


@pytest.mark.parametrize("service, method, path, body, kind", ENDPOINTS, ids=IDS)
def test_redirect_loop(emu, call, service, method, path, body, kind):
    emu.faults.add(Fault.looping_redirect(path.split("?")[0]))
    with pytest.raises(httpx.TooManyRedirects):
        call(method, path, body, follow_redirects=True)
    first = emu.requests.log[0]
    assert first.status == 302


@pytest.mark.parametrize("service, method, path, body, kind", ENDPOINTS, ids=IDS)
def test_oversized_answer_is_still_a_valid_document(emu, call, service, method, path, body, kind):
    emu.faults.add(Fault.oversized(path.split("?")[0], times=1))
    response = call(method, path, body)
    assert response.status_code == 200 and len(response.content) == 10 * 1024 * 1024
    _parse(kind, response.content)


@pytest.mark.parametrize("service, method, path, body, kind", ENDPOINTS, ids=IDS)
def test_body_cut_mid_document_with_an_honest_length(emu, call, service, method, path, body, kind):
    whole = call(method, path, body).content
    emu.faults.add(Fault.cut_body(path.split("?")[0], 0.5, times=1))
    response = call(method, path, body)
    assert response.status_code == 200 and 0 < len(response.content) < len(whole)
    with pytest.raises((ValueError, ElementTree.ParseError)):
        _parse(kind, response.content)


@pytest.mark.parametrize("service, method, path, body, kind", ENDPOINTS, ids=IDS)
def test_truncated_connection_is_a_protocol_error(emu, call, service, method, path, body, kind):
    emu.faults.add(Fault.truncated(path.split("?")[0], times=1))
    with pytest.raises(httpx.RemoteProtocolError):
        call(method, path, body)
    assert call(method, path, body).status_code == 200


@pytest.mark.parametrize("service, method, path, body, kind", ENDPOINTS, ids=IDS)
def test_read_timeout(emu, service, method, path, body, kind):
    emu.faults.add(Fault.slow(path.split("?")[0], seconds=0.5, times=1))
    with httpx.Client(base_url=emu.url, trust_env=False, timeout=0.1) as impatient:
        with pytest.raises(httpx.ReadTimeout):
            impatient.request(method, path, json=body)


@pytest.mark.parametrize("service, method, path, body, kind", ENDPOINTS, ids=IDS)
def test_empty_answers(emu, call, service, method, path, body, kind):
    emu.faults.add(Fault.empty_listing(path.split("?")[0], times=1))
    response = call(method, path, body)
    assert response.status_code == 200
    document = _parse(kind, response.content)
    if service in ("huggingface", "github_api"):
        assert document == []
    elif service == "modelscope":
        assert document["Success"] is True and document["Data"] == {"Models": [], "TotalCount": 0}
    else:
        assert not [e for e in document.iter() if e.tag.rsplit("}", 1)[-1] in ("entry", "item")]
    if service == "arxiv":  # arXiv's flake: the total says there are papers, the page has none
        total = document.find("{http://a9.com/-/spec/opensearch/1.1/}totalResults").text
        assert total == "1"


def test_github_rate_limited_fault_and_hf_429(emu, call):
    emu.faults.add(Fault.github_rate_limited(r"^/github-api/", reset_in=120, times=1))
    emu.faults.add(Fault.rate_limited(r"^/api/models", t=7, times=1))
    refused = call("GET", "/github-api/repos/org/repo", None)
    assert refused.status_code == 403 and refused.headers["X-RateLimit-Remaining"] == "0"
    assert refused.json()["message"].startswith("API rate limit exceeded")
    hf = call("GET", "/api/models?author=org", None)
    assert (hf.status_code, hf.headers["RateLimit"], hf.headers["Retry-After"]) == (429, '"api";r=0;t=7', "7")


def test_arxiv_error_fault(emu, call):
    emu.faults.add(Fault.arxiv_error(r"^/arxiv/api/query", times=1))
    response = call("GET", "/arxiv/api/query?search_query=all:open", None)
    assert response.status_code == 400 and b"<title>Error</title>" in response.content


def test_faults_match_the_path_with_its_service_prefix(emu, call):
    emu.faults.add(Fault(r"^/github-api/", status=500))
    assert call("GET", "/github-api/repos/org/repo", None).status_code == 500
    assert call("GET", "/github/org/repo/releases.atom", None).status_code == 200
    assert call("GET", "/api/models?author=org", None).status_code == 200


def test_log_records_buckets_and_counts_per_service(emu, call):
    call("GET", "/api/models?author=org", None)
    call("GET", f"/{emu.world.model_ids('org')[0]}/resolve/main/README.md", None)
    call("GET", "/github-api/repos/org/repo", None)
    call("GET", "/github-api/rate_limit", None)
    call("GET", "/arxiv/api/query?search_query=all:x", None)
    assert [(r.service, r.bucket) for r in emu.requests.log] == [
        ("huggingface", "api"), ("huggingface", "resolvers"), ("github_api", "core"), ("github_api", None),
        ("arxiv", None)]
    assert emu.requests.count(service="github_api") == 2 and emu.requests.count("/arxiv/") == 1
    assert emu.requests.count(service="huggingface", bucket="api") == 1
    method, path, status, headers = emu.requests.log[0]  # old callers unpack four fields
    assert (method, status) == ("GET", 200) and "Host" in headers
    times = emu.requests.times()
    assert times == sorted(times) and len(emu.requests.gaps()) == 4


def test_standalone_module_serves_the_demo_world_of_every_service():
    proc = subprocess.Popen([sys.executable, "-m", "crawler.emulator", "--port", "0", "--demo",
                             "--populate-releases", "org/many:40", "--populate-papers", "12"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        with httpx.Client(trust_env=False, timeout=10) as c:
            assert c.get(f"{url}/github-api/repos/openai/gpt-oss/releases").json()[0]["tag_name"]
            assert len(c.get(f"{url}/github-api/repos/org/many/releases", params={"per_page": 100}).json()) == 40
            assert b"2501.12948" in c.get(f"{url}/arxiv/api/query", params={"id_list": "2501.12948"}).content
            assert c.get(f"{url}/api/daily_papers").json()
            assert c.get(f"{url}/modelscope/api/v1/models/Qwen/Qwen3-8B").json()["Success"] is True
            assert c.get(f"{url}/feeds/golem").headers["Content-Type"].endswith("charset=iso-8859-1")
            assert c.get(f"{url}/api/models/deepseek-ai/DeepSeek-R1").json()["id"] == "deepseek-ai/DeepSeek-R1"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    endpoints = json.loads(proc.stderr.read().strip().splitlines()[-1])
    assert endpoints["github_api"] == f"{url}/github-api"
