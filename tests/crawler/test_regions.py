"""Regions of the race (crawler/regions.py) from the org registry (crawler/data/orgs.csv).

The registry covers every org of the ATOM Project's `metadata/organization_regions.csv`
(Interconnects-AI/tracked-models, Apache-2.0); where the two disagree by definition the table
says so and docs/releases.md says why.
"""

from __future__ import annotations

import pytest

from crawler.regions import EU_MEMBERS, REGIONS, region
from crawler.orgs import default_orgs


@pytest.mark.parametrize("country, expected", [
    ("US", "US"), ("us", "US"), (" cn ", "CN"), ("FR", "EU"), ("de", "EU"), ("CZ", "EU"), ("PT", "EU"),
    ("GB", "other"), ("CH", "other"), ("IL", "other"), ("AE", "other"), ("KR", "other"), ("NO", "other"),
    (None, "unknown"), ("", "unknown"), ("  ", "unknown"), (42, "unknown"),
])
def test_region_of_a_country(country, expected):
    assert region(country) == expected


def test_the_27_member_states():
    assert len(EU_MEMBERS) == 27 and "GB" not in EU_MEMBERS
    assert REGIONS == ("US", "CN", "EU", "other", "unknown")


# org, openwatch's region, tracked-models' bucket when it differs
ORGS = [
    ("meta-llama", "US", None), ("Qwen", "CN", None), ("deepseek-ai", "CN", None), ("mistralai", "EU", None),
    ("tiiuae", "other", None), ("LGAI-EXAONE", "other", None),
    # the 35 orgs of organization_regions.csv the registry lacked
    ("AI-MO", "EU", None), ("allura-forge", "unknown", None), ("answerdotai", "US", None), ("ATH-MaaS", "CN", None),
    ("bigcode", "unknown", None), ("datalab-to", "US", None), ("FacebookAI", "US", None), ("fal", "US", None),
    ("FireRedTeam", "CN", None), ("Freepik", "EU", None), ("h2oai", "US", None), ("HuggingFaceFW", "US", None),
    ("HuggingFaceM4", "US", None), ("ibm-research", "US", None), ("jdopensource", "CN", None),
    ("JetBrains", "EU", None), ("jinaai", "EU", None), ("laion", "EU", None), ("llava-hf", "US", None),
    ("Nexusflow", "US", None), ("open-r1", "US", None), ("OpenHands", "US", None), ("openvla", "US", None),
    ("PaddlePaddle", "CN", None), ("Photoroom", "EU", None), ("PRIME-RL", "CN", None), ("sensenova", "CN", None),
    ("state-spaces", "US", None), ("tngtech", "EU", None), ("Tongyi-MAI", "CN", None), ("vidore", "EU", None),
    ("vikhyatk", "US", None), ("Yi", "CN", None), ("zed-industries", "US", None),
    # where the two differ by definition: openwatch counts the country, EU is membership
    ("ai21labs", "other", "us"),          # Israel; ATOM counts it US
    ("stabilityai", "other", "eu"),       # United Kingdom, not an EU member
    ("swiss-ai", "other", "eu"),          # Switzerland, not an EU member
    ("docling-project", "other", "eu"),   # IBM Research Zurich, Switzerland
    ("EleutherAI", "US", "unknown"),      # a US non-profit institute; ATOM: distributed collective
    ("nobody-knows-this-org", "unknown", None),
]


@pytest.mark.parametrize("org, expected, theirs", ORGS)
def test_region_of_an_org(org, expected, theirs):
    assert region(default_orgs().country(org)) == expected


# The 35 orgs of organization_regions.csv that the registry lacked (docling-project is among the disagreements).
ADDED = [row[0] for row in ORGS[6:40]] + ["docling-project"]


def test_the_added_orgs():
    assert len(set(ADDED)) == 35


@pytest.mark.parametrize("org", ADDED)
def test_each_added_org_has_its_own_row(org):
    found = default_orgs().lookup(org)
    assert found is not None and found.hf_org == org


def test_paddlepaddle_owners_moved_with_their_lab():
    registry = default_orgs()
    assert registry.lookup("baidu").github_owners == ()
    assert registry.names(registry.lookup("PaddlePaddle"), "modelscope") == ("PaddlePaddle",)
    assert "PaddlePaddle" in registry.select("registry:CN", hub="modelscope")
