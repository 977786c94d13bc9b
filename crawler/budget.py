"""Pure: what a server says of its request quota, from its response headers.

Hugging Face (https://huggingface.co/docs/hub/rate-limits, IETF draft-ietf-httpapi-ratelimit-
headers): `RateLimit: "api";r=489;t=107` (remaining, seconds to reset) and `RateLimit-Policy:
"fixed window";"api";q=500;w=300` (quota per window). GitHub
(https://docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api):
`x-ratelimit-limit`, `x-ratelimit-remaining`, `x-ratelimit-reset` (epoch seconds),
`x-ratelimit-resource` (the bucket, e.g. `core`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Mapping

_NAME = re.compile(r'"([^"]+)"')
_PARAM = re.compile(r";\s*([a-z]+)\s*=\s*(\d+(?:\.\d+)?)")


@dataclass(frozen=True)
class Quota:
    bucket: str
    remaining: int
    reset_in: float            # seconds until the window resets
    limit: int | None = None   # requests per window, when the server says
    window: float | None = None


def _get(headers: Mapping[str, str], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return None


def hf_quota(headers: Mapping[str, str]) -> Quota | None:
    value = _get(headers, "ratelimit")
    if not value:
        return None
    name = _NAME.search(value)
    params = dict(_PARAM.findall(value))
    if "r" not in params or "t" not in params:
        return None
    limit = window = None
    policy = _get(headers, "ratelimit-policy")
    if policy:
        found = dict(_PARAM.findall(policy))
        limit = int(float(found["q"])) if "q" in found else None
        window = float(found["w"]) if "w" in found else None
    return Quota(name.group(1) if name else "default", int(float(params["r"])), float(params["t"]), limit, window)


def github_quota(headers: Mapping[str, str], now: float) -> Quota | None:
    remaining, reset = _get(headers, "x-ratelimit-remaining"), _get(headers, "x-ratelimit-reset")
    if remaining is None or reset is None:
        return None
    try:
        limit = _get(headers, "x-ratelimit-limit")
        return Quota(_get(headers, "x-ratelimit-resource") or "core", int(remaining), max(0.0, float(reset) - now),
                     int(limit) if limit else None, 3600.0)
    except ValueError:
        return None


def quota(headers: Mapping[str, str], now: float) -> Quota | None:
    return hf_quota(headers) or github_quota(headers, now)


def hf_bucket(path: str) -> str:
    """The Hub's bucket of a request, before its answer says: api, resolvers or pages."""
    if path.startswith("/api/"):
        return "api"
    if "/resolve/" in path:
        return "resolvers"
    return "pages"
