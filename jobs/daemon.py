"""The daemon's own section of `openwatch.toml`: `[daemon]` (how `openwatch run` behaves).

Declared and read here, by its owner, over the config's typed reader (`jobs/config/`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from crawler.identity import user_agent as default_user_agent

DAEMON_KEYS = ("dispatch_every", "shutdown_grace", "log_format", "user_agent")
LOG_FORMATS = ("text", "json")
DEFAULT_DISPATCH_EVERY = 5.0
DEFAULT_SHUTDOWN_GRACE = 30.0


@dataclass(frozen=True)
class DaemonSettings:
    """Settings of `openwatch run` (durations in seconds)."""

    dispatch_every: float
    shutdown_grace: float
    log_format: str
    user_agent: str


def read_daemon(read: Any) -> DaemonSettings:
    """The `[daemon]` table (every key optional)."""
    read.check_keys(DAEMON_KEYS)
    dispatch_every = read.duration("dispatch_every", default=DEFAULT_DISPATCH_EVERY, example='"5s"')
    if dispatch_every <= 0:
        raise read.error("dispatch_every", "must be longer than 0s", 'write dispatch_every = "5s"')
    user_agent = read.string("user_agent", default="", example=f'"{default_user_agent()}"')
    return DaemonSettings(
        dispatch_every=dispatch_every,
        shutdown_grace=read.duration("shutdown_grace", default=DEFAULT_SHUTDOWN_GRACE, example='"30s"'),
        log_format=read.choice("log_format", LOG_FORMATS, noun="log format", default="text"),
        user_agent=user_agent or default_user_agent(),
    )
