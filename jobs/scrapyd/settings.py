"""The `[scrapyd]` section: where crawls run when it is present (`parse_scrapyd_section`)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx

from alerts.redaction import is_http_url as _is_http_url
from jobs.config.durations import DURATION_EXAMPLES, parse_duration
from jobs.config.reader import key_path as config_key_path  # one way to write key paths
from jobs.config.reader import show as _show, type_name as _type_name
from jobs.filters import did_you_mean as _did_you_mean

DEFAULT_PROJECT = "openwatch"
DEFAULT_TIMEOUT = 30.0          # seconds for one call to a Scrapyd server
DEFAULT_POLL_INTERVAL = 2.0     # seconds between two looks at a job's state
DEFAULT_PRIOR_BIND = "127.0.0.1:0"
SECTION_KEYS = ("url", "project", "username", "password", "timeout", "poll_interval", "prior_bind", "prior_url")


class ScrapydSettingError(ValueError):
    """One problem in the `[scrapyd]` table: `at` is its key path inside the table."""

    def __init__(self, at: tuple, problem: str, fix: str):
        self.at = at
        self.problem = problem
        self.fix = fix
        super().__init__(f"{config_key_path(('scrapyd', *at))}: {problem}; {fix}")


@dataclass(frozen=True)
class ScrapydSettings:
    """The `[scrapyd]` section: where crawls run when it is present.

    `prior_bind` is where this process serves each job's prior state (`host:port`; port 0
    picks one); `prior_url` is how workers reach it (default: the bound address, which only
    a Scrapyd on this machine can reach when it is loopback).
    """

    urls: tuple[str, ...]
    project: str = DEFAULT_PROJECT
    username: str = ""
    password: str = field(default="", repr=False)
    timeout: float = DEFAULT_TIMEOUT
    poll_interval: float = DEFAULT_POLL_INTERVAL
    prior_bind: tuple[str, int] = ("127.0.0.1", 0)
    prior_url: str | None = None

    @property
    def auth(self) -> httpx.BasicAuth | None:
        return httpx.BasicAuth(self.username, self.password) if self.username else None


_PROJECT = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


def parse_scrapyd_section(table: dict) -> ScrapydSettings:
    """The `[scrapyd]` table (with `${VAR}` already substituted) -> `ScrapydSettings`.

    Raises `ScrapydSettingError` (a `ValueError`; `.at`, `.problem`, `.fix`) for the first
    problem, its message one line: `scrapyd.<key>: <problem>; <fix>`.
    """

    if not isinstance(table, dict):
        raise ScrapydSettingError((), f"expected a table, got {_type_name(table)}",
                                  'write [scrapyd] and url = "http://localhost:6800" below it')
    for key in table:
        if key not in SECTION_KEYS:
            raise ScrapydSettingError((key,), "unknown key", _did_you_mean(key, SECTION_KEYS, "valid keys"))

    if "url" not in table:
        raise ScrapydSettingError((), '"url" is missing', 'add url = "http://localhost:6800" to [scrapyd]')
    raw = table["url"]
    if isinstance(raw, str):
        entries = [(("url",), raw)]
    elif isinstance(raw, list):
        entries = [(("url", i), url) for i, url in enumerate(raw)]
    else:
        raise ScrapydSettingError(("url",), f"expected a string or an array of strings, got {_type_name(raw)}",
                                  'write url = "http://localhost:6800" or url = ["http://w1:6800", "http://w2:6800"]')
    if not entries:
        raise ScrapydSettingError(("url",), "is empty",
                                  'list at least one server, e.g. url = ["http://localhost:6800"]')
    urls: list[str] = []
    for at, url in entries:
        if not isinstance(url, str):
            raise ScrapydSettingError(at, f"expected a string, got {_type_name(url)}",
                                      'write e.g. "http://localhost:6800"')
        if not _is_http_url(url):
            # Not shown: a mistyped server URL may carry its credentials.
            raise ScrapydSettingError(at, "is not an http(s) URL",
                                      'use a URL such as "http://localhost:6800"')
        parts = urlsplit(url)
        if parts.username or parts.password:
            raise ScrapydSettingError(at, "has a user name or password in it",
                                      'remove it and set username = "…" and password = "${SCRAPYD_PASSWORD}"')
        if parts.query or parts.fragment:
            raise ScrapydSettingError(at, f"{_show(url)} has a query or fragment", "give the server's base URL only")
        url = url.rstrip("/")
        if url in urls:
            raise ScrapydSettingError(at, f"{_show(url)} is listed twice", "list each server once")
        urls.append(url)

    def string(key: str, default: str, example: str, secret: bool = False) -> str:
        value = table.get(key, default)
        if not isinstance(value, str):
            shown = "" if secret else f" ({_show(value)})"
            raise ScrapydSettingError((key,), f"expected a string, got {_type_name(value)}{shown}",
                                      f"write {key} = {example}")
        return value

    project = string("project", DEFAULT_PROJECT, '"openwatch"')
    if not _PROJECT.fullmatch(project):
        raise ScrapydSettingError(("project",), f"{_show(project)} is not a project name",
                                  'use letters, digits, "_", "." and "-", e.g. project = "openwatch"')
    username = string("username", "", '"openwatch"')
    password = string("password", "", '"${SCRAPYD_PASSWORD}"', secret=True)
    if bool(username) != bool(password):
        missing = "password" if username else "username"
        raise ScrapydSettingError((missing,), f"is missing while {'username' if username else 'password'} is set",
                                  "Scrapyd checks credentials only when both are set: set both, or neither")

    def seconds(key: str, default: float, example: str) -> float:
        if key not in table:
            return default
        value = table[key]
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            number = float(value)
        elif isinstance(value, str):
            try:
                number = parse_duration(value)
            except ValueError:
                raise ScrapydSettingError((key,), f"{_show(value)} is not a duration", DURATION_EXAMPLES) from None
        else:
            shown = _type_name(value) if isinstance(value, (list, dict)) else _show(value)
            raise ScrapydSettingError((key,), f"{shown} is not a duration", f"write {key} = {example}")
        if number <= 0:
            raise ScrapydSettingError((key,), "must be more than 0 seconds", f"write {key} = {example}")
        return number

    timeout = seconds("timeout", DEFAULT_TIMEOUT, '"30s"')
    poll_interval = seconds("poll_interval", DEFAULT_POLL_INTERVAL, '"2s"')

    bind_text = string("prior_bind", DEFAULT_PRIOR_BIND, '"0.0.0.0:8801"')
    host, _, port_text = bind_text.rpartition(":")
    host = host.strip("[]")
    if not host or not port_text.isdigit() or int(port_text) > 65535:
        raise ScrapydSettingError(("prior_bind",), f"{_show(bind_text)} is not host:port",
                                  'write e.g. prior_bind = "0.0.0.0:8801" (port 0 picks a free one)')
    prior_url = None
    if "prior_url" in table:
        prior_url = string("prior_url", "", '"http://ingest.example:8801"')
        if not _is_http_url(prior_url):
            raise ScrapydSettingError(("prior_url",), f"{_show(prior_url)} is not an http(s) URL",
                                      "give the URL workers reach prior_bind at, e.g. \"http://ingest.example:8801\"")
        prior_url = prior_url.rstrip("/")
    elif host in ("0.0.0.0", "::"):  # every interface: no one address to give workers
        raise ScrapydSettingError(("prior_url",), f"is needed with prior_bind = {_show(bind_text)}",
                                  'set prior_url to the URL workers reach this machine at, '
                                  'e.g. "http://ingest.example:8801"')
    return ScrapydSettings(
        urls=tuple(urls), project=project, username=username, password=password, timeout=timeout,
        poll_interval=poll_interval, prior_bind=(host, int(port_text)), prior_url=prior_url,
    )

