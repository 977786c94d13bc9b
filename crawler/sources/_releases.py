"""Pure: a hub model's role and family (DESIGN.md, "Releases: what users count").

    signals(fields)          -> Signals   normalised model fields (both hubs), a raw Hugging
                                          Face answer, or a raw ModelScope answer
    role(signals, ...)       -> (role, evidence)
    family(model_id, base_models=()) -> str   the readable release line (`Qwen3`)

Roles: `base`, `instruct` (mainline), `variant`, `adapter`, `derivative`, `auxiliary`,
`unknown`. The signals are the ones the hubs really carry: the card's `base_model` (a string
or a list) and `base_model_relation` (`adapter`, `merge`, `quantized`, `finetune`:
https://huggingface.co/docs/hub/model-cards#specifying-a-base-model), the Hub's tags
`base_model:<id>` and `base_model:<relation>:<id>` (the Hub writes them from the card and
infers the relation when the card gives none: a recorded answer in
`../shared/samples/hf_model_deepset_roberta-base-squad2_200.json` carries
`base_model:finetune:FacebookAI/roberta-base`), `pipeline_tag`, `library_name` and format
tags, and the name. ModelScope carries `BaseModel`, `Tasks` and `Tags`, no relation.
docs/releases.md gives each rule with its evidence and its measure against the ATOM
Project's list (Interconnects-AI/tracked-models).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping

ROLES = ("base", "instruct", "variant", "adapter", "derivative", "auxiliary", "unknown")
MAINLINE = frozenset({"base", "instruct"})
RELATIONS = ("adapter", "merge", "quantized", "finetune")

MAX_NAME = 300
MAX_LIST = 200

# Pipeline tags of models that serve another model rather than answer users: retrieval,
# ranking, reward and guard classifiers (tracked-models' policy rejects the same tags).
AUXILIARY_PIPELINES = frozenset({"feature-extraction", "sentence-similarity", "text-classification", "text-ranking"})
# Name parts of auxiliary repos, matched inside a name token (`ShieldGemma`, `Qwen3Guard`).
AUXILIARY_PARTS = ("guard", "shield", "safeguard", "safety", "moderation", "classifier", "detector", "rerank",
                   "reward", "embed", "tokenizer", "speculator", "checkpoint", "intermediate")
# Whole name tokens of auxiliary repos: reward models (`-RM`, `-PRM`, `-ORM`, `-GenRM`),
# draft heads (`-MTP`, `-Eagle3`, DFlash, FRSpec), training checkpoints, test and dummy repos.
AUXILIARY_TOKENS = frozenset({"rm", "prm", "orm", "genrm", "mtp", "draft", "eagle3", "dflash", "frspec",
                              "ckpt", "ckpts", "checkpoints", "unsharded", "test", "tests", "testing", "dummy",
                              "random", "debug", "warmup", "sae", "saes", "probe", "probes", "proxy"})
# `Eagle` is a draft head after a model's name (`Mistral-Large-3-…-Eagle`) and a VLM family
# at its start (nvidia/Eagle2-9B).
DRAFT_AFTER_START = frozenset({"eagle"})

ADAPTER_TOKENS = frozenset({"lora", "qlora", "adapter", "adapters", "peft"})
ADAPTER_TAGS = frozenset({"peft", "lora"})
ADAPTER_LIBRARIES = frozenset({"peft"})

# The same weights in another precision or format. Precision and quantisation marks in
# names (tracked-models' "official precision suffixes" BF16, FP8, NVFP4, W4A4, W4A16, and
# the rest seen on the Hub), and file formats (GGUF, MLX, ONNX, OpenVINO, EXL2, TFLite…).
PRECISION_TOKENS = frozenset({
    "fp8", "bf16", "fp16", "fp32", "fp4", "nvfp4", "mxfp4", "int4", "int8", "w4a16", "w4a4", "w8a8", "w8a16",
    "w4a8", "4bit", "8bit", "4bits", "8bits", "2bit", "3bit", "awq", "gptq", "bnb", "exl2", "exl3", "hqq",
    "qat", "unquantized", "quantized", "marlin", "q4", "q8",
})
FORMAT_TOKENS = frozenset({"gguf", "mlx", "onnx", "openvino", "tflite", "litert", "coreml", "mnn", "pytorch",
                           "flax", "jax", "vllm", "tgi", "cpmcu", "original"})
FORMAT_TAGS = frozenset({"gguf", "mlx", "onnx", "openvino", "exl2", "coreml", "tflite"})
FORMAT_LIBRARIES = frozenset({"gguf", "mlx", "onnx", "openvino", "llama.cpp", "mlc-llm", "coreml", "tflite"})
# Quantisation-method tags: a variant only beside a `base_model` (DeepSeek-V3 ships FP8 and
# Kimi-K2-Thinking INT4 natively: their own precision makes no repo a variant).
QUANT_TAGS = frozenset({"awq", "gptq", "bitsandbytes", "4-bit", "8-bit", "fp8", "compressed-tensors", "exl2", "hqq"})

# Post-training marks (chat, instruct, reasoning, preference and RL stages).
INSTRUCT_TOKENS = frozenset({"instruct", "inst", "it", "chat", "thinking", "think", "reasoning", "reasoner",
                             "sft", "dpo", "kto", "orpo", "simpo", "grpo", "ppo", "rl", "rlhf", "rlvr", "rlaif",
                             "zero", "assistant", "rumination"})
BASE_TOKENS = frozenset({"base", "pretrain", "pretrained", "pt"})
# Name parts after which a sibling is the post-trained form (`DeepSeek-V3` beside `DeepSeek-V3-Base`).
BASE_SUFFIXES = ("-Base", "-base", "-Pretrain", "-pt", "-PT")

_SPLIT = re.compile(r"[-_.\s/]+")


@dataclass(frozen=True)
class Signals:
    """What a hub says about one model that bears on its role (every list sorted, every text bounded)."""

    id: str
    base_models: tuple[str, ...] = ()
    relations: tuple[str, ...] = ()
    pipeline_tag: str | None = None
    library: str | None = None
    tags: tuple[str, ...] = ()

    @property
    def org(self) -> str:
        return self.id.partition("/")[0] if "/" in self.id else ""

    @property
    def name(self) -> str:
        return self.id.rpartition("/")[2]


def _text(value: Any, limit: int = MAX_NAME) -> str | None:
    if not isinstance(value, str):
        return None
    value = value.strip()[:limit]
    return value or None


def _texts(value: Any) -> list[str]:
    """A string or a list of strings (the card's `base_model` is either), bounded."""
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, (list, tuple)):
        return []
    return [t for t in (_text(v) for v in value[:MAX_LIST]) if t]


def _base_refs(values: Iterable[str]) -> tuple[set[str], set[str]]:
    """Model ids and relations from `base_model` values: `<id>` or `<relation>:<id>` (the tag's tail)."""
    ids, relations = set(), set()
    for value in values:
        head, colon, tail = value.partition(":")
        if colon and head.lower() in RELATIONS:
            relations.add(head.lower())
            value = tail
        if "/" in value and value.strip("/"):
            ids.add(value)
    return ids, relations


def signals(fields: Mapping[str, Any]) -> Signals:
    """Signals from normalised model fields (`id`, `base_model`, `tags`, `pipeline_tag`, `library`),
    a raw Hugging Face answer (`cardData`, `library_name`) or a raw ModelScope one (`Path`/`Name`,
    `BaseModel`, `Tasks`, `Tags`). Never raises: anything else is empty."""
    if not isinstance(fields, Mapping):
        return Signals(id="")
    card = fields.get("cardData") if isinstance(fields.get("cardData"), Mapping) else {}
    model_id = _text(fields.get("id")) or _text(fields.get("modelId")) or ""
    if not model_id and _text(fields.get("Name")):
        owner = _text(fields.get("Path")) or _text((fields.get("Organization") or {}).get("Name")
                                                   if isinstance(fields.get("Organization"), Mapping) else None)
        model_id = f"{owner}/{_text(fields.get('Name'))}" if owner else _text(fields.get("Name")) or ""

    raw_tags = fields.get("tags") if "tags" in fields else fields.get("Tags")
    tags = sorted({t for t in (_text(v.get("Name")) if isinstance(v, Mapping) else _text(v)
                               for v in (raw_tags if isinstance(raw_tags, (list, tuple)) else ())[:MAX_LIST]) if t})
    tag_refs = [t.partition(":")[2] for t in tags if t.lower().startswith("base_model:")]
    ids, relations = _base_refs([*_texts(card.get("base_model")), *_texts(fields.get("base_model")),
                                 *_texts(fields.get("BaseModel")), *tag_refs])
    for relation in (_text(card.get("base_model_relation")), _text(fields.get("base_model_relation"))):
        if relation and relation.lower() in RELATIONS:
            relations.add(relation.lower())
    ids.discard(model_id)  # a card that names itself says nothing of a parent

    pipeline = _text(fields.get("pipeline_tag")) or _text(card.get("pipeline_tag"))
    tasks = fields.get("Tasks")
    if isinstance(tasks, Mapping):  # one task as an object (crawler/sources/modelscope.py reads both)
        tasks = [tasks]
    if not pipeline and isinstance(tasks, list):
        pipeline = next((t for t in (_text(x.get("Name")) for x in tasks[:MAX_LIST] if isinstance(x, Mapping)) if t),
                        None)
    library = _text(fields.get("library")) or _text(fields.get("library_name")) or _text(card.get("library_name"))
    return Signals(id=model_id, base_models=tuple(sorted(ids)), relations=tuple(sorted(relations)),
                   pipeline_tag=pipeline.lower() if pipeline else None,
                   library=library.lower() if library else None, tags=tuple(tags))


def tokens(name: str) -> list[str]:
    """A model name's lower-case parts, split at `-`, `_`, `.`, spaces and `/`."""
    return [t for t in _SPLIT.split(name[:MAX_NAME].lower()) if t]


def _same_org(a: str, b: str) -> bool:
    return a.partition("/")[0].casefold() == b.partition("/")[0].casefold()


def role(sig: Signals, *, siblings: Iterable[str] = (),
         same_lab: Callable[[str, str], bool] = _same_org) -> tuple[str, str]:
    """The role of one model and the evidence that decided it. `siblings`: other names in the
    model's org (a `-Base` sibling makes a bare name post-trained); `same_lab(id, base_id)`:
    whether two ids belong to one lab (default: the same owner; the registry knows more)."""
    if not isinstance(sig, Signals) or not sig.name:
        return "unknown", "no model name"
    name, parts = sig.name, tokens(sig.name)
    tags = {t.lower() for t in sig.tags}
    relations = set(sig.relations)
    bases = sorted(sig.base_models)
    own = [b for b in bases if _safe_same(same_lab, sig.id, b)]
    others = [b for b in bases if b not in own]

    # 1. Adapters: the relation, PEFT's library or tag, or the name.
    if "adapter" in relations:
        return "adapter", f"base_model_relation adapter of {bases[0] if bases else 'a base model'}"
    if sig.library in ADAPTER_LIBRARIES:
        return "adapter", f"library {sig.library}"
    if ADAPTER_TAGS & tags:
        return "adapter", f"tag {sorted(ADAPTER_TAGS & tags)[0]}"
    if hit := next((t for t in parts if t in ADAPTER_TOKENS), None):
        return "adapter", f"name part {hit!r}"

    # 2. Auxiliary models: what serves another model (pipeline, then name).
    if sig.pipeline_tag in AUXILIARY_PIPELINES:
        return "auxiliary", f"pipeline_tag {sig.pipeline_tag}"
    if hit := _auxiliary_part(parts):
        return "auxiliary", f"name part {hit!r}"

    # 3. Variants: the same weights in another precision or format.
    if "quantized" in relations:
        return "variant", f"base_model_relation quantized of {bases[0] if bases else 'a base model'}"
    if hit := sorted(FORMAT_TAGS & tags) or ([sig.library] if sig.library in FORMAT_LIBRARIES else []):
        return "variant", f"format {hit[0]}"
    if hit := next((t for t in parts if t in PRECISION_TOKENS or t in FORMAT_TOKENS), None):
        return "variant", f"name part {hit!r}"
    if bases and not relations & {"finetune", "merge"} and (hit := sorted(QUANT_TAGS & tags)):
        return "variant", f"tag {hit[0]} beside base_model {bases[0]}"

    # 4. Another lab's model fine-tuned or merged: a derivative.
    if others and not own:
        how = "merge" if "merge" in relations or "merge" in tags or "mergekit" in tags else "finetune"
        return "derivative", f"{how} of {others[0]} (another org)"

    # 5. The org's own models: post-trained from its own base, or marked by the name.
    said = _name_role(parts)
    if own:
        if said == "base":
            return "base", f"name part {_first(parts, BASE_TOKENS)!r} (base_model {own[0]})"
        return "instruct", f"post-trained from {own[0]} (same org)"
    if said == "instruct":
        return "instruct", f"name part {_first(parts, INSTRUCT_TOKENS)!r}"
    if said == "base":
        return "base", f"name part {_first(parts, BASE_TOKENS)!r}"
    sibling_names = {s.rpartition("/")[2] for s in siblings if isinstance(s, str)}
    if base := next((name + suffix for suffix in BASE_SUFFIXES if name + suffix in sibling_names), None):
        return "instruct", f"sibling {base} is its base"
    return "base", "no base_model and no post-training mark in the name"


def _safe_same(same_lab: Callable[[str, str], bool], a: str, b: str) -> bool:
    try:
        return bool(same_lab(a, b))
    except Exception:  # a caller's lookup that fails says nothing: fall back to the owner
        return _same_org(a, b)


def _auxiliary_part(parts: list[str]) -> str | None:
    for i, part in enumerate(parts):
        if part in AUXILIARY_TOKENS or (i and part in DRAFT_AFTER_START):
            return part
        if hit := next((p for p in AUXILIARY_PARTS if p in part), None):
            return hit
    return None


def _first(parts: list[str], vocabulary: frozenset[str]) -> str:
    return next((p for p in parts if p in vocabulary), "")


def _name_role(parts: list[str]) -> str | None:
    """`instruct` or `base` as the name says, post-training marks first (`Qwen2.5-Math-7B-Instruct`)."""
    if any(p in INSTRUCT_TOKENS for p in parts):
        return "instruct"
    if any(p in BASE_TOKENS for p in parts):
        return "base"
    return None


def role_of(fields: Mapping[str, Any], *, siblings: Iterable[str] = (),
            same_lab: Callable[[str, str], bool] = _same_org) -> tuple[str, str]:
    """`role(signals(fields))`: the role of a model from its fields or a raw hub answer."""
    return role(signals(fields), siblings=siblings, same_lab=same_lab)


# -- family -----------------------------------------------------------------------------------

# Words that name a size within a line (`Phi-3-mini`, `GLM-4.5-Air`, `DeepSeek-V2-Lite`):
# dropped after the line's version, kept before it (`Mistral-Small-3.2`, `Ling-flash-2.0`).
SIZE_WORDS = frozenset({"mini", "small", "medium", "large", "nano", "tiny", "lite", "light", "flash", "pro", "plus",
                        "max", "ultra", "super", "air", "xl", "xs", "xxl", "micro", "moe"})
# Where the line's name ends: role, precision and format marks, a distillation's teacher.
FAMILY_STOPS = INSTRUCT_TOKENS | BASE_TOKENS | PRECISION_TOKENS | FORMAT_TOKENS | ADAPTER_TOKENS | {"distill", "hf"}
FAMILY_DROPS = frozenset({"preview"})
_SIZE_TOKEN = re.compile(r"(?:[ae]?\d+(?:[._]\d+)?[bmt]|\d+x\d+(?:\.\d+)?[bm]|\d+k)", re.IGNORECASE)
_DATE_TOKEN = re.compile(r"\d{4}|\d{6}|\d{8}")
_VERSION_TOKEN = re.compile(r"v\d+(?:\.\d+)*|\d+(?:\.\d+)+", re.IGNORECASE)
# Split at `-`, spaces and `_`, but not at the `_` of Qwen's `1_8B` (1.8B).
_PARTS = re.compile(r"([-\s]+|_(?!\d+(?:\.\d+)?[bBmM](?![A-Za-z0-9])))")


def _family_from_name(name: str) -> str:
    pieces = _PARTS.split(name[:MAX_NAME].strip())
    words, seps = pieces[0::2], ["", *pieces[1::2]]
    kept: list[tuple[str, str]] = []
    stopped_at = len(words)
    for i, (sep, word) in enumerate(zip(seps, words)):
        low = word.lower()
        if not word:
            continue
        if _SIZE_TOKEN.fullmatch(word) or low in FAMILY_STOPS:
            stopped_at = i
            break
        versioned = any(any(c.isdigit() for c in w) for _, w in kept)
        if kept and (_DATE_TOKEN.fullmatch(word) or low in FAMILY_DROPS or (versioned and low in SIZE_WORDS)):
            continue
        kept.append((sep, word))
    if kept and not any(any(c.isdigit() for c in w) for _, w in kept):
        # `Mistral-7B-v0.1` → `Mistral-v0.1`, `Ling-lite-base-1.5` → `Ling-lite-1.5`: the version after the
        # size (`v0.1` or dotted; not `paligemma-3b-mix-224`'s resolution).
        version = next((w for w in words[stopped_at + 1:] if _VERSION_TOKEN.fullmatch(w) and not _DATE_TOKEN.fullmatch(w)),
                       None)
        if version:
            kept.append(("-", version))
    text = "".join(sep + word for sep, word in kept)
    return text.lstrip("-_ ") if kept else ""


def family(model_id: str, base_models: Iterable[str] = ()) -> str:
    """The readable release line of a model (`Qwen/Qwen3-8B-FP8` → `Qwen3`), from its name, else
    from its first `base_model` in the same org; compare families case-insensitively."""
    if not isinstance(model_id, str):
        return ""
    name = model_id[:MAX_NAME * 2].rpartition("/")[2]
    found = _family_from_name(name)
    if found:
        return found
    bases = sorted(b for b in (base_models if isinstance(base_models, (list, tuple, set, frozenset)) else ())
                   if isinstance(b, str))
    for base in bases:
        if "/" in model_id and _same_org(model_id, base) and (found := _family_from_name(base.rpartition("/")[2])):
            return found
    return name[:MAX_NAME].strip(" -_\t")
