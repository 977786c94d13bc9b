"""One output decorator for every listing command: `--json`, `--csv`, default a table
(as sqlite-utils' `output_options`)."""

from __future__ import annotations

import csv
import functools
import io
import json
from typing import Any, Iterable

import click
from tabulate import tabulate

MAX_CELL = 80


def output_options(func):
    @click.option("--json", "fmt", flag_value="json", help="Print a JSON array.")
    @click.option("--csv", "fmt", flag_value="csv", help="Print CSV with a header row.")
    @functools.wraps(func)
    def wrapper(*args, fmt=None, **kwargs):
        return func(*args, fmt=fmt or "table", **kwargs)

    return wrapper


def _cell(value: Any, limit: int | None = MAX_CELL) -> str:
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        value = json.dumps(value, ensure_ascii=False, sort_keys=True)
    text = str(value).replace("\n", " ")
    if limit and len(text) > limit:
        text = text[: limit - 1] + "…"
    return text


def emit(rows: Iterable[dict], fmt: str, columns: list[str], json_rows: list | None = None) -> None:
    """Print rows. JSON prints `json_rows` when given (the full objects), else the rows."""
    rows = list(rows)
    if fmt == "json":
        click.echo(json.dumps(json_rows if json_rows is not None else rows, indent=2, ensure_ascii=False,
                              default=str))
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
        click.echo(tabulate([[_cell(row.get(c)) for c in columns] for row in rows], headers=columns))
