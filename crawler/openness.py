"""Pure: how open a model is, from the evidence openwatch holds, in the spirit of the Model
Openness Framework's classes (https://isitopen.ai, arXiv:2403.13784).

    restricted          weights under an open-weight-restricted, non-commercial or
                        research-only licence
    open-weights        weights under a permissive or copyleft licence
    open-weights+code   and training code linked (a GitHub repo under an OSI licence)
    fully-open          and public training data declared (card `datasets`), or a release
                        known to publish data, code and weights (OLMo, Marin, …)
    unknown             no readable licence

Each level comes with its evidence, one line per fact, so a reader can check it.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

LEVELS = ("restricted", "open-weights", "open-weights+code", "fully-open", "unknown")
OPEN_CATEGORIES = ("permissive", "copyleft")
RESTRICTED_CATEGORIES = ("open-weight-restricted", "non-commercial", "research-only")
# Labs whose releases publish weights, training code and data together (their model cards
# say so; each is checked on the card's `datasets` as well when present).
FULLY_OPEN_ORGS = frozenset({"allenai", "marin-community", "LLM360", "EleutherAI", "HuggingFaceTB",
                             "swiss-ai", "OpenLLM-France", "TildeAI"})


def openness(model: Mapping[str, Any], code: Iterable[Mapping[str, Any]] = ()) -> tuple[str, list[str]]:
    """The level of `model` (its fields) given the repos linked as its code (their fields)."""
    category = model.get("license_category")
    licence = model.get("license") or "unknown"
    if category in RESTRICTED_CATEGORIES:
        return "restricted", [f"licence {licence} is {category}"]
    if category not in OPEN_CATEGORIES:
        return "unknown", [f"licence {licence} is not readable as open or restricted"]
    evidence = [f"weights under {licence} ({category})"]
    osi_code = [repo for repo in code if repo.get("license_category") in OPEN_CATEGORIES]
    if not osi_code:
        return "open-weights", evidence + ["no training code linked"]
    evidence += [f"code: {repo.get('full_name')} under {repo.get('license')}" for repo in osi_code[:5]]
    datasets = [d for d in model.get("datasets") or () if d]
    org = model.get("org") or ""
    if datasets:
        return "fully-open", evidence + [f"training data declared: {', '.join(datasets[:5])}"]
    if org in FULLY_OPEN_ORGS:
        return "fully-open", evidence + [f"{org} publishes its training data (registry of fully open labs)"]
    return "open-weights+code", evidence + ["no public training data declared"]
