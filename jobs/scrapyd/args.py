"""Spider arguments and settings as a Scrapyd job's command line takes them (`-a`, `-s`),
checked before scheduling: Linux refuses an exec with one argument past MAX_ARG_STRLEN."""

from __future__ import annotations

import json
import re
from typing import Any, Iterable, Mapping

# Linux MAX_ARG_STRLEN: one argv string, its NUL included (include/uapi/linux/binfmts.h).
MAX_ARG_STRLEN = 131_072
MAX_ARG_BYTES = 100_000         # one `key=value` of ours; the rest is headroom
MAX_ARGS_BYTES = 1_000_000      # all of a job's arguments and settings (ARG_MAX is ~2 MB with the environment)
# Scrapyd's own schedule.json parameters: a spider argument cannot have these names.
RESERVED_ARGS = ("project", "spider", "_version", "jobid", "priority", "setting")
# Arguments show in listjobs.json and in `ps` on the worker: secrets go in its environment.
SECRET_ARG = re.compile(r"token|password|secret|api_?key", re.IGNORECASE)
# A worker never writes the history database: only the one ingest process does.
FORBIDDEN_SETTINGS = ("OPENWATCH_DATABASE", "OPENWATCH_CONFIG")


def encode_spider_args(spider_args: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Spider arguments as Scrapyd passes them (`-a key=value`, strings only).

    A list or tuple becomes comma-separated (`orgs=Qwen,deepseek-ai`), a dict JSON, a bool
    `true`/`false`, None is left out. ValueError for a reserved name, or a secret (a token
    given as an argument is readable by anyone who can list the server's jobs).
    """
    encoded = []
    for key, value in spider_args.items():
        if key in RESERVED_ARGS or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
            raise ValueError(f"spider argument {key!r} cannot be passed through Scrapyd: "
                             f"use a name other than {', '.join(RESERVED_ARGS)}")
        if value is None:
            continue
        if SECRET_ARG.search(key):
            raise ValueError(f"spider argument {key!r} would show in listjobs.json and ps on the worker: "
                             "set the secret (e.g. HF_TOKEN) in the Scrapyd service's environment instead")
        if isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, (list, tuple)):
            text = ",".join(str(v) for v in value)
        elif isinstance(value, dict):
            text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
        else:
            text = str(value)
        encoded.append((key, text))
    return encoded


def check_arg_sizes(args: Iterable[tuple[str, str]], settings: Mapping[str, str]) -> None:
    """ValueError naming the first argument or setting Linux would refuse to exec (see module doc)."""
    total = 0
    for kind, key, value in [*(("argument", k, v) for k, v in args), *(("setting", k, v) for k, v in settings.items())]:
        size = len(f"{key}={value}".encode())
        total += size + 4
        if size > MAX_ARG_BYTES:
            raise ValueError(f"spider {kind} {key!r} is {size} bytes; Scrapyd passes it as one command-line "
                             f"argument, and more than {MAX_ARG_BYTES} would lose the job: serve it by URL")
    if total > MAX_ARGS_BYTES:
        raise ValueError(f"spider arguments and settings are {total} bytes together; more than "
                         f"{MAX_ARGS_BYTES} cannot start a crawl process: serve the big ones by URL")


def job_settings_args(job_settings: Mapping[str, Any]) -> dict[str, str]:
    """Scrapy settings as `-s KEY=VALUE` strings; ValueError for one a worker must not get."""
    settings = {}
    for key, value in job_settings.items():
        if key in FORBIDDEN_SETTINGS:
            raise ValueError(f"setting {key} is the ingest process's: a Scrapyd job never writes the database")
        if not re.fullmatch(r"[A-Z][A-Z0-9_]*", key):
            raise ValueError(f"{key!r} is not a Scrapy setting name")
        settings[key] = json.dumps(value) if isinstance(value, (dict, list, bool)) else str(value)
    if settings.get("LOG_LEVEL", "INFO").upper() not in ("DEBUG", "INFO"):
        settings["LOG_LEVEL"] = "INFO"  # the stats dump and "Spider closed" are INFO lines
    return settings
