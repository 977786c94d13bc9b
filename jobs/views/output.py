"""One output decorator for every listing command: `--json`, `--nl`, `--csv`, default a table
(as sqlite-utils' `output_options`)."""

from __future__ import annotations

import csv
import functools
import io
import json
from typing import Any, Iterable

import click

from alerts.redaction import visible

MAX_CELL = 80


FORMATS = {"json": "Print a JSON array.", "nl": "Print one JSON object a line (newline-delimited JSON).",
           "csv": "Print CSV with a header row."}


def output_options(func=None, *, json: str | None = None):
    """`--json`, `--nl`, `--csv` (at most one; none: a table), handed to `func` as `fmt`.
    `json`: the help of `--json` for a command whose JSON is not an array of its rows."""
    if func is None:
        return functools.partial(output_options, json=json)
    helps = {**FORMATS, **({"json": json} if json else {})}

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        chosen = [name for name in FORMATS if kwargs.pop(f"as_{name}")]
        if len(chosen) > 1:
            raise click.UsageError(f"{' and '.join('--' + name for name in chosen)} cannot be combined; choose one")
        return func(*args, fmt=chosen[0] if chosen else "table", **kwargs)

    for name, text in reversed(helps.items()):
        wrapper = click.option(f"--{name}", f"as_{name}", is_flag=True, help=text)(wrapper)
    return wrapper


def _cell(value: Any, limit: int | None = MAX_CELL) -> str:
    """A table cell (`limit` set: for a terminal, scraped control characters and bidi
    overrides shown escaped, never obeyed) or a CSV value (`limit=None`: as stored)."""
    if value is None:
        return ""
    if isinstance(value, bool):  # as JSON and the config write them, not Python's True/False
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        value = json.dumps(value, ensure_ascii=False, sort_keys=True)
    text = str(value).replace("\n", " ")
    if limit:
        text = visible(text)
        if len(text) > limit:
            text = text[: limit - 1] + "…"
    return text


# json.dumps escapes C0 controls; these other line breaks (str.splitlines, JavaScript) it keeps raw.
_LINE_BREAKS = str.maketrans({"\x85": "\\u0085", "\u2028": "\\u2028", "\u2029": "\\u2029"})


def _one_line_json(row: Any) -> str:
    """One JSON document on one line, whatever line breaks scraped text holds."""
    return json.dumps(row, ensure_ascii=False, default=str).translate(_LINE_BREAKS)


def emit(rows: Iterable[dict], fmt: str, columns: list[str], json_rows: list | None = None) -> None:
    """Print rows. JSON (`json`, `nl`) prints `json_rows` when given (the full objects), else the rows."""
    rows = list(rows)
    if fmt == "json":
        click.echo(json.dumps(json_rows if json_rows is not None else rows, indent=2, ensure_ascii=False,
                              default=str))
    elif fmt == "nl":
        for row in json_rows if json_rows is not None else rows:
            click.echo(_one_line_json(row))
    elif fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(columns)
        for row in rows:
            writer.writerow([_cell(row.get(c), None) for c in columns])
        click.echo(buffer.getvalue(), nl=False)
    else:
        if not rows:
            click.echo("(none)")
            return
        from tabulate import tabulate  # ~60 ms to import (its version lookup): only for tables

        click.echo(tabulate([[_cell(row.get(c)) for c in columns] for row in rows], headers=columns))
