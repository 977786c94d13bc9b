"""What spiders yield: one `Batch` per listing page, feed document or API page.

Plain, JSON-serialisable dataclasses: batches travel as JSON lines between a Scrapyd worker
and the single ingest process (DESIGN.md, "Beyond one machine"); `Batch.from_dict` reads one
back. The history store compares a whole batch with stored state in one query.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Observation:
    """One thing as the source showed it: `raw` is the source's own object, untouched.

    `files`: LICENSE-like texts fetched with it (None: not fetched this time, the last ones
    stand): name -> {"status": "ok"|"not_modified"|"gated"|"error", "etag", "text", "error"}.
    `renamed_from`: the key it had before the source moved it (a redirect was followed).
    """

    key: str
    kind: str
    raw: dict[str, Any]
    files: dict[str, dict[str, Any]] | None = None
    renamed_from: str | None = None


@dataclass
class Probe:
    """A known item checked directly because a complete listing no longer showed it."""

    key: str
    status: str                    # "not_found" | "error"
    detail: str


@dataclass
class UnitEnd:
    """The end of one watched unit's listing: complete or not (the removal rules need it).

    `count` is how many items the whole listing showed. `confirmed`: a short listing whose
    every missing item was checked directly and is gone. `incremental`: the listing stopped at
    the watermark on purpose (nothing older changed), so it says nothing about removals.
    `state` is handed back to the spider as `prior[unit]["state"]` next time (ETags).
    """

    complete: bool
    count: int
    error: str | None = None
    confirmed: bool = False
    incremental: bool = False
    watermark: str | None = None
    state: dict[str, Any] | None = None   # what the spider must remember (ETags): `units.state`


@dataclass
class Batch:
    """Observations of one page of one watched unit (an org, a repo, a feed, a query)."""

    watch: str
    source: str
    unit: str
    observed_at: str
    observations: list[Observation] = field(default_factory=list)
    probes: list[Probe] = field(default_factory=list)
    end: UnitEnd | None = None
    requests: int = 0              # extra requests made for this batch (files, probes)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Batch":
        return cls(
            watch=data["watch"], source=data["source"], unit=data["unit"], observed_at=data["observed_at"],
            observations=[Observation(**o) for o in data.get("observations") or ()],
            probes=[Probe(**p) for p in data.get("probes") or ()],
            end=UnitEnd(**data["end"]) if data.get("end") else None,
            requests=data.get("requests") or 0,
        )
