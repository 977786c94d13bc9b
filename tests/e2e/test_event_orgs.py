"""Every event of every source carries the org and country the registry gives its owner
(GitHub owners included: `moonshotai/Kimi-K2`'s repo events as its releases), so `--org`,
`--country` and a subscription's `orgs`/`countries` match them."""

from __future__ import annotations

import sqlite3

import pytest

from alerts.subscriptions import matches
from crawler.history.schema import connect
from crawler.orgs import default_orgs
from crawler.sources import all_sources, event_types
from jobs.config.loader import load_config
from tests.support.cli import CLI, write_config

# The normalised fields of one item of each kind, owned by a lab of the registry, and the
# owner the kind must read from them. Kinds whose items have no owner say so here.
OWNED = {
    ("huggingface", "model"): ({"id": "deepseek-ai/DeepSeek-V3", "org": "deepseek-ai"}, "deepseek-ai"),
    ("modelscope", "model"): ({"id": "Qwen/Qwen3-8B", "org": "Qwen"}, "Qwen"),
    ("github", "repo"): ({"full_name": "moonshotai/Kimi-K2", "owner": "moonshotai", "name": "Kimi-K2"},
                         "moonshotai"),
    ("github", "release"): ({"repo": "QwenLM/Qwen3", "tag": "v3.0"}, "QwenLM"),
    ("arxiv", "paper"): ({"id": "2501.00001", "organization": "deepseek-ai"}, "deepseek-ai"),
    ("hf_papers", "paper"): ({"id": "2501.00001", "organization": "deepseek-ai"}, "deepseek-ai"),
}
OWNERLESS = {("feed", "post")}  # a blog's feed names no hub owner


def test_every_item_kind_of_every_source_says_who_owns_its_items():
    kinds = {(source, kind.name) for source, cls in all_sources().items() for kind in cls.item_kinds}
    assert kinds == set(OWNED) | OWNERLESS, "a new item kind: say how its owner is read (OWNED or OWNERLESS)"
    registry = default_orgs()
    for (source, name), (fields, owner) in OWNED.items():
        kind = all_sources()[source].item_kind(name)
        assert kind.org(fields) == owner, (source, name)
        assert registry.country(owner) == "CN", (source, name)


def test_every_event_type_belongs_to_an_item_kind_that_has_an_owner_or_says_it_has_none():
    kinds = {kind.name for cls in all_sources().values() for kind in cls.item_kinds}
    for type_ in event_types():
        family = type_.split(".")[0]
        if family == "source":  # about a watch, not an item
            continue
        assert family in kinds, type_
        assert any(name == family for _, name in set(OWNED) | OWNERLESS), type_


@pytest.fixture
def kimi(tmp_path, emulator):
    gh = emulator.github
    gh.add_repo("moonshotai/Kimi-K2", license_spdx="MIT")
    gh.add_release("moonshotai/Kimi-K2", "v1.0", body="First release")
    config = write_config(tmp_path / "openwatch.toml", hf=emulator.url, watches=[
        {"name": "rel", "source": "github", "repos": ["moonshotai/Kimi-K2"], "every": "1h"}],
        endpoints={k: v for k, v in emulator.endpoints().items() if k != "huggingface"},
        extra='\n[[subscription]]\nname = "kimi"\nchannel = "slack"\nurl = "https://hooks.slack.com/x"\n'
              'orgs = ["MoonshotAI"]\ncountries = ["CN"]\n'
              'events = ["repo.*", "release.published"]\n')
    ow = CLI(config)
    ow("crawl", "rel")
    gh.add_release("moonshotai/Kimi-K2", "v1.1", body="Second")
    gh.relicense_repo("moonshotai/Kimi-K2", "Apache-2.0")
    gh.archive_repo("moonshotai/Kimi-K2")
    ow("crawl", "rel")
    return ow


def test_repo_events_carry_the_owner_and_its_country_and_every_filter_finds_them(kimi):
    events = kimi.json("events")
    assert sorted((e["type"], e["data"]["org"], e["data"]["country"]) for e in events) == [
        ("release.published", "moonshotai", "CN"),
        ("repo.archived", "moonshotai", "CN"),
        ("repo.license_changed", "moonshotai", "CN"),
    ]
    assert {e["type"] for e in kimi.json("events", "--org", "moonshotai", "--type", "repo.*")} == {
        "repo.archived", "repo.license_changed"}
    assert len(kimi.json("events", "--country", "CN")) == 3
    assert len(kimi.json("events", "--org", "MoonshotAI")) == 3  # the lab's GitHub spelling
    config = load_config(kimi.config, {})
    (sub,) = config.subscriptions
    assert [matches(sub, e) for e in events] == [True, True, True]
    table = kimi("events", "--type", "repo.license_changed").stdout.splitlines()
    assert table[2].split()[3:5] == ["moonshotai", "CN"]


def test_repo_events_stored_without_an_org_get_it_back_when_the_database_is_upgraded(kimi):
    path = kimi.config.parent / "openwatch.db"
    conn = sqlite3.connect(path)
    with conn:  # as an older openwatch stored them
        conn.execute("update events set org = null, country = null, "
                     "data = json_set(data, '$.org', null, '$.country', null) where item like 'repo:%'")
        conn.execute("update items set org = null, country = null where key like 'repo:%'")
        conn.execute("delete from _migrations where name = '007_repo_orgs'")
    conn.close()
    connect(path).close()  # any command that writes upgrades it
    events = kimi.json("events", "--type", "repo.*")
    assert {(e["data"]["org"], e["data"]["country"]) for e in events} == {("moonshotai", "CN")}
    conn = sqlite3.connect(path)
    assert conn.execute("select distinct org, country from items where key like 'repo:%'").fetchall() == [
        ("moonshotai", "CN")]
    assert conn.execute("select count(*) from events where org is null").fetchone() == (0,)
    conn.close()
