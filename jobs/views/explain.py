"""What a crawl's errors mean to the person reading them (`crawl`, `run --once`, the daemon's log).

A crawl records one error per unit that went wrong (`<unit>: <what happened>`, see
`crawler.history.store`). Read raw, twenty orgs behind a dead network are twenty lines that
name orgs, and a misspelled org is "empty listing" forever. `explain` turns them into what
the reader can act on: the host is unreachable; this org has no models, did you mean that
one; and at most `MAX_LINES` lines, the rest counted (`openwatch status --json` lists all).
Pure: no I/O. Where a watch's requests go is its source's (`Source.endpoint_key`).
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from crawler.sources import all_sources

MAX_LINES = 5
MORE = "… and {n} more: openwatch status --json lists them all"

# Errors that mean the request never reached a server (Scrapy 2.13+ names, Twisted's, httpx's).
_UNREACHABLE = (
    ("its name does not resolve", re.compile(r"CannotResolveHostError|DNSLookupError|DNS lookup failed|"
                                             r"Name or service not known|getaddrinfo")),
    ("connection refused", re.compile(r"ConnectionRefused|Connection refused")),
    ("connections time out", re.compile(r"TCPTimedOutError|ConnectTimeout|TimeoutError")),
    ("no connection", re.compile(r"NoRouteError|No route to host|Network is unreachable|ConnectError|"
                                 r"ConnectionLost|ConnectionDone|ResponseNeverReceived|DownloadFailedError")),
)
_EMPTY_LISTING = re.compile(r"^empty listing\b")
_LONG_QUERY = re.compile(r"(https?://[^\s?]+)\?\S+")



def explain(errors: list[str], *, status: str, watch, endpoints, registry) -> list[str]:
    """One line per problem of a crawl that ended with `status`, at most `MAX_LINES` + 1:
    one per unreachable host, however many units it failed."""
    if not errors:
        return []
    units = set(getattr(watch, "units", ()) or ())
    host, key = endpoint(watch, endpoints)
    where = f"[endpoints] {key} in openwatch.toml" if key else "the URLs of the watch"
    if status == "failed":
        kinds = [_unreachable(error) for error in errors]
        if all(kinds) and host:
            kind = max(set(kinds), key=kinds.count)
            return [f"{host} is unreachable ({kind}): every request of the crawl failed; "
                    f"check the network connection, or {where}"]
    unreachable: dict[str, list[str]] = {}   # host -> the kinds of its units' errors
    others = []
    for error in errors:
        kind, at = _unreachable(error), host or _unit_host(error, units)
        if kind and at:
            unreachable.setdefault(at, []).append(kind)
        else:
            others.append(_explain_one(error, units, host, registry))
    lines = [f"{at} is unreachable ({max(set(kinds), key=kinds.count)}); check the network connection, or {where}"
             for at, kinds in sorted(unreachable.items())] + others
    if len(lines) > MAX_LINES:
        lines = lines[:MAX_LINES] + [MORE.format(n=len(lines) - MAX_LINES)]
    return lines


def headline(lines: list[str]) -> str:
    """The problems as one log line: the first, and how many more."""
    if not lines:
        return ""
    more = len(lines) - 1
    return lines[0] if not more else f"{lines[0]} (and {more} more problem{'s' if more > 1 else ''})"


def endpoint(watch, endpoints) -> tuple[str | None, str | None]:
    """`(host[:port], endpoints key)` the watch's requests go to; the host alone for a watch
    of feeds on one host; `(None, None)` when its requests go to several hosts."""
    source = all_sources().get(getattr(watch, "source", ""))
    key = source.endpoint_key() if source else None  # None: a feed's units are its URLs
    if key and getattr(endpoints, key, None):
        return urlsplit(getattr(endpoints, key)).netloc or None, key
    hosts = {urlsplit(url).netloc for url in getattr(watch, "urls", ()) or ()}
    return (hosts.pop(), None) if len(hosts) == 1 else (None, None)


def _unit_host(error: str, units: set[str]) -> str | None:
    """The host of the URL a unit's error names (a feed's units are its URLs)."""
    for unit in units:
        if error.startswith(unit + ": ") and "://" in unit:
            return urlsplit(unit).netloc or None
    return None


def _unreachable(error: str) -> str | None:
    for kind, pattern in _UNREACHABLE:
        if pattern.search(error):
            return kind
    return None


def _explain_one(error: str, units: set[str], host: str | None, registry) -> str:
    unit, _, what = error.partition(": ")
    if unit in units and _EMPTY_LISTING.match(what):
        where = f" on {host}" if host else ""
        text = f"{unit}: no models listed: the org has no public models, or does not exist{where}"
        close = registry.suggest(unit) if registry is not None else None
        if close and close.lower() != unit.lower():
            text += f"; did you mean {close}?"
        return text
    return _LONG_QUERY.sub(r"\1?…", error)
