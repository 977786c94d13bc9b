"""Realistic synthetic models for `HubWorld.populate` (benchmarks, load tests).

Deterministic for a seed. Licences come from the shipped vocabulary (crawler/data/licenses.csv):
its `other:<name>` rows become `license: other` + `license_name: <name>`, as on the Hub.
About 5% of models predate the Hub's `createdAt` and carry one of its two legacy instants
(…23:29:04 or …23:29:05); about 3% are multilingual models whose cards give them 60-80
tags (`long_card`), with the tags that carry meaning (`dataset:`, `arxiv:`, `base_model:`,
`license:`) past the sixtieth.
"""

from __future__ import annotations

import csv
import json
import random
import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from importlib import resources

from .times import LEGACY_CREATED_ATS, UTC

# (pipeline_tag, library_name, model_type, name stems) — weights roughly follow the Hub's mix.
TASKS = [
    ("text-generation", "transformers", "llama", ("Instruct", "Base", "Chat", "Coder", "Math", "Reasoner")),
    ("text-generation", "transformers", "qwen2", ("Instruct", "Base", "Chat", "Coder")),
    ("image-text-to-text", "transformers", "llava", ("VL", "Vision-Instruct")),
    ("feature-extraction", "sentence-transformers", "bert", ("Embed", "Retriever")),
    ("automatic-speech-recognition", "transformers", "whisper", ("ASR", "Speech")),
    ("text-to-image", "diffusers", "unet", ("Diffusion", "Image")),
    ("text-classification", "transformers", "roberta", ("Classifier", "Reward")),
]
TASK_WEIGHTS = [40, 15, 10, 12, 6, 9, 8]
FAMILIES = ("Nova", "Orion", "Atlas", "Lumen", "Zephyr", "Helix", "Aurora", "Sage", "Falcon", "Comet", "Pulse", "Vega")
SIZES = ("0.5B", "1B", "1.5B", "3B", "7B", "8B", "14B", "32B", "70B", "235B-A22B")
PARAMS = {"0.5B": 494_032_768, "1B": 1_235_814_400, "1.5B": 1_543_714_304, "3B": 3_085_938_688,
          "7B": 7_615_616_512, "8B": 8_030_261_248, "14B": 14_770_033_664, "32B": 32_763_876_352,
          "70B": 70_553_706_496, "235B-A22B": 235_093_634_560}
# Common licences first (share of picks), then anything in the vocabulary.
COMMON_LICENSES = [("apache-2.0", None, 30), ("mit", None, 15), ("llama3.1", None, 4), ("llama3.2", None, 3),
                   ("other", "qwen", 3), ("other", "modified-mit", 2), ("cc-by-nc-4.0", None, 3), ("gemma", None, 2)]


# `model_type` in config.json (and so a tag) for the labs the demo shows; default "llama".
MODEL_TYPES_BY_AUTHOR = {"deepseek-ai": "deepseek_v3", "Qwen": "qwen2", "moonshotai": "kimi_k2", "mistralai": "mistral",
                         "zai-org": "glm4_moe", "allenai": "olmo2", "openai": "gpt_oss", "google": "gemma3",
                         "microsoft": "phi3"}


# ISO 639-1 codes as they appear as tags on multilingual models (bloom, nllb, bge-m3, ...).
LANGUAGES = ("en", "zh", "fr", "de", "es", "it", "pt", "ru", "ja", "ko", "ar", "hi", "vi", "th", "id", "tr", "pl",
             "nl", "sv", "fi", "da", "no", "cs", "el", "he", "hu", "ro", "uk", "bg", "hr", "sk", "sl", "lt", "lv",
             "et", "fa", "ur", "bn", "ta", "te", "mr", "gu", "kn", "ml", "sw", "ms", "tl", "ca", "eu", "gl", "af",
             "sq", "hy", "az", "be", "bs", "cy", "eo", "ga", "is", "ka", "kk", "km", "ky", "lo", "mk", "mn", "my",
             "ne", "pa", "ps", "si", "so", "tg", "uz", "yo", "zu")
CARD_TAGS = ("chat", "conversational", "multilingual", "instruct", "reasoning", "code", "math", "moe",
             "long-context", "tool-use", "agent", "function-calling", "rlhf", "dpo", "sft", "distillation",
             "mergekit", "gguf", "mlx", "custom_code")


@dataclass(frozen=True)
class Spec:
    model_id: str
    card: dict
    config: bytes
    created_at: datetime
    last_modified: datetime
    downloads: int
    likes: int
    gated: bool | str
    parameters: int | None
    arxiv: tuple = ()


def long_card(total: int = 70, seed: int | str = 0, own: int = 9) -> dict:
    """Card keys (`tags`, `language`, `datasets`) giving a model about `total` Hub tags with
    the default library/pipeline/licence, e.g. `add_model(id, card_extra=long_card(70))`.

    `own` is how many tags the Hub adds itself (library, `safetensors`, model type, task,
    `license:`, compatibility flags, `region:us`: 9 for a transformers text-generation model
    with weights) plus any `arxiv:` / `base_model:` ones; the rest come from the card,
    languages first, then datasets, which derive to tags after them (hf_api.derive_tags keeps
    the Hub's order).
    """
    rng = random.Random(f"long-card:{seed}")
    datasets = [f"{rng.choice(('HuggingFaceFW', 'allenai', 'open-r1', 'nvidia'))}/{name}"
                for name in rng.sample(("fineweb-edu", "dolma", "OpenR1-Math-220k", "Nemotron-CC", "tulu-3-sft-mixture",
                                        "OpenThoughts-114k"), 3)]
    card_tags = rng.sample(CARD_TAGS, 6)
    languages = list(LANGUAGES[: max(0, total - own - len(card_tags) - len(datasets))])
    return {"tags": card_tags, "language": languages, "datasets": datasets}


@lru_cache(maxsize=1)
def license_choices() -> tuple[tuple[str, str | None], ...]:
    """(license, license_name) for every row of the shipped licence vocabulary."""
    with resources.files("crawler").joinpath("data/licenses.csv").open(encoding="utf-8") as f:
        out = []
        for row in csv.DictReader(f):
            hf_id = (row.get("hf_license_id") or "").strip()
            if not hf_id or "Not an HF id" in (row.get("notes") or ""):
                continue  # GitHub-only licence keys never appear on a Hub model card
            if hf_id.startswith("other:"):
                out.append(("other", hf_id.split(":", 1)[1]))
            else:
                out.append((hf_id, None))
        return tuple(out)


@lru_cache(maxsize=None)
def config_json(model_type: str) -> bytes:
    arch = {"llama": "LlamaForCausalLM", "qwen2": "Qwen2ForCausalLM", "llava": "LlavaForConditionalGeneration",
            "bert": "BertModel", "whisper": "WhisperForConditionalGeneration",
            "roberta": "RobertaForSequenceClassification",
            "deepseek_v3": "DeepseekV3ForCausalLM", "kimi_k2": "DeepseekV3ForCausalLM", "mistral": "MistralForCausalLM",
            "glm4_moe": "Glm4MoeForCausalLM", "olmo2": "Olmo2ForCausalLM", "gpt_oss": "GptOssForCausalLM",
            "gemma3": "Gemma3ForConditionalGeneration", "phi3": "Phi3ForCausalLM"}
    name = arch.get(model_type, "".join(p.title() for p in model_type.split("_")) + "ForCausalLM")
    config = {"architectures": [name], "model_type": model_type, "torch_dtype": "bfloat16"}
    return (json.dumps(config, indent=2) + "\n").encode()


def _pick_license(rng: random.Random) -> tuple[str, str | None]:
    roll = rng.random() * 100
    acc = 0
    for license, name, share in COMMON_LICENSES:
        acc += share
        if roll < acc:
            return license, name
    return rng.choice(license_choices())


def _gating(license: str, rng: random.Random) -> bool | str:
    if license.startswith("llama") or license == "gemma":
        return "manual"  # as Meta's and Google's repos are
    return "auto" if rng.random() < 0.02 else False


def model_specs(n: int, author: str, seed: int, now: datetime, taken=lambda _id: False):
    """Yield `n` Specs with ids unique against `taken` (a predicate on model ids)."""
    rng = random.Random(f"{author}:{seed}")
    epoch = datetime(2023, 1, 1, tzinfo=UTC)
    span = max((now - epoch).total_seconds(), 1.0)
    made = 0
    index = 0
    while made < n:
        index += 1
        task, library, model_type, stems = rng.choices(TASKS, TASK_WEIGHTS)[0]
        size = rng.choice(SIZES)
        model_id = f"{author}/{rng.choice(FAMILIES)}-{size}-{rng.choice(stems)}-{seed}-{index:06d}"
        if taken(model_id):
            continue
        license, license_name = _pick_license(rng)
        card = {"license": license}
        if license_name:
            card["license_name"] = license_name
        card["pipeline_tag"] = task
        card["library_name"] = library
        # Draws keyed on the id (a CRC, cheap at 100k models), so these choices leave the main
        # sequence (and the ids, licences and dates it gives) as they were before they existed.
        draw = zlib.crc32(f"{model_id}:{seed}".encode())
        arxiv: tuple = ()
        if draw % 100 < 3:
            extra = random.Random(draw)
            arxiv = (f"{extra.randint(2301, 2509)}.{extra.randint(1, 19999):05d}",)
            relations = len(arxiv)  # tags the relations below add beyond the card's own
            if task == "text-generation":
                card["base_model"] = f"{author}/{FAMILIES[draw % len(FAMILIES)]}-{size}-Base"
                relations += 2  # base_model:<id> and base_model:finetune:<id>
            # The Hub's own tags: library, model type, task, licence, region, safetensors (when
            # weights are counted, decided below: at most one off), compatibility flags.
            own = 6 + (3 if (library, task) == ("transformers", "text-generation") else library == "transformers")
            card.update(long_card(extra.randint(61, 79), seed=model_id, own=own + relations))
        if rng.random() < 0.05:
            created = LEGACY_CREATED_ATS[(draw >> 8) & 1]
        else:
            created = epoch + timedelta(seconds=rng.random() * span)
        modified = min(created + timedelta(days=rng.expovariate(1 / 30)), now)
        downloads = int(rng.lognormvariate(5, 2.5))
        made += 1
        yield Spec(
            model_id=model_id,
            card=card,
            config=config_json(model_type),
            created_at=min(created, now),
            last_modified=max(modified, min(created, now)),
            downloads=downloads,
            likes=downloads // rng.randint(40, 400),
            gated=_gating(license, rng),
            parameters=PARAMS[size] if library != "diffusers" and rng.random() < 0.8 else None,
            arxiv=arxiv,
        )
