"""A hub model's role (crawler/sources/_releases.py): tables of real ids and real Hub signals.

Name-only rows are ids of the ATOM Project's tracked list (Interconnects-AI/tracked-models,
Apache-2.0, `models.csv`), chosen to cover each rule; the kinds its `policy/model_policy.yml`
rejects (guards, embeddings, rerankers, reward models, tokenizers, GGUF/MLX/ONNX, AWQ/GPTQ,
LoRAs, test repos) come with real ids from the Hub. Signal rows are shaped like the Hub's
answers (`cardData.base_model`, `base_model_relation`, `base_model:<relation>:<id>` tags).
docs/releases.md has the measure over the whole list.
"""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crawler.sources._releases import MAINLINE, ROLES, Signals, role, role_of, signals

# -- names alone (what tracked-models' csv carries) ---------------------------------------------

NAME_ONLY = [
    # base: pretrained by the org (a `-Base` / `-pt` / `Pretrain` mark, or no mark and no parent)
    ("meta-llama/Llama-3.1-8B", "base", "no base_model and no post-training mark in the name"),
    ("deepseek-ai/DeepSeek-V3-Base", "base", "name part 'base'"),
    ("Qwen/Qwen3-8B-Base", "base", "name part 'base'"),
    ("allenai/OLMo-2-1124-7B", "base", "no base_model and no post-training mark in the name"),
    ("mistralai/Mistral-7B-v0.1", "base", "no base_model and no post-training mark in the name"),
    ("google/gemma-3-12b-pt", "base", "name part 'pt'"),
    ("tencent/Hunyuan-7B-Pretrain", "base", "name part 'pretrain'"),
    ("inclusionAI/Ling-mini-base-2.0", "base", "name part 'base'"),
    ("nvidia/Eagle2-9B", "base", "no base_model and no post-training mark in the name"),  # a VLM family, not a draft
    # misses the measure found: `-ov` is LLaVA-OneVision, Paddle is ERNIE's own format, a retriever LLM generates
    ("llava-hf/llava-onevision-qwen2-7b-ov-hf", "base", "no base_model and no post-training mark in the name"),
    ("baidu/ERNIE-4.5-300B-A47B-Base-Paddle", "base", "name part 'base'"),
    ("internlm/SWE-Fixer-Retriever-7B", "base", "no base_model and no post-training mark in the name"),
    # instruct: post-trained by the org
    ("meta-llama/Llama-3.1-8B-Instruct", "instruct", "name part 'instruct'"),
    ("google/gemma-2-9b-it", "instruct", "name part 'it'"),
    ("moonshotai/Kimi-K2-Thinking", "instruct", "name part 'thinking'"),
    ("deepseek-ai/DeepSeek-R1-Zero", "instruct", "name part 'zero'"),
    ("allenai/OLMo-2-1124-7B-DPO", "instruct", "name part 'dpo'"),
    ("allenai/Olmo-3-7B-Think", "instruct", "name part 'think'"),
    ("microsoft/Phi-4-mini-reasoning", "instruct", "name part 'reasoning'"),
    ("baichuan-inc/Baichuan2-13B-Chat", "instruct", "name part 'chat'"),
    ("inclusionAI/GroveMoE-Inst", "instruct", "name part 'inst'"),
    ("Qwen/Qwen2.5-Math-7B-Instruct", "instruct", "name part 'instruct'"),
    # variant: tracked-models' official precision suffixes (BF16, FP8, NVFP4, W4A4, W4A16)
    ("Qwen/Qwen3-8B-FP8", "variant", "name part 'fp8'"),
    ("ai21labs/AI21-Jamba-Mini-1.7-FP8", "variant", "name part 'fp8'"),
    ("arcee-ai/Trinity-Large-Preview-NVFP4", "variant", "name part 'nvfp4'"),
    ("arcee-ai/Trinity-Mini-W4A16", "variant", "name part 'w4a16'"),
    ("internlm/Intern-S1-Pro-BF16", "variant", "name part 'bf16'"),
    # variant by DESIGN, admitted by the policy: other precisions and formats of the same weights
    ("Qwen/Qwen-7B-Chat-Int4", "variant", "name part 'int4'"),
    ("google/gemma-2b-it-pytorch", "variant", "name part 'pytorch'"),
    ("meta-llama/Llama-4-Scout-17B-16E-Original", "variant", "name part 'original'"),
    # auxiliary by DESIGN, admitted by the policy: reward models, draft heads, test repos
    ("Qwen/Qwen2.5-Math-PRM-7B", "auxiliary", "name part 'prm'"),
    ("allenai/OLMo-2-1124-7B-RM", "auxiliary", "name part 'rm'"),
    ("nvidia/gpt-oss-120b-Eagle3", "auxiliary", "name part 'eagle3'"),
    ("mistralai/Mistral-Large-3-675B-Instruct-2512-Eagle", "auxiliary", "name part 'eagle'"),
    ("ai21labs/Jamba-tiny-random", "auxiliary", "name part 'random'"),
]

# Rows of tracked-models' csv that its own policy rejects, and the same kinds elsewhere on the Hub.
REJECTED_KINDS = [
    ("allenai/dolma2-tokenizer-U10F0F0", "auxiliary"),
    ("openbmb/MiniCPM-Embedding", "auxiliary"),
    ("ibm-granite/granite-embedding-278m-multilingual", "auxiliary"),
    ("openbmb/MiniCPM-Reranker", "auxiliary"),
    ("HuggingFaceTB/stack-edu-classifier-python", "auxiliary"),
    ("internlm/internlm2-1_8b-reward", "auxiliary"),
    ("HuggingFaceTB/SmolLM3-3B-checkpoints", "auxiliary"),
    ("nvidia/Nemotron-Cascade-8B-Intermediate-ckpts", "auxiliary"),
    ("meta-llama/Llama-Guard-3-8B", "auxiliary"),
    ("meta-llama/Llama-Prompt-Guard-2-86M", "auxiliary"),
    ("google/shieldgemma-2b", "auxiliary"),
    ("Qwen/Qwen3Guard-Gen-8B", "auxiliary"),
    ("openai/gpt-oss-safeguard-20b", "auxiliary"),
    ("ibm-granite/granite-guardian-3.3-8b", "auxiliary"),
    ("Skywork/Skywork-Reward-V2-Llama-3.1-8B", "auxiliary"),
    ("hf-internal-testing/tiny-random-LlamaForCausalLM", "auxiliary"),
    ("arcee-ai/AFM-4.5B-GGUF", "variant"),
    ("openbmb/MiniCPM4-8B-mlx", "variant"),
    ("onnx-community/Qwen3-0.6B-ONNX", "variant"),
    ("internlm/internlm2_5-20b-chat-4bit-awq", "variant"),
    ("internlm/internlm3-8b-instruct-gptq-int4", "variant"),
    ("unsloth/Qwen3-8B-unsloth-bnb-4bit", "variant"),
    ("mlx-community/Qwen3-8B-4bit", "variant"),
    ("OpenVINO/Qwen3-8B-int4-ov", "variant"),
    ("Qwen/Qwen2.5-7B-Instruct-AWQ", "variant"),
    ("Qwen/Qwen2.5-7B-Instruct-GPTQ-Int4", "variant"),
    ("tloen/alpaca-lora-7b", "adapter"),
]


@pytest.mark.parametrize("model_id, expected, evidence", NAME_ONLY)
def test_role_from_the_name(model_id, expected, evidence):
    assert role(Signals(id=model_id)) == (expected, evidence)


@pytest.mark.parametrize("model_id, expected", REJECTED_KINDS)
def test_the_kinds_the_policy_rejects_are_not_mainline(model_id, expected):
    got, _ = role(Signals(id=model_id))
    assert got == expected
    assert got not in MAINLINE


@pytest.mark.parametrize("model_id, sibling", [
    ("deepseek-ai/DeepSeek-V3", "deepseek-ai/DeepSeek-V3-Base"),
    ("Qwen/Qwen3-8B", "Qwen/Qwen3-8B-Base"),
    ("google/gemma-3-12b", "google/gemma-3-12b-pt"),
])
def test_a_bare_name_beside_its_base_is_post_trained(model_id, sibling):
    assert role(Signals(id=model_id), siblings=[sibling, "x/unrelated"]) == (
        "instruct", f"sibling {sibling.rpartition('/')[2]} is its base")
    assert role(Signals(id=model_id))[0] == "base"


# -- the signals the Hub really carries --------------------------------------------------------

def hf(model_id, *, base=None, relation=None, tags=(), pipeline="text-generation", library="transformers"):
    """A Hugging Face `/api/models` answer with the fields role() reads, shaped like real ones."""
    card = {"license": "apache-2.0"}
    if base is not None:
        card["base_model"] = base
    if relation is not None:
        card["base_model_relation"] = relation
    return {"id": model_id, "pipeline_tag": pipeline, "library_name": library, "cardData": card,
            "tags": ["safetensors", *tags, "region:us"]}


SIGNALS = [
    # The recorded answer ../shared/samples/hf_model_deepset_roberta-base-squad2_200.json: no
    # relation in the card, the Hub's inferred `base_model:finetune:` tag.
    ({"id": "deepset/roberta-base-squad2", "pipeline_tag": "question-answering", "library_name": "transformers",
      "tags": ["transformers", "pytorch", "safetensors", "roberta", "question-answering", "base_model:FacebookAI/roberta-base",
               "base_model:finetune:FacebookAI/roberta-base", "license:cc-by-4.0", "region:us"]},
     "derivative", "finetune of FacebookAI/roberta-base (another org)"),
    (hf("Qwen/Qwen3-8B", base="Qwen/Qwen3-8B-Base", tags=["base_model:finetune:Qwen/Qwen3-8B-Base"]),
     "instruct", "post-trained from Qwen/Qwen3-8B-Base (same org)"),
    (hf("Qwen/Qwen3-8B-FP8", base="Qwen/Qwen3-8B", tags=["fp8", "base_model:quantized:Qwen/Qwen3-8B"]),
     "variant", "base_model_relation quantized of Qwen/Qwen3-8B"),
    (hf("unsloth/Qwen3-8B-GGUF", base="Qwen/Qwen3-8B", library="gguf",
        tags=["gguf", "base_model:Qwen/Qwen3-8B", "base_model:quantized:Qwen/Qwen3-8B"]),
     "variant", "base_model_relation quantized of Qwen/Qwen3-8B"),
    (hf("ggml-org/gpt-oss-20b-GGUF", base="openai/gpt-oss-20b", library="gguf", tags=["gguf"]),
     "variant", "format gguf"),
    (hf("RedHatAI/Llama-3.1-8B-Instruct-quantized", base="meta-llama/Llama-3.1-8B-Instruct",
        tags=["compressed-tensors", "8-bit"]),
     "variant", "name part 'quantized'"),
    (hf("neuralmagic/Llama-3.1-8B-Instruct-w8", base="meta-llama/Llama-3.1-8B-Instruct",
        tags=["compressed-tensors", "8-bit"]),
     "variant", "tag 8-bit beside base_model meta-llama/Llama-3.1-8B-Instruct"),
    (hf("someone/llama3-sql", base="meta-llama/Llama-3.1-8B-Instruct", relation="adapter", library="peft",
        tags=["peft", "base_model:adapter:meta-llama/Llama-3.1-8B-Instruct"]),
     "adapter", "base_model_relation adapter of meta-llama/Llama-3.1-8B-Instruct"),
    (hf("someone/qwen-style", base="Qwen/Qwen2.5-7B", library="peft", tags=["peft"]),
     "adapter", "library peft"),
    (hf("NousResearch/Hermes-3-Llama-3.1-8B", base="meta-llama/Llama-3.1-8B",
        tags=["base_model:finetune:meta-llama/Llama-3.1-8B"]),
     "derivative", "finetune of meta-llama/Llama-3.1-8B (another org)"),
    # An org's own distillation onto another lab's base is a derivative (docs/releases.md).
    (hf("deepseek-ai/DeepSeek-R1-Distill-Qwen-7B", base="Qwen/Qwen2.5-Math-7B"),
     "derivative", "finetune of Qwen/Qwen2.5-Math-7B (another org)"),
    (hf("tngtech/DeepSeek-TNG-R1T2-Chimera", base=["deepseek-ai/DeepSeek-R1-0528", "deepseek-ai/DeepSeek-V3-0324"],
        relation="merge", tags=["merge"]),
     "derivative", "merge of deepseek-ai/DeepSeek-R1-0528 (another org)"),
    (hf("Qwen/Qwen3-Embedding-8B", base="Qwen/Qwen3-8B-Base", pipeline="feature-extraction",
        library="sentence-transformers"),
     "auxiliary", "pipeline_tag feature-extraction"),
    (hf("BAAI/bge-reranker-v2-m3", pipeline="text-classification"), "auxiliary", "pipeline_tag text-classification"),
    (hf("Skywork/Skywork-Reward-V2-Llama-3.1-8B", base="meta-llama/Llama-3.1-8B-Instruct",
        pipeline="text-classification"),
     "auxiliary", "pipeline_tag text-classification"),
    # Native precision is not a variant: DeepSeek-V3 ships FP8, Kimi-K2-Thinking INT4.
    (hf("deepseek-ai/DeepSeek-V3", tags=["fp8", "conversational"]),
     "base", "no base_model and no post-training mark in the name"),
    (hf("deepseek-ai/DeepSeek-V3.1", base="deepseek-ai/DeepSeek-V3.1-Base",
        tags=["fp8", "base_model:finetune:deepseek-ai/DeepSeek-V3.1-Base"]),
     "instruct", "post-trained from deepseek-ai/DeepSeek-V3.1-Base (same org)"),
    (hf("moonshotai/Kimi-K2-Thinking", tags=["compressed-tensors"]), "instruct", "name part 'thinking'"),
    # A card naming itself says nothing of a parent.
    (hf("openai/gpt-oss-20b", base="openai/gpt-oss-20b"), "base", "no base_model and no post-training mark in the name"),
]


@pytest.mark.parametrize("raw, expected, evidence", SIGNALS, ids=[row[0]["id"] for row in SIGNALS])
def test_role_from_hub_signals(raw, expected, evidence):
    assert role_of(raw) == (expected, evidence)


def test_modelscope_answers_give_the_same_signals():
    # ModelScope's model answer: PascalCase `Path`, `Name`, `BaseModel`, `Tasks`, `Tags`; no relation.
    raw = {"Path": "Qwen", "Name": "Qwen3-8B", "BaseModel": ["Qwen/Qwen3-8B-Base"],
           "Tasks": [{"Name": "text-generation"}], "Tags": ["qwen3", {"Name": "conversational"}]}
    sig = signals(raw)
    assert sig == Signals(id="Qwen/Qwen3-8B", base_models=("Qwen/Qwen3-8B-Base",), relations=(),
                          pipeline_tag="text-generation", library=None, tags=("conversational", "qwen3"))
    assert role(sig) == ("instruct", "post-trained from Qwen/Qwen3-8B-Base (same org)")
    assert role_of({"Path": "Qwen", "Name": "Qwen3-Embedding-8B", "Tasks": [{"Name": "sentence-similarity"}]}) == (
        "auxiliary", "pipeline_tag sentence-similarity")
    assert signals({"Path": "BAAI", "Name": "bge-reranker", "Tasks": {"Name": "text-ranking"}}).pipeline_tag == "text-ranking"


def test_normalised_fields_keep_the_tag_relation():
    # crawler/sources/huggingface.py keeps `base_model` values of tag origin as `<relation>:<id>`.
    fields = {"id": "unsloth/Qwen3-8B-GGUF", "base_model": ["Qwen/Qwen3-8B", "quantized:Qwen/Qwen3-8B"],
              "tags": ["gguf"], "pipeline_tag": "text-generation", "library": "gguf"}
    assert signals(fields).base_models == ("Qwen/Qwen3-8B",)
    assert signals(fields).relations == ("quantized",)
    assert role_of(fields) == ("variant", "base_model_relation quantized of Qwen/Qwen3-8B")


def test_one_lab_across_namespaces():
    # The registry knows THUDM and zai-org are both Zhipu; by default two owners are two orgs.
    raw = hf("zai-org/glm-4-9b-chat-hf", base="THUDM/glm-4-9b")
    assert role_of(raw)[0] == "derivative"
    zhipu = {"thudm", "zai-org"}
    same = lambda a, b: {a.split("/")[0].lower(), b.split("/")[0].lower()} <= zhipu  # noqa: E731
    assert role_of(raw, same_lab=same) == ("instruct", "post-trained from THUDM/glm-4-9b (same org)")

    def broken(a, b):
        raise LookupError("registry unavailable")

    assert role_of(raw, same_lab=broken)[0] == "derivative"


@pytest.mark.parametrize("raw", [None, {}, {"id": ""}, {"id": 12}, {"Name": None}, [], "Qwen/Qwen3-8B"])
def test_nothing_to_go_on_is_unknown(raw):
    assert role_of(raw) == ("unknown", "no model name")


# -- properties --------------------------------------------------------------------------------

_text = st.text(max_size=60) | st.sampled_from(
    ["Qwen/Qwen3-8B", "base_model:quantized:Qwen/Qwen3-8B", "base_model:adapter:x/y", "gguf", "peft", "fp8",
     "adapter", "merge", "quantized", "finetune", "feature-extraction", "x/y-FP8", "Guard", "ｑｗｅｎ/８Ｂ", "\ud800",
     "a" * 5000])
_value = st.recursive(st.none() | st.booleans() | st.integers() | _text,
                      lambda inner: st.lists(inner, max_size=6) | st.dictionaries(_text, inner, max_size=4), max_leaves=12)
_answers = st.fixed_dictionaries({}, optional={
    "id": _text, "tags": st.lists(_text, max_size=12), "cardData": _value, "pipeline_tag": _value,
    "library_name": _value, "base_model": _value, "base_model_relation": _value, "Name": _value, "Path": _value,
    "BaseModel": _value, "Tasks": _value, "Tags": _value, "modelId": _value,
})


@settings(max_examples=300, deadline=None)
@given(_answers)
def test_role_never_raises_and_says_why(raw):
    got, evidence = role_of(raw)
    assert got in ROLES
    assert isinstance(evidence, str) and evidence


@settings(max_examples=200, deadline=None)
@given(_answers, st.randoms(use_true_random=False))
def test_role_is_stable_under_reordering(raw, rnd: random.Random):
    shuffled = dict(raw)
    for key in ("tags", "Tags", "base_model", "BaseModel"):
        if isinstance(shuffled.get(key), list):
            shuffled[key] = rnd.sample(shuffled[key], len(shuffled[key]))
    if isinstance(shuffled.get("cardData"), dict) and isinstance(shuffled["cardData"].get("base_model"), list):
        card = dict(shuffled["cardData"])
        card["base_model"] = rnd.sample(card["base_model"], len(card["base_model"]))
        shuffled["cardData"] = card
    assert role_of(shuffled) == role_of(raw)


@settings(max_examples=100, deadline=None)
@given(st.text(min_size=1, max_size=200_000).map(lambda s: "org/" + s))
def test_hostile_names(model_id):
    assert role(Signals(id=model_id))[0] in ROLES
