"""ModelScope (modelscope.cn), where Chinese labs publish, often before Hugging Face:
`model:ms/<owner>/<name>`, the same `model.*` events and trust rules as Hugging Face.

Answers come in an envelope `{Code, Success, Data, Message, RequestId}`: success is in the
body, not only the HTTP status (`modelscope/hub/api.py`).
"""

from __future__ import annotations

from typing import Any, Mapping

from crawler.sources import Source
from crawler.sources._models import MODEL_EVENTS, ModelKind


class MsModel(ModelKind):
    prefix = "model:ms/"
    endpoint = "modelscope"
    web_default = "https://modelscope.cn"
    has_files = False

    def url(self, key: str, fields: Mapping[str, Any], endpoints: Mapping[str, str]) -> str | None:
        web = (endpoints.get(self.endpoint) or self.web_default).rstrip("/")
        return f"{web}/models/{fields.get('id') or self.model_id(key)}"

    def normalise(self, raw: Mapping[str, Any]) -> dict[str, Any]:
        # The spider hands over the parser's fields (a field the answer lacked is absent).
        return {k: v for k, v in raw.items() if k not in self.counter_fields}

    def links(self, key: str, fields: Mapping[str, Any]) -> list[tuple[str, str, str]]:
        same = f"model:hf/{fields.get('id')}" if fields.get("id") else None
        out = super().links(key, fields)
        return out + ([(same, "mirror_of", "same owner and name on both hubs")] if same else [])


class ModelScopeSource(Source):
    """ModelScope models of the watched owners: `orgs = ["Qwen", "deepseek-ai", "ZhipuAI"]`."""

    kind = "modelscope"
    order = 10
    keys = ("orgs",)
    endpoints = {"modelscope": "https://modelscope.cn"}
    item_kinds = (MsModel(),)
    events = MODEL_EVENTS
    spider = "crawler.spiders.modelscope.ModelScopeSpider"

    @classmethod
    def options(cls, read) -> dict[str, Any]:
        return {"orgs": tuple(dict.fromkeys(read.string_list("orgs", example='["Qwen", "deepseek-ai"]')))}

    @classmethod
    def units(cls, options: Mapping[str, Any]) -> tuple[str, ...]:
        return tuple(options["orgs"])

    @classmethod
    def spider_args(cls, watch, endpoints: Mapping[str, str], prior: dict) -> dict[str, Any]:
        return {"watch": watch.name, "orgs": list(watch.orgs), "prior": prior,
                "endpoint": endpoints.get("modelscope")}
