"""The org table: Hugging Face org (and the same lab's GitHub and ModelScope owners)
-> country, kind.

Shipped as package data (`crawler/data/orgs.csv`); the source of every `country` in events.
`github_owners` and `modelscope_owners` are space-separated; a lab is not always spelled
alike on each (`Qwen` / `QwenLM`; `zai-org` / `ZhipuAI`, `internlm` /
`Shanghai_AI_Laboratory`, `01-ai` / `01ai` on ModelScope, where those labs publish models).
"""

from __future__ import annotations

import csv
import difflib
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

REGISTRY_PREFIX = "registry:"
HUBS = ("huggingface", "modelscope", "github")


@dataclass(frozen=True)
class Org:
    hf_org: str
    display_name: str
    country: str | None
    kind: str
    github_owners: tuple[str, ...]
    notes: str
    modelscope_owners: tuple[str, ...] = ()


class OrgTable:
    """The labs openwatch knows (`crawler/data/orgs.csv`): case-insensitive lookup by Hugging Face
    org, GitHub owner or ModelScope owner. `registry:CC` in a watch's `orgs` selects from it."""

    def __init__(self, orgs: list[Org]):
        self.orgs = orgs
        self._by_name: dict[str, Org] = {}
        for org in orgs:
            for name in (org.hf_org, *org.github_owners, *org.modelscope_owners):
                self._by_name.setdefault(name.lower(), org)

    @classmethod
    def from_rows(cls, rows) -> OrgTable:
        return cls(
            [
                Org(
                    hf_org=row["hf_org"].strip(),
                    display_name=row.get("display_name", "").strip(),
                    country=(row.get("country") or "").strip().upper() or None,
                    kind=(row.get("kind") or "").strip(),
                    github_owners=tuple((row.get("github_owners") or "").split()),
                    notes=row.get("notes", ""),
                    modelscope_owners=tuple((row.get("modelscope_owners") or "").split()),
                )
                for row in rows
                if row.get("hf_org")
            ]
        )

    def lookup(self, name: str | None) -> Org | None:
        return self._by_name.get(name.lower()) if name else None

    def country(self, name: str | None) -> str | None:
        org = self.lookup(name)
        return org.country if org else None

    def suggest(self, name: str) -> str | None:
        """The table's org closest to a misspelled `name` (`deepseek` -> `deepseek-ai`), or None."""
        close = difflib.get_close_matches(name.lower(), list(self._by_name), n=1, cutoff=0.6)
        return self._by_name[close[0]].hf_org if close else None

    def countries(self) -> set[str]:
        return {org.country for org in self.orgs if org.country}

    def select(self, selector: str, *, hub: str = "huggingface") -> list[str]:
        """Orgs for `registry:US`, `registry:CN`, … or `registry:all`: Hugging Face orgs, or
        with `hub="modelscope"` / `"github"` the labs' owners there (labs without one skipped).

        Raises KeyError for a country the table does not know (or knows no owner of there).
        """
        code = selector[len(REGISTRY_PREFIX) :].strip()
        orgs = self.orgs if code.lower() == "all" else [org for org in self.orgs if org.country == code.upper()]
        picked = [name for org in orgs for name in self.names(org, hub)]
        if not picked:
            raise KeyError(code)
        return picked

    @staticmethod
    def names(org: Org, hub: str = "huggingface") -> tuple[str, ...]:
        """What `org` is called on `hub` (one of HUBS)."""
        if hub == "huggingface":
            return (org.hf_org,)
        if hub == "modelscope":
            return org.modelscope_owners
        if hub == "github":
            return org.github_owners
        raise ValueError(f"unknown hub {hub!r}; one of {', '.join(HUBS)}")

    def expand(self, names: list[str], *, hub: str = "huggingface") -> list[str]:
        """Replace `registry:XX` entries by their orgs, keep the rest, drop duplicates, keep order."""
        out: list[str] = []
        for name in names:
            for org in self.select(name, hub=hub) if name.startswith(REGISTRY_PREFIX) else [name]:
                if org not in out:
                    out.append(org)
        return out


@lru_cache(maxsize=1)
def default_orgs() -> OrgTable:
    with resources.files("crawler").joinpath("data/orgs.csv").open(encoding="utf-8") as f:
        return OrgTable.from_rows(csv.DictReader(f))
