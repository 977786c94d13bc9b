"""The hub emulator against real HTTP on loopback: the Hub's shapes, errors, faults, threads."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone

import httpx
import pytest

from crawler.emulator import SENTINEL_CREATED_AT, Fault, HubEmulator, HubWorld, apply_demo_changes, seed_demo_world
from crawler.emulator.cards import parse_front_matter, render_front_matter, split_readme
from crawler.emulator.hf_api import EXPAND_PROPERTIES
from crawler.emulator.world import git_blob_sha1

T0 = datetime(2025, 1, 1, 12, 0, tzinfo=timezone.utc)
TOKEN = {"Authorization": "Bearer hf_test"}


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch):
    import os

    for name in list(os.environ):
        if name.startswith(("HF_", "HUGGINGFACE_", "GITHUB_", "SLACK_", "SMTP_")) or name.lower().endswith("_proxy"):
            monkeypatch.delenv(name, raising=False)




def list_all(client, params, headers=None):
    """Follow Link rel=next like huggingface_hub's paginate; (models, pages, responses)."""
    out, responses = [], []
    response = client.get("/api/models", params=params, headers=headers)
    while True:
        assert response.status_code == 200, response.text
        responses.append(response)
        out.extend(response.json())
        nxt = response.links.get("next", {}).get("url")
        if not nxt:
            return out, responses
        response = client.get(nxt, headers=headers)


# -- listing ------------------------------------------------------------------------------------


def test_pagination_follows_link_cursors_and_covers_every_model_once(emu, client, world):
    ids = world.populate(237, "deepseek-ai", seed=1)
    world.populate(30, "Qwen")
    models, responses = list_all(client, {"author": "deepseek-ai", "limit": 20, "expand[]": "sha"})
    got = [m["id"] for m in models]
    assert got == ids  # creation order, each exactly once
    assert len(responses) == 12
    first_link = responses[0].headers["Link"]
    assert first_link.startswith(f"<{emu.url}/api/models?author=deepseek-ai&limit=20&expand%5B%5D=sha&cursor=")
    assert first_link.endswith('>; rel="next"')
    assert all(set(m) == {"_id", "id", "sha"} for m in models)  # params carried to every page
    assert "Link" not in responses[-1].headers


def test_limit_is_capped_by_page_size(emu, client, world):
    world.populate(120, "Qwen")
    response = client.get("/api/models", params={"author": "Qwen", "limit": 1000})
    assert len(response.json()) == 50
    emu.page_size = 7
    assert len(client.get("/api/models", params={"author": "Qwen"}).json()) == 7


def test_unknown_author_is_an_empty_list(client, world):
    world.populate(3, "Qwen")
    response = client.get("/api/models", params={"author": "no-such-org"})
    assert response.status_code == 200
    assert response.json() == []
    assert "Link" not in response.headers


def test_default_listing_row_is_the_short_form(client, world):
    world.add_model("deepseek-ai/DeepSeek-R1", license="mit", likes=7, downloads=99, arxiv=["2501.12948"],
                    created_at=datetime(2025, 1, 20, 3, 46, 7, tzinfo=timezone.utc))
    (row,) = client.get("/api/models", params={"author": "deepseek-ai"}).json()
    assert list(row) == ["_id", "id", "likes", "trendingScore", "private", "downloads", "tags", "pipeline_tag",
                         "library_name", "createdAt", "modelId"]
    assert row["id"] == row["modelId"] == "deepseek-ai/DeepSeek-R1"
    assert row["createdAt"] == "2025-01-20T03:46:07.000Z"
    assert len(row["_id"]) == 24
    assert {"license:mit", "arxiv:2501.12948", "region:us", "text-generation", "transformers"} <= set(row["tags"])


def test_expand_returns_only_the_listed_keys_plus_ids(client, world):
    world.add_model("meta-llama/Llama-3.1-8B", license="llama3.1", gated="manual", parameters=8_030_261_248)
    for params in ({"expand[]": ["gated", "cardData", "safetensors"]}, {"expand": ["gated", "cardData", "safetensors"]}):
        (row,) = client.get("/api/models", params={"author": "meta-llama", **params}).json()
        assert set(row) == {"_id", "id", "gated", "cardData", "safetensors"}
        assert row["gated"] == "manual"
        assert row["cardData"]["license"] == "llama3.1"
        assert row["safetensors"] == {"parameters": {"BF16": 8_030_261_248}, "total": 8_030_261_248}


def test_unknown_expand_property_is_refused(client, world):
    world.add_model("org/m")
    response = client.get("/api/models", params={"author": "org", "expand[]": "licence"})
    assert response.status_code == 400
    assert "expand" in response.json()["error"]
    assert "xetEnabled" in EXPAND_PROPERTIES  # the huggingface_hub list, not a guess


def test_full_and_card_data_flags(client, world):
    world.add_model("org/m", license="mit")
    (row,) = client.get("/api/models", params={"author": "org", "full": "true", "cardData": "true"}).json()
    assert {"sha", "lastModified", "siblings", "gated", "author", "cardData"} <= set(row)
    assert {"rfilename": "README.md"} in row["siblings"]


def test_sorted_listing_pages_without_overlap(client, world):
    ids = world.populate(130, "org")
    models, _ = list_all(client, {"author": "org", "sort": "downloads", "limit": 25})
    assert sorted(m["id"] for m in models) == sorted(ids)
    downloads = [world.get(m["id"]).downloads for m in models]
    assert downloads == sorted(downloads, reverse=True)
    ascending, _ = list_all(client, {"author": "org", "sort": "downloads", "direction": "1", "limit": 25})
    assert [world.get(m["id"]).downloads for m in ascending] == sorted(downloads)


def test_bad_cursor_is_a_400(client, world):
    world.add_model("org/m")
    assert client.get("/api/models", params={"author": "org", "cursor": "garbage!"}).status_code == 400


# -- model info, visibility, not found ----------------------------------------------------------


def test_model_info_is_the_full_object(client, world):
    world.add_model("allenai/OLMo-2-1124-7B", license="apache-2.0", base_model="allenai/OLMo-2-1124-7B-base",
                    datasets=["allenai/olmo-mix-1124"], card_extra={"language": ["en"]}, parameters=7_298_011_136)
    info = client.get("/api/models/allenai/OLMo-2-1124-7B").json()
    assert info["sha"] == world.get("allenai/OLMo-2-1124-7B").sha
    assert info["author"] == "allenai"
    assert info["gated"] is False and info["private"] is False and info["disabled"] is False
    assert info["lastModified"] == "2025-01-01T12:00:00.000Z"
    assert info["cardData"] == {"license": "apache-2.0", "base_model": "allenai/OLMo-2-1124-7B-base",
                                "datasets": ["allenai/olmo-mix-1124"], "pipeline_tag": "text-generation",
                                "library_name": "transformers", "language": ["en"]}
    assert [s["rfilename"] for s in info["siblings"]] == ["README.md", "config.json"]
    assert "base_model:allenai/OLMo-2-1124-7B-base" in info["tags"]
    assert "dataset:allenai/olmo-mix-1124" in info["tags"]
    assert info["safetensors"]["total"] == 7_298_011_136
    only = client.get("/api/models/allenai/OLMo-2-1124-7B", params={"expand[]": "sha"}).json()
    assert set(only) == {"_id", "id", "sha"}
    blobs = client.get("/api/models/allenai/OLMo-2-1124-7B", params={"blobs": "true"}).json()
    readme = world.get("allenai/OLMo-2-1124-7B").files["README.md"]
    assert blobs["siblings"][0] == {"rfilename": "README.md", "blobId": git_blob_sha1(readme), "size": len(readme)}


@pytest.mark.parametrize("state", ["missing", "deleted", "private"])
def test_repo_not_found_is_401_without_token_and_404_with_one(client, world, state):
    world.add_model("org/m")
    if state == "deleted":
        world.delete("org/m")
    elif state == "private":
        world.set_private("org/m", True)
    model_id = "org/other" if state == "missing" else "org/m"
    anonymous = client.get(f"/api/models/{model_id}")
    assert anonymous.status_code == 401
    assert anonymous.headers["X-Error-Code"] == "RepoNotFound"
    assert anonymous.json()["error"].startswith("Repository Not Found for url: ")
    resolve = client.get(f"/{model_id}/resolve/main/config.json")
    assert (resolve.status_code, resolve.headers["X-Error-Code"]) == (401, "RepoNotFound")
    with_token = client.get(f"/api/models/{model_id}", headers=TOKEN)
    if state == "private":
        assert with_token.status_code == 200  # any token is the owner's in the emulator
    else:
        assert (with_token.status_code, with_token.headers["X-Error-Code"]) == (404, "RepoNotFound")


def test_private_models_are_listed_only_with_a_token(client, world):
    world.add_model("org/public")
    world.add_model("org/secret", private=True)
    anonymous = [m["id"] for m in client.get("/api/models", params={"author": "org"}).json()]
    authed = [m["id"] for m in client.get("/api/models", params={"author": "org"}, headers=TOKEN).json()]
    assert anonymous == ["org/public"]
    assert authed == ["org/public", "org/secret"]


def test_delete_and_restore_keep_identity(client, world):
    sha = world.add_model("org/m")
    before = client.get("/api/models/org/m").json()
    world.delete("org/m")
    assert client.get("/api/models", params={"author": "org"}).json() == []
    assert world.model_ids("org") == []
    world.restore("org/m")
    after = client.get("/api/models/org/m").json()
    assert after == before and after["sha"] == sha


def test_revision_endpoint_serves_old_commits(client, world, clock):
    first = world.add_model("org/m", license="mit")
    clock.advance(days=1)
    world.relicense("org/m", "apache-2.0")
    old = client.get(f"/api/models/org/m/revision/{first}").json()
    assert old["cardData"]["license"] == "mit" and old["sha"] == first
    assert client.get("/api/models/org/m/revision/main").json()["cardData"]["license"] == "apache-2.0"
    missing = client.get("/api/models/org/m/revision/" + "0" * 40)
    assert (missing.status_code, missing.headers["X-Error-Code"]) == (404, "RevisionNotFound")


# -- world semantics ----------------------------------------------------------------------------


def test_commits_get_new_shas_and_clock_times_settings_do_not(world, clock):
    sha = world.add_model("org/m", files={"LICENSE": "MIT License\n"})
    model = world.get("org/m")
    assert len(sha) == 40 and model.last_modified == T0
    clock.advance(hours=1)
    world.set_gated("org/m", "manual")
    world.set_private("org/m", True)
    world.set_private("org/m", False)
    assert (model.sha, model.last_modified) == (sha, T0)
    clock.advance(hours=1)
    new = world.relicense("org/m", "other", license_name="modified-mit", license_text="Modified MIT License\n")
    assert new != sha and model.sha == new and model.last_modified == T0 + timedelta(hours=2)
    assert model.card["license"] == "other" and model.card["license_name"] == "modified-mit"
    assert model.file_text("LICENSE") == "Modified MIT License\n"
    assert len(model.commits) == 2  # one commit for card + LICENSE
    world.commit("org/m", card={"license_name": None}, delete=["LICENSE"])
    assert "license_name" not in model.card and "LICENSE" not in model.files
    assert "license_name" not in split_readme(model.file_text("README.md"))[0]


def test_readme_front_matter_given_by_caller_becomes_card_data(world):
    world.add_model("org/m", files={"README.md": "---\nlicense: cc-by-nc-4.0\ntags:\n- chat\n---\n# Hello\n"})
    model = world.get("org/m")
    assert model.license == "cc-by-nc-4.0" and model.card["tags"] == ["chat"]
    assert model.file_text("README.md").endswith("# Hello\n")
    world.commit("org/m", files={"README.md": "# Rewritten body\n"})
    assert model.license == "cc-by-nc-4.0" and model.file_text("README.md").endswith("# Rewritten body\n")


def test_no_license_file_is_invented_and_sentinel_created_at_is_kept(client, world):
    world.add_model("openai/clip-vit-base-patch32", license=None, created_at=SENTINEL_CREATED_AT)
    info = client.get("/api/models/openai/clip-vit-base-patch32").json()
    assert info["createdAt"] == "2022-03-02T23:29:04.000Z"
    assert "license" not in info["cardData"] and not any(t.startswith("license:") for t in info["tags"])
    assert "LICENSE" not in [s["rfilename"] for s in info["siblings"]]


def test_model_ids_must_be_owner_slash_name(world):
    with pytest.raises(ValueError):
        world.add_model("gpt2")
    with pytest.raises(ValueError):
        world.add_model("org/m", gated=True)
    world.add_model("org/m")
    with pytest.raises(ValueError):
        world.add_model("org/m")
    with pytest.raises(KeyError):
        world.commit("org/nope", files={"a": "b"})


def test_cards_round_trip():
    card = {"license": "other", "license_name": "modified-mit", "license_link": "https://x.y/LICENSE",
            "datasets": ["a/b", "c/d"], "base_model": "org/base", "version": "1.0", "inference": False,
            "extra_gated_fields": {"Company": "text"}, "empty": []}
    text = render_front_matter(card)
    assert parse_front_matter(text.strip("-\n")) == card


# -- files --------------------------------------------------------------------------------------


def test_resolve_serves_files_with_etag_commit_and_304(client, world, clock):
    sha = world.add_model("org/m", files={"LICENSE": "MIT License\n"})
    response = client.get("/org/m/resolve/main/LICENSE")
    assert response.status_code == 200 and response.text == "MIT License\n"
    blob_id = git_blob_sha1(b"MIT License\n")
    assert response.headers["ETag"] == f'"{blob_id}"'
    assert response.headers["X-Repo-Commit"] == sha
    assert int(response.headers["Content-Length"]) == len(b"MIT License\n")
    again = client.get("/org/m/resolve/main/LICENSE", headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304 and again.content == b""
    head = client.head("/org/m/resolve/main/LICENSE")
    assert head.status_code == 200 and head.content == b"" and head.headers["ETag"] == response.headers["ETag"]
    clock.advance(days=1)
    world.relicense("org/m", "apache-2.0", license_text="Apache License\n")
    changed = client.get("/org/m/resolve/main/LICENSE", headers={"If-None-Match": response.headers["ETag"]})
    assert changed.status_code == 200 and changed.text == "Apache License\n"
    assert client.get(f"/org/m/resolve/{sha}/LICENSE").text == "MIT License\n"  # old revision
    missing = client.get("/org/m/resolve/main/LICENSE.txt")
    assert (missing.status_code, missing.headers["X-Error-Code"]) == (404, "EntryNotFound")


def test_gated_repo_files_answer_401_or_403_but_the_card_is_public(client, world):
    world.add_model("meta-llama/Llama-3.2-1B", license="llama3.2", gated="manual", files={"LICENSE.txt": "LLAMA 3.2\n"})
    anonymous = client.get("/meta-llama/Llama-3.2-1B/resolve/main/LICENSE.txt")
    assert (anonymous.status_code, anonymous.headers["X-Error-Code"]) == (401, "GatedRepo")
    assert "restricted" in anonymous.json()["error"]
    authed = client.get("/meta-llama/Llama-3.2-1B/resolve/main/LICENSE.txt", headers=TOKEN)
    assert (authed.status_code, authed.headers["X-Error-Code"]) == (403, "GatedRepo")
    assert client.get("/meta-llama/Llama-3.2-1B/resolve/main/README.md").status_code == 200
    info = client.get("/api/models/meta-llama/Llama-3.2-1B")
    assert info.status_code == 200 and info.json()["gated"] == "manual"
    world.set_gated("meta-llama/Llama-3.2-1B", False)
    assert client.get("/meta-llama/Llama-3.2-1B/resolve/main/LICENSE.txt").text == "LLAMA 3.2\n"


def test_api_answers_carry_a_validator(client, world):
    world.add_model("org/m")
    first = client.get("/api/models/org/m")
    assert first.headers["ETag"].startswith('W/"')
    assert client.get("/api/models/org/m", headers={"If-None-Match": first.headers["ETag"]}).status_code == 304


def test_every_answer_carries_rate_limit_headers(client, world):
    # Documented quotas per 5 minutes: anonymous 500 API / 3000 resolvers, a free token 1000 / 5000.
    world.add_model("org/m")
    one = client.get("/api/models/org/m")
    two = client.get("/api/models/org/nope")
    three = client.get("/org/m/resolve/main/README.md")
    assert one.headers["RateLimit"].startswith('"api";r=499;t=')
    assert two.headers["RateLimit"].startswith('"api";r=498;')
    assert one.headers["RateLimit-Policy"] == '"fixed window";"api";q=500;w=300'
    assert three.headers["RateLimit"].startswith('"resolvers";r=2999;')
    authed = client.get("/api/models/org/m", headers=TOKEN)
    assert authed.headers["RateLimit"].startswith('"api";r=999;')
    assert authed.headers["RateLimit-Policy"] == '"fixed window";"api";q=1000;w=300'
    assert client.get("/no/such/page/here").status_code == 404


def test_enforced_quota_answers_429(world):
    world.add_model("org/m")
    with HubEmulator(world, rate_limits={"api": 2}, enforce_rate_limits=True) as emu, \
            httpx.Client(base_url=emu.url, trust_env=False) as c:
        assert [c.get("/api/models/org/m").status_code for _ in range(3)] == [200, 200, 429]
        assert c.get("/api/models/org/m").headers["RateLimit"].startswith('"api";r=0;t=')


# -- faults -------------------------------------------------------------------------------------


def test_rate_limited_fault_fires_the_given_times_then_is_spent(emu, client, world):
    world.add_model("org/m")
    fault = emu.faults.add(Fault.rate_limited(r"^/api/models\?", t=1, times=2))
    statuses = []
    for _ in range(3):
        response = client.get("/api/models", params={"author": "org"})
        statuses.append(response.status_code)
        if response.status_code == 429:
            assert response.headers["RateLimit"] == '"api";r=0;t=1'
            assert response.headers["Retry-After"] == "1"
    assert statuses == [429, 429, 200]
    assert fault.spent and fault.fired == 2
    assert client.get("/api/models/org/m").status_code == 200  # regex did not match


def test_status_fault_with_callable_match_until_cleared(emu, client, world):
    world.add_model("org/m")
    emu.faults.add(Fault(lambda method, path: method == "GET" and "/resolve/" in path, status=503,
                         headers={"Retry-After": "3"}, body="upstream down"))
    for _ in range(3):
        response = client.get("/org/m/resolve/main/README.md")
        assert (response.status_code, response.text, response.headers["Retry-After"]) == (503, "upstream down", "3")
    assert client.get("/api/models/org/m").status_code == 200
    emu.faults.clear()
    assert client.get("/org/m/resolve/main/README.md").status_code == 200


def test_first_matching_fault_wins(emu, client, world):
    world.add_model("org/m")
    emu.faults.add(Fault("/api/", status=502, times=1))
    emu.faults.add(Fault("/api/", status=500))
    assert [client.get("/api/models/org/m").status_code for _ in range(2)] == [502, 500]


def test_truncated_body_is_a_protocol_error(emu, client, world):
    world.populate(20, "org")
    emu.faults.add(Fault.truncated("author=org", times=1))
    with pytest.raises(httpx.RemoteProtocolError):
        client.get("/api/models", params={"author": "org"})
    assert len(client.get("/api/models", params={"author": "org"}).json()) == 20


def test_empty_listing_fault(emu, client, world):
    world.populate(5, "org")
    emu.faults.add(Fault.empty_listing(r"/api/models\?author=org", times=1))
    first = client.get("/api/models", params={"author": "org"})
    assert (first.status_code, first.json()) == (200, [])
    assert len(client.get("/api/models", params={"author": "org"}).json()) == 5


def test_delay_times_out_the_client_and_does_not_block_others(emu, world):
    world.add_model("org/m")
    emu.faults.add(Fault.slow("/resolve/", seconds=0.5))
    with httpx.Client(base_url=emu.url, trust_env=False, timeout=0.1) as fast_timeout:
        with pytest.raises(httpx.ReadTimeout):
            fast_timeout.get("/org/m/resolve/main/README.md")
    emu.faults.clear()
    emu.faults.add(Fault.slow("/resolve/", seconds=60))
    outcome = {}

    def hang():
        try:
            with httpx.Client(base_url=emu.url, trust_env=False, timeout=90) as c:
                outcome["status"] = c.get("/org/m/resolve/main/README.md").status_code
        except httpx.HTTPError as exc:
            outcome["error"] = exc

    waiting = threading.Thread(target=hang)
    waiting.start()
    with httpx.Client(base_url=emu.url, trust_env=False, timeout=5) as c:
        started = time.perf_counter()
        assert c.get("/api/models/org/m").status_code == 200
        assert time.perf_counter() - started < 5
    assert waiting.is_alive() and not outcome
    emu.stop()  # wakes the delayed handler: the hung client sees the connection close
    waiting.join(timeout=10)
    assert not waiting.is_alive() and "error" in outcome


def test_slow_fault_still_answers_correctly_unless_given_a_status(emu, client, world):
    world.add_model("org/m")
    emu.faults.add(Fault.slow("/api/models/org/m", seconds=0.05, times=1))
    emu.faults.add(Fault("/api/models/org/m", delay=0.05, times=1))
    emu.faults.add(Fault("/api/models/org/m", status=503, delay=0.05, times=1))
    assert client.get("/api/models/org/m").json()["id"] == "org/m"
    assert client.get("/api/models/org/m").json()["id"] == "org/m"
    assert client.get("/api/models/org/m").status_code == 503
    assert Fault("x").status == 500 and Fault("x", truncate=True).status is None


# -- counters -----------------------------------------------------------------------------------


def test_request_counters(emu, client, world):
    world.add_model("org/m")
    client.get("/api/models", params={"author": "org"}, headers={"User-Agent": "openwatch-test"})
    client.get("/api/models/org/m")
    client.get("/org/m/resolve/main/README.md")
    assert emu.requests.total == 3
    assert emu.requests.count("/api/models") == 2
    assert emu.requests.count("/org/m/resolve/") == 1
    method, path, status, headers = emu.requests.log[0]
    assert (method, path, status) == ("GET", "/api/models?author=org", 200)
    assert headers["User-Agent"] == "openwatch-test"
    emu.requests.reset()
    assert emu.requests.total == 0


# -- concurrency and scale ----------------------------------------------------------------------


def test_mutations_during_concurrent_listing_do_not_crash(emu, world, clock):
    ids = world.populate(300, "org")
    errors, runs = [], []
    stop = threading.Event()

    def lister():
        with httpx.Client(base_url=emu.url, trust_env=False, timeout=10) as c:
            while not stop.is_set():
                try:
                    models, _ = list_all(c, {"author": "org", "limit": 40, "expand[]": ["sha", "gated", "cardData"]})
                    got = [m["id"] for m in models]
                    assert len(got) == len(set(got)), "duplicate across pages"
                    runs.append(len(got))
                    c.get(f"/{ids[0]}/resolve/main/README.md")
                    c.get("/api/models", params={"author": "org", "sort": "lastModified", "limit": 40})
                except Exception as exc:  # noqa: BLE001 - collected and asserted below
                    errors.append(exc)
                    return

    threads = [threading.Thread(target=lister) for _ in range(4)]
    for t in threads:
        t.start()
    i = 0
    # Keep mutating until the listers have completed several full listings meanwhile.
    while (i < 300 or len(runs) < 12) and not errors and i < 500_000:
        target = ids[i % len(ids)]
        clock.advance(seconds=1)
        world.commit(target, files={"notes.txt": f"rev {i}"})
        world.set_gated(target, "auto" if i % 2 else False)
        world.set_stats(target, downloads=i)
        if i % 10 == 0 and i < 300:
            world.add_model(f"org/new-{i}")
        if i % 7 == 0:
            world.delete(ids[(i + 1) % len(ids)])
            world.restore(ids[(i + 1) % len(ids)])
        i += 1
    stop.set()
    for t in threads:
        t.join(timeout=30)
    assert not errors, errors
    assert len(runs) >= 12 and min(runs) >= 300


def test_populate_100k_and_list_it_page_by_page():
    world = HubWorld()
    started = time.perf_counter()
    ids = world.populate(100_000, "bench-org", seed=7)
    populate_seconds = time.perf_counter() - started
    assert len(ids) == len(set(ids)) == 100_000
    licenses = {world.get(i).license for i in ids[:2000]}
    assert {"apache-2.0", "mit", "other"} <= licenses
    with HubEmulator(world) as emu, httpx.Client(trust_env=False, timeout=60) as c:
        started = time.perf_counter()
        url, count, pages = f"{emu.url}/api/models?author=bench-org", 0, 0
        seen = set()
        while url:
            response = c.get(url)
            batch = response.json()
            seen.update(m["id"] for m in batch)
            count += len(batch)
            pages += 1
            url = response.links.get("next", {}).get("url")
        list_seconds = time.perf_counter() - started
    assert count == len(seen) == 100_000 and pages == 100
    print(f"\npopulate(100_000): {populate_seconds:.2f}s; listed 100k in {pages} pages: {list_seconds:.2f}s")


# -- demo world and standalone ------------------------------------------------------------------


def test_demo_world_spans_us_and_chinese_labs(client, world):
    from crawler.orgs import default_orgs

    ids = seed_demo_world(world, default_orgs())
    countries = {default_orgs().country(i.split("/")[0]) for i in ids}
    assert {"US", "CN"} <= countries
    llama = client.get("/api/models/meta-llama/Llama-3.1-8B").json()
    assert llama["gated"] == "manual" and llama["cardData"]["license"] == "llama3.1"
    kimi = world.get("moonshotai/Kimi-K2-Instruct")
    assert (kimi.license, kimi.license_name) == ("other", "modified-mit") and "LICENSE" in kimi.files
    changes = apply_demo_changes(world)
    assert any("DeepSeek-V3" in c for c in changes) and len(changes) >= 5
    assert world.get("deepseek-ai/DeepSeek-V3").license == "mit"
    assert client.get("/api/models/zai-org/GLM-4.6").status_code == 200


def test_standalone_module_prints_its_url(tmp_path):
    proc = subprocess.Popen(
        [sys.executable, "-m", "crawler.emulator", "--port", "0", "--populate", "deepseek-ai:12"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        with httpx.Client(trust_env=False, timeout=10) as c:
            models = c.get(f"{url}/api/models", params={"author": "deepseek-ai"}).json()
        assert len(models) == 12
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_json_bodies_are_compact_utf8(client, world):
    world.add_model("org/m", card_extra={"description": "模型"})
    response = client.get("/api/models/org/m")
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    assert json.loads(response.content)["cardData"]["description"] == "模型"
