"""The numbers behind the trust rules (DESIGN.md, "Rules that make it trustworthy"), written once."""

# A listing under this share of the last complete one is suspicious: never read as removals.
SHORT_LISTING_RATIO = 0.5
# Consecutive "not found" direct checks (one per crawl) before `model.removed`.
REMOVAL_AFTER = 3
# Rule 6, cap downloads: the largest answer a source's page of at most 100 items may be (a
# few hundred kB in practice); over it the answer is refused unread, the unit is incomplete.
MAX_ANSWER_BYTES = 8 * 1024 * 1024
# Direct checks tried first when a listing looks short: a transient short answer costs few.
PROBE_SAMPLE = 20


def crawl_status(expected, complete, finished: bool, errors: list[str]) -> str:
    """ok when the crawl finished and every watched unit ended complete with no error; partial
    when some unit did; else failed. Appends "no complete listing for: …" to `errors` when
    units are missing and nothing said why (rule 2: a partial crawl removes nothing)."""
    expected, complete = set(expected), set(complete)
    missing = sorted(expected - complete)
    if missing and finished and not any(m in " ".join(errors) for m in missing):
        errors.append(f"no complete listing for: {', '.join(missing)}")
    if finished and complete >= expected and not errors:
        return "ok"
    return "partial" if complete else "failed"
