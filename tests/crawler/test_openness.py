"""Openness levels on real-shaped cases (fields as the normaliser stores them)."""

from __future__ import annotations

import pytest

from crawler.openness import LEVELS, openness
from crawler.sources.huggingface import model_fields

LLAMA = model_fields({"id": "meta-llama/Llama-3.1-8B", "author": "meta-llama",
                      "cardData": {"license": "llama3.1"}, "tags": ["license:llama3.1", "text-generation"]})
QWEN = model_fields({"id": "Qwen/Qwen2.5-72B", "author": "Qwen", "cardData": {"license": "apache-2.0"},
                     "tags": ["license:apache-2.0"], "safetensors": {"total": 72_700_000_000}})
OLMO = model_fields({"id": "allenai/OLMo-2-1124-7B", "author": "allenai",
                     "cardData": {"license": "apache-2.0", "datasets": ["allenai/olmo-mix-1124", "allenai/dolmino-mix-1124"]},
                     "tags": ["license:apache-2.0", "arxiv:2501.00656"]})
NONE = model_fields({"id": "someone/mystery-model", "author": "someone", "cardData": {}, "tags": []})
OLMO_CODE = {"full_name": "allenai/OLMo", "license": "apache-2.0", "license_category": "permissive"}
PROPRIETARY_CODE = {"full_name": "acme/trainer", "license": "unknown", "license_category": "unknown"}


@pytest.mark.parametrize(("fields", "code", "level"), [
    (LLAMA, [], "restricted"),
    (LLAMA, [OLMO_CODE], "restricted"),               # code does not lift a restrictive licence
    (QWEN, [], "open-weights"),
    (QWEN, [PROPRIETARY_CODE], "open-weights"),       # code without an OSI licence does not count
    (OLMO, [OLMO_CODE], "fully-open"),
    (OLMO | {"datasets": []}, [OLMO_CODE], "fully-open"),  # a lab known to publish its data
    (QWEN | {"org": "Qwen"}, [OLMO_CODE], "open-weights+code"),
    (NONE, [], "unknown"),
], ids=["llama", "llama-with-code", "qwen", "qwen-closed-code", "olmo", "olmo-registry", "qwen-with-code", "none"])
def test_openness_levels(fields, code, level):
    got, evidence = openness(fields, code)
    assert got == level and got in LEVELS
    assert evidence and all(isinstance(line, str) and line for line in evidence)
