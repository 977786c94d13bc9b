"""Durations as the config writes them: "30m", "6h", "1h30m" <-> seconds."""

from __future__ import annotations

import re

DURATION_EXAMPLES = 'use a number and a unit, e.g. "30m", "6h", "1d"'

# ASCII digits only (`\d` would take "٣٠m"); at most 2**30 s, about 34 years (far longer ones
# overflow the daemon's timers).
_DURATION = re.compile(r"\s*(?:\d+(?:\.\d+)?\s*[smhdw]\s*)+", re.ASCII)
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([smhdw])", re.ASCII)
MAX_DURATION = float(2**30)
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_duration(text: str) -> float:
    """Seconds in "90s", "30m", "6h", "1d", "2w" or a sum such as "1h30m"; ValueError otherwise."""
    if not isinstance(text, str) or not _DURATION.fullmatch(text):
        raise ValueError(f"{text!r} is not a duration")
    seconds = float(sum(float(n) * _UNIT_SECONDS[unit] for n, unit in _DURATION_PART.findall(text)))
    if not seconds <= MAX_DURATION:  # also refuses inf and nan
        raise ValueError(f"{text!r} is not a duration of at most 34 years")
    return seconds


def format_duration(seconds: float) -> str:
    """The shortest duration text for `seconds`: 5400 -> "1h30m", 90 -> "1m30s", 0 -> "0s"."""
    if seconds < 0:
        raise ValueError(f"negative duration {seconds!r}")
    parts = []
    rest = float(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        count = int(rest // size)
        if count:
            parts.append(f"{count}{unit}")
            rest -= count * size
    rest = round(rest, 3)
    if rest or not parts:
        parts.append(f"{rest:g}s")
    return "".join(parts)
