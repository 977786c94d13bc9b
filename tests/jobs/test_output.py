"""The listing commands' shared output options: `--nl` prints one JSON object a line."""

from __future__ import annotations

import json

import click
from click.testing import CliRunner

from jobs.views.output import emit, output_options
from tests.support import history_world
from tests.support.cli import CLI, write_config

ROWS = [{"name": "a\nb", "note": "line\u2028separator \x85 next-line"}, {"name": "Qwen/Qwen3-8B", "note": None}]


@click.command()
@output_options
def listing(fmt):
    emit(ROWS, fmt, ["name", "note"])


def test_nl_is_one_json_object_a_line_whatever_the_text_holds():
    result = CliRunner().invoke(listing, ["--nl"])
    assert result.exit_code == 0
    lines = result.output.splitlines()  # splitlines also breaks at U+2028 and U+0085
    assert [json.loads(line) for line in lines] == ROWS


def test_nl_prints_nothing_for_no_rows():
    @click.command()
    @output_options
    def empty(fmt):
        emit([], fmt, ["name"])

    assert CliRunner().invoke(empty, ["--nl"]).output == ""


def test_events_nl_carries_the_full_event_objects(tmp_path):
    world = history_world.build(tmp_path / "openwatch.db")
    config = write_config(tmp_path / "openwatch.toml", hf="http://127.0.0.1:9", watches=[
        {"name": "labs", "source": "huggingface", "orgs": ["meta-llama"], "every": "1h"}])
    ow = CLI(config)
    lines = ow("events", "--nl").stdout.splitlines()
    assert [json.loads(line) for line in lines] == ow.json("events")
    assert len(lines) == len(world["events"])
    first = json.loads(lines[0])
    assert set(first) == {"id", "type", "item", "watch", "detected_at", "summary", "url", "before", "after", "data"}
