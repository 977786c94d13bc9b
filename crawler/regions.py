"""Pure: the race's regions from the org registry's country (DESIGN.md, "The race ledger").

`US`, `CN`, `EU` (a member state of the European Union), `other` (any other known country)
or `unknown` (no country: a distributed collaboration, a pseudonymous community, an org the
registry does not know). The field's reference buckets (the ATOM Project's
`metadata/organization_regions.csv` in Interconnects-AI/tracked-models, Apache-2.0) are
"Europe-facing", not EU membership: where the two differ by definition (Switzerland, the
United Kingdom, Israel) docs/releases.md says how openwatch counts and why.
"""

from __future__ import annotations

REGIONS = ("US", "CN", "EU", "other", "unknown")

# The 27 member states since 2020-02-01 (the United Kingdom left), ISO 3166-1 alpha-2.
# https://european-union.europa.eu/principles-countries-history/eu-countries_en
EU_MEMBERS = frozenset({
    "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE",
    "IT", "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE",
})


def region(country: str | None) -> str:
    """The region of an ISO alpha-2 `country` (any case, spaces ignored); `unknown` when None/empty."""
    code = (country or "").strip().upper() if isinstance(country, str) else ""
    if not code:
        return "unknown"
    if code in ("US", "CN"):
        return code
    return "EU" if code in EU_MEMBERS else "other"
