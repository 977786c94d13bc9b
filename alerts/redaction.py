"""Secret-safe text: webhook URLs, signing secrets and passwords never appear in full in
`last_error`, logs, `status` or stats (DESIGN.md rule 6)."""

from __future__ import annotations

import logging
import re
from typing import Iterable
from urllib.parse import urlsplit

# A URL anywhere in a line of text: scheme, then everything up to whitespace or a quote.
_URL = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*)://(?P<rest>[^\s'\"<>]*)")
_WEB_SCHEMES = {"http", "https"}
_SIGNING_SECRET = re.compile(r"\bwhsec_[A-Za-z0-9+/=_-]+")  # Standard Webhooks keys, known or not
_MIN_SECRET = 4  # shorter strings are too common to scrub without mangling ordinary text


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


def scrub(text: object, secrets: Iterable[str | None] = ()) -> str:
    """One line of text with every known secret and every URL path redacted."""
    line = " ".join(str(text).split())
    known = {s for s in secrets if s and len(s) >= _MIN_SECRET}
    # A receiver may echo the path of its own URL (where webhook tokens live) without the host.
    known |= {path for s in list(known) if "://" in s
              for path in [s.split("://", 1)[1].partition("/")[2]] if len(path) >= _MIN_SECRET}
    for secret in sorted(known, key=len, reverse=True):
        line = line.replace(secret, redact_secret(secret))
    line = _SIGNING_SECRET.sub("whsec_…", line)
    return _URL.sub(lambda m: redact_url(m.group(0)), line)


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
