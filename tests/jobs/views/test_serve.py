"""`openwatch serve`: the real command in a subprocess, queried over HTTP like a browser or a
script would: canned queries (page and JSON), live data, writes refused, licence texts as
text, newest events first, and SIGTERM that leaves nothing holding the port."""

from __future__ import annotations

import asyncio
import signal
import socket
import sqlite3
from datetime import datetime, timezone

import httpx
import psutil
import pytest
from markupsafe import escape

from crawler.events import event_to_row, make_event
from jobs.views.serve import QUERIES, build_datasette
from tests.support import history_world
from tests.support.cli import CLI, write_config

NOW = datetime.now(timezone.utc)


@pytest.fixture
def world(tmp_path):
    return history_world.build(tmp_path / "openwatch.db", now=NOW)


@pytest.fixture
def server(tmp_path, world):
    config = write_config(tmp_path / "openwatch.toml", hf="http://127.0.0.1:9", watches=[
        {"name": "labs", "source": "huggingface", "orgs": ["meta-llama"], "every": "1h"}])
    proc = CLI(config).popen("serve", "--port", "0")
    line = proc.stdout.readline()  # printed once the socket listens: the readiness signal
    assert line.startswith("serving "), line + proc.stderr.read()
    url = line.split(" at ")[1].strip()
    try:
        with httpx.Client(base_url=url, timeout=30, trust_env=False) as client:
            yield client, proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def rows(client, path, **params):
    answer = client.get(path, params={"_shape": "objects", **params})
    assert answer.status_code == 200, answer.text
    return answer.json()["rows"]


def insert_event(path, **fields):
    event = make_event(watch="labs", url=None, **fields)
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("insert into events (id, seq, dedupe_key, type, item, watch, org, country, detected_at, summary,"
                     " url, before, after, data) values (:id, (select max(seq) + 1 from events), :dedupe_key, :type,"
                     " :item, :watch, :org, :country, :detected_at, :summary, :url, :before, :after, :data)",
                     event_to_row(event))
    conn.close()
    return event


def test_canned_queries_answer_as_pages_and_json(server, world):
    client, _ = server
    assert str(client.base_url).startswith("http://127.0.0.1:")
    home = client.get("/openwatch")
    assert home.status_code == 200
    for name, query in QUERIES.items():
        assert str(escape(query["title"])) in home.text
        page = client.get(f"/openwatch/{name}")
        assert page.status_code == 200, (name, page.text[:500])
        assert rows(client, f"/openwatch/{name}.json") is not None

    latest = rows(client, "/openwatch/latest_events.json")
    assert [r["detected_at"] for r in latest] == sorted((e["detected_at"] for e in world["events"]), reverse=True)
    assert latest[0]["type"] == "source.failing"

    restrictive = rows(client, "/openwatch/licence_changes.json", direction="more restrictive")
    assert [(r["item"], r["direction"]) for r in restrictive] == [
        ("model:hf/tiiuae/Falcon-H1-34B-Instruct", "more restrictive")]
    assert len(rows(client, "/openwatch/licence_changes.json", direction="")) == 4
    by_direction = rows(client, "/openwatch/licence_changes_by_direction.json")
    assert sorted(r["direction"] for r in by_direction) == ["lateral", "more open", "more restrictive", "unclear"]

    new = rows(client, "/openwatch/new_models_by_country_and_month.json")
    assert sum(r["new_models"] for r in new) == len(history_world.MODELS) - 1  # one has no release date
    assert {r["origin"] for r in new} == {"US", "CN", "EU", "other"}
    assert {(r["origin"], r["country"]) for r in new if r["country"] in ("FR", "CH")} == {("EU", "FR"),
                                                                                       ("other", "CH")}

    history = rows(client, "/openwatch/model_history.json", key="meta-llama/Llama-3.3-70B-Instruct")
    assert [(r["record"], r["gated"]) for r in history] == [("model.gating_changed", "manual")]
    same = rows(client, "/openwatch/model_history.json", key="model:hf/meta-llama/Llama-3.3-70B-Instruct")
    assert same == history

    fully_open = rows(client, "/openwatch/fully_open_models.json")
    assert sorted(r["name"] for r in fully_open) == ["allenai/OLMo-2-0325-32B", "marin-community/marin-8b-base",
                                                     "swiss-ai/Apertus-8B-Instruct-2509"]
    (text,) = rows(client, "/openwatch/license_texts_as_text.json")
    assert text["text"] == world["licence_text"]


def test_tables_have_descriptions_facets_and_newest_events_first(server):
    client, _ = server
    events = client.get("/openwatch/events.json", params={"_shape": "objects"}).json()
    seqs = [r["seq"] for r in events["rows"]]
    assert seqs == sorted(seqs, reverse=True)
    assert {"type", "country", "org", "watch"} <= set(events["facet_results"])
    page = client.get("/openwatch/events")
    assert "Every meaningful change, newest first" in page.text
    items = client.get("/openwatch/items.json", params={"_shape": "objects"}).json()
    assert {"openness", "country", "license_category"} <= set(items["facet_results"])
    texts = client.get("/openwatch/license_texts")
    assert "LLAMA 3.3 COMMUNITY LICENSE AGREEMENT" in texts.text and "&lt;Binary" not in texts.text
    assert "&lt;script&gt;alert(" in texts.text and '<script>alert("x")' not in texts.text


def test_live_data_rows_written_after_start_are_seen(server, tmp_path):
    client, _ = server
    count = "/openwatch.json"
    query = {"sql": "select count(*) as n from events", "_shape": "objects"}
    before = client.get(count, params=query).json()["rows"][0]["n"]
    assert client.get(count, params=query).json()["rows"][0]["n"] == before
    insert_event(tmp_path / "openwatch.db", type="model.added", item="model:hf/Qwen/Qwen3-8B",
                 detected_at=datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                 summary="New model Qwen/Qwen3-8B", dedupe_key="live-1", data={"org": "Qwen", "country": "CN"})
    assert client.get(count, params=query).json()["rows"][0]["n"] == before + 1
    assert rows(client, "/openwatch/latest_events.json")[0]["item"] == "model:hf/Qwen/Qwen3-8B"


@pytest.mark.parametrize("sql", [
    "insert into events (id) values ('x')",
    "with x as (select 1) insert into events (id) select 'y' from x",
    "delete from events",
    "pragma query_only = 0",
    "attach database 'other.db' as other",
])
def test_writes_over_http_are_refused(server, tmp_path, sql):
    client, _ = server
    answer = client.get("/openwatch.json", params={"sql": sql})
    assert answer.status_code == 400 and answer.json()["ok"] is False
    posted = client.post("/openwatch/latest_events", data={"sql": sql})
    assert posted.status_code == 405 and posted.headers["allow"] == "GET, HEAD, OPTIONS"
    conn = sqlite3.connect(tmp_path / "openwatch.db")
    assert conn.execute("select count(*) from events where id in ('x', 'y')").fetchone() == (0,)
    assert not (tmp_path / "other.db").exists()
    conn.close()


def test_even_datasettes_write_connection_is_read_only(tmp_path, world):
    ds = build_datasette(tmp_path / "openwatch.db")

    async def write():
        await ds.invoke_startup()
        await ds.get_database("openwatch").execute_write("delete from events")

    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        asyncio.run(write())
    conn = sqlite3.connect(tmp_path / "openwatch.db")
    assert conn.execute("select count(*) from events").fetchone() == (len(world["events"]),)
    conn.close()


def test_sigterm_stops_it_and_frees_the_port(server):
    client, proc = server
    port = client.base_url.port
    assert client.get("/-/versions.json").status_code == 200
    assert psutil.Process(proc.pid).children(recursive=True) == []  # Datasette runs in this process
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0
    listening = [c for c in psutil.net_connections("tcp") if c.laddr.port == port and c.status == psutil.CONN_LISTEN]
    assert listening == []
    with socket.socket() as sock:
        # SO_REUSEADDR: closed connections may linger in TIME_WAIT; a listener would still refuse the bind
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))


def test_serve_without_a_database_says_what_to_do(tmp_path):
    config = write_config(tmp_path / "openwatch.toml", hf="http://127.0.0.1:9", watches=[
        {"name": "labs", "source": "huggingface", "orgs": ["meta-llama"], "every": "1h"}])
    proc = CLI(config)("serve", "--port", "0", check=False)
    assert proc.returncode == 1
    assert proc.stderr.strip().endswith('no history yet; run "openwatch run --once" first')
