"""Parameter counts and size classes (crawler/sizes.py).

The classes are the ATOM Project's (Interconnects-AI/tracked-models, Apache-2.0,
`metadata/model_sizes.py`): <1B, 1-5B, 7-9B, 10-50B, 50-100B, 100-250B, 250B+, each from its
lower bound (inclusive) to the next (exclusive). Boundaries below are worked out by hand.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from crawler.sizes import (
    SIZE_CLASS_ORDER,
    human,
    parameters,
    parameters_from_name,
    parameters_from_safetensors,
    size_class,
    size_range,
)

B = 1_000_000_000


@pytest.mark.parametrize("count, expected", [
    (None, None), (0, None), (-7 * B, None), (True, None), ("8B", None), (math.nan, None),
    (1, "<1B"), (135_000_000, "<1B"), (B - 1, "<1B"),
    (B, "1-5B"), (1_500_000_000, "1-5B"), (5 * B - 1, "1-5B"),
    (5 * B, "7-9B"), (8_030_261_248, "7-9B"), (10 * B - 1, "7-9B"),        # Llama-3.1-8B's safetensors total
    (10 * B, "10-50B"), (30_532_122_624, "10-50B"), (50 * B - 1, "10-50B"),  # Qwen3-30B-A3B: total, not 3B active
    (50 * B, "50-100B"), (70_553_706_496, "50-100B"), (100 * B - 1, "50-100B"),
    (100 * B, "100-250B"), (235 * B, "100-250B"), (250 * B - 1, "100-250B"),
    (250 * B, "250B+"), (671 * B, "250B+"), (1_000 * B, "250B+"), (math.inf, "250B+"),
    (7.5e9, "7-9B"),
])
def test_size_class_boundaries(count, expected):
    assert size_class(count) == expected


def test_classes_in_order():
    assert SIZE_CLASS_ORDER == ("<1B", "1-5B", "7-9B", "10-50B", "50-100B", "100-250B", "250B+")


@pytest.mark.parametrize("name, expected", [
    ("Llama-3.1-8B-Instruct", 8 * B),
    ("Qwen2.5-72B", 72 * B),
    ("Qwen/Qwen3-0.6B", 600_000_000),
    ("Qwen3-30B-A3B", 30 * B),                 # MoE: the total, not the active 3B
    ("Qwen3-Next-80B-A3B-Instruct", 80 * B),
    ("gemma-2b", 2 * B),
    ("gpt-oss-20b", 20 * B),
    ("Qwen-1_8B-Chat", 1_800_000_000),         # Qwen 1's underscore decimal
    ("SmolLM2-135M-Instruct", 135_000_000),
    ("granite-4.0-350m", 350_000_000),
    ("Ling-1T", 1_000 * B),
    ("OLMo-2-1124-7B", 7 * B),                 # 1124 is a date
    ("Qwen2.5-7B-Instruct-1M", 7 * B),         # 1M is a context length
    ("granite-3.0-1b-a400m-base", B),          # a400m is the active count
    ("bitnet-b1.58-2B-4T", 2 * B),             # 4T is the training tokens
    ("phi-3-mini-4k-instruct", None),          # 4k is a context length; no size in the name
    ("Mixtral-8x7B-v0.1", None),               # 8 experts of 7B do not make 56B (46.7B): unknown from the name
    ("gemma-3n-E4B-it", None),                 # E4B is an effective size, not the total
    ("Ling-mini-base-2.0-20T", None),          # 20T tokens, not parameters
    ("Kimi-K2-Instruct", None),
    ("x-999999B", None), ("x-" + "9" * 298 + "B", None),  # no model is a thousand trillion parameters
    ("", None), (None, None), (42, None),
])
def test_parameters_from_the_name(name, expected):
    assert parameters_from_name(name) == expected


def test_parameters_from_safetensors():
    # The Hub's `safetensors` object: parameters by dtype and their total.
    assert parameters_from_safetensors({"parameters": {"BF16": 30_532_122_624}, "total": 30_532_122_624}) == 30_532_122_624
    assert parameters_from_safetensors({"parameters": {"BF16": 1_000, "F32": 24}}) == 1_024
    for hostile in (None, [], "30B", {"total": "30B"}, {"total": -1}, {"total": True}, {"parameters": {"BF16": "x"}}):
        assert parameters_from_safetensors(hostile) is None


def test_safetensors_first_then_the_name():
    assert parameters("Qwen3-30B-A3B", {"total": 30_532_122_624}) == 30_532_122_624
    assert parameters("Qwen3-30B-A3B", None) == 30 * B
    assert parameters("Qwen3-30B-A3B", {"total": 0}) == 30 * B
    assert parameters("Kimi-K2-Instruct", {}) is None


@pytest.mark.parametrize("count, text", [
    (600_000_000, "0.6B"), (751_632_384, "0.75B"), (135_000_000, "135M"), (1_500_000_000, "1.5B"),
    (8 * B, "8B"), (30_532_122_624, "30.5B"), (235 * B, "235B"), (1_000 * B, "1T"), (None, None), (0, None),
])
def test_human(count, text):
    assert human(count) == text


def test_size_range():
    assert size_range([600_000_000, 32 * B, 8 * B, None]) == "0.6B–32B"
    assert size_range([8 * B, 8 * B]) == "8B"
    assert size_range([None]) is None
    assert size_range([]) is None


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=400) | st.none())
@example("9" * 100_000 + "B")
@example("1." * 100_000 + "B")
@example("x-" + "9" * 298 + "B")
def test_name_parser_never_raises(name):
    got = parameters_from_name(name)
    assert got is None or (isinstance(got, int) and got > 0)


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=1, max_value=10**15) | st.floats(min_value=1e-3, max_value=1e16))
def test_every_positive_count_has_one_class_and_a_label(count):
    assert size_class(count) in SIZE_CLASS_ORDER
    assert human(count)
