"""An arXiv category that arXiv does not have (`cs.CLL`) is refused when the config loads, in
the `file:line: key: problem; fix` form, whether in `categories` or in a `cat:` of the query;
real ones (arXiv's taxonomy, shipped as crawler/data/arxiv_categories.csv) load."""

from __future__ import annotations

import pytest

from crawler.sources.arxiv import known_categories
from jobs.config.loader import load_config
from jobs.exceptions import ConfigError
from tests.support.cli import CLI

WATCH = '[[watch]]\nname = "papers"\nsource = "arxiv"\nevery = "6h"\n'


@pytest.mark.parametrize("body, expected", [
    ('query = "abs:llm"\ncategories = ["cs.CL", "cs.CLL"]\n',
     '{file}:6: watch[1].categories[2]: "cs.CLL" is not an arXiv category; did you mean "cs.CL"?'),
    ('query = "abs:llm AND cat:cs.CLL"\n',
     '{file}:5: watch[1].query: cat:cs.CLL is not an arXiv category; did you mean "cs.CL"?'),
    ('query = "abs:llm"\ncategories = ["zz.QQ"]\n',
     '{file}:6: watch[1].categories[1]: "zz.QQ" is not an arXiv category; '
     'use an id of https://arxiv.org/category_taxonomy, e.g. "cs.CL"'),
], ids=["categories", "query", "nothing-close"])
def test_an_unknown_arxiv_category_is_refused_at_load(tmp_path, body, expected):
    path = tmp_path / "openwatch.toml"
    path.write_text(WATCH + body)
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ={})
    assert str(caught.value) == expected.replace("{file}", str(path))


@pytest.mark.parametrize("body", [
    'query = "abs:llm"\ncategories = ["cs.CL", "cs.LG", "stat.ML", "hep-th", "astro-ph.CO", "q-bio.NC"]\n',
    'query = \'abs:"open-weight" AND (cat:cs.CL OR cat:cs.LG)\'\n',
    'query = "cat:cs.* AND abs:llm"\n',
    'query = "cat:math AND ti:reasoning"\n',
])
def test_real_categories_load(tmp_path, body):
    path = tmp_path / "openwatch.toml"
    path.write_text(WATCH + body)
    assert load_config(path, environ={}).watch("papers").source == "arxiv"


def test_the_shipped_list_is_arxiv_s():
    cats = known_categories()
    assert len(cats) == 176 and {"cs.CL", "cs.LG", "math.AG", "eess.SY", "econ.EM", "astro-ph"} <= cats
    assert "cs.CLL" not in cats and not any(c.startswith("test") for c in cats)


def test_the_cli_refuses_it_with_one_line(tmp_path):
    path = tmp_path / "openwatch.toml"
    path.write_text('database = "openwatch.db"\n' + WATCH + 'query = "abs:llm"\ncategories = ["cs.CLL"]\n')
    result = CLI(path)("status", check=False)
    assert result.returncode == 2
    assert f'{path}:7: watch[1].categories[1]: "cs.CLL" is not an arXiv category; did you mean "cs.CL"?' \
        in result.stderr.splitlines()[-1]
