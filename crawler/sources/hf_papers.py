"""Hugging Face daily papers (`/api/daily_papers`): the same `paper:arxiv/<id>` item as arXiv's,
with upvotes and the models that cite it."""

from __future__ import annotations

from typing import Any, Mapping

from crawler.sources import Source
from crawler.sources._papers import PAPER_EVENTS, PaperKind

UNIT = "daily_papers"


class HfPapersSource(Source):
    """Hugging Face daily papers, optionally only those of watched `orgs` or with at least
    `min_upvotes`; one paper is one item and one `paper.published`, whichever source saw it first."""

    kind = "hf_papers"
    order = 31
    keys = ("orgs", "min_upvotes", "days")
    endpoints = {"huggingface": "https://huggingface.co"}
    item_kinds = (PaperKind(),)
    events = PAPER_EVENTS
    spider = "crawler.spiders.hf_papers.HfPapersSpider"

    @classmethod
    def options(cls, read) -> dict[str, Any]:
        orgs = tuple(read.string_list("orgs", example='["deepseek-ai"]')) if read.has("orgs") else ()
        return {"orgs": orgs, "min_upvotes": read.integer("min_upvotes", default=0, minimum=0),
                "days": read.integer("days", default=3, minimum=1, maximum=30)}

    @classmethod
    def units(cls, options: Mapping[str, Any]) -> tuple[str, ...]:
        return (UNIT,)

    @classmethod
    def spider_args(cls, watch, endpoints: Mapping[str, str], prior: dict) -> dict[str, Any]:
        return {"watch": watch.name, "orgs": list(watch.orgs), "min_upvotes": watch.min_upvotes,
                "days": watch.days, "prior": prior, "endpoint": endpoints.get("huggingface")}
