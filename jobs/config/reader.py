"""The typed reader: one file's parsed tables read key by key, each problem one `ConfigError`.

`Reader` holds the file's name and key positions; its getters take a table and its key path
and return a valid value or raise `file:line: key: problem; fix`. An owner of a section (a
source, a channel, the daemon) gets a `TableReader`: the same getters over its own table.
Key paths number array entries from 0 (`("watch", 1, "every")`), shown from 1 (`watch[2].every`).
"""

from __future__ import annotations

import json
import re
from typing import Any

from alerts.redaction import redact_secret
from alerts.types import MissingSecret
from jobs.config.durations import DURATION_EXAMPLES, parse_duration
from jobs.config.keylines import KeyLines
from jobs.exceptions import ConfigError
from jobs.filters import did_you_mean

_NAME = re.compile(r"[a-z0-9][a-z0-9_-]*")
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
MISSING: Any = object()  # "no default": the key is required


def key_path(at: tuple) -> str:
    """("watch", 1, "every") -> "watch[2].every" (array entries counted from 1)."""
    out = ""
    for segment in at:
        if isinstance(segment, int):
            out += f"[{segment + 1}]"
        else:
            name = segment if _BARE_KEY.fullmatch(segment) else json.dumps(segment)
            out += f".{name}" if out else name
    return out


def show(value: Any, limit: int = 60) -> str:
    """A value as TOML would write it, shortened; only for values that are not secret."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        text = json.dumps(value, ensure_ascii=False)
        return text if len(text) <= limit else text[: limit - 2] + '…"'
    return str(value)


def redact(value: Any) -> str:
    """`value` safe to print (one owner of redaction: `alerts.redaction`): URLs keep scheme and
    host, `whsec_` secrets only their prefix, anything else nothing."""
    text = "" if value is None else str(value)
    return redact_secret(text) if text else text


def type_name(value: Any) -> str:
    for kind, name in (
        (bool, "a boolean"),
        (int, "an integer"),
        (float, "a float"),
        (str, "a string"),
        (list, "an array"),
        (dict, "a table"),
    ):
        if isinstance(value, kind):
            return name
    return "a date/time"


class Reader:
    """Typed getters over the tables of one file (`shown` as the user named it)."""

    def __init__(self, shown: str, lines: KeyLines):
        self.shown = shown
        self.lines = lines

    def error(
        self, at: tuple, problem: str, fix: str | None = None, *, line: Any = MISSING
    ) -> ConfigError:
        """The error at key path `at`, its line found in the file unless `line` is given."""
        return ConfigError(
            problem,
            fix,
            file=self.shown,
            line=self.lines.find(at) if line is MISSING else line,
            key=key_path(at) or None,
        )

    # -- the document

    def tables(self, document: dict, key: str, build) -> tuple:
        """Each `[[key]]` built by `build(table, at)`."""
        if key not in document:
            return ()
        value = document[key]
        if isinstance(value, dict):
            raise self.error(
                (key,),
                f"is a single table ([{key}])",
                f"write [[{key}]] (double brackets) before each {key}",
            )
        if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
            raise self.error(
                (key,),
                f"expected tables, got {type_name(value)}",
                f"write a [[{key}]] table for each {key}",
            )
        return tuple(build(table, (key, i)) for i, table in enumerate(value))

    def unique(self, entries: tuple, kind: str) -> None:
        seen: dict[str, int] = {}
        for i, entry in enumerate(entries):
            if entry.name in seen:
                raise self.error(
                    (kind, i, "name"),
                    f"{show(entry.name)} is already the name of "
                    f"{key_path((kind, seen[entry.name]))}",
                    f"give each {kind} a unique name",
                )
            seen[entry.name] = i

    # -- sections

    def require_table(self, value: Any, at: tuple) -> None:
        if not isinstance(value, dict):
            raise self.error(
                at,
                f"expected a table, got {type_name(value)}",
                f"write [{key_path(at)}] and its keys below it",
            )

    def check_keys(self, table: dict, at: tuple, allowed: tuple[str, ...]) -> None:
        for key in table:
            if key not in allowed:
                fix = did_you_mean(key, allowed, "valid keys")
                raise self.error(at + (key,), "unknown key", fix)

    def missing(self, at: tuple, key: str, example: str) -> ConfigError:
        if not at:
            return self.error(at, f'"{key}" is missing', f"add {key} = {example}")
        where = f"[{key_path(at)}]" if len(at) == 1 else f"this [[{at[0]}]]"
        return self.error(at, f'"{key}" is missing', f"add {key} = {example} to {where}")

    def wrong_type(
        self, value: Any, at: tuple, expected: str, example: str, secret: bool = False
    ) -> ConfigError:
        shown = "" if secret or isinstance(value, (list, dict)) else f" ({show(value)})"
        key = next(segment for segment in reversed(at) if isinstance(segment, str))
        return self.error(
            at, f"expected {expected}, got {type_name(value)}{shown}", f"write {key} = {example}"
        )

    def get(self, table: dict, at: tuple, key: str, default: Any, example: str) -> Any:
        if key in table:
            return table[key]
        if default is MISSING:
            raise self.missing(at, key, example)
        return default

    def string(
        self,
        table: dict,
        at: tuple,
        key: str,
        *,
        default: Any = MISSING,
        example: str,
        empty: bool = False,
        secret: bool = False,
    ) -> str:
        value = self.get(table, at, key, default, example)
        if secret and isinstance(value, MissingSecret):
            return value  # checked once it is known: `Config.require_secrets()`
        if not isinstance(value, str):
            raise self.wrong_type(value, at + (key,), "a string", example, secret)
        if not value.strip() and not empty and key in table:
            raise self.error(at + (key,), "is empty", f"write {key} = {example}")
        return value

    def boolean(self, table: dict, at: tuple, key: str, *, default: bool) -> bool:
        value = table.get(key, default)
        if not isinstance(value, bool):
            raise self.wrong_type(value, at + (key,), "a boolean", "true (or false)")
        return value

    def integer(
        self,
        table: dict,
        at: tuple,
        key: str,
        *,
        default: int,
        minimum: int,
        maximum: int | None = None,
    ) -> int:
        value = table.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.wrong_type(value, at + (key,), "an integer", str(default))
        if value < minimum or (maximum is not None and value > maximum):
            bounds = f"from {minimum} to {maximum}" if maximum is not None else f"{minimum} or more"
            raise self.error(at + (key,), f"{value} is out of range", f"use an integer {bounds}")
        return value

    def duration(
        self,
        table: dict,
        at: tuple,
        key: str,
        *,
        default: Any = MISSING,
        example: str,
        numbers: bool = False,
    ) -> float:
        """A duration string; with `numbers`, a plain number of seconds is accepted too."""
        value = self.get(table, at, key, default, example)
        if key not in table:
            return float(value)
        if numbers and isinstance(value, (int, float)) and not isinstance(value, bool):
            if value < 0:
                raise self.error(at + (key,), f"{value} is negative", f"write {key} = {example}")
            return float(value)
        if not isinstance(value, str):
            shown = type_name(value) if isinstance(value, (list, dict)) else show(value)
            raise self.error(
                at + (key,),
                f"{shown} is not a duration",
                f"{DURATION_EXAMPLES} (a string: {key} = {example})",
            )
        try:
            return parse_duration(value)
        except ValueError:
            raise self.error(
                at + (key,), f"{show(value)} is not a duration", DURATION_EXAMPLES
            ) from None

    def string_list(self, table: dict, at: tuple, key: str, *, example: str) -> list[str]:
        value = self.get(table, at, key, MISSING, example)
        if not isinstance(value, list):
            if isinstance(value, str):
                raise self.error(
                    at + (key,),
                    f"expected an array, got a string ({show(value)})",
                    f"write {key} = [{show(value)}]",
                )
            raise self.wrong_type(value, at + (key,), "an array of strings", example)
        if not value:
            raise self.error(
                at + (key,),
                "is empty",
                f"list at least one, e.g. {key} = {example}, or remove the key",
            )
        for i, item in enumerate(value):
            if not isinstance(item, str):
                raise self.wrong_type(item, at + (key, i), "a string", example)
            if not item.strip():
                raise self.error(
                    at + (key, i), "is empty", f"remove it, or write e.g. {key} = {example}"
                )
        return [item.strip() for item in value]

    def choice(
        self,
        table: dict,
        at: tuple,
        key: str,
        choices: tuple[str, ...],
        *,
        noun: str,
        default: Any = MISSING,
    ) -> str:
        example = f'"{choices[0]}"'
        value = self.get(table, at, key, default, example)
        if not isinstance(value, str):
            raise self.wrong_type(value, at + (key,), "a string", example)
        if value not in choices:
            raise self.error(
                at + (key,),
                f"{show(value)} is not a {noun}",
                did_you_mean(value, choices, f"{noun}s"),
            )
        return value

    def name(self, table: dict, at: tuple, kind: str) -> str:
        name = self.string(table, at, "name", example=f'"{"labs" if kind == "watch" else "team"}"')
        if not _NAME.fullmatch(name):
            suggestion = re.sub(r"[^a-z0-9_-]+", "-", name.lower()).strip("-_") or kind
            raise self.error(
                at + ("name",),
                f"{show(name)} is not a valid {kind} name",
                'use lower-case letters, digits, "-" and "_", starting with a letter or digit, '
                f'e.g. "{suggestion}"',
            )
        return name



class TableReader:
    """What the owner of a table gets (a source's `options(read)`, a channel's, the daemon's
    section): typed getters over that one table whose errors keep the `file:line: key:
    problem; fix` form (STYLE.md, "Each kind declares its own options"). Keys are the
    table's; a path inside a key is a tuple (`("orgs", 2)`). Domain getters (`orgs`, `repos`,
    `urls`, `filter`) are the loader's, which knows the registry and the watches."""

    def __init__(self, loader: Any, table: dict, at: tuple):
        self._loader, self._table, self._at = loader, table, at
        self.registry = loader.registry

    @staticmethod
    def show(value: Any) -> str:
        """A value as TOML would write it, shortened, for an error message (never a secret)."""
        return show(value)

    @property
    def at(self) -> tuple:
        """This table's key path (`("subscription", 2)`)."""
        return self._at

    def keys(self) -> tuple[str, ...]:
        return tuple(self._table)

    def check_keys(self, allowed: tuple[str, ...]) -> None:
        """`unknown key` (with a suggestion) for the first key not in `allowed`."""
        self._loader.check_keys(self._table, self._at, allowed)

    def name(self, kind: str) -> str:
        """The table's `name`: a valid watch or subscription name."""
        return self._loader.name(self._table, self._at, kind)

    def choice(self, key: str, choices: tuple[str, ...], *, noun: str, default: Any = MISSING) -> str:
        return self._loader.choice(self._table, self._at, key, choices, noun=noun, default=default)

    def filter(self, key: str) -> frozenset[str] | None:
        """A subscription filter (`events`, `orgs`, `countries`, `categories`, `watches`,
        `models`) checked as the CLI checks its options; None when the key is absent."""
        return self._loader.filter(self._table, self._at, key)

    def has(self, key: str) -> bool:
        return key in self._table

    def missing(self, key: str, example: str) -> ConfigError:
        return self._loader.missing(self._at, key, example)

    def value(self, key: str, default: Any = None) -> Any:
        return self._table.get(key, default)

    def string(self, key: str, *, example: str, default: Any = MISSING, empty: bool = False,
               secret: bool = False) -> str:
        """A string; with `secret`, an unset `${VAR}` comes back as a `MissingSecret`."""
        return self._loader.string(self._table, self._at, key, default=default, example=example,
                                   empty=empty, secret=secret)

    def string_list(self, key: str, *, example: str) -> list[str]:
        return self._loader.string_list(self._table, self._at, key, example=example)

    def orgs(self, key: str = "orgs") -> tuple[str, ...]:
        if key != "orgs":
            raise ValueError("orgs are read from the key `orgs`")
        return self._loader.orgs(self._table, self._at)

    def repos(self, key: str = "repos") -> tuple[str, ...]:
        return self._loader.repos(self._table, self._at, key)

    def urls(self, key: str = "urls") -> tuple[str, ...]:
        return self._loader.urls(self._table, self._at, key)

    def integer(self, key: str, *, default: int, minimum: int, maximum: int | None = None) -> int:
        return self._loader.integer(self._table, self._at, key, default=default, minimum=minimum, maximum=maximum)

    def number(self, key: str, *, default: float, minimum: float = 0.0) -> float:
        value = self._table.get(key, default)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self._loader.wrong_type(value, self._at + (key,), "a number", str(default))
        if value < minimum:
            raise self.error(key, f"{value} is out of range", f"use a number of {minimum} or more")
        return float(value)

    def duration(self, key: str, *, default: Any = MISSING, example: str, numbers: bool = False) -> float:
        return self._loader.duration(self._table, self._at, key, default=default, example=example,
                                     numbers=numbers)

    def boolean(self, key: str, *, default: bool) -> bool:
        return self._loader.boolean(self._table, self._at, key, default=default)

    def error(self, key: str | tuple, problem: str, fix: str) -> ConfigError:
        path = key if isinstance(key, tuple) else (key,)
        return self._loader.error(self._at + path, problem, fix)
