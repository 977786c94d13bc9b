"""What spiders yield. Plain, JSON-serialisable dataclasses: items may travel as JSON lines
between a crawl worker and the single ingest process (DESIGN.md, "Beyond one machine")."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class ModelObservation:
    """One Hugging Face model as the API showed it (`raw`), plus its LICENSE-like files."""

    watch: str
    unit: str                      # the watched org it was listed under
    raw: dict[str, Any]            # the API's model object, untouched
    observed_at: str
    # None: not fetched (the files were read at this commit already). Else every LICENSE-like
    # file the repo lists now: name -> {"status": "ok"|"not_modified"|"gated"|"error", "etag", "text", "error"}
    license_files: dict[str, dict[str, Any]] | None = None
    via: str = "listing"           # "listing" or "probe" (seen by a direct check)
    # Filled by the normalise and classify pipelines:
    key: str | None = None
    fields: dict[str, Any] | None = None


@dataclass
class ModelProbe:
    """Result of checking a model directly because a complete listing no longer showed it."""

    watch: str
    unit: str
    model_id: str
    status: str                    # "not_found" | "error"
    detail: str
    observed_at: str
    key: str | None = None


@dataclass
class ListingResult:
    """End of one watched unit's listing: whether it was complete (the removal rules need it)."""

    watch: str
    unit: str
    source: str
    complete: bool
    count: int
    observed_at: str
    error: str | None = None
    # A short listing whose every missing model was checked directly and is gone: complete.
    confirmed: bool = False
