"""What every source parser shares: hostile-text capping, times, the parse-error root.

Pure, no I/O. Scraped values are hostile: a field is a string only when the answer gave a
string; every string is capped; HTML, `<!channel>`, CDATA text, right-to-left marks and NUL
characters are kept exactly as sent (the channels escape, not the parsers). The one change
made to text is that a lone UTF-16 surrogate (JSON can carry `"\\ud800"`, UTF-8 cannot
store it) becomes U+FFFD, so the text can always be written to SQLite.

Times come out as ISO 8601 UTC with `Z` and microseconds, the format of the rest of
openwatch (`2024-01-02T03:04:05.000000Z`); an unreadable time is None (unknown), never "now".

    ParseError              an answer that cannot be read as what it should be (root)
      ├─ feed.FeedError / feed.NotAFeed / feed.FeedTooLarge
      ├─ arxiv.ArxivResponseError / ArxivError / ArxivEmptyPage / ArxivMalformed
      ├─ github.GitHubParseError
      ├─ hf_papers.HfPapersError
      └─ modelscope.ModelScopeError

`retryable` says whether the same request may succeed later (a flaky or cut-off answer) or
not (the service refused the query itself).
"""

from __future__ import annotations

import calendar
import html
import re
import time
from collections.abc import Iterable
from datetime import datetime, timedelta, timezone
from typing import Any

ISO = "%Y-%m-%dT%H:%M:%S.%fZ"
ELLIPSIS = "\u2026"

_FRACTION = re.compile(r"(\.\d+)")
_TAG_END = re.compile(r"[\s/]")
# Unix times before 1990 or after 2200 are not a model hub's or a release's (a value in
# milliseconds or garbage); treated as unknown rather than as an absurd date.
_EPOCH_MIN = 631152000        # 1990-01-01
_EPOCH_MAX = 7258118400       # 2200-01-01


class ParseError(ValueError):
    """An answer that cannot be read as what the source should send."""

    retryable = True

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


# -- text -------------------------------------------------------------------------------------


_HTML_START = re.compile(rb"\s*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html)[\s>]", re.I | re.S)


def looks_like_html(data: bytes) -> bool:
    """An HTML page (a proxy's or CDN's error page, a login wall) where a feed or JSON was asked."""
    return isinstance(data, bytes) and _HTML_START.match(data[:2048]) is not None


from crawler.normalize import clean  # noqa: E402,F401 - lone surrogates replaced (the only change to text)


def text(value: Any, limit: int, *, strip: bool = True) -> str | None:
    """A scraped string capped at `limit` characters; None for anything not a non-empty string."""
    if not isinstance(value, str):
        return None
    if strip:
        value = value.strip()
    if not value:
        return None
    return clean(value[:limit])


def capped(value: Any, limit: int) -> tuple[str | None, bool]:
    """A body kept intact (no strip) up to `limit` characters, and whether it was cut."""
    if not isinstance(value, str) or not value:
        return None, False
    return clean(value[:limit]), len(value) > limit


def fold(value: Any, limit: int) -> str | None:
    """Whitespace runs folded to one space (titles, abstracts); capped after folding."""
    if not isinstance(value, str):
        return None
    folded = " ".join(value[: limit * 4].split())
    return clean(folded[:limit]) if folded else None


def excerpt(value: Any, limit: int) -> str | None:
    """The first `limit` characters, cut at a word boundary, with `…` when cut."""
    folded = fold(value, limit * 2)
    if folded is None or len(folded) <= limit:
        return folded
    cut = folded[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip() + ELLIPSIS


_BLOCK_TAGS = frozenset(
    "address article aside blockquote br dd div dl dt figcaption figure footer h1 h2 h3 h4 h5 h6 "
    "header hr li main nav ol p pre section table tbody td tfoot th thead tr ul".split()
)


def html_text(value: Any, limit: int) -> str | None:
    """Visible text of an HTML fragment (tags dropped, entities decoded, whitespace folded).

    A linear scan, not an HTML parser: hostile markup (a megabyte of `<`) costs one pass.
    Only for excerpts; the HTML itself is kept as sent elsewhere.
    """
    if not isinstance(value, str):
        return None
    value = value[: limit * 8]
    parts: list[str] = []
    pos = 0
    while pos < len(value):
        start = value.find("<", pos)
        if start < 0:
            parts.append(value[pos:])
            break
        parts.append(value[pos:start])
        end = value.find(">", start)
        if end < 0:
            parts.append(value[start:])
            break
        name = _TAG_END.split(value[start + 1 : min(end, start + 20)].lstrip("/"), 1)[0]
        if name.lower() in _BLOCK_TAGS:
            parts.append(" ")
        pos = end + 1
    return fold(html.unescape("".join(parts)), limit)


# -- scalars ----------------------------------------------------------------------------------


from crawler.normalize import integer  # noqa: E402,F401 - an int the answer gave as a JSON number


def boolean(value: Any) -> bool | None:
    """True or False only when the answer said so; anything else is unknown."""
    return value if isinstance(value, bool) else None


# -- times ------------------------------------------------------------------------------------


from crawler.times import iso  # noqa: E402,F401 - the one time format


def parse_time(value: Any, *, naive: timezone = timezone.utc) -> str | None:
    """ISO 8601 text (`Z`, an offset, or none: then in `naive`), or Unix seconds -> ISO UTC.

    Anything unreadable, or outside 1990–2200, is None.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        if not _EPOCH_MIN <= value <= _EPOCH_MAX:
            return None
        return iso(datetime.fromtimestamp(value, tz=timezone.utc))
    if not isinstance(value, str):
        return None
    value = value.strip()[:64]
    if not value:
        return None
    normal = value.replace("z", "Z")
    if normal.endswith("Z"):
        normal = normal[:-1] + "+00:00"
    normal = _FRACTION.sub(lambda m: (m.group(1) + "000000")[:7], normal, count=1)
    try:
        moment = datetime.fromisoformat(normal)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=naive)
    try:
        if not _EPOCH_MIN <= moment.timestamp() <= _EPOCH_MAX:
            return None
        return iso(moment)
    except (OverflowError, ValueError, OSError):
        return None


def struct_time(value: Any) -> str | None:
    """feedparser's `*_parsed` (a UTC `time.struct_time`) -> ISO UTC."""
    if not isinstance(value, time.struct_time):
        return None
    try:
        return parse_time(calendar.timegm(value))
    except (OverflowError, ValueError, TypeError):
        return None


CHINA = timezone(timedelta(hours=8), "Asia/Shanghai")  # no DST since 1991


def first(values: Iterable[Any]) -> Any:
    """The first value that is not None."""
    for value in values:
        if value is not None:
            return value
    return None
