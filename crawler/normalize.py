"""Pure helpers every normaliser uses: scraped values type-checked and capped.

Scraped text is hostile: every string is type-checked and capped before it is stored; a value
of the wrong type is unknown (None), never coerced into something it did not say.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any, Iterable

MAX_TEXT = 300
MAX_LIST = 500

_SURROGATE = re.compile("[\ud800-\udfff]")


def clean(value: str) -> str:
    """`value` with lone surrogates replaced: JSON can carry `"\\ud800"`, UTF-8 (SQLite) cannot."""
    return _SURROGATE.sub("\ufffd", value) if _SURROGATE.search(value) else value


def text(value: Any, limit: int = MAX_TEXT) -> str | None:
    if value is None or isinstance(value, (dict, list, bool)):
        return None
    out = str(value).strip()
    return clean(out[:limit]) if out else None


def texts(value: Any, limit: int = MAX_LIST) -> list[str]:
    """A sorted, de-duplicated list of capped strings (a lone string is a list of one)."""
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        return []
    return sorted({t for t in (text(v) for v in value[:limit]) if t})


def integer(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


# `json.dumps(..., sort_keys=True, default=str)` builds an encoder per call; one shared
# encoder writes the same text (encoders keep no state between calls). Fields are trees
# parsed from JSON, never cyclic: without the cycle check it is 40 % faster (7 vs 11 us a model).
_HASH_TEXT = json.JSONEncoder(sort_keys=True, default=str, check_circular=False).encode


def content_hash(fields: dict[str, Any], quiet: Iterable[str] = ()) -> str:
    """Hash of the fields but the quiet ones: equal hash, no new snapshot."""
    skip = set(quiet)
    stable = {k: v for k, v in fields.items() if k not in skip}
    return hashlib.sha256(_HASH_TEXT(stable).encode()).hexdigest()
