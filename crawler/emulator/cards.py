"""Model cards: the YAML header of a README.md, written and read back by the emulator.

On the Hub, `cardData` is the YAML block between `---` lines at the top of README.md
(https://huggingface.co/docs/hub/model-cards#model-card-metadata). The emulator keeps the card
as a dict and renders README.md from it on every commit, so `cardData` and the README never
disagree. Only the YAML subset the emulator writes is read back: scalars, block lists of
scalars, and JSON flow collections (`[..]`, `{..}`, which are valid YAML) for anything nested.
"""

from __future__ import annotations

import json
import re

_PLAIN = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.+/ -]*$")
_RESERVED = {"true", "false", "null", "yes", "no", "on", "off", "~"}
_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.S)


def _scalar(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, (int, float)):
        return json.dumps(value)
    text = str(value)
    if _PLAIN.match(text) and text.lower() not in _RESERVED and not _is_number(text) and text == text.strip():
        return text
    return json.dumps(text, ensure_ascii=False)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def render_front_matter(card: dict) -> str:
    """`---\\n<yaml>\\n---\\n` for `card`; keys in insertion order, None values left out."""
    lines = ["---"]
    for key, value in card.items():
        if value is None:
            continue
        if isinstance(value, (list, tuple)) and all(not isinstance(v, (dict, list, tuple)) for v in value):
            if not value:
                lines.append(f"{key}: []")
                continue
            lines.append(f"{key}:")
            lines.extend(f"- {_scalar(v)}" for v in value)
        elif isinstance(value, (dict, list, tuple)):
            lines.append(f"{key}: {json.dumps(value, ensure_ascii=False)}")
        else:
            lines.append(f"{key}: {_scalar(value)}")
    lines.append("---")
    return "\n".join(lines) + "\n"


def render_readme(card: dict, body: str) -> str:
    return render_front_matter(card) + body


def split_readme(text: str) -> tuple[dict | None, str]:
    """(card, body) of a README; card is None when there is no front matter."""
    match = _FRONT_MATTER.match(text)
    if not match:
        return None, text
    return parse_front_matter(match.group(1)), text[match.end() :]


def _parse_scalar(raw: str):
    raw = raw.strip()
    if not raw:
        return None
    if raw[0] in "[{\"":
        try:
            return json.loads(raw)
        except ValueError:
            pass
    if raw[0] == "'" and raw[-1] == "'" and len(raw) >= 2:
        return raw[1:-1].replace("''", "'")
    lowered = raw.lower()
    if lowered in ("true", "yes", "on"):
        return True
    if lowered in ("false", "no", "off"):
        return False
    if lowered in ("null", "~"):
        return None
    try:
        return int(raw)
    except ValueError:
        pass
    try:
        return float(raw)
    except ValueError:
        return raw


def parse_front_matter(yaml_text: str) -> dict:
    """Read the YAML subset described in the module docstring; unknown shapes become strings."""
    card: dict = {}
    current_list: list | None = None
    for line in yaml_text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        stripped = line.strip()
        if stripped.startswith("- ") or stripped == "-":
            if current_list is not None:
                current_list.append(_parse_scalar(stripped[1:]))
            continue
        if line[0] in " \t":
            continue  # nested block mappings are outside the supported subset
        key, sep, rest = line.partition(":")
        if not sep:
            continue
        key = key.strip()
        if rest.strip():
            card[key] = _parse_scalar(rest)
            current_list = None
        else:
            current_list = []
            card[key] = current_list
    return card
