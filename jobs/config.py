"""`openwatch.toml` -> `Config`: find the file, read it, substitute `${VAR}`, validate, explain.

Every problem is one `ConfigError` whose `str()` is one line,
`<file>:<line>: <key path>: <problem>; <fix>` (the line is left out when it cannot be found).
Key paths number array entries from 1, as people count: `watch[2]` is the second `[[watch]]`.
Secrets (webhook URLs, passwords, signing secrets) never appear in full in a message: see
`redact`.
"""

from __future__ import annotations

import base64
import binascii
import difflib
import json
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.utils import parseaddr
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from crawler.events import default_subscribed, event_types
from alerts.settings import AlertSettings
from alerts.types import WEEKDAYS, Digest, MissingSecret, Smtp, Subscription  # noqa: F401 - alerts owns them
from crawler.sources import all_sources, item_key, key_prefixes
from crawler.identity import PROJECT_URL, user_agent  # noqa: F401 - PROJECT_URL re-exported
from crawler.licenses import CATEGORIES
from crawler.registry import REGISTRY_PREFIX, Registry, default_registry
from jobs import filters
from jobs.exceptions import ConfigError, UnknownNameError

CONFIG_FILENAME = "openwatch.toml"
CONFIG_ENV = "OPENWATCH_CONFIG"
SHORT_INTERVALS_ENV = "OPENWATCH_ALLOW_SHORT_INTERVALS"


CHANNELS = ("slack", "email", "webhook", "apprise")
LICENSE_CATEGORIES = CATEGORIES  # the licence vocabulary's (DESIGN.md, rule 3)
LOG_FORMATS = ("text", "json")
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
MAX_DEFAULT_REQUEST_TIMEOUT = 60.0  # one answer; a crawl makes many
JITTER_FRACTION = 0.1
MAX_DEFAULT_JITTER = 5 * 60.0
DEFAULT_FAILING_AFTER = 3
DEFAULT_DISPATCH_EVERY = 5.0
DEFAULT_SHUTDOWN_GRACE = 30.0
DEFAULT_SMTP_TIMEOUT = 30.0

# Keys every watch takes; each source declares its own (crawler/sources/).
WATCH_KEYS = ("name", "source", "every", "timeout", "request_timeout", "jitter", "enabled", "failing_after")
SUBSCRIPTION_KEYS = (
    "name", "channel", "events", "orgs", "countries", "categories", "watches", "models",
    "digest", "timezone", "enabled",
)  # fmt: skip
CHANNEL_KEYS = {
    "slack": ("url",),
    "email": ("to",),
    "webhook": ("url", "secret"),
    "apprise": ("url",),
}
SMTP_KEYS = ("host", "port", "starttls", "ssl", "username", "password", "sender", "timeout")
DAEMON_KEYS = ("dispatch_every", "shutdown_grace", "log_format", "user_agent")
TOP_KEYS = ("database", "feed_path", "endpoints", "watch", "smtp", "subscription", "daemon", "scrapyd")

_NAME = re.compile(r"[a-z0-9][a-z0-9_-]*")
_HF_ORG = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_REPO = re.compile(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+")
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_VAR_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_REFERENCE = re.compile(r"(\$?)\$\{([^}]*)(\}?)")
_MISSING: Any = object()

DURATION_EXAMPLES = 'use a number and a unit, e.g. "30m", "6h", "1d"'
DIGEST_EXAMPLES = 'use "hourly", "daily HH:MM" or "weekly MON HH:MM", e.g. "daily 09:00"'
WEBHOOK_SECRET_FIX = (
    'use "whsec_" followed by base64, e.g. the output of python -c "import base64, os; '
    "print('whsec_' + base64.b64encode(os.urandom(32)).decode())\""
)


# --------------------------------------------------------------------------------------------
# The configuration, as the rest of openwatch sees it


class Endpoints(Mapping):
    """Base URLs of the sources by `[endpoints]` key, without a trailing slash (mirrors and
    the emulator go here); also readable as attributes (`endpoints.huggingface`)."""

    def __init__(self, urls: Mapping[str, str]):
        self._urls = dict(urls)

    def __getitem__(self, key: str) -> str:
        return self._urls[key]

    def __iter__(self):
        return iter(self._urls)

    def __len__(self) -> int:
        return len(self._urls)

    def __getattr__(self, name: str) -> str:
        try:
            return self.__dict__["_urls"][name]
        except KeyError:
            raise AttributeError(name) from None

    def __repr__(self) -> str:
        return f"Endpoints({self._urls!r})"


@dataclass(frozen=True)
class Watch:
    """One `[[watch]]`: a source, what of it to crawl, and how often (durations in seconds).

    `options` holds the source's own keys as its class validated them (`watch.orgs` reads
    `options["orgs"]`); `units` are the watched units, each baselined on its own.
    """

    name: str
    source: str
    every: float
    timeout: float
    jitter: float
    enabled: bool
    failing_after: int
    options: Mapping[str, Any] = field(default_factory=dict)
    units: tuple[str, ...] = ()
    # Seconds one request may take (connect to last byte) before it is retried, then given up
    # (DOWNLOAD_TIMEOUT): default the crawl's timeout, at most a minute.
    request_timeout: float = MAX_DEFAULT_REQUEST_TIMEOUT

    def __getattr__(self, name: str) -> Any:
        options = self.__dict__.get("options") or {}
        if name in options:
            return options[name]
        raise AttributeError(f"{self.source} watches have no {name!r}")


@dataclass(frozen=True)
class DaemonSettings:
    """Settings of `openwatch run` (durations in seconds)."""

    dispatch_every: float
    shutdown_grace: float
    log_format: str
    user_agent: str


@dataclass(frozen=True)
class Config:
    """A whole, valid `openwatch.toml`; `path` and `database` are absolute."""

    path: Path
    database: Path
    endpoints: Endpoints
    watches: tuple[Watch, ...]
    subscriptions: tuple[Subscription, ...]
    smtp: Smtp | None
    daemon: DaemonSettings
    feed_path: Path | None = None  # an Atom feed of events kept up to date after each crawl
    scrapyd: Any = None            # jobs.scrapyd.ScrapydSettings: crawls run as Scrapyd jobs
    missing_secrets: tuple[MissingSecret, ...] = ()  # only when loaded with `secrets=False`

    def require_secrets(self) -> None:
        """Raise the `ConfigError` of the first secret whose variable is unset (before sending)."""
        if self.missing_secrets:
            raise self.missing_secrets[0].error

    @property
    def alerts(self) -> AlertSettings:
        """What the alerts package gets of this config: subscriptions, [smtp], the User-Agent."""
        names = tuple(s.name for s in self.subscriptions)
        return AlertSettings(
            subscriptions=self.subscriptions,
            smtp=self.smtp,
            user_agent=self.daemon.user_agent,
            unknown=lambda name: UnknownNameError("subscription", name, names),
        )

    def watch(self, name: str) -> Watch:
        """The watch called `name`; else `UnknownNameError`, a `KeyError` and a `ConfigError`."""
        for watch in self.watches:
            if watch.name == name:
                return watch
        raise UnknownNameError("watch", name, (w.name for w in self.watches))

    def subscription(self, name: str) -> Subscription:
        """The subscription called `name`; `UnknownNameError` if none."""
        for subscription in self.subscriptions:
            if subscription.name == name:
                return subscription
        raise UnknownNameError("subscription", name, (s.name for s in self.subscriptions))


# --------------------------------------------------------------------------------------------
# Small public helpers

# ASCII digits only (`\d` would take "٣٠m"); at most 2**30 s, about 34 years (far longer ones
# overflow the daemon's timers).
_DURATION = re.compile(r"\s*(?:\d+(?:\.\d+)?\s*[smhdw]\s*)+", re.ASCII)
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([smhdw])", re.ASCII)
MAX_DURATION = float(2**30)
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_duration(text: str) -> float:
    """Seconds in "90s", "30m", "6h", "1d", "2w" or a sum such as "1h30m"; ValueError otherwise."""
    if not isinstance(text, str) or not _DURATION.fullmatch(text):
        raise ValueError(f"{text!r} is not a duration")
    seconds = float(sum(float(n) * _UNIT_SECONDS[unit] for n, unit in _DURATION_PART.findall(text)))
    if not seconds <= MAX_DURATION:  # also refuses inf and nan
        raise ValueError(f"{text!r} is not a duration of at most 34 years")
    return seconds


def format_duration(seconds: float) -> str:
    """The shortest duration text for `seconds`: 5400 -> "1h30m", 90 -> "1m30s", 0 -> "0s"."""
    if seconds < 0:
        raise ValueError(f"negative duration {seconds!r}")
    parts = []
    rest = float(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        count = int(rest // size)
        if count:
            parts.append(f"{count}{unit}")
            rest -= count * size
    rest = round(rest, 3)
    if rest or not parts:
        parts.append(f"{rest:g}s")
    return "".join(parts)


def redact(value: Any) -> str:
    """`value` safe to print (one owner of redaction: `alerts.redaction`): URLs keep scheme and
    host, `whsec_` secrets only their prefix, anything else nothing."""
    from alerts.redaction import redact_secret

    text = "" if value is None else str(value)
    return redact_secret(text) if text else text

def is_secret(at: tuple) -> bool:
    """Whether key path `at` holds a secret: [smtp] password, a subscription's url or secret.

    Only sending needs these; a config loaded with `secrets=False` may leave them unset.
    """
    if at == ("smtp", "password"):
        return True
    return len(at) == 3 and at[0] == "subscription" and isinstance(at[1], int) and at[2] in ("url", "secret")


def default_user_agent() -> str:
    """`openwatch/<version> (+<project URL>)`: who we are, for the sources' operators."""
    return user_agent()


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
    registry: Registry | None = None,
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
    registry = default_registry() if registry is None else registry
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


# --------------------------------------------------------------------------------------------
# Reading and checking


def _key_path(at: tuple) -> str:
    """("watch", 1, "every") -> "watch[2].every" (array entries counted from 1)."""
    out = ""
    for segment in at:
        if isinstance(segment, int):
            out += f"[{segment + 1}]"
        else:
            name = segment if _BARE_KEY.fullmatch(segment) else json.dumps(segment)
            out += f".{name}" if out else name
    return out


def _show(value: Any, limit: int = 60) -> str:
    """A value as TOML would write it, shortened; only for values that are not secret."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        text = json.dumps(value, ensure_ascii=False)
        return text if len(text) <= limit else text[: limit - 2] + '…"'
    return str(value)


def _type_name(value: Any) -> str:
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


def _did_you_mean(value: str, choices: tuple[str, ...] | list[str], noun: str) -> str:
    """`did you mean "x"?` when one choice is close, else `<noun>: a, b, c`."""
    lowered = {choice.lower(): choice for choice in choices}
    close = difflib.get_close_matches(value.lower(), list(lowered), n=1, cutoff=0.6)
    if close:
        return f'did you mean "{lowered[close[0]]}"?'
    return f"{noun}: {', '.join(choices)}"


def _is_http_url(text: str) -> bool:
    try:
        parts = urlsplit(text)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname) and not re.search(r"\s", text)


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


class _Loader:
    """One reading of one file: turns the parsed document into a `Config` or one `ConfigError`."""

    def __init__(
        self, path: Path, shown: str, text: str, environ: Mapping[str, str], registry: Registry
    ):
        self.path = path
        self.shown = shown
        self.lines = _KeyLines(text)
        self.environ = environ
        self.registry = registry
        self.allow_short = environ.get(SHORT_INTERVALS_ENV, "") == "1"
        self.missing_secrets: list[MissingSecret] = []

    def error(
        self, at: tuple, problem: str, fix: str | None = None, *, line: Any = _MISSING
    ) -> ConfigError:
        """The error at key path `at`, its line found in the file unless `line` is given."""
        return ConfigError(
            problem,
            fix,
            file=self.shown,
            line=self.lines.find(at) if line is _MISSING else line,
            key=_key_path(at) or None,
        )

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
        smtp = self.smtp(document["smtp"]) if "smtp" in document else None
        self.unique(watches, "watch")
        names = tuple(w.name for w in watches)
        self.watches_read = watches  # what subscription filters may name
        subscriptions = self.tables(
            document, "subscription", lambda t, at: self.subscription(t, at, names, smtp)
        )
        self.unique(subscriptions, "subscription")
        return Config(
            path=self.path.absolute(),
            database=database_path,
            endpoints=endpoints,
            watches=watches,
            subscriptions=subscriptions,
            smtp=smtp,
            daemon=self.daemon(document.get("daemon", {})),
            feed_path=feed_path,
            missing_secrets=tuple(self.missing_secrets),
            scrapyd=self.scrapyd(document["scrapyd"]) if "scrapyd" in document else None,
        )

    def scrapyd(self, table: Any):
        from jobs.scrapyd import ScrapydSettingError, parse_scrapyd_section

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
                f"expected tables, got {_type_name(value)}",
                f"write a [[{key}]] table for each {key}",
            )
        return tuple(build(table, (key, i)) for i, table in enumerate(value))

    def unique(self, entries: tuple, kind: str) -> None:
        seen: dict[str, int] = {}
        for i, entry in enumerate(entries):
            if entry.name in seen:
                raise self.error(
                    (kind, i, "name"),
                    f"{_show(entry.name)} is already the name of "
                    f"{_key_path((kind, seen[entry.name]))}",
                    f"give each {kind} a unique name",
                )
            seen[entry.name] = i

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
                if not _is_http_url(url):
                    raise self.error(
                        at + (key,),
                        f"HF_ENDPOINT {_show(url)} (from the environment) is not an http(s) URL",
                        "set HF_ENDPOINT to a URL such as https://huggingface.co, or unset it",
                        line=None,
                    )
            else:
                url = self.string(table, at, key, default=default, example=f'"{default}"')
                if not _is_http_url(url):
                    raise self.error(
                        at + (key,),
                        f"{_show(url)} is not an http(s) URL",
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
        options = dict(source.options(WatchReader(self, table, at)))

        every = self.duration(table, at, "every", example='"30m"')
        if every <= 0:
            raise self.error(at + ("every",), "must be longer than 0s", DURATION_EXAMPLES)
        if every < MIN_EVERY and not self.allow_short:
            minimum = format_duration(MIN_EVERY)
            raise self.error(
                at + ("every",),
                f"{_show(format_duration(every))} is shorter than the minimum of {minimum}",
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
                f"{_show(format_duration(request_timeout))} must be more than 0s and at most the timeout"
                f" ({format_duration(timeout)})",
                'write e.g. request_timeout = "30s", or remove it for the default',
            )
        jitter_default = min(every * JITTER_FRACTION, MAX_DEFAULT_JITTER)
        jitter = self.duration(table, at, "jitter", default=jitter_default, example='"1m"')
        if jitter > every:
            raise self.error(
                at + ("jitter",),
                f"{_show(format_duration(jitter))} is longer than every ({format_duration(every)})",
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
                    f"{_show(repo)} is not a GitHub repository",
                    'write "owner/repo", e.g. "openai/gpt-oss"',
                )
        return tuple(dict.fromkeys(repos))

    def urls(self, table: dict, at: tuple, key: str = "urls") -> tuple[str, ...]:
        urls = self.string_list(table, at, key, example='["https://example.org/index.xml"]')
        for i, url in enumerate(urls):
            if not _is_http_url(url):
                raise self.error(
                    at + (key, i),
                    f"{_show(url)} is not an http(s) URL",
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
                    f"{_show(org)} names no country of the registry",
                    f"use one of {known} or {REGISTRY_PREFIX}all",
                ) from None
        if not _HF_ORG.fullmatch(org):
            raise self.error(
                at,
                f"{_show(org)} is not a Hugging Face org",
                'write the org as in its URL, e.g. "deepseek-ai", '
                'or a selector such as "registry:CN"',
            )
        return [org]

    def smtp(self, table: Any) -> Smtp:
        at = ("smtp",)
        if isinstance(table, list):
            raise self.error(
                at, "is a list of tables ([[smtp]])", "write [smtp] (single brackets) once"
            )
        self.require_table(table, at)
        self.check_keys(table, at, SMTP_KEYS)
        host = self.string(table, at, "host", example='"localhost"')
        ssl = self.boolean(table, at, "ssl", default=False)
        starttls = self.boolean(table, at, "starttls", default=False)
        if ssl and starttls:
            raise self.error(
                at + ("starttls",),
                "starttls and ssl are both true",
                "choose one: ssl = true for implicit TLS (port 465), starttls = true for port 587",
            )
        port = self.integer(table, at, "port", default=465 if ssl else 25, minimum=1, maximum=65535)
        sender = self.string(table, at, "sender", example='"openwatch <openwatch@example.org>"')
        if "@" not in parseaddr(sender)[1]:
            raise self.error(
                at + ("sender",),
                f"{_show(sender)} is not an email address",
                'write e.g. sender = "openwatch <openwatch@example.org>"',
            )
        timeout = self.duration(
            table, at, "timeout", default=DEFAULT_SMTP_TIMEOUT, example="30", numbers=True
        )
        if timeout <= 0:
            raise self.error(
                at + ("timeout",), "must be more than 0 seconds", "write e.g. timeout = 30"
            )
        return Smtp(
            host=host,
            port=port,
            starttls=starttls,
            ssl=ssl,
            username=self.string(
                table, at, "username", default="", empty=True, example='"openwatch"'
            ),
            password=self.string(
                table, at, "password", default="", empty=True, secret=True,
                example='"${SMTP_PASSWORD}"',
            ),
            sender=sender,
            timeout=timeout,
        )

    def subscription(
        self, table: dict, at: tuple, watch_names: tuple[str, ...], smtp: Smtp | None
    ) -> Subscription:
        every_key = SUBSCRIPTION_KEYS + tuple(
            dict.fromkeys(k for keys in CHANNEL_KEYS.values() for k in keys)
        )
        self.check_keys(table, at, every_key)
        name = self.name(table, at, "subscription")
        channel = self.choice(table, at, "channel", CHANNELS, noun="channel")
        own = CHANNEL_KEYS[channel]
        for key in table:
            if key not in SUBSCRIPTION_KEYS and key not in own:
                owners = [c for c, keys in CHANNEL_KEYS.items() if key in keys]
                raise self.error(
                    at + (key,),
                    f"is not used by {channel} subscriptions",
                    f'{channel} subscriptions take {", ".join(own)}; '
                    f'remove it, or set channel = "{owners[0]}"',
                )
        options: dict[str, Any] = {}
        if channel in ("slack", "webhook"):
            example = (
                '"${SLACK_WEBHOOK_URL}"'
                if channel == "slack"
                else '"https://example.org/hooks/openwatch"'
            )
            url = self.string(table, at, "url", secret=True, example=example)
            if not isinstance(url, MissingSecret) and not _is_http_url(url):
                raise self.error(
                    at + ("url",),
                    f"{redact(url)} is not an http(s) URL",
                    "write the full URL, starting with https://",
                )
            options["url"] = url
        if channel == "apprise":
            url = self.string(table, at, "url", secret=True, example='"${APPRISE_URL}"')
            if not isinstance(url, MissingSecret) and not re.match(r"[A-Za-z][A-Za-z0-9+.-]*://\S", url):
                raise self.error(
                    at + ("url",),
                    f"{redact(url)} is not an Apprise URL",
                    'write a URL such as "mailto://user:pass@example.org" (see the Apprise docs)',
                )
            options["url"] = url
        if channel == "webhook":
            options["secret"] = self.webhook_secret(table, at)
        if channel == "email":
            to = self.string_list(table, at, "to", example='["me@example.org"]')
            for i, address in enumerate(to):
                if "@" not in parseaddr(address)[1]:
                    raise self.error(
                        at + ("to", i),
                        f"{_show(address)} is not an email address",
                        'write e.g. "me@example.org"',
                    )
            if smtp is None:
                raise self.error(
                    at + ("channel",),
                    "email subscriptions need an [smtp] table",
                    'add [smtp] with host and sender, e.g. host = "localhost"',
                )
            options["to"] = tuple(to)

        digest = self.digest(table, at)
        return Subscription(
            name=name,
            channel=channel,
            events=self.events(table, at),
            orgs=self.filter(table, at, "orgs", self.org_filter),
            countries=self.filter(table, at, "countries", self.country_filter),
            categories=self.filter(table, at, "categories", self.category_filter),
            watches=self.filter(
                table, at, "watches", lambda value, a: self.watch_filter(value, a, watch_names)
            ),
            models=self.filter(table, at, "models", self.model_filter),
            digest=digest,
            enabled=self.boolean(table, at, "enabled", default=True),
            options=MappingProxyType(options),
        )

    def webhook_secret(self, table: dict, at: tuple) -> str | MissingSecret:
        secret = self.string(
            table, at, "secret", secret=True, example='"${OPENWATCH_WEBHOOK_SECRET}"'
        )
        if isinstance(secret, MissingSecret):
            return secret
        if not secret.startswith("whsec_"):
            raise self.error(
                at + ("secret",),
                f'{redact(secret)} does not start with "whsec_"',
                WEBHOOK_SECRET_FIX,
            )
        try:
            decoded = base64.b64decode(secret[len("whsec_") :], validate=True)
        except (binascii.Error, ValueError):
            decoded = b""
        if not decoded:
            raise self.error(
                at + ("secret",),
                f"{redact(secret)} is not base64 after its prefix",
                WEBHOOK_SECRET_FIX,
            )
        return secret

    def events(self, table: dict, at: tuple) -> frozenset[str]:
        if "events" not in table:
            return frozenset(default_subscribed())
        names = self.string_list(table, at, "events", example='["model.added", "model.removed"]')
        out: set[str] = set()
        for i, name in enumerate(names):
            out.update(self.checked(filters.event_types, name, at + ("events", i)))
        return frozenset(out)

    def checked(self, check, value: str, at: tuple, **options):
        """`check(value)` of jobs/filters.py, its `FilterError` as this file's error at `at`."""
        try:
            return check(value, **options)
        except filters.FilterError as exc:
            raise self.error(at, exc.problem, exc.fix) from None

    def filter(self, table: dict, at: tuple, key: str, check) -> frozenset[str] | None:
        if key not in table:
            return None
        values = self.string_list(table, at, key, example='["..."]')
        out: set[str] = set()
        for i, value in enumerate(values):
            out.update(check(value, at + (key, i)))
        return frozenset(out)

    def org_filter(self, value: str, at: tuple) -> list[str]:
        """Every name of each org (jobs/filters.py): an org no watch of this file brings and
        the registry does not know is refused, as `events --org` refuses it."""
        watches = getattr(self, "watches_read", ())
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

    def watch_filter(self, value: str, at: tuple, names: tuple[str, ...]) -> list[str]:
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
            f"{_show(value)} is neither a model id nor an item key",
            'write "owner/name" for a Hugging Face model, '
            'or a key such as "repo:github/owner/repo"',
        )

    def digest(self, table: dict, at: tuple) -> Digest | None:
        zone = "UTC"
        if "timezone" in table:
            zone = self.string(table, at, "timezone", example='"Europe/Paris"')
            if "digest" not in table:
                raise self.error(
                    at + ("timezone",),
                    "is set but digest is not",
                    'add digest = "daily 09:00", or remove timezone',
                )
            try:
                ZoneInfo(zone)
            except (ZoneInfoNotFoundError, ValueError):
                close = difflib.get_close_matches(zone, sorted(available_timezones()), n=1)
                fix = (
                    f'did you mean "{close[0]}"?'
                    if close
                    else 'use an IANA name such as "Europe/Paris" or "UTC"'
                )
                raise self.error(
                    at + ("timezone",), f"{_show(zone)} is not a time zone", fix
                ) from None
        if "digest" not in table:
            return None
        text = self.string(table, at, "digest", example='"daily 09:00"')
        words = text.lower().split()
        kind = words[0] if words else ""
        try:
            if kind == "hourly" and len(words) == 1:
                return Digest("hourly", None, 0, 0, zone)
            if kind == "daily" and len(words) == 2:
                hour, minute = _clock(words[1])
                return Digest("daily", None, hour, minute, zone)
            if kind == "weekly" and len(words) == 3:
                hour, minute = _clock(words[2])
                return Digest("weekly", _weekday(words[1]), hour, minute, zone)
        except ValueError:
            pass
        raise self.error(
            at + ("digest",), f"{_show(text)} is not a digest schedule", DIGEST_EXAMPLES
        )

    def daemon(self, table: Any) -> DaemonSettings:
        at = ("daemon",)
        self.require_table(table, at)
        self.check_keys(table, at, DAEMON_KEYS)
        dispatch_every = self.duration(
            table, at, "dispatch_every", default=DEFAULT_DISPATCH_EVERY, example='"5s"'
        )
        if dispatch_every <= 0:
            raise self.error(
                at + ("dispatch_every",), "must be longer than 0s", 'write dispatch_every = "5s"'
            )
        user_agent = self.string(
            table, at, "user_agent", default="", example=f'"{default_user_agent()}"'
        )
        return DaemonSettings(
            dispatch_every=dispatch_every,
            shutdown_grace=self.duration(
                table, at, "shutdown_grace", default=DEFAULT_SHUTDOWN_GRACE, example='"30s"'
            ),
            log_format=self.choice(
                table, at, "log_format", LOG_FORMATS, noun="log format", default="text"
            ),
            user_agent=user_agent or default_user_agent(),
        )

    # -- typed getters: each returns a valid value or raises one ConfigError

    def require_table(self, value: Any, at: tuple) -> None:
        if not isinstance(value, dict):
            raise self.error(
                at,
                f"expected a table, got {_type_name(value)}",
                f"write [{_key_path(at)}] and its keys below it",
            )

    def check_keys(self, table: dict, at: tuple, allowed: tuple[str, ...]) -> None:
        for key in table:
            if key not in allowed:
                fix = _did_you_mean(key, allowed, "valid keys")
                raise self.error(at + (key,), "unknown key", fix)

    def missing(self, at: tuple, key: str, example: str) -> ConfigError:
        if not at:
            return self.error(at, f'"{key}" is missing', f"add {key} = {example}")
        where = f"[{_key_path(at)}]" if len(at) == 1 else f"this [[{at[0]}]]"
        return self.error(at, f'"{key}" is missing', f"add {key} = {example} to {where}")

    def wrong_type(
        self, value: Any, at: tuple, expected: str, example: str, secret: bool = False
    ) -> ConfigError:
        shown = "" if secret or isinstance(value, (list, dict)) else f" ({_show(value)})"
        key = next(segment for segment in reversed(at) if isinstance(segment, str))
        return self.error(
            at, f"expected {expected}, got {_type_name(value)}{shown}", f"write {key} = {example}"
        )

    def get(self, table: dict, at: tuple, key: str, default: Any, example: str) -> Any:
        if key in table:
            return table[key]
        if default is _MISSING:
            raise self.missing(at, key, example)
        return default

    def string(
        self,
        table: dict,
        at: tuple,
        key: str,
        *,
        default: Any = _MISSING,
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
        default: Any = _MISSING,
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
            shown = _type_name(value) if isinstance(value, (list, dict)) else _show(value)
            raise self.error(
                at + (key,),
                f"{shown} is not a duration",
                f"{DURATION_EXAMPLES} (a string: {key} = {example})",
            )
        try:
            return parse_duration(value)
        except ValueError:
            raise self.error(
                at + (key,), f"{_show(value)} is not a duration", DURATION_EXAMPLES
            ) from None

    def string_list(self, table: dict, at: tuple, key: str, *, example: str) -> list[str]:
        value = self.get(table, at, key, _MISSING, example)
        if not isinstance(value, list):
            if isinstance(value, str):
                raise self.error(
                    at + (key,),
                    f"expected an array, got a string ({_show(value)})",
                    f"write {key} = [{_show(value)}]",
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
        default: Any = _MISSING,
    ) -> str:
        example = f'"{choices[0]}"'
        value = self.get(table, at, key, default, example)
        if not isinstance(value, str):
            raise self.wrong_type(value, at + (key,), "a string", example)
        if value not in choices:
            raise self.error(
                at + (key,),
                f"{_show(value)} is not a {noun}",
                _did_you_mean(value, choices, f"{noun}s"),
            )
        return value

    def name(self, table: dict, at: tuple, kind: str) -> str:
        name = self.string(table, at, "name", example=f'"{"labs" if kind == "watch" else "team"}"')
        if not _NAME.fullmatch(name):
            suggestion = re.sub(r"[^a-z0-9_-]+", "-", name.lower()).strip("-_") or kind
            raise self.error(
                at + ("name",),
                f"{_show(name)} is not a valid {kind} name",
                'use lower-case letters, digits, "-" and "_", starting with a letter or digit, '
                f'e.g. "{suggestion}"',
            )
        return name


class WatchReader:
    """What a source's `options(read)` gets: typed getters over its `[[watch]]` table whose
    errors keep the `file:line: key: problem; fix` form (STYLE.md, "Each kind declares its own
    options"). Keys are this watch's; a path inside a key is a tuple (`("orgs", 2)`)."""

    def __init__(self, loader: "_Loader", table: dict, at: tuple):
        self._loader, self._table, self._at = loader, table, at
        self.registry = loader.registry

    def has(self, key: str) -> bool:
        return key in self._table

    def missing(self, key: str, example: str) -> ConfigError:
        return self._loader.missing(self._at, key, example)

    def value(self, key: str, default: Any = None) -> Any:
        return self._table.get(key, default)

    def string(self, key: str, *, example: str, default: Any = _MISSING) -> str:
        return self._loader.string(self._table, self._at, key, default=default, example=example)

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

    def duration(self, key: str, *, default: Any = _MISSING, example: str) -> float:
        return self._loader.duration(self._table, self._at, key, default=default, example=example)

    def boolean(self, key: str, *, default: bool) -> bool:
        return self._loader.boolean(self._table, self._at, key, default=default)

    def error(self, key: str | tuple, problem: str, fix: str) -> ConfigError:
        path = key if isinstance(key, tuple) else (key,)
        return self._loader.error(self._at + path, problem, fix)


def _clock(text: str) -> tuple[int, int]:
    """"09:00" -> (9, 0); ValueError for anything that is not a 24-hour time of day."""
    match = re.fullmatch(r"(\d{1,2}):(\d{2})", text)
    if not match or int(match.group(1)) > 23 or int(match.group(2)) > 59:
        raise ValueError(text)
    return int(match.group(1)), int(match.group(2))


def _weekday(text: str) -> int:
    """"mon" or "monday" -> 0 … "sun" or "sunday" -> 6."""
    full = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
    for number, (short, name) in enumerate(zip(WEEKDAYS, full)):
        if text.lower() in (short.lower(), name):
            return number
    raise ValueError(text)


# --------------------------------------------------------------------------------------------
# Where keys are: line numbers for error messages


_TOML_SCALAR = re.compile(r"[^,\]}\n#]*")


class _KeyLines:
    """The line (from 1) where each table, key and array element of a TOML text starts.

    A second, approximate reading of a text tomllib has already accepted, only to put line
    numbers in errors. Paths are as the loader's: ("watch", 1, "orgs", 0) is the first org of
    the second [[watch]]. It gives up quietly (fewer lines known) on anything it does not follow.
    """

    def __init__(self, text: str):
        self.text = text
        self.pos = 0
        self.line = 1
        self.table: tuple = ()
        self.arrays: dict[tuple, int] = {}
        self.lines: dict[tuple, int] = {}
        try:
            self.scan()
        except (IndexError, ValueError):
            pass

    def find(self, at: tuple) -> int | None:
        """The line of `at`, else of its closest enclosing key or table, else None."""
        for size in range(len(at), 0, -1):
            if at[:size] in self.lines:
                return self.lines[at[:size]]
        return None

    def scan(self) -> None:
        while True:
            self.skip_blank()
            if self.pos >= len(self.text):
                return
            if self.text[self.pos] == "[":
                self.header()
            else:
                self.key_value(self.table)
            self.skip_to_line_end()

    def header(self) -> None:
        line = self.line
        double = self.text.startswith("[[", self.pos)
        self.pos += 2 if double else 1
        raw = tuple(self.keys())
        if double:
            for nested in [k for k in self.arrays if len(k) > len(raw) and k[: len(raw)] == raw]:
                del self.arrays[nested]
            self.arrays[raw] = self.arrays.get(raw, -1) + 1
        path: list = []
        for size in range(1, len(raw) + 1):
            path.append(raw[size - 1])
            if raw[:size] in self.arrays:
                path.append(self.arrays[raw[:size]])
        self.table = tuple(path)
        self.lines.setdefault(self.table, line)
        if double:
            self.lines.setdefault(self.table[:-1], line)  # the array itself: its first table

    def key_value(self, table: tuple) -> None:
        line = self.line
        path = table + tuple(self.keys())
        self.lines.setdefault(path, line)
        self.skip_spaces()
        if self.text[self.pos] != "=":
            raise ValueError("not a key/value pair")
        self.pos += 1
        self.skip_spaces()
        self.value(path)

    def keys(self) -> list[str]:
        keys = []
        while True:
            self.skip_spaces()
            if self.text[self.pos] in "\"'":
                keys.append(self.string())
            else:
                match = _BARE_KEY.match(self.text, self.pos)
                if not match:
                    raise ValueError("not a key")
                keys.append(match.group())
                self.pos = match.end()
            self.skip_spaces()
            if self.text[self.pos] != ".":
                return keys
            self.pos += 1

    def value(self, path: tuple) -> None:
        char = self.text[self.pos]
        if char in "\"'":
            self.string()
        elif char == "[":
            self.pos += 1
            index = 0
            while True:
                self.skip_blank()
                char = self.text[self.pos]
                if char == "]":
                    self.pos += 1
                    return
                if char == ",":
                    self.pos += 1
                    continue
                self.lines.setdefault(path + (index,), self.line)
                self.value(path + (index,))
                index += 1
        elif char == "{":
            self.pos += 1
            while True:
                self.skip_blank()
                char = self.text[self.pos]
                if char == "}":
                    self.pos += 1
                    return
                if char == ",":
                    self.pos += 1
                    continue
                self.key_value(path)
        else:
            match = _TOML_SCALAR.match(self.text, self.pos)
            self.pos = match.end()

    def string(self) -> str:
        """Skip a string of any of TOML's four kinds; its text (escapes left as written)."""
        text = self.text
        quote = text[self.pos]
        start = self.pos
        if text.startswith(quote * 3, self.pos):
            end = self.pos + 3
            while not text.startswith(quote * 3, end):
                end += 2 if quote == '"' and text[end] == "\\" else 1
                if end >= len(text):
                    raise ValueError("unterminated string")
            while text.startswith(quote * 4, end):  # up to two quotes may end the content
                end += 1
            self.pos = end + 3
            body = text[start + 3 : end]
        else:
            end = self.pos + 1
            while text[end] != quote:
                end += 2 if quote == '"' and text[end] == "\\" else 1
            self.pos = end + 1
            body = text[start + 1 : end]
        self.line += text.count("\n", start, self.pos)
        return body

    def skip_spaces(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos] in " \t":
            self.pos += 1

    def skip_blank(self) -> None:
        """Spaces, newlines and comments."""
        text = self.text
        while self.pos < len(text):
            char = text[self.pos]
            if char in " \t\r":
                self.pos += 1
            elif char == "\n":
                self.pos += 1
                self.line += 1
            elif char == "#":
                newline = text.find("\n", self.pos)
                self.pos = len(text) if newline < 0 else newline
            else:
                return

    def skip_to_line_end(self) -> None:
        newline = self.text.find("\n", self.pos)
        self.pos = len(self.text) if newline < 0 else newline


# --------------------------------------------------------------------------------------------
# `openwatch init`

# Notable labs of the US/China open-model race (DESIGN.md), as spelled in the registry.
STARTER_LABS = (
    (
        "us-labs",
        "US",
        "US open-model labs",
        ("meta-llama", "openai", "google", "microsoft", "nvidia", "allenai", "marin-community",
         "ibm-granite"),
    ),
    (
        "cn-labs",
        "CN",
        "Chinese open-model labs",
        ("deepseek-ai", "Qwen", "moonshotai", "zai-org", "MiniMaxAI", "baidu", "tencent",
         "ByteDance-Seed", "stepfun-ai", "XiaomiMiMo"),
    ),
)  # fmt: skip


def starter_config(registry: Registry | None = None) -> str:
    """A commented `openwatch.toml` that loads as is, with an empty environment.

    It watches named notable labs rather than `registry:US` / `registry:CN`: the selectors
    would poll every org of the registry (some with thousands of models) every 30 minutes, and
    a list shows at a glance what is watched. Orgs the registry lacks are left out.
    """
    registry = default_registry() if registry is None else registry
    blocks = []
    for name, country, title, notable in STARTER_LABS:
        orgs = [org.hf_org for org in map(registry.lookup, notable) if org is not None]
        if not orgs:
            try:
                orgs = registry.select(f"{REGISTRY_PREFIX}{country}")[:8]
            except KeyError:
                continue
        listed = "".join(f'    "{org}",\n' for org in dict.fromkeys(orgs))
        blocks.append(
            f"# {title}. \"{REGISTRY_PREFIX}{country}\" would watch every {country} org "
            "of the registry.\n"
            f"[[watch]]\n"
            f'name = "{name}"\n'
            f'source = "huggingface"\n'
            f"orgs = [\n{listed}]\n"
            f'every = "30m"\n'
        )
    template = resources.files("jobs").joinpath("starter.toml").read_text(encoding="utf-8")
    import textwrap

    # Every event type the sources declare (crawler/sources/), never a hand-kept list.
    types = textwrap.fill(", ".join(event_types()), width=95, initial_indent="#               ",
                          subsequent_indent="#               ", break_on_hyphens=False)
    return template.replace("@WATCHES@\n", "\n".join(blocks)).replace("@EVENT_TYPES@", types)


def write_starter(
    path: str | os.PathLike[str], registry: Registry | None = None, force: bool = False
) -> Path:
    """Write `starter_config()` to `path` (creating its folder); never overwrite unless `force`."""
    path = Path(path)
    text = starter_config(registry)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w" if force else "x", encoding="utf-8") as f:
            f.write(text)
    except FileExistsError as exc:
        raise ConfigError(
            "already exists",
            "pass --force to overwrite it, or --config PATH to write elsewhere",
            file=str(path),
        ) from exc
    except OSError as exc:
        raise ConfigError(
            f"cannot be written ({exc.strerror or exc})",
            "choose another path with --config PATH",
            file=str(path),
        ) from exc
    return path
