"""Pure: a model's parameter count (safetensors, else its name) and its size class.

Size classes are the ATOM Project's (Interconnects-AI/tracked-models, Apache-2.0,
`metadata/model_sizes.py`, `get_size_bucket`), re-expressed here from total parameters:
MoE total, never active (`Qwen3-30B-A3B` is 30B). Each class is the half-open range
[lower, upper) in billions; their label `7-9B` covers 5 to 10 B, as theirs does.
"""

from __future__ import annotations

import math
import re
from typing import Any, Mapping

BILLION = 1_000_000_000

# (label, upper bound in billions, exclusive), in order; the last class has no upper bound.
SIZE_CLASSES: tuple[tuple[str, float], ...] = (
    ("<1B", 1),
    ("1-5B", 5),
    ("7-9B", 10),
    ("10-50B", 50),
    ("50-100B", 100),
    ("100-250B", 250),
    ("250B+", math.inf),
)
SIZE_CLASS_ORDER = tuple(label for label, _ in SIZE_CLASSES)


def size_class(parameters: int | float | None) -> str | None:
    """The size class of a total parameter count (a count, not billions); None when unknown or not positive."""
    if isinstance(parameters, bool) or not isinstance(parameters, (int, float)) or not parameters > 0:
        return None
    if math.isinf(parameters):
        return SIZE_CLASSES[-1][0]
    billions = parameters / BILLION
    return next(label for label, upper in SIZE_CLASSES if billions < upper)


# A size token between separators: `8B`, `0.6B`, `1_8B` (Qwen's 1.8B), `135M`, `1T`.
# Not `A3B` (active parameters), `E4B` (Gemma 3n's effective size), `8x7B` (experts: the
# total is not 8 × 7), `4k` / `128k` (context), `1124` (a date).
_SIZE = re.compile(r"(?:^|[-_. ])(\d+(?:[._]\d+)?)([BbMmTt])(?=$|[-_. ])")
_EXPERTS = re.compile(r"(?:^|[-_. ])\d+x\d+(?:\.\d+)?[Bb](?=$|[-_. ])")
_UNIT = {"b": BILLION, "m": 1_000_000, "t": 1000 * BILLION}
# `1M` after a size is a context length (`Qwen2.5-7B-Instruct-1M`) and `20T` a token count
# (`Ling-mini-base-2.0-20T`): millions count from 10M, trillions up to 2T (`Ling-1T`).
MIN_MILLIONS = 10
MAX_TRILLIONS = 2
MAX_PARAMETERS = 100 * 1000 * BILLION  # 100T: a larger "size" in a name is not one
MAX_NAME = 300


def parameters_from_name(name: str | None) -> int | None:
    """Total parameters a model's name states (`Qwen3-30B-A3B` → 30e9), or None when it states none."""
    if not isinstance(name, str):
        return None
    name = name[-MAX_NAME:].rsplit("/", 1)[-1]
    if _EXPERTS.search(name):
        return None
    for match in _SIZE.finditer(name):
        digits, unit = match.group(1).replace("_", "."), match.group(2).lower()
        value = float(digits)
        if value <= 0 or (unit == "m" and value < MIN_MILLIONS) or (unit == "t" and value > MAX_TRILLIONS):
            continue
        if value * _UNIT[unit] <= MAX_PARAMETERS:
            return round(value * _UNIT[unit])
    return None


def parameters_from_safetensors(safetensors: Any) -> int | None:
    """The Hub's `safetensors.total` (every tensor: MoE total), else the sum of `parameters` by dtype."""
    if not isinstance(safetensors, Mapping):
        return None
    total = safetensors.get("total")
    if isinstance(total, int) and not isinstance(total, bool) and total > 0:
        return total
    by_dtype = safetensors.get("parameters")
    if isinstance(by_dtype, Mapping):
        counts = [v for v in by_dtype.values() if isinstance(v, int) and not isinstance(v, bool) and v > 0]
        return sum(counts) or None
    return None


def parameters(name: str | None, safetensors: Any = None) -> int | None:
    """Total parameters: safetensors when the Hub counted them, else the name (tracked-models' order)."""
    return parameters_from_safetensors(safetensors) or parameters_from_name(name)


def human(parameters: int | float | None) -> str | None:
    """`600_000_000` → `0.6B`, `135_000_000` → `135M`, `1e12` → `1T`: B from half a billion, as labs name them."""
    if isinstance(parameters, bool) or not isinstance(parameters, (int, float)) or not 0 < parameters < math.inf:
        return None
    if parameters >= 1000 * BILLION:
        value, unit = parameters / (1000 * BILLION), "T"
    elif parameters >= BILLION / 2:
        value, unit = parameters / BILLION, "B"
    else:
        value, unit = parameters / 1_000_000, "M"
    if value >= 100:
        text = f"{value:.0f}"
    elif value >= 1:
        text = f"{value:.1f}".removesuffix(".0")
    else:
        text = f"{value:.2g}"
    return f"{text}{unit}"


def size_range(counts: list[int | None] | tuple[int | None, ...]) -> str | None:
    """`0.6B–32B` for the known counts of a family's models; one size alone; None when none is known."""
    known = sorted({c for c in counts if isinstance(c, (int, float)) and not isinstance(c, bool) and 0 < c < math.inf})
    if not known:
        return None
    low, high = human(known[0]), human(known[-1])
    return low if low == high else f"{low}–{high}"
