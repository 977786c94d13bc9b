"""Hugging Face Hub: every model of the watched orgs (`model:hf/<owner>/<name>`).

Fields come from `/api/models?author=…&expand[]=…` (https://huggingface.co/docs/hub/api);
LICENSE-like files from `/resolve/<sha>/<file>`. Pure except `prior` (a store query).
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from typing import Any, Mapping

from crawler.licenses import normalize as normalize_license
from crawler.normalize import MAX_TEXT, clean, integer, text, texts
from crawler.sources import Source
from crawler.sources._models import MODEL_EVENTS, ModelKind
from crawler.times import parse

# Repos older than the field itself carry one of these createdAt values: "unknown", not new.
# Both are seen in real answers (…:04.000Z on most, …:05.000Z on some).
LEGACY_CREATED_AT = ("2022-03-02T23:29:04", "2022-03-02T23:29:05")
# Tags whose prefix carries meaning: never dropped by the size cap.
MEANINGFUL_TAG = re.compile(r"^(license|arxiv|base_model|dataset|doi):", re.IGNORECASE)
MAX_TAGS = 200


def gating(value: Any) -> str | bool:
    """`false`, `"auto"` or `"manual"` (the Hub's values); an unexpected truthy value is "auto"."""
    if value in (None, False, "false", "False", ""):
        return False
    if isinstance(value, str) and value.lower() in ("auto", "manual"):
        return value.lower()
    return "auto"


def created_at(value: Any) -> str | None:
    stamp = text(value, 40)
    if not stamp or stamp.startswith(LEGACY_CREATED_AT):
        return None
    return stamp


def _tags(raw_tags: Any) -> list[str]:
    if not isinstance(raw_tags, list):
        return []
    # `text` inlined for plain strings: a first crawl reads ~20 tags per model (bench/RESULTS.md).
    every = [t for t in ((clean(v.strip()[:MAX_TEXT]) if type(v) is str else text(v)) for v in raw_tags) if t]
    if len(every) <= MAX_TAGS:
        return sorted(set(every))
    meaningful = [t for t in every if MEANINGFUL_TAG.match(t)]
    rest = [t for t in every if not MEANINGFUL_TAG.match(t)]
    return sorted(set(meaningful + rest[: max(0, MAX_TAGS - len(meaningful))]))


PREFIXES = ("base_model", "dataset", "arxiv", "license")


def _by_prefix(tags: list[str]) -> dict[str, list[str]]:
    """`prefix:value` tags by prefix (any case), values sorted, for each of `PREFIXES`: one pass."""
    found: dict[str, set[str]] = {prefix: set() for prefix in PREFIXES}
    for tag in tags:
        head, colon, value = tag.partition(":")
        if colon:
            values = found.get(head.lower())
            if values is not None:
                values.add(value)
    return {prefix: sorted(values) for prefix, values in found.items()}


def model_fields(raw: Mapping[str, Any]) -> dict[str, Any]:
    """The tracked fields of one model. A field the answer does not carry is left out: the
    store keeps its last known value (an `expand` without `gated`, a model without
    `cardData`), so unknown never reads as `false` or empty and never makes a change. A null
    is a field not carried too (the Hub sends `false`, never null, for "not gated")."""
    raw = {k: v for k, v in raw.items() if v is not None}
    model_id = text(raw.get("id"), 200) or ""
    org, _, name = model_id.partition("/")
    out: dict[str, Any] = {"id": model_id, "org": text(raw.get("author")) or org, "name": name}
    has_card = isinstance(raw.get("cardData"), dict)
    card = raw["cardData"] if has_card else {}
    has_tags = isinstance(raw.get("tags"), list)
    tags = _tags(raw.get("tags"))
    prefixed = _by_prefix(tags)
    # No card and no `license:` tag: the answer says nothing of the licence (unknown, no change).
    if has_card or prefixed["license"]:
        lic = normalize_license(
            card.get("license"), license_name=text(card.get("license_name")),
            license_link=text(card.get("license_link"), 500), tags=tags,
        )
        out |= {"license": lic.id, "license_name": lic.name, "license_category": lic.category}
    if has_card:
        out["license_link"] = text(card.get("license_link"), 500)
        out["base_model"] = texts(card.get("base_model")) or prefixed["base_model"]
        out["datasets"] = texts(card.get("datasets")) or prefixed["dataset"]
    elif has_tags:
        out["base_model"] = prefixed["base_model"]
        out["datasets"] = prefixed["dataset"]
    if has_tags:
        out["tags"] = tags
        out["arxiv"] = prefixed["arxiv"]
    if "gated" in raw:
        out["gated"] = gating(raw.get("gated"))
    for field, key in (("private", "private"), ("disabled", "disabled")):
        if key in raw:
            out[field] = bool(raw.get(key))
    if "sha" in raw:
        out["sha"] = text(raw.get("sha"), 64)
    if "lastModified" in raw:
        out["last_modified"] = text(raw.get("lastModified"), 40)
    if "createdAt" in raw:
        out["created_at"] = created_at(raw.get("createdAt"))
    if "pipeline_tag" in raw or has_card:
        out["pipeline_tag"] = text(raw.get("pipeline_tag") or card.get("pipeline_tag"), 100)
    if "library_name" in raw or has_card:
        out["library"] = text(raw.get("library_name") or card.get("library_name"), 100)
    if isinstance(raw.get("safetensors"), dict):
        out["parameters"] = integer(raw["safetensors"].get("total"))
    return out


def _stable(value: Any) -> str:
    """A value as fingerprint text (SQLite text: no lone surrogates): scalars as `str` (the
    stored fingerprints), an object or array (a hostile answer) in sorted key order, so key
    order is never a change."""
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True, default=str)
    return clean(str(value))


def hub_wide_unit(search: str | None, filters: list[str] | tuple[str, ...]) -> str:
    """The unit of a hub-wide watch: what it selects, e.g. `hub:search=qwen;filter=license:mit`."""
    parts = ([f"search={search}"] if search else []) + [f"filter={f}" for f in sorted(filters)]
    return "hub:" + ";".join(parts)


DEFAULT_RECONCILE_EVERY = 86400.0
# Models a listing page asks for: the Hub's cap on `limit` for `/api/models`.
PAGE_SIZE = 1000
# The cheap settings check of an org that needs several pages: one small row a model.
SETTINGS_EXPAND = ("gated", "private", "disabled")


def same_second(stamp: str) -> str:
    """A Hub time to the second: the Hub writes `lastModified`/`createdAt` as `…:SS.000Z`
    (every recorded answer), so two commits in one second carry the same time."""
    return stamp[:19]


def settings(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Gating, visibility and `disabled` as the store keeps them (`items.gated`, `data`);
    a key the answer does not carry is None (unknown, never a change)."""
    return {
        "gated": str(gating(raw["gated"])).lower() if raw.get("gated") is not None else None,
        "private": bool(raw["private"]) if raw.get("private") is not None else None,
        "disabled": bool(raw["disabled"]) if raw.get("disabled") is not None else None,
    }


def settings_moved(known: Mapping[str, Any], raw: Mapping[str, Any]) -> bool:
    """A known model's settings differ in the answer (unknown on either side is no change)."""
    now = settings(raw)
    return any(known.get(k) is not None and now[k] is not None and known[k] != now[k] for k in now)


def single_page(unit: Mapping[str, Any]) -> bool:
    """The unit's complete listing is one request: its last complete listing took one page
    (`state.pages`), or, before that was recorded, counted up to PAGE_SIZE models."""
    pages = (unit.get("state") or {}).get("pages")
    if isinstance(pages, int):
        return pages <= 1
    count = unit.get("last_complete_count")
    return count is not None and count <= PAGE_SIZE


def reconcile_due(last: str, reconcile_every: float) -> datetime:
    """When the complete read after the one finished at `last` is due. A crawl records its
    complete read some seconds after it started, and the schedule's jitter moves the next
    start by up to 10 % of `every` (5 min at most): the due time allows for both, so
    `reconcile_every = every` reads completely every crawl rather than every other one."""
    slack = min(0.1 * reconcile_every, 600.0)
    return parse(last) + timedelta(seconds=reconcile_every - slack)


def next_complete_read(unit: Mapping[str, Any], reconcile_every: float | None, now: datetime) -> str | datetime:
    """When an org watch next reads `unit` completely: "every crawl" (a single-page org, or
    `reconcile_every = "0s"`), "next crawl" (no complete listing yet, or one is due), or the
    time incremental reads give way to a complete one (sooner if the settings check moves)."""
    last = unit.get("last_reconciled_at")
    if not reconcile_every or (last and single_page(unit)):
        return "every crawl"
    if not last:
        return "next crawl"
    due = reconcile_due(last, reconcile_every)
    return due if due > now else "next crawl"


class HubModel(ModelKind):
    prefix = "model:hf/"
    version = 2
    endpoint = "huggingface"
    web_default = "https://huggingface.co"

    def fingerprint(self, raw: Mapping[str, Any]) -> str:
        # Card, tags, files and sizes change only with a commit (a new sha and lastModified);
        # gating and visibility are settings that change neither. Which keys the answer
        # carried is part of it, so an `expand` variant is never read as "unchanged".
        return "|".join((
            str(self.version),
            *(_stable(raw.get(k)) for k in ("sha", "lastModified", "gated", "private", "disabled", "id")),
            "".join("1" if k in raw else "0" for k in ("cardData", "tags", "safetensors", "createdAt")),
        ))

    def normalise(self, raw: Mapping[str, Any]) -> dict[str, Any]:
        return model_fields(raw)


class HuggingFaceSource(Source):
    """Hugging Face Hub models of the watched orgs: `orgs = ["deepseek-ai", "registry:CN"]`,
    or hub-wide (no `orgs`): new models matching `search` and/or `filter` (tags such as
    `license:apache-2.0`, `text-generation`, `base_model:…`).

    Every model's licence (card, `license:` tag, LICENSE-like files), gating, commits,
    downloads and likes; new, renamed, removed and restored models. An org of up to 1,000
    models is read completely every crawl (one request). A larger one is read completely
    every `reconcile_every` (default 1d) and at once when its settings check (every model's
    gating and visibility, small rows) moves; in between each cycle reads what changed since
    the last (`sort=lastModified`, down to the last commit's second).
    """

    kind = "huggingface"
    order = 0
    keys = ("orgs", "search", "filter", "reconcile_every")
    endpoints = {"huggingface": "https://huggingface.co"}
    item_kinds = (HubModel(),)
    events = MODEL_EVENTS
    spider = "crawler.spiders.huggingface.HuggingFaceSpider"

    @classmethod
    def options(cls, read) -> dict[str, Any]:
        hub_wide = read.has("search") or read.has("filter")
        if not read.has("orgs") and not hub_wide:
            raise read.missing("orgs", '["meta-llama", "registry:CN"] (or search / filter for a hub-wide watch)')
        if read.has("orgs") and hub_wide:
            raise read.error("search" if read.has("search") else "filter",
                             "a watch of orgs cannot also search the whole Hub",
                             "remove it, or make a second watch with search / filter and no orgs")
        return {
            "orgs": read.orgs("orgs") if read.has("orgs") else (),
            "search": read.string("search", example='"qwen"') if read.has("search") else None,
            "filter": tuple(read.string_list("filter", example='["license:apache-2.0"]')) if read.has("filter") else (),
            "reconcile_every": read.duration("reconcile_every", default=DEFAULT_RECONCILE_EVERY, example='"1d"'),
        }

    @classmethod
    def units(cls, options: Mapping[str, Any]) -> tuple[str, ...]:
        if options.get("orgs"):
            return tuple(options["orgs"])
        return (hub_wide_unit(options.get("search"), options.get("filter") or ()),)

    @classmethod
    def spider_args(cls, watch, endpoints: Mapping[str, str], prior: dict) -> dict[str, Any]:
        args = {"watch": watch.name, "prior": prior, "endpoint": endpoints.get("huggingface"),
                "reconcile_every": watch.reconcile_every}
        if watch.orgs:
            return args | {"orgs": list(watch.orgs)}
        return args | {"search": watch.search, "filter": list(watch.filter)}

    @classmethod
    def complete_read(cls, unit: Mapping[str, Any], options: Mapping[str, Any],
                      now: datetime) -> str | datetime | None:
        """An org watch: `next_complete_read`; a hub-wide one reads what is new, never completely."""
        if "reconcile_every" not in options or not options.get("orgs"):
            return None
        return next_complete_read(unit, options["reconcile_every"], now)

    @classmethod
    def watchlist_args(cls, watch, subscriptions) -> dict[str, Any]:
        """`watched`: the model ids of this watch's orgs on an enabled subscription's `models`
        list (keys `model:hf/<id>`), read directly every crawl that reads their org incrementally."""
        orgs = {org.lower() for org in watch.orgs or ()}
        ids = set()
        for sub in subscriptions:
            if not sub.enabled or not sub.models or (sub.watches is not None and watch.name not in sub.watches):
                continue
            for key in sub.models:
                model_id = key.removeprefix(HubModel.prefix)
                if model_id != key and model_id.split("/", 1)[0].lower() in orgs:
                    ids.add(model_id)
        return {"watched": sorted(ids)} if ids else {}

    @classmethod
    def prior(cls, store, watch) -> dict:
        return store.prior_state(watch.name, watch.units, files=True, source=cls.kind)
