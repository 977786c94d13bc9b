"""A model's family, the readable release line (crawler/sources/_releases.py): real ids.

Rows are ids of the ATOM Project's tracked list (Interconnects-AI/tracked-models, Apache-2.0)
and of the Hub; the rules and their limits are in docs/releases.md.
"""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from crawler.sources._releases import family

FAMILIES = [
    # the brief's examples
    ("Qwen/Qwen3-8B-FP8", "Qwen3"),
    ("deepseek-ai/DeepSeek-V3-Base", "DeepSeek-V3"),
    ("meta-llama/Llama-3.1-8B-Instruct", "Llama-3.1"),
    ("allenai/OLMo-2-1124-7B", "OLMo-2"),                      # 1124: a date (Nov 2024), dropped
    ("moonshotai/Kimi-K2-Instruct", "Kimi-K2"),
    ("openai/gpt-oss-20b", "gpt-oss"),
    ("Qwen/Qwen3-Next-80B-A3B-Instruct", "Qwen3-Next"),
    ("mistralai/Mistral-Small-3.2-24B-Instruct-2506", "Mistral-Small-3.2"),  # a size word before the version names the line
    # sizes: dense, MoE total-active, experts, effective, millions, Qwen's 1_8B
    ("Qwen/Qwen3-235B-A22B-Instruct-2507", "Qwen3"),
    ("Qwen/Qwen1.5-MoE-A2.7B", "Qwen1.5"),
    ("tencent/Hunyuan-A13B-Instruct", "Hunyuan"),
    ("google/gemma-3n-E4B-it", "gemma-3n"),
    ("HuggingFaceTB/SmolLM2-360M-Instruct", "SmolLM2"),
    ("Qwen/Qwen-1_8B-Chat", "Qwen"),
    ("internlm/internlm2_5-7b-chat", "internlm2_5"),
    ("microsoft/Phi-3-mini-4k-instruct", "Phi-3"),             # 4k: a context length; mini after the version: a size
    ("microsoft/Phi-3.5-MoE-instruct", "Phi-3.5"),
    ("zai-org/GLM-4.5-Air", "GLM-4.5"),
    ("deepseek-ai/DeepSeek-V2-Lite-Chat", "DeepSeek-V2"),
    ("deepseek-ai/DeepSeek-V4-Flash-Base", "DeepSeek-V4"),
    ("inclusionAI/Ling-flash-2.0", "Ling-flash-2.0"),
    # roles, precisions, formats, dates and previews
    ("deepseek-ai/DeepSeek-V3-0324", "DeepSeek-V3"),
    ("deepseek-ai/DeepSeek-R1-Zero", "DeepSeek-R1"),
    ("deepseek-ai/DeepSeek-R1-Distill-Qwen-7B", "DeepSeek-R1"),  # the teacher's line, not the student's
    ("moonshotai/Kimi-K2-Instruct-0905", "Kimi-K2"),
    ("arcee-ai/Trinity-Large-Preview-FP8", "Trinity-Large"),
    ("google/gemma-2-27b-it-pytorch", "gemma-2"),
    ("unsloth/Qwen3-8B-GGUF", "Qwen3"),
    ("meta-llama/Llama-2-7b-chat-hf", "Llama-2"),
    ("deepseek-ai/DeepSeek-V3.1-Terminus", "DeepSeek-V3.1-Terminus"),
    ("moonshotai/Kimi-K2.5", "Kimi-K2.5"),
    # a version after the size joins a line whose name has none
    ("mistralai/Mistral-7B-v0.1", "Mistral-v0.1"),
    ("mistralai/Mistral-7B-Instruct-v0.3", "Mistral-v0.3"),
    ("deepseek-ai/deepseek-coder-7b-base-v1.5", "deepseek-coder-v1.5"),
    ("inclusionAI/Ling-lite-base-1.5", "Ling-lite-1.5"),
    ("nvidia/NVIDIA-Nemotron-Nano-9B-v2", "NVIDIA-Nemotron-Nano-v2"),
    ("google/paligemma-3b-mix-224", "paligemma"),               # 224: a resolution, not a version
    ("Qwen/Qwen2.5-7B-Instruct-1M", "Qwen2.5"),
    # auxiliary lines keep their own name
    ("meta-llama/Llama-Guard-3-8B", "Llama-Guard-3"),
    ("Qwen/Qwen3-Embedding-8B", "Qwen3-Embedding"),
]


@pytest.mark.parametrize("model_id, expected", FAMILIES)
def test_family_from_the_name(model_id, expected):
    assert family(model_id) == expected


def test_sizes_of_one_launch_share_a_family():
    launch = ["Qwen/Qwen3-0.6B", "Qwen/Qwen3-0.6B-Base", "Qwen/Qwen3-8B-FP8", "Qwen/Qwen3-30B-A3B",
              "Qwen/Qwen3-32B-AWQ", "Qwen/Qwen3-235B-A22B-GPTQ-Int4"]
    assert {family(i) for i in launch} == {"Qwen3"}


def test_the_base_chain_inside_the_org_names_what_the_name_does_not():
    assert family("Qwen/8B-FP8", ["Qwen/Qwen3-8B"]) == "Qwen3"
    # another org's base names nothing of this one's line
    assert family("someone/8B-FP8", ["Qwen/Qwen3-8B"]) == "8B-FP8"
    # a name that states its line wins over the chain
    assert family("Qwen/QwQ-32B", ["Qwen/Qwen2.5-32B"]) == "QwQ"


def test_the_base_chain_is_read_in_a_stable_order():
    bases = ["Qwen/Qwen2.5-7B", "Qwen/Qwen3-8B", "Qwen/7B"]
    assert family("Qwen/7B-Instruct", bases) == family("Qwen/7B-Instruct", list(reversed(bases))) == "Qwen2.5"


@pytest.mark.parametrize("model_id, expected", [("", ""), ("Qwen/", ""), (None, ""), (42, ""), ("a/ - _ ", "")])
def test_empty_names(model_id, expected):
    assert family(model_id) == expected


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=400), st.lists(st.text(max_size=80), max_size=6))
def test_family_never_raises(model_id, bases):
    got = family(model_id, bases)
    assert isinstance(got, str)
    assert len(got) <= len(model_id) + 1 or any(got in b for b in bases)


@settings(max_examples=100, deadline=None)
@given(st.text(min_size=1, max_size=200_000))
@example("a" * 200_000)
@example("8B-" * 70_000)
@example("1_" * 100_000)
@example("-" * 200_000)
@example("Ｑｗｅｎ３-８Ｂ-ＦＰ８")
@example("\ud800" * 1_000)
@example("\u202eevil-8B")
def test_hostile_names_are_bounded(name):
    assert len(family("org/" + name)) <= 300


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60), st.lists(st.sampled_from(["Qwen/Qwen3-8B", "Qwen/Qwen2.5-7B", "Qwen/7B", "x/Y-1B", ""]),
                                      max_size=5), st.randoms(use_true_random=False))
def test_family_is_stable_under_reordering(name, bases, rnd):
    assert family("Qwen/" + name, bases) == family("Qwen/" + name, rnd.sample(bases, len(bases)))
