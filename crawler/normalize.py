"""Pure: a Hugging Face API model object -> the fields openwatch tracks and diffs.

Scraped text is hostile: every string is type-checked and capped before it is stored.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from crawler.licenses import normalize as normalize_license

# HF gives this createdAt to every repo older than the field itself: it means "unknown".
HF_CREATED_AT_SENTINEL = "2022-03-02T23:29:04"
# Fields that move on every crawl; kept current in `items`, never a reason for a snapshot.
VOLATILE = frozenset({"downloads", "likes", "tags", "license_etags", "license_read_sha"})
MAX_TEXT = 300
MAX_LIST = 50


def model_key(model_id: str) -> str:
    return f"model:hf/{model_id}"


def _text(value: Any, limit: int = MAX_TEXT) -> str | None:
    if value is None or isinstance(value, (dict, list, bool)):
        return None
    text = str(value).strip()
    return text[:limit] if text else None


def _texts(value: Any) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        return []
    out = [t for t in (_text(v) for v in value[:MAX_LIST]) if t]
    return sorted(set(out))


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def gating(value: Any) -> str | bool:
    """`false`, `"auto"` or `"manual"` (the Hub's values); an unexpected truthy value is "auto"."""
    if value in (None, False, "false", "False", ""):
        return False
    if isinstance(value, str) and value.lower() in ("auto", "manual"):
        return value.lower()
    return "auto"


def created_at(value: Any) -> str | None:
    text = _text(value, 40)
    if not text or text.startswith(HF_CREATED_AT_SENTINEL):
        return None
    return text


def model_fields(raw: dict[str, Any]) -> dict[str, Any]:
    """The tracked fields of one model, from the API object (`/api/models` with `expand[]`)."""
    model_id = _text(raw.get("id"), 200) or ""
    org, _, name = model_id.partition("/")
    card = raw.get("cardData") if isinstance(raw.get("cardData"), dict) else {}
    tags = _texts(raw.get("tags"))
    lic = normalize_license(
        card.get("license"),
        license_name=_text(card.get("license_name")),
        license_link=_text(card.get("license_link"), 500),
        tags=tags,
    )
    safetensors = raw.get("safetensors") if isinstance(raw.get("safetensors"), dict) else {}
    datasets = _texts(card.get("datasets")) or [t.split(":", 1)[1] for t in tags if t.startswith("dataset:")]
    return {
        "id": model_id,
        "org": _text(raw.get("author")) or org,
        "name": name,
        "license": lic.id,
        "license_name": lic.name,
        "license_category": lic.category,
        "license_link": _text(card.get("license_link"), 500),
        "gated": gating(raw.get("gated")),
        "private": bool(raw.get("private")),
        "disabled": bool(raw.get("disabled")),
        "sha": _text(raw.get("sha"), 64),
        "last_modified": _text(raw.get("lastModified"), 40),
        "created_at": created_at(raw.get("createdAt")),
        "pipeline_tag": _text(raw.get("pipeline_tag") or card.get("pipeline_tag"), 100),
        "library": _text(raw.get("library_name") or card.get("library_name"), 100),
        "base_model": _texts(card.get("base_model")),
        "arxiv": sorted({t.split(":", 1)[1] for t in tags if t.startswith("arxiv:")}),
        "datasets": sorted(set(datasets)),
        "parameters": _int(safetensors.get("total")),
        "downloads": _int(raw.get("downloads")),
        "likes": _int(raw.get("likes")),
        "tags": tags,
    }


def content_hash(fields: dict[str, Any]) -> str:
    """Hash of everything but the volatile counters: equal hash, no new snapshot."""
    stable = {k: v for k, v in fields.items() if k not in VOLATILE}
    return hashlib.sha256(json.dumps(stable, sort_keys=True, default=str).encode()).hexdigest()
