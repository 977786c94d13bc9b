"""Secret-safe text: webhook URLs, signing secrets and passwords never appear in full in
`last_error`, logs, `status` or stats (DESIGN.md rule 6)."""

from __future__ import annotations

import logging
import re
from typing import Iterable
from urllib.parse import unquote, unquote_plus, urlsplit

# A URL anywhere in a line of text: scheme, then everything up to whitespace or a quote.
_URL = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*)://(?P<rest>[^\s'\"<>]*)")
_WEB_SCHEMES = {"http", "https"}
_SIGNING_SECRET = re.compile(r"\bwhsec_[A-Za-z0-9+/=_-]+")  # Standard Webhooks keys, known or not
_MIN_SECRET = 4  # shorter strings are too common to scrub without mangling ordinary text
_MIN_PIECE = 8   # a path segment or query value of a secret URL this long is scrubbed on its own
_PIECE_SEPARATORS = re.compile(r"[/?&=@:#;,]+")
# Characters that change how the text around them reads, never shown as sent: C0 and C1
# controls and line separators (a forged log line, a header injection), and the bidirectional
# embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069: `\u202egnp.exe` shows as
# `exe.png`, and the reversal runs on over whatever follows it on the line). Ordinary
# right-to-left text needs none of them. https://www.unicode.org/reports/tr9/#Explicit_Directional_Embeddings
CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029\x85]+")
BIDI = re.compile(r"[\u202a-\u202e\u2066-\u2069]+")
_UNSHOWN = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_UNSHOWN_BUT_LINES = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
EXCERPT_INPUT = 64 * 1024  # characters of a receiver's answer scrubbed for an excerpt


def visible(text: str, *, lines: bool = False) -> str:
    """`text` with every control character (C0, C1: terminal escape sequences too), line
    separator and bidirectional override written as its escape (`\\x1b`, `\\u202e`): for a
    terminal or a log line, which must show scraped text, never obey it. `lines=True` keeps
    newlines and tabs (a licence text printed as a page)."""
    unshown = _UNSHOWN_BUT_LINES if lines else _UNSHOWN
    return unshown.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


def redact_url(url: str) -> str:
    """`https://hooks.slack.com/services/T0/B0/XYZ` → `https://hooks.slack.com/…`.

    For http(s) the host (and port) is kept: it tells the reader which receiver is meant and
    is not a secret; path, query and user info are not. Other schemes (apprise's
    `slack://tokenA/tokenB`) put credentials where a host would be, so only the scheme stays.
    """
    if not url:
        return ""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "…"
    scheme = parts.scheme.lower()
    if not scheme:
        return "…"
    if scheme in _WEB_SCHEMES:
        host = parts.hostname or ""
        if parts.port:
            host = f"{host}:{parts.port}"
        tail = "/…" if (parts.path not in ("", "/") or parts.query) else ""
        return f"{scheme}://{host}{tail}"
    if scheme == "mailto":
        return url
    return f"{scheme}://…"


def redact_secret(secret: str) -> str:
    """`whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw` → `whsec_…`; anything else → `…`."""
    if not secret:
        return ""
    if "://" in secret:
        return redact_url(secret)
    prefix, sep, _ = secret.partition("_")
    if sep and prefix.isalpha() and len(prefix) <= 8:
        return f"{prefix}_…"
    return "…"


def _secret_pieces(secret: str) -> set[str]:
    """The parts of a secret URL a receiver may echo on their own (`Cannot POST /services/…`,
    a decoded query value): the path and query after the host, and each path segment and query
    value of `_MIN_PIECE` characters or more; for other schemes (apprise's `slack://tokenA/
    tokenB`, where credentials stand where a host would be), every such piece after the scheme."""
    if "://" not in secret:
        return set()
    scheme, rest = secret.split("://", 1)
    pieces: set[str] = set()
    whole: set[str] = set()
    if scheme.lower() in _WEB_SCHEMES:
        tail = rest.partition("/")[2]
        if len(tail) >= _MIN_SECRET:
            whole.add(tail)
        try:
            parts = urlsplit(secret)
        except ValueError:
            parts = None
        if parts is not None:
            pieces.update(parts.path.split("/"))
            pieces.update(unquote(seg) for seg in parts.path.split("/"))
            for pair in parts.query.split("&"):
                value = pair.partition("=")[2]
                pieces.update((value, unquote_plus(value)))
            pieces.update(v for v in (parts.username, parts.password) if v)
    else:
        pieces.update(_PIECE_SEPARATORS.split(rest))
    return whole | {piece for piece in pieces if len(piece) >= _MIN_PIECE}


def _known(secrets: Iterable[str | None]) -> list[str]:
    """Every string to redact for `secrets`, longest first (a secret before its pieces)."""
    known = {s for s in secrets if s and len(s) >= _MIN_SECRET}
    for secret in list(known):
        known |= _secret_pieces(secret)
    return sorted(known, key=len, reverse=True)


def scrub(text: object, secrets: Iterable[str | None] = ()) -> str:
    """One line of text with every known secret (and the long pieces of secret URLs) and every
    URL path redacted."""
    line = " ".join(str(text).split())
    for secret in _known(secrets):
        line = line.replace(secret, redact_secret(secret))
    line = _SIGNING_SECRET.sub("whsec_…", line)
    return _URL.sub(lambda m: redact_url(m.group(0)), line)


def scrub_excerpt(text: object, secrets: Iterable[str | None] = (), limit: int = 200) -> str:
    """The first `limit` characters of `text` as one scrubbed line without control characters.

    Scrubbed before it is cut: cut first, a secret the receiver echoed could straddle the cut,
    its prefix would no longer match, and it would leak. Only the first `EXCERPT_INPUT`
    characters are scrubbed; a secret straddling that cut can only leave its prefix at the very
    end of the scrubbed text, so that tail (as long as the longest secret) is dropped."""
    raw = BIDI.sub("", CONTROL.sub(" ", str(text)))
    line = scrub(raw[:EXCERPT_INPUT], secrets)
    if len(raw) > EXCERPT_INPUT:
        longest = max((len(s) for s in _known(secrets)), default=0)
        line = line[: max(len(line) - longest, 0)].rstrip()
    if len(line) > limit:
        line = line[: max(limit - 1, 0)] + "…"
    return line


class RedactingFilter(logging.Filter):
    """Scrubs URLs in log records of libraries that log them in full (httpx logs every
    request as `HTTP Request: POST https://hooks.slack.com/services/T…/B…/secret`)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            args = record.args if isinstance(record.args, tuple) else (record.args,)
            record.args = tuple(scrub(a) if not isinstance(a, (int, float)) else a for a in args)
        elif isinstance(record.msg, str) and "://" in record.msg:
            record.msg = scrub(record.msg)
        return True


def install_log_redaction(logger_names: Iterable[str] = ("httpx",)) -> None:
    """Attach one `RedactingFilter` to each named logger (idempotent)."""
    for name in logger_names:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactingFilter) for f in logger.filters):
            logger.addFilter(RedactingFilter())


def one_line(text: object) -> str:
    """Collapse whitespace, strip control characters (CR/LF included) and bidirectional
    overrides (`BIDI`): header-safe, and read in the order it was written."""
    return " ".join(BIDI.sub("", CONTROL.sub(" ", "" if text is None else str(text))).split())


def is_http_url(text: str) -> bool:
    """An absolute http(s) URL with a host and no whitespace (receivers, endpoints)."""
    try:
        parts = urlsplit(text)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname) and not re.search(r"\s", text)


# An http(s) URL that may be shown as a link (no `javascript:`; no whitespace to break out).
LINK_URL = re.compile(r"^https?://[^\s]+$", re.IGNORECASE)
