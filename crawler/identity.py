"""Who openwatch says it is, to the sources' operators and to receivers: one User-Agent."""

from __future__ import annotations

from functools import cache
from importlib import metadata

PROJECT_URL = "https://github.com/openwatch/openwatch"


@cache
def version() -> str:
    try:
        return metadata.version("openwatch")
    except metadata.PackageNotFoundError:  # running from a source tree that is not installed
        return "0+unknown"


def user_agent() -> str:
    """`openwatch/<version> (+<project URL>)`."""
    return f"openwatch/{version()} (+{PROJECT_URL})"
