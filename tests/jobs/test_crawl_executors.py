"""The crawl executors: one interface, chosen by alias (jobs/crawls/base.py)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from jobs.crawls.base import EXECUTORS, CrawlExecutor, executor_alias, executor_class


@pytest.mark.parametrize("alias", sorted(EXECUTORS))
def test_each_alias_names_an_executor_of_that_alias(alias):
    cls = executor_class(alias)
    assert issubclass(cls, CrawlExecutor)
    assert cls.alias == alias
    assert cls.mode in ("inprocess", "subprocess")
    assert cls.__doc__


def test_the_mode_and_the_scrapyd_section_choose_the_executor():
    local, remote = SimpleNamespace(scrapyd=None), SimpleNamespace(scrapyd=object())
    assert executor_alias(local) == "inprocess"
    assert executor_alias(local, "subprocess") == "subprocess"
    assert executor_alias(remote) == "scrapyd"
    assert executor_alias(remote, "subprocess") == "subprocess"  # each child crawls through Scrapyd
