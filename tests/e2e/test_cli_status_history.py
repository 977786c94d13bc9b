"""What a new user hit, through the real CLI against the hub emulator: status counts each
watch's own items, `history` points at the key meant, booleans read as the config writes
them, `deliver` fails when a delivery died, `status --help` says what `--json` prints."""

from __future__ import annotations

import json

import pytest

from alerts.receivers import Response
from tests.support.cli import CLI, write_config


@pytest.fixture
def qwen(tmp_path, emulator, http):
    emulator.world.add_model("Qwen/Qwen3-8B", license="apache-2.0")
    emulator.world.add_model("Qwen/Qwen3-4B", license="apache-2.0")
    emulator.modelscope.add_model("Qwen/Qwen3-Next-80B-A3B-Instruct", license="Apache License 2.0")
    config = write_config(tmp_path / "openwatch.toml", hf=emulator.url, watches=[
        {"name": "hf", "source": "huggingface", "orgs": ["Qwen"], "every": "1h"},
        {"name": "ms", "source": "modelscope", "orgs": ["Qwen"], "every": "1h"}],
        subscriptions=[{"name": "team", "channel": "slack", "url": http.url("/slack")}],
        endpoints={k: v for k, v in emulator.endpoints().items() if k != "huggingface"})
    ow = CLI(config)
    ow("crawl", "hf", "ms")
    return ow


def test_status_counts_the_items_of_each_watch_in_its_own_source(qwen):
    items = {w["watch"]: w["items"] for w in qwen.json("status")["watches"]}
    assert items == {"hf": 2, "ms": 1}  # the org Qwen on each hub, not both hubs' models twice


def test_history_of_a_model_only_on_another_hub_or_in_another_case_says_which_key(qwen):
    proc = qwen("history", "Qwen/Qwen3-Next-80B-A3B-Instruct", check=False)
    assert proc.returncode == 1
    assert proc.stderr == ("Error: model:hf/Qwen/Qwen3-Next-80B-A3B-Instruct: not in the history; "
                           "did you mean model:ms/Qwen/Qwen3-Next-80B-A3B-Instruct?\n")
    proc = qwen("history", "qwen/qwen3-8b", check=False)
    assert proc.stderr == "Error: model:hf/qwen/qwen3-8b: not in the history; did you mean model:hf/Qwen/Qwen3-8B?\n"
    assert "observed_at" in qwen("history", "model:ms/Qwen/Qwen3-Next-80B-A3B-Instruct").stdout


def test_booleans_read_true_and_false_in_tables_csv_and_the_feed(qwen, emulator):
    emulator.world.set_gated("Qwen/Qwen3-8B", "manual")
    qwen("crawl", "hf")
    table = qwen("history", "Qwen/Qwen3-8B").stdout
    first = table.splitlines()[2].split()
    assert first[1:3] == ["apache-2.0", "false"], table
    assert "gated: false → manual" in table
    assert qwen("alerts", "list", "--csv").stdout.splitlines()[1].split(",")[4] == "true"
    feed = qwen("feed").stdout
    assert "gated: false → manual" in feed
    for text in (table, qwen("alerts", "list").stdout, feed):
        assert "False" not in text and "True" not in text


def test_deliver_fails_when_a_delivery_becomes_a_dead_letter(qwen, emulator, http):
    emulator.world.add_model("Qwen/Qwen3-1B", license="apache-2.0")
    qwen("crawl", "hf")
    http.script(Response(404, body="no_service"))  # Slack: the webhook was removed, for good
    proc = qwen("deliver", check=False)
    assert proc.returncode == 1
    assert proc.stdout == "deliveries: 0 sent, 1 dead\n"
    assert proc.stderr.endswith(
        "Error: 1 delivery refused for good or given up (dead letters); see `openwatch status`, fix the receiver "
        "or the subscription, then run `openwatch alerts retry`\n")
    again = qwen("deliver")  # nothing new died: the dead letter is in status, not a new failure
    assert again.stdout == "deliveries: 0 sent\n"


def test_status_help_says_json_is_one_object(qwen):
    help_text = " ".join(qwen("status", "--help").stdout.split())
    assert "--json Print one JSON object: database, daemon, watches" in help_text
    assert "JSON array" not in help_text
    assert isinstance(json.loads(qwen("status", "--json").stdout), dict)


def test_the_starter_config_lists_every_event_type_of_the_sources(tmp_path):
    from crawler.events import event_types

    path = tmp_path / "openwatch.toml"
    CLI(path)("init")
    text = path.read_text()
    listed = text[text.index("#   events"):text.index("#   Optional filters")]
    assert [t for t in event_types() if t not in listed] == []
    assert {"model.renamed", "repo.archived", "repo.renamed"} <= {w.strip(",") for w in listed.split()}
