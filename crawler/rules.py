"""The numbers behind the trust rules (DESIGN.md, "Rules that make it trustworthy"), written once."""

# A listing under this share of the last complete one is suspicious: never read as removals.
SHORT_LISTING_RATIO = 0.5
# Consecutive "not found" direct checks (one per crawl) before `model.removed`.
REMOVAL_AFTER = 3
# Direct checks tried first when a listing looks short: a transient short answer costs few.
PROBE_SAMPLE = 20
