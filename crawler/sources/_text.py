"""Pure: evidence of relations in scraped text (release notes, posts, abstracts).

A release or post that names a Hugging Face or ModelScope repo announces that model; a paper
whose abstract or comment links a GitHub repo has that code. Only full URLs count: a bare
`owner/name` in prose is too weak to be evidence.
"""

from __future__ import annotations

import re

_HF = re.compile(r"https?://(?:www\.)?huggingface\.co/(?!datasets/|spaces/|papers/|docs/|blog/)"
                 r"([A-Za-z0-9][\w.-]*)/([A-Za-z0-9][\w.-]*)")
_MS = re.compile(r"https?://(?:www\.)?modelscope\.cn/models/([A-Za-z0-9][\w.-]*)/([A-Za-z0-9][\w.-]*)")
_GH = re.compile(r"https?://(?:www\.)?github\.com/([A-Za-z0-9][\w.-]*)/([A-Za-z0-9][\w.-]*)")
MAX_LINKS = 50


def _clean(name: str) -> str:
    return name.rstrip(".").removesuffix(".git")


def model_mentions(text: str | None) -> list[str]:
    """Keys of the hub models a text links to, in order of appearance."""
    out: list[str] = []
    for pattern, prefix in ((_HF, "model:hf/"), (_MS, "model:ms/")):
        for owner, name in pattern.findall(text or ""):
            key = f"{prefix}{owner}/{_clean(name)}"
            if key not in out:
                out.append(key)
    return out[:MAX_LINKS]


def repo_mentions(text: str | None) -> list[str]:
    """Keys of the GitHub repos a text links to."""
    out: list[str] = []
    for owner, name in _GH.findall(text or ""):
        key = f"repo:github/{owner}/{_clean(name)}"
        if key not in out:
            out.append(key)
    return out[:MAX_LINKS]
