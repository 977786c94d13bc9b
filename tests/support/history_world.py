"""A realistic history database, written row by row with sqlite-utils: what the report,
the feed and `openwatch serve` are tested against.

Real-shaped rows (the fields `crawler/normalize.py` stores, events made with
`crawler.events.make_event`), times relative to `now` so that `--since 90d` windows hold
them, and hostile text where scraped text goes (names, summaries, errors, URLs).
"""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from hashlib import sha256
from pathlib import Path

from crawler.events import event_to_row, make_event
from crawler.history.schema import connect

HOSTILE = '<script>alert("x")</script> <!channel> \u202eevil'
LONG_URL = "https://huggingface.co/api/models?author=" + "very-long-org-name-" * 12 + "&expand[]=cardData"


@dataclass(frozen=True)
class Model:
    id: str
    country: str | None
    license: str
    category: str
    openness: str | None
    parameters: int | None
    created_days_ago: int | None
    downloads: int         # 30-day downloads today
    growth: float = 0.0    # relative change of downloads over the 60 days of metrics


MODELS = [
    Model("meta-llama/Llama-4-Scout-17B-16E-Instruct", "US", "llama4", "open-weight-restricted", "restricted",
          108_641_793_536, 40, 2_100_000, -0.2),
    Model("meta-llama/Llama-3.3-70B-Instruct", "US", "llama3.3", "open-weight-restricted", "restricted",
          70_553_706_496, 150, 1_500_000, -0.4),
    Model("allenai/OLMo-2-0325-32B", "US", "apache-2.0", "permissive", "fully-open", 32_234_279_936, 70, 90_000),
    Model("marin-community/marin-8b-base", "US", "apache-2.0", "permissive", "fully-open", 8_030_261_248, 50, 40_000),
    Model("openai/gpt-oss-120b", "US", "apache-2.0", "permissive", "open-weights", 120_412_337_472, 20,
          3_200_000, 0.5),
    Model("google/gemma-3-27b-it", "US", "apache-2.0", "permissive", None, 27_432_406_640, 80, 800_000),
    Model("Qwen/Qwen3-235B-A22B", "CN", "apache-2.0", "permissive", "open-weights", 235_093_634_560, 60,
          1_900_000, 0.8),
    Model("Qwen/Qwen2.5-72B-Instruct", "CN", "other:qwen", "open-weight-restricted", "restricted",
          72_706_203_648, 250, 2_400_000, 0.3),
    Model("deepseek-ai/DeepSeek-V3.2", "CN", "mit", "permissive", "open-weights", 685_396_921_376, 25,
          1_200_000, 1.5),
    Model("deepseek-ai/DeepSeek-R1-0528", "CN", "mit", "permissive", None, 684_531_386_000, 85, 900_000, 0.2),
    Model("moonshotai/Kimi-K2-Instruct", "CN", "other:modified-mit", "permissive", "open-weights",
          1_026_470_731_776, 35, 600_000, 1.0),
    Model("zai-org/GLM-4.5", "CN", "mit", "permissive", None, 358_337_791_296, 30, 300_000, 0.6),
    Model("mistralai/Mistral-Small-3.2-24B-Instruct-2506", "FR", "apache-2.0", "permissive", "open-weights",
          24_011_361_280, 45, 500_000),
    Model("mistralai/Magistral-Small-2507", "FR", "apache-2.0", "permissive", None, 23_572_403_200, 15, 120_000),
    Model("utter-project/EuroLLM-9B-Instruct", "PT", "apache-2.0", "permissive", "open-weights", 9_152_000_000,
          65, 30_000),
    Model("swiss-ai/Apertus-8B-Instruct-2509", "CH", "apache-2.0", "permissive", "fully-open", 8_053_338_176,
          12, 25_000),
    Model("tiiuae/Falcon-H1-34B-Instruct", "AE", "other:falcon-llm", "open-weight-restricted", "restricted",
          33_644_769_280, 55, 45_000),
    # a licence name is free text on the card: hostile text lands in the licence column
    Model("unknown-lab/mystery-7b", None, "other:<img src=x onerror=alert(1)>", "unknown", None, None, None, 1_000),
]

# (model, relation, linked key, linked url)
LINKS = [
    ("allenai/OLMo-2-0325-32B", "cites_paper", "paper:arxiv/2501.00656", "https://arxiv.org/abs/2501.00656"),
    ("allenai/OLMo-2-0325-32B", "code_of", "repo:github/allenai/OLMo", "https://github.com/allenai/OLMo"),
    ("deepseek-ai/DeepSeek-V3.2", "cites_paper", "paper:arxiv/2412.19437", "https://arxiv.org/abs/2412.19437"),
    ("Qwen/Qwen3-235B-A22B", "code_of", "repo:github/QwenLM/Qwen3", "https://github.com/QwenLM/Qwen3"),
]

# (model, license before, after, category before, after, direction, days ago)
LICENCE_CHANGES = [
    ("google/gemma-3-27b-it", "gemma", "apache-2.0", "open-weight-restricted", "permissive", "more_open", 6),
    ("tiiuae/Falcon-H1-34B-Instruct", "apache-2.0", "other:falcon-llm", "permissive", "open-weight-restricted",
     "more_restrictive", 4),
    ("moonshotai/Kimi-K2-Instruct", "mit", "other:modified-mit", "permissive", "permissive", "lateral", 3),
    ("zai-org/GLM-4.5", "unknown", "mit", "unknown", "permissive", "unclear", 2),
]

BASELINE_DAYS_AGO = 100


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def key_of(model_id: str) -> str:
    return f"model:hf/{model_id}"


def build(path: Path, *, now: datetime | None = None, metrics: bool = True) -> dict:
    """Write the world into a new history database at `path`; returns what a test checks."""
    now = now or datetime.now(timezone.utc)
    db = connect(path)
    baseline = now - timedelta(days=BASELINE_DAYS_AGO)
    items, events, metric_rows = [], [], []
    for m in MODELS:
        org, _, name = m.id.partition("/")
        created = now - timedelta(days=m.created_days_ago) if m.created_days_ago is not None else None
        first_seen = max(created, baseline) if created else baseline
        fields = {
            "id": m.id, "org": org, "name": name, "license": m.license, "license_name": None,
            "license_category": m.category, "gated": "manual" if org == "meta-llama" else False,
            "private": False, "disabled": False, "sha": sha256(m.id.encode()).hexdigest()[:40],
            "last_modified": iso(first_seen), "created_at": created.strftime("%Y-%m-%dT%H:%M:%S.000Z") if created else None,
            "pipeline_tag": "text-generation", "library": "transformers", "base_model": [],
            "arxiv": [], "datasets": ["allenai/olmo-mix-1124"] if org == "allenai" else [],
            "parameters": m.parameters, "downloads": m.downloads, "likes": m.downloads // 1000, "tags": [],
        }
        items.append({
            "key": key_of(m.id), "kind": "model", "source": "huggingface", "watch": "labs", "unit": org,
            "org": org, "country": m.country, "name": m.id, "url": f"https://huggingface.co/{m.id}",
            "license": m.license, "license_category": m.category, "gated": str(fields["gated"]).lower(),
            "sha": fields["sha"], "state": "active", "missing_count": 0, "content_hash": fields["sha"],
            "first_seen": iso(first_seen), "last_seen": iso(now), "last_changed": iso(first_seen),
            "data": json.dumps(fields, sort_keys=True), "openness": m.openness,
            "openness_evidence": json.dumps([f"licence {m.license} is {m.category}"]) if m.openness else None,
            "counters": json.dumps({"downloads": m.downloads, "likes": m.downloads // 1000}),
        })
        if created and created > baseline:
            events.append(make_event(
                type="model.added", item=key_of(m.id), watch="labs", detected_at=iso(created + timedelta(hours=2)),
                summary=f"New model {m.id} ({m.license})", url=f"https://huggingface.co/{m.id}",
                dedupe_key=f"model.added|{key_of(m.id)}|1", after={"license": m.license},
                data={"org": org, "country": m.country, "license": m.license, "category": m.category},
            ))
        if metrics:
            for day in range(60, -1, -1):
                # downloads today / (1 + growth) sixty days ago, linear in between
                value = m.downloads / (1 + m.growth) * (1 + m.growth * (60 - day) / 60)
                metric_rows.append({"key": key_of(m.id), "day": (now - timedelta(days=day)).strftime("%Y-%m-%d"),
                                    "downloads": int(value), "likes": int(value) // 1000, "counters": "{}"})
    for model_id, before, after, cat_before, cat_after, direction, days in LICENCE_CHANGES:
        org = model_id.split("/")[0]
        country = next(m.country for m in MODELS if m.id == model_id)
        events.append(make_event(
            type="model.license_changed", item=key_of(model_id), watch="labs",
            detected_at=iso(now - timedelta(days=days)), summary=f"{model_id} licence changed: {before} → {after}",
            url=f"https://huggingface.co/{model_id}", dedupe_key=f"model.license_changed|{key_of(model_id)}|2",
            before={"license": before}, after={"license": after},
            data={"org": org, "country": country, "license_before": before, "license_after": after,
                  "category_before": cat_before, "category_after": cat_after, "direction": direction},
        ))
    events.append(make_event(
        type="model.gating_changed", item=key_of("meta-llama/Llama-3.3-70B-Instruct"), watch="labs",
        detected_at=iso(now - timedelta(days=1, hours=3)), summary=HOSTILE, url="javascript:alert(1)",
        dedupe_key="model.gating_changed|hostile|3", before={"gated": "auto"}, after={"gated": "manual"},
        data={"org": "meta-llama", "country": "US"},
    ))
    events.append(make_event(
        type="source.failing", item="watch:papers", watch="papers", detected_at=iso(now - timedelta(hours=5)),
        summary="Watch papers is failing: 3 failed crawls in a row", url=None,
        dedupe_key="source.failing|papers|1", data={},
    ))
    events.sort(key=lambda e: e["detected_at"])
    rows = [event_to_row(e) | {"seq": seq} for seq, e in enumerate(events, 1)]
    links = [{"src": key_of(model), "dst": dst, "relation": rel, "evidence": "model card", "first_seen": iso(now)}
             for model, rel, dst, _ in LINKS]
    linked_items = [{"key": dst, "kind": dst.split(":")[0], "source": "arxiv" if dst.startswith("paper") else "github",
                     "watch": "papers", "unit": "-", "name": dst.split("/", 1)[1], "url": url, "state": "active",
                     "first_seen": iso(now), "last_seen": iso(now), "data": "{}"}
                    for _, _, dst, url in LINKS]
    crawls = [
        {"watch": "labs", "source": "huggingface", "started_at": iso(now - timedelta(minutes=32)),
         "finished_at": iso(now - timedelta(minutes=30)), "status": "ok", "requests": 42, "items": len(MODELS),
         "events": 2, "errors": "[]", "pid": 1},
        {"watch": "papers", "source": "arxiv", "started_at": iso(now - timedelta(hours=5, minutes=1)),
         "finished_at": iso(now - timedelta(hours=5)), "status": "failed", "requests": 3, "items": 0, "events": 0,
         "errors": json.dumps([f"GET {LONG_URL}: 503 Service Unavailable"]), "pid": 1},
    ]
    watch_state = [
        {"watch": "labs", "last_started_at": crawls[0]["started_at"], "last_finished_at": crawls[0]["finished_at"],
         "last_status": "ok", "last_ok_at": crawls[0]["finished_at"], "consecutive_failures": 0, "failing": 0,
         "last_error": None},
        {"watch": "papers", "last_started_at": crawls[1]["started_at"], "last_finished_at": crawls[1]["finished_at"],
         "last_status": "failed", "last_ok_at": iso(now - timedelta(days=2)), "consecutive_failures": 3,
         "failing": 1, "last_error": f"GET {LONG_URL}: 503 Service Unavailable"},
    ]
    licence = "LLAMA 3.3 COMMUNITY LICENSE AGREEMENT\n\n" + HOSTILE + "\n"
    with db.conn:
        db["items"].insert_all(items + linked_items, pk="key", alter=False)
        db["events"].insert_all(rows, pk="id")
        db["metrics"].insert_all(metric_rows, pk=("key", "day"))
        db["links"].insert_all(links, pk="id")
        db["crawls"].insert_all(crawls, pk="id")
        db["watch_state"].insert_all(watch_state, pk="watch")
        db["license_texts"].insert({"sha256": sha256(licence.encode()).hexdigest(), "size": len(licence),
                                    "first_seen": iso(now), "text_zlib": zlib.compress(licence.encode())})
    db.conn.close()
    return {"models": MODELS, "events": events, "licence_text": licence, "now": now}
