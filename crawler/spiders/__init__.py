"""One spider per source (`crawler/sources/<kind>.py` names its spider), plus what they share.

Scrapy finds every spider here by `name` (`scrapy list`); openwatch's runner takes the class
from the source registry.
"""

from __future__ import annotations

import json
import re
import urllib.request
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit


def read_prior(prior=None, prior_file: str | None = None, prior_url: str | None = None) -> dict:
    """What the spider knows of the past: given (a dict, or JSON from the command line), a
    JSON file (`scrapy crawl`), or a URL (Scrapyd jobs: the ingesting process serves it).
    An unreadable URL raises: a crawl without its past would skip the removal guards."""
    if isinstance(prior, str):
        prior = json.loads(prior)
    if prior is None and prior_file:
        prior = json.loads(Path(prior_file).read_text())
    if prior is None and prior_url:
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never via a proxy
        with opener.open(prior_url, timeout=60) as response:
            prior = json.load(response)
    return prior or {}


def parse_units(value: str | list[str] | tuple[str, ...]) -> list[str]:
    """`-a orgs=a,b` from the command line, or a list from the runner."""
    items = value.split(",") if isinstance(value, str) else value
    return [v.strip() for v in items if v and v.strip()]


def next_link(response) -> str | None:
    """`Link: <url>; rel="next"` (RFC 8288; GitHub's format, which the Hub uses for its cursor)."""
    for value in response.headers.getlist("Link"):
        for part in value.decode("latin-1").split(","):
            match = re.match(r'\s*<([^>]+)>\s*;(.*)$', part)
            if match and re.search(r'rel\s*=\s*"?next"?', match.group(2)):
                return match.group(1)
    return None


def short_url(url: str) -> str:
    """A request URL as errors show it: without the repeated `expand[]` fields of a Hub
    listing (fifteen of them pushed what went wrong past the error's 300 characters)."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "expand[]"]
    return urlunsplit(parts._replace(query=urlencode(query, safe=":/")))


def describe_failure(failure) -> str:
    """One line for a request that failed: the exception's name and message, URLs shortened."""
    message = describe_error(failure.value)
    request = getattr(failure, "request", None)
    if request is not None:
        message = message.replace(request.url, short_url(request.url))
    return message


class NotJSON(ValueError):
    """An answer where JSON was asked that is an HTML page (a proxy's, a CDN's)."""


def json_answer(body: bytes):
    """The JSON of an answer; an HTML error page (often under a 200) is said to be one, not
    reported as the JSON decoder's "Expecting value: line 1 column 1"."""
    from crawler.sources._parsing import looks_like_html

    if looks_like_html(body):
        raise NotJSON("an HTML page, not JSON")
    return json.loads(body)


def describe_error(exc: BaseException) -> str:
    """One line for an exception a download raised: Twisted's lists of failures unwrapped
    (`DownloadFailedError: [<Failure … ConnectionLost: …>]` reads `ConnectionLost: …`)."""
    # Scrapy raises DownloadFailedError(str(e)) from Twisted's ResponseFailed(reasons).
    inner = [getattr(f, "value", None) for cause in (exc, exc.__cause__) if cause is not None
             for f in (getattr(cause, "reasons", None) or [])]
    inner = [e for e in inner if isinstance(e, BaseException)]
    if inner:
        return "; ".join(f"{type(e).__name__}: {str(e).strip()}".rstrip(": .") for e in inner)
    return f"{type(exc).__name__}: {exc}"
