"""Read one `openwatch.toml` into a `Config`: the document, `${VAR}`, and each section handed
to its owner (sources: `[[watch]]` keys; alerts: `[smtp]`, `[[subscription]]`; the daemon:
`[daemon]`; Scrapyd: `[scrapyd]`) with the typed reader.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

from alerts.config import is_secret, read_smtp, read_subscription
from alerts.redaction import is_http_url
from alerts.types import MissingSecret
from crawler.orgs import REGISTRY_PREFIX, OrgTable, default_orgs
from crawler.sources import all_sources, item_key, key_prefixes
from jobs import filters
from jobs.config.durations import DURATION_EXAMPLES, format_duration
from jobs.config.keylines import KeyLines
from jobs.config.model import MAX_DEFAULT_REQUEST_TIMEOUT, Config, Endpoints, Watch
from jobs.config.reader import Reader, TableReader, show
from jobs.daemon import read_daemon
from jobs.scrapyd.settings import ScrapydSettingError, parse_scrapyd_section
from jobs.exceptions import ConfigError

CONFIG_FILENAME = "openwatch.toml"
CONFIG_ENV = "OPENWATCH_CONFIG"
SHORT_INTERVALS_ENV = "OPENWATCH_ALLOW_SHORT_INTERVALS"

# Every source's endpoints with their defaults (crawler/sources/ declares them); kept in
# this order in `[endpoints]`.
DEFAULT_ENDPOINTS = {
    "huggingface": "https://huggingface.co",
    "github": "https://github.com",
    "github_api": "https://api.github.com",
    "arxiv": "https://export.arxiv.org",
    "modelscope": "https://modelscope.cn",
}

MIN_EVERY = 60.0  # a source is not polled more often than once a minute, unless tests say so
MAX_DEFAULT_TIMEOUT = 30 * 60.0
JITTER_FRACTION = 0.1
MAX_DEFAULT_JITTER = 5 * 60.0
DEFAULT_FAILING_AFTER = 3

# Keys every watch takes; each source declares its own (crawler/sources/).
WATCH_KEYS = ("name", "source", "every", "timeout", "request_timeout", "jitter", "enabled", "failing_after")
TOP_KEYS = ("database", "feed_path", "endpoints", "watch", "smtp", "subscription", "daemon", "scrapyd")

_HF_ORG = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_REPO = re.compile(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+")
_VAR_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_REFERENCE = re.compile(r"(\$?)\$\{([^}]*)(\}?)")


def find_config_path(
    explicit: str | None, environ: Mapping[str, str], cwd: Path | None = None
) -> Path:
    """`--config PATH`, else `$OPENWATCH_CONFIG`, else `./openwatch.toml` (not checked to exist).

    A relative path stays relative unless `cwd` is given, so errors show it as the user wrote it.
    """
    path = Path(explicit or environ.get(CONFIG_ENV) or CONFIG_FILENAME).expanduser()
    if cwd is not None and not path.is_absolute():
        path = Path(cwd) / path
    return path


def load_config(
    path: str | os.PathLike[str],
    environ: Mapping[str, str] | None = None,
    registry: OrgTable | None = None,
    *,
    secrets: bool = True,
) -> Config:
    """Read and validate the configuration at `path`; `ConfigError` (one line) if it is not valid.

    `environ` (default: the process environment) supplies `${VAR}`, `HF_ENDPOINT` and
    `OPENWATCH_ALLOW_SHORT_INTERVALS`; `registry` (default: the shipped one) expands
    `registry:XX` org selectors. `secrets=False` is for commands that only query the history:
    an unset variable in a secret (see `is_secret`) becomes a `MissingSecret` instead of an
    error; call `Config.require_secrets()` before sending anything with such a config.
    """
    path = Path(path)
    shown = str(path)
    environ = dict(os.environ) if environ is None else environ
    registry = default_orgs() if registry is None else registry
    try:
        raw = path.read_bytes()
    except FileNotFoundError as exc:
        raise ConfigError(
            "not found",
            'run "openwatch init" to write a starter config or pass --config PATH',
            file=shown,
        ) from exc
    except IsADirectoryError as exc:
        raise ConfigError(
            "is a directory",
            f"pass the path of a TOML file, e.g. --config {path / CONFIG_FILENAME}",
            file=shown,
        ) from exc
    except OSError as exc:
        raise ConfigError(
            f"cannot be read ({exc.strerror or exc})",
            "check the path and its permissions",
            file=shown,
        ) from exc
    try:
        text = raw.decode("utf-8-sig")  # Notepad writes a BOM; tomllib refuses it
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ConfigError(
            "is not UTF-8 text", "save the file as UTF-8", file=shown, line=line
        ) from exc
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _syntax_error(exc, shown) from exc
    config = _Loader(path, shown, text, environ, registry).load(document)
    if secrets:
        config.require_secrets()
    return config



_TOML_POSITION = re.compile(r"\s*\(at (?:line (\d+), column (\d+)|end of document)\)\s*$")
_TOML_KEY_TUPLE = re.compile(r"\(((?:'[^']*'(?:, )?)+),?\)")
_TOML_HINTS = (
    ("twice", "declare each [table] once; write [[name]] for a list of tables"),
    ("overwrite", "set each key once per table"),
    ("mutate", "set each key once per table"),
    ("unterminated string", "close the string with the quote it opens with"),
    ("illegal character", "close the string with the quote it opens with"),
    ("invalid value", 'quote strings and durations, e.g. every = "30m"'),
    ("expected newline", 'quote strings and durations, e.g. every = "30m"'),
)


def _syntax_error(exc: tomllib.TOMLDecodeError, shown: str) -> ConfigError:
    """tomllib's "Invalid value (at line 3, column 9)" as `file:3: invalid TOML: …; <fix>`."""
    message = str(exc)
    position = _TOML_POSITION.search(message)
    line = column = None
    if position:
        message = message[: position.start()]
        if position.group(1):
            line, column = int(position.group(1)), int(position.group(2))
    message = _TOML_KEY_TUPLE.sub(
        lambda m: "[" + ".".join(re.findall(r"'([^']*)'", m.group(1))) + "]", message
    )
    problem = f"invalid TOML: {message[:1].lower()}{message[1:]}"
    if column is not None:
        problem += f" (column {column})"
    elif position:
        problem += " (at the end of the file)"
    fix = next(
        (hint for needle, hint in _TOML_HINTS if needle in message.lower()),
        "see https://toml.io/en/v1.0.0 for the syntax",
    )
    return ConfigError(problem, fix, file=shown, line=line)



class _Loader(Reader):
    """One reading of one file: turns the parsed document into a `Config` or one `ConfigError`."""

    def __init__(
        self, path: Path, shown: str, text: str, environ: Mapping[str, str], registry: OrgTable
    ):
        super().__init__(shown, KeyLines(text))
        self.path = path
        self.environ = environ
        self.registry = registry
        self.allow_short = environ.get(SHORT_INTERVALS_ENV, "") == "1"
        self.missing_secrets: list[MissingSecret] = []
        self.watches_read: tuple[Watch, ...] = ()  # what subscription filters may name

    # -- the document

    def load(self, document: dict) -> Config:
        document = self.substitute(document, ())
        self.check_keys(document, (), TOP_KEYS)
        database = self.string(
            document, (), "database", default="openwatch.db", example='"openwatch.db"'
        )
        database_path = Path(database).expanduser()
        folder = self.path.absolute().parent
        if not database_path.is_absolute():
            database_path = folder / database_path
        feed_path = None
        if "feed_path" in document:
            feed_path = Path(self.string(document, (), "feed_path", example='"events.xml"')).expanduser()
            if not feed_path.is_absolute():
                feed_path = folder / feed_path
        endpoints = self.endpoints(document.get("endpoints", {}))
        watches = self.tables(document, "watch", self.watch)
        smtp = None
        if "smtp" in document:
            smtp = read_smtp(self.section(document, "smtp", once="write [smtp] (single brackets) once"))
        self.unique(watches, "watch")
        self.watches_read = watches  # what subscription filters may name
        subscriptions = self.tables(
            document, "subscription", lambda table, at: read_subscription(TableReader(self, table, at), smtp)
        )
        self.unique(subscriptions, "subscription")
        return Config(
            path=self.path.absolute(),
            database=database_path,
            endpoints=endpoints,
            watches=watches,
            subscriptions=subscriptions,
            smtp=smtp,
            daemon=read_daemon(self.section(document, "daemon")),
            feed_path=feed_path,
            missing_secrets=tuple(self.missing_secrets),
            scrapyd=self.scrapyd(document["scrapyd"]) if "scrapyd" in document else None,
        )

    def scrapyd(self, table: Any):
        """`[scrapyd]`, read by its owner (which raises its own `ScrapydSettingError`)."""
        at = ("scrapyd",)
        if isinstance(table, list):
            raise self.error(at, "is a list of tables ([[scrapyd]])", "write [scrapyd] once")
        self.require_table(table, at)
        try:
            return parse_scrapyd_section(table)
        except ScrapydSettingError as exc:
            raise self.error(at + tuple(exc.at), exc.problem, exc.fix) from None

    def substitute(self, value: Any, at: tuple) -> Any:
        """`${VAR}` in every string replaced from the environment; `$${` writes a literal `${`.

        An unset variable is an error, except in a secret (`is_secret`): that becomes a
        `MissingSecret`, and an error only when the secrets are required.
        """
        if isinstance(value, str):
            unset: list[str] = []

            def replace(match: re.Match) -> str:
                escaped, name, closed = match.groups()
                if escaped:
                    return "${" + name + closed
                if not closed or not _VAR_NAME.fullmatch(name):
                    raise self.error(
                        at,
                        f'"${{{name}{closed}" is not a variable reference',
                        'write ${NAME} (letters, digits, "_"), or $${ for a literal "${"',
                    )
                if name not in self.environ:
                    unset.append(name)
                    return ""
                return self.environ[name]

            text = _REFERENCE.sub(replace, value)
            if not unset:
                return text
            error = self.error(
                at,
                f"environment variable {unset[0]} is not set",
                f"set {unset[0]} in openwatch's environment (secrets live there, not in the file)",
            )
            if not is_secret(at):
                raise error
            secret = MissingSecret(unset[0], error)
            self.missing_secrets.append(secret)
            return secret
        if isinstance(value, list):
            return [self.substitute(item, at + (i,)) for i, item in enumerate(value)]
        if isinstance(value, dict):
            return {key: self.substitute(item, at + (key,)) for key, item in value.items()}
        return value

    def section(self, document: dict, key: str, *, once: str | None = None) -> TableReader:
        """The single table `[key]` for its owner; `once`: the fix when it was written `[[key]]`."""
        table = document.get(key, {})
        if once and isinstance(table, list):
            raise self.error((key,), f"is a list of tables ([[{key}]])", once)
        self.require_table(table, (key,))
        return TableReader(self, table, (key,))

    # -- sections

    def endpoints(self, table: Any) -> Endpoints:
        at = ("endpoints",)
        self.require_table(table, at)
        defaults = dict(DEFAULT_ENDPOINTS)
        for source in all_sources().values():
            for key, default in source.endpoints.items():
                defaults.setdefault(key, default)
        self.check_keys(table, at, tuple(defaults))
        urls = {}
        for key, default in defaults.items():
            if key == "huggingface" and key not in table and self.environ.get("HF_ENDPOINT"):
                url = self.environ["HF_ENDPOINT"]
                if not is_http_url(url):
                    raise self.error(
                        at + (key,),
                        f"HF_ENDPOINT {show(url)} (from the environment) is not an http(s) URL",
                        "set HF_ENDPOINT to a URL such as https://huggingface.co, or unset it",
                        line=None,
                    )
            else:
                url = self.string(table, at, key, default=default, example=f'"{default}"')
                if not is_http_url(url):
                    raise self.error(
                        at + (key,),
                        f"{show(url)} is not an http(s) URL",
                        f'use a URL such as "{default}"',
                    )
            urls[key] = url.rstrip("/")
        return Endpoints(urls)

    def watch(self, table: dict, at: tuple) -> Watch:
        sources = all_sources()
        name = self.name(table, at, "watch")
        kind = self.choice(table, at, "source", tuple(sources), noun="source")
        source = sources[kind]
        own = source.keys
        for key in table:
            if key in WATCH_KEYS or key in own:
                continue
            owners = [s for s, cls in sources.items() if key in cls.keys]
            if not owners:
                self.check_keys({key: None}, at, WATCH_KEYS + own)
            hint = f'remove it, or set source = "{owners[0]}"'
            if own:
                hint = f'{kind} watches take {", ".join(own)}; {hint}'
            raise self.error(at + (key,), f"is not used by {kind} watches", hint)
        options = dict(source.options(TableReader(self, table, at)))

        every = self.duration(table, at, "every", example='"30m"')
        if every <= 0:
            raise self.error(at + ("every",), "must be longer than 0s", DURATION_EXAMPLES)
        if every < MIN_EVERY and not self.allow_short:
            minimum = format_duration(MIN_EVERY)
            raise self.error(
                at + ("every",),
                f"{show(format_duration(every))} is shorter than the minimum of {minimum}",
                f'use "{minimum}" or more ({SHORT_INTERVALS_ENV}=1 lifts this, for tests)',
            )
        timeout = self.duration(
            table, at, "timeout", default=min(every, MAX_DEFAULT_TIMEOUT), example='"10m"'
        )
        if timeout <= 0:
            raise self.error(
                at + ("timeout",),
                "must be longer than 0s",
                f"{DURATION_EXAMPLES}, or remove it for the default",
            )
        request_timeout = self.duration(
            table, at, "request_timeout", default=min(timeout, MAX_DEFAULT_REQUEST_TIMEOUT), example='"30s"'
        )
        if not 0 < request_timeout <= timeout:
            raise self.error(
                at + ("request_timeout",),
                f"{show(format_duration(request_timeout))} must be more than 0s and at most the timeout"
                f" ({format_duration(timeout)})",
                'write e.g. request_timeout = "30s", or remove it for the default',
            )
        jitter_default = min(every * JITTER_FRACTION, MAX_DEFAULT_JITTER)
        jitter = self.duration(table, at, "jitter", default=jitter_default, example='"1m"')
        if jitter > every:
            raise self.error(
                at + ("jitter",),
                f"{show(format_duration(jitter))} is longer than every ({format_duration(every)})",
                'use a jitter shorter than every, or "0s" for none',
            )
        return Watch(
            name=name,
            source=kind,
            every=every,
            timeout=timeout,
            request_timeout=request_timeout,
            jitter=jitter,
            enabled=self.boolean(table, at, "enabled", default=True),
            failing_after=self.integer(
                table, at, "failing_after", default=DEFAULT_FAILING_AFTER, minimum=1
            ),
            options=MappingProxyType(options),
            units=tuple(source.units(options)),
        )

    def repos(self, table: dict, at: tuple, key: str = "repos") -> tuple[str, ...]:
        repos = self.string_list(table, at, key, example='["openai/gpt-oss"]')
        for i, repo in enumerate(repos):
            if not _REPO.fullmatch(repo):
                raise self.error(
                    at + (key, i),
                    f"{show(repo)} is not a GitHub repository",
                    'write "owner/repo", e.g. "openai/gpt-oss"',
                )
        return tuple(dict.fromkeys(repos))

    def urls(self, table: dict, at: tuple, key: str = "urls") -> tuple[str, ...]:
        urls = self.string_list(table, at, key, example='["https://example.org/index.xml"]')
        for i, url in enumerate(urls):
            if not is_http_url(url):
                raise self.error(
                    at + (key, i),
                    f"{show(url)} is not an http(s) URL",
                    'write the feed\'s full URL, e.g. "https://example.org/index.xml"',
                )
        return tuple(dict.fromkeys(urls))

    def orgs(self, table: dict, at: tuple) -> tuple[str, ...]:
        """Hugging Face orgs, `registry:XX` selectors expanded, duplicates dropped, order kept."""
        orgs = self.string_list(table, at, "orgs", example='["meta-llama", "registry:CN"]')
        out: list[str] = []
        for i, org in enumerate(orgs):
            out.extend(self.org_entry(org, at + ("orgs", i)))
        return tuple(dict.fromkeys(out))

    def org_entry(self, org: str, at: tuple) -> list[str]:
        if org.startswith(REGISTRY_PREFIX):
            try:
                return self.registry.select(org)
            except KeyError:
                countries = sorted(self.registry.countries())
                known = ", ".join(f"{REGISTRY_PREFIX}{code}" for code in countries)
                raise self.error(
                    at,
                    f"{show(org)} names no country of the registry",
                    f"use one of {known} or {REGISTRY_PREFIX}all",
                ) from None
        if not _HF_ORG.fullmatch(org):
            raise self.error(
                at,
                f"{show(org)} is not a Hugging Face org",
                'write the org as in its URL, e.g. "deepseek-ai", '
                'or a selector such as "registry:CN"',
            )
        return [org]
    # -- subscription filters: checked as the CLI checks its options (jobs/filters.py)

    def filter(self, table: dict, at: tuple, key: str) -> frozenset[str] | None:
        """A subscription filter's values (None when `key` is absent), each checked."""
        if key not in table:
            return None
        if key == "events":
            names = self.string_list(table, at, "events", example='["model.added", "model.removed"]')
            return frozenset(t for i, name in enumerate(names)
                             for t in self.checked(filters.event_types, name, at + ("events", i)))
        check = {"orgs": self.org_filter, "countries": self.country_filter,
                 "categories": self.category_filter, "watches": self.watch_filter,
                 "models": self.model_filter}[key]
        values = self.string_list(table, at, key, example='["..."]')
        out: set[str] = set()
        for i, value in enumerate(values):
            out.update(check(value, at + (key, i)))
        return frozenset(out)

    def checked(self, check, value: str, at: tuple, **options):
        """`check(value)` of jobs/filters.py, its `FilterError` as this file's error at `at`."""
        try:
            return check(value, **options)
        except filters.FilterError as exc:
            raise self.error(at, exc.problem, exc.fix) from None


    def org_filter(self, value: str, at: tuple) -> list[str]:
        """Every name of each org (jobs/filters.py): an org no watch of this file brings and
        the registry does not know is refused, as `events --org` refuses it."""
        watches = self.watches_read
        out: list[str] = []
        for org in self.org_entry(value, at):
            out += self.checked(filters.org, org, at, known=filters.watched_orgs(watches),
                                open_ended=filters.open_ended(watches), registry=self.registry,
                                where="the registry or the watches of this file")
        return out

    def country_filter(self, value: str, at: tuple) -> list[str]:
        return [self.checked(filters.country, value, at, registry=self.registry)]

    def category_filter(self, value: str, at: tuple) -> list[str]:
        return [self.checked(filters.category, value, at)]

    def watch_filter(self, value: str, at: tuple) -> list[str]:
        names = tuple(w.name for w in self.watches_read)
        return [self.checked(filters.watch, value, at, names=names)]

    def model_filter(self, value: str, at: tuple) -> list[str]:
        if ":" in value:
            prefix = next((p for p in key_prefixes() if value.startswith(p)), None)
            if prefix and len(value) > len(prefix):
                return [value]
        elif _REPO.fullmatch(value):
            return [item_key(value)]
        raise self.error(
            at,
            f"{show(value)} is neither a model id nor an item key",
            'write "owner/name" for a Hugging Face model, '
            'or a key such as "repo:github/owner/repo"',
        )
