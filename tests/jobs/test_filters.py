"""Every filter, everywhere (`models`, `events`, `feed`, a subscription in the config), is
read the one way jobs/filters.py reads it: a value that names nothing known is one line with
the fix and exit 2, never `(none)`; aliases, cases and patterns mean the same everywhere."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import datetime, timedelta, timezone

import pytest

from tests.support import history_world
from tests.support.cli import CLI, write_config

ATOM = "{http://www.w3.org/2005/Atom}"
NOW = datetime.now(timezone.utc)


@pytest.fixture
def ow(tmp_path):
    history_world.build(tmp_path / "openwatch.db", now=NOW)
    return CLI(write_config(tmp_path / "openwatch.toml", hf="http://127.0.0.1:9", watches=[
        {"name": "labs", "source": "huggingface", "orgs": ["meta-llama", "deepseek-ai", "Qwen"], "every": "1h"}]))


def error(proc) -> str:
    assert proc.stdout == "" and proc.stderr.count("\n") == 1, proc.stderr
    return proc.stderr.rstrip("\n")


@pytest.mark.parametrize("args, line", [
    (("--country", "China"), 'Error: --country "China" is not a country code; did you mean "CN"?'),
    (("--org", "deepseek"), 'Error: --org "deepseek" is not a known org (not in the registry, the history or the '
                            'config); did you mean "deepseek-ai"?'),
    (("--category", "noncommercial"), 'Error: --category "noncommercial" is not a licence category; '
                                      'did you mean "non-commercial"?'),
    (("--source", "github"), 'Error: --source "github" is not a source of models; sources of models: '
                             'huggingface, modelscope, hf, ms'),
    (("--limit", "-3"), "Error: Invalid value for '--limit': -3 is not in the range x>=0. "
                        "(see: openwatch models --help)"),
    (("--json", "--csv"), "Error: --json and --csv cannot be combined; choose one (see: openwatch models --help)"),
])
def test_models_refuses_a_filter_that_names_nothing(ow, args, line):
    proc = ow("models", *args, check=False)
    assert proc.returncode == 2
    assert error(proc) == line


def test_models_filters_take_the_spellings_events_takes(ow):
    def names(*args):
        return sorted(m["name"] for m in ow.json("models", *args))

    chinese = names("--country", "CN")
    assert chinese == names("--country", "cn") and len(chinese) == 6
    assert names("--org", "DeepSeek-AI") == ["deepseek-ai/DeepSeek-R1-0528", "deepseek-ai/DeepSeek-V3.2"]
    assert names("--org", "QwenLM") == ["Qwen/Qwen2.5-72B-Instruct", "Qwen/Qwen3-235B-A22B"]  # the lab's GitHub name
    assert names("--source", "hf") == names("--source", "huggingface") == names()
    assert names("--source", "ms") == []  # a real source with no model tracked yet
    assert names("--category", "Open-Weight-Restricted") == names("--category", "open-weight-restricted")
    assert len(names("--category", "open-weight-restricted")) == 4
    assert len(ow.json("models", "--limit", "0")) == len(names())


def test_feed_types_are_the_patterns_events_takes(ow):
    def ids(*args):
        feed = ET.fromstring(ow("feed", *args).stdout)
        return [e.find(f"{ATOM}id").text for e in feed.findall(f"{ATOM}entry")]

    every = ["urn:openwatch:event:" + e["id"] for e in ow.json("events")]
    assert ids("--type", "*") == every and len(every) > 3
    models = ["urn:openwatch:event:" + e["id"] for e in ow.json("events", "--type", "model.*")]
    assert ids("--type", "model.*") == models and models
    proc = ow("feed", "--type", "model.licence_changed", check=False)
    assert proc.returncode == 2
    assert error(proc) == ('Error: --type "model.licence_changed" is not an event type; '
                           'did you mean "model.license_changed"?')


def test_an_empty_feed_is_dated_now_not_1970(ow):
    before = datetime.now(timezone.utc).replace(microsecond=0)
    feed = ET.fromstring(ow("feed", "--type", "model.removed").stdout)
    assert feed.findall(f"{ATOM}entry") == []
    updated = datetime.fromisoformat(feed.find(f"{ATOM}updated").text.replace("Z", "+00:00"))
    assert before <= updated <= datetime.now(timezone.utc) + timedelta(seconds=1)


def test_feed_to_a_folder_that_does_not_exist_names_the_file_asked_for(ow, tmp_path):
    target = tmp_path / "no" / "dir" / "x.xml"
    proc = ow("feed", "-o", str(target), check=False)
    assert proc.returncode == 1
    assert error(proc) == (f"Error: {target}: cannot be written: its folder does not exist; "
                           "choose a path in an existing, writable folder")
    proc = ow("report", "-o", str(target), check=False)
    assert error(proc) == (f"Error: {target}: cannot be written: its folder does not exist; "
                           "choose a path in an existing, writable folder")


SUBSCRIPTION = '\n[[subscription]]\nname = "team"\nchannel = "slack"\nurl = "https://hooks.slack.com/x"\n'


@pytest.mark.parametrize("line, message", [
    ('orgs = ["deepseek"]', 'subscription[1].orgs[1]: "deepseek" is not a known org (not in the registry or the '
                            'watches of this file); did you mean "deepseek-ai"?'),
    ('countries = ["ZZ"]', 'subscription[1].countries[1]: "ZZ" is the country of no known org; known: '),
    ('countries = ["China"]', 'subscription[1].countries[1]: "China" is not a country code; did you mean "CN"?'),
    ('categories = ["noncommercial"]', 'subscription[1].categories[1]: "noncommercial" is not a licence category; '
                                       'did you mean "non-commercial"?'),
])
def test_a_subscription_filter_that_could_never_match_is_refused_at_load(tmp_path, line, message):
    config = write_config(tmp_path / "openwatch.toml", hf="http://127.0.0.1:9", watches=[
        {"name": "labs", "source": "huggingface", "orgs": ["meta-llama"], "every": "1h"}],
        extra=SUBSCRIPTION + line + "\n")
    proc = CLI(config)("status", check=False)
    assert proc.returncode == 2
    assert error(proc).startswith(f"Error: {config}:17: {message}")


def test_a_subscription_org_is_every_name_of_its_lab_and_a_watched_org_is_known(tmp_path):
    from alerts.subscriptions import matches
    from jobs.config.loader import load_config

    config = write_config(tmp_path / "openwatch.toml", hf="http://127.0.0.1:9", watches=[
        {"name": "labs", "source": "huggingface", "orgs": ["tiny-lab"], "every": "1h"}],
        extra=SUBSCRIPTION + 'orgs = ["Qwen", "tiny-lab"]\nevents = ["*"]\n')
    (sub,) = load_config(config, {}).subscriptions
    for org in ("Qwen", "QwenLM", "qwen", "tiny-lab"):
        assert matches(sub, {"type": "release.published", "watch": "labs", "data": {"org": org}}), org
    assert not matches(sub, {"type": "release.published", "watch": "labs", "data": {"org": "deepseek-ai"}})


def test_the_daemons_feed_into_a_missing_folder_is_logged_and_the_crawl_goes_on(tmp_path, caplog):
    from types import SimpleNamespace

    from crawler.history.schema import connect
    from jobs.crawls.store import keep_feed

    history_world.build(tmp_path / "x.db", now=NOW)
    db = connect(tmp_path / "x.db")
    target = tmp_path / "no" / "events.xml"
    keep_feed(SimpleNamespace(feed_path=target), db, 1)  # raises nothing
    db.close()
    assert (f"feed {target} could not be written: {target}: cannot be written: its folder does not exist"
            in caplog.text)
