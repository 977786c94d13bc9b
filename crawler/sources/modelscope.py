"""ModelScope (modelscope.cn) -> model fields. Pure: decoded JSON in, dicts out.

    unwrap(obj) -> Data                  the `{Code, Success, Data, Message, RequestId}` envelope
    model_fields(data, owner=None) -> dict      GET /api/v1/models/<owner>/<name>, unwrapped
    listing_models(data, owner=None) -> MsListing   PUT /api/v1/models/ (LISTING_PATH), unwrapped
    listing_body(owner, page_number, page_size) -> str   that request's JSON body
    model_path(owner, name) -> "/api/v1/models/<owner>/<name>"
    model_url(web, owner, name) -> "<web>/models/<owner>/<name>"   the page a person opens
    model_key(owner, name) -> "model:ms/<owner>/<name>"

What the real service does, from the ModelScope SDK (`modelscope/hub/api.py` `get_model`,
`list_models`; `modelscope/hub/errors.py` `is_ok`; `modelscope/hub/info.py` `ModelInfo`):
success is in the body, not only the HTTP status: `is_ok` is `Code == 200 and Success`, and
the SDK raises on anything else even with HTTP 200, as `unwrap` does (`ModelScopeError`).
Fields are PascalCase: `Name`, `Path` (the owner), `ChineseName`, `License` (a display name
such as "Apache License 2.0": hub/constants.py `Licenses`), `Downloads`, `Stars` (or
`Likes`), `CreatedTime` / `LastUpdatedTime` (Unix seconds in real answers; the SDK also
reads ISO text, naive text being Asia/Shanghai), `Tasks` ([{Name}]), `Tags`, `BaseModel`,
`RelatedArxivId`, `Visibility` (1 private, 3 internal, 5 public), `ProtectedMode` (1 gated:
download on application, 2 off), `Organization` ({Name, FullName}). A listing's Data is
`{"Models": [...] | null, "TotalCount": n}`. Some answers nest the model as `Data.Model`;
both are read.

`model_fields` returns exactly the keys of the Hugging Face normaliser
(`crawler.normalize.model_fields`), so the `model.*` rules apply unchanged:

    id "<owner>/<name>", org, name
    license, license_name, license_category    normalised; None when the answer had no
                                                `License` string; "unknown" when it was empty
                                                (and the answer's Tags have no `license:`)
    license_link None (not carried)
    gated        "manual" (ProtectedMode 1), False (2), else None
    private      True (Visibility 1 or 3), False (5), else None
    disabled, sha, library, parameters   None: ModelScope's model answer does not carry them
    last_modified, created_at            ISO 8601 UTC (`Z`) or None
    pipeline_tag the first task's Name
    base_model, arxiv, datasets, tags    sorted lists (None when nothing in the answer says):
                 arxiv from RelatedArxivId and `arxiv:` tags (versions stripped),
                 datasets from `dataset:` tags
    downloads, likes                     ints, volatile counters (MODEL_COUNTERS)
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Mapping

from crawler.licenses import normalize as normalize_license
from crawler.sources._parsing import CHINA, ParseError, integer, parse_time, text
from crawler.sources.arxiv import split_id
from crawler.sources import Source
from crawler.sources._models import MODEL_EVENTS, ModelKind
from crawler.rules import MAX_ANSWER_BYTES

MODEL_COUNTERS = ("downloads", "likes")
LISTING_PATH = "/api/v1/models/"
LISTING_METHOD = "PUT"
MAX_NAME = 200
MAX_TAG = 200
MAX_TAGS = 200
MAX_PAGE_SIZE = 100


class ModelScopeError(ParseError):
    """ModelScope answered, but not with what was asked: `Success` false, a failure `Code`, or
    a body that is not the expected object. Retryable: never read as "the model is gone"."""

    def __init__(self, message: str, *, code: Any = None, request_id: str | None = None):
        super().__init__(message)
        self.code = code if isinstance(code, (int, str)) and not isinstance(code, bool) else None
        self.request_id = request_id


@dataclass(frozen=True)
class MsListing:
    models: list[dict[str, Any]]
    total: int | None          # TotalCount: how many the owner has, across pages
    skipped: int = 0           # entries that named no model: the page is then not complete


def model_key(owner: str, name: str) -> str:
    return f"model:ms/{_part(owner, 'owner')}/{_part(name, 'model name')}"


def model_path(owner: str, name: str) -> str:
    return f"/api/v1/models/{_part(owner, 'owner')}/{_part(name, 'model name')}"


def model_url(web: str, owner: str, name: str) -> str:
    return f"{web.rstrip('/')}/models/{_part(owner, 'owner')}/{_part(name, 'model name')}"


def listing_body(owner: str, page_number: int = 1, page_size: int = MAX_PAGE_SIZE) -> str:
    """The JSON body of the owner listing request (the SDK's `list_models`)."""
    _part(owner, "owner")
    if isinstance(page_number, bool) or not isinstance(page_number, int) or page_number < 1:
        raise ValueError(f"page_number must be an integer >= 1, not {page_number!r}")
    if isinstance(page_size, bool) or not isinstance(page_size, int) or not 1 <= page_size <= MAX_PAGE_SIZE:
        raise ValueError(f"page_size must be 1..{MAX_PAGE_SIZE}, not {page_size!r}")
    return json.dumps({"Path": owner, "PageNumber": page_number, "PageSize": page_size})


def _part(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value or "/" in value or len(value) > MAX_NAME:
        raise ValueError(f"not a ModelScope {what}: {str(value)[:100]!r}")
    return value


def unwrap(obj: Any) -> Any:
    """`Data` of a successful envelope; `ModelScopeError` for every other answer."""
    if not isinstance(obj, dict) or "Code" not in obj and "Success" not in obj:
        raise ModelScopeError("not a ModelScope answer (no Code/Success envelope)")
    code, success = obj.get("Code"), obj.get("Success")
    message = text(obj.get("Message"), 500)
    request_id = text(obj.get("RequestId"), 100)
    if success is not True or not _ok(code):
        raise ModelScopeError(
            f"ModelScope refused: Code={str(code)[:40]} Success={str(success)[:10]}"
            + (f": {message}" if message else ""),
            code=code,
            request_id=request_id,
        )
    data = obj.get("Data")
    if data is None:
        raise ModelScopeError("ModelScope answered success without Data", code=code, request_id=request_id)
    return data


def _ok(code: Any) -> bool:
    if isinstance(code, bool):
        return False
    return code == 200 or (isinstance(code, str) and code.strip() == "200")


def model_fields(data: Any, owner: str | None = None) -> dict[str, Any]:
    """The tracked fields of one model (see the module docstring); `owner` when the answer
    does not say it (a listing asked for one owner)."""
    if isinstance(data, dict) and isinstance(data.get("Model"), dict) and "Name" not in data:
        data = data["Model"]
    if not isinstance(data, dict):
        raise ModelScopeError(f"a model is a JSON object, not {type(data).__name__}")
    name = text(data.get("Name"), MAX_NAME)
    org = data.get("Organization") if isinstance(data.get("Organization"), dict) else {}
    path = text(data.get("Path"), MAX_NAME) or text(org.get("Name"), MAX_NAME) or text(owner, MAX_NAME)
    if not name or not path or "/" in name or "/" in path:
        raise ModelScopeError("not a model object (no Name and Path)")

    tags = _tags(data.get("Tags")) if "Tags" in data else None
    lic = None
    if isinstance(data.get("License"), str):  # null or another type: not said, never a change
        raw = text(data["License"], 300)
        if raw:
            lic = normalize_license(display_name=raw)
        elif tags is not None:  # empty: the `license:` tag, else no licence at all
            lic = normalize_license(tags=tags)
    tasks = data.get("Tasks")
    pipeline_tag = None
    if isinstance(tasks, list):
        pipeline_tag = next(
            (t for t in (text(task.get("Name"), 100) for task in tasks if isinstance(task, dict)) if t), None
        )
    elif isinstance(tasks, dict):
        pipeline_tag = text(tasks.get("Name"), 100)

    return {
        "id": f"{path}/{name}",
        "org": path,
        "name": name,
        "license": lic.id if lic else None,
        "license_name": lic.name if lic else None,
        "license_category": lic.category if lic else None,
        "license_link": None,
        "gated": {1: "manual", 2: False}.get(integer(data.get("ProtectedMode"))),
        "private": {1: True, 3: True, 5: False}.get(integer(data.get("Visibility"))),
        "disabled": None,
        "sha": None,
        "last_modified": parse_time(data.get("LastUpdatedTime"), naive=CHINA),
        "created_at": parse_time(data.get("CreatedTime"), naive=CHINA),
        "pipeline_tag": pipeline_tag,
        "library": None,
        "base_model": _sorted_texts(data.get("BaseModel")) if "BaseModel" in data else None,
        "arxiv": _arxiv(data, tags),
        "datasets": _prefixed(tags, "dataset:"),
        "parameters": None,
        "downloads": integer(data.get("Downloads")),
        "likes": integer(data.get("Stars")) if data.get("Stars") is not None else integer(data.get("Likes")),
        "tags": tags,
    }


def listing_models(data: Any, owner: str | None = None) -> MsListing:
    """The models of one listing page (`Data` of PUT /api/v1/models/)."""
    if not isinstance(data, dict) or "Models" not in data:
        raise ModelScopeError("not a model listing (no Models)")
    raw = data.get("Models")
    if raw is None:
        raw = []                      # the SDK's own callers read null as "none on this page"
    if not isinstance(raw, list):
        raise ModelScopeError("Models is not a list")
    models, seen, skipped = [], set(), 0
    for item in raw:
        try:
            fields = model_fields(item, owner)
        except ModelScopeError:
            skipped += 1
            continue
        if fields["id"] not in seen:
            seen.add(fields["id"])
            models.append(fields)
    return MsListing(models=models, total=integer(data.get("TotalCount")), skipped=skipped)


def _tags(value: Any) -> list[str] | None:
    if not isinstance(value, list):
        return None
    out = set()
    for tag in value:
        if isinstance(tag, dict):          # datasets' tags are {Name, Color}
            tag = tag.get("Name")
        t = text(tag, MAX_TAG)
        if t is not None:
            out.add(t)
            if len(out) >= MAX_TAGS:
                break
    return sorted(out)


def _sorted_texts(value: Any) -> list[str] | None:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        return None
    return sorted({t for t in (text(v, MAX_NAME) for v in value[:MAX_TAGS]) if t})


def _prefixed(tags: list[str] | None, prefix: str) -> list[str] | None:
    if tags is None:
        return None
    return sorted({t[len(prefix):] for t in tags if t.lower().startswith(prefix) and t[len(prefix):]})


def _arxiv(data: dict[str, Any], tags: list[str] | None) -> list[str] | None:
    related = data.get("RelatedArxivId")
    if "RelatedArxivId" not in data and tags is None:
        return None
    ids: set[str] = set()
    values = related if isinstance(related, list) else [related] if isinstance(related, str) else []
    for value in [*values[:MAX_TAGS], *(_prefixed(tags, "arxiv:") or ())]:
        found = split_id(value)
        if found is not None:
            ids.add(found[0])
    return sorted(ids)


# ---------------------------------------------------------------------------------------------
# The registry entry: options, item kinds, events (crawler/sources/__init__.py)

_NOT_FOUND = ("not exist", "not found", "不存在", "notexist", "notfound")


def message(envelope: Any) -> str:
    return text(envelope.get("Message"), 200) or "" if isinstance(envelope, dict) else ""


def is_not_found(status: int, envelope: Any) -> bool:
    """A direct check's "this model is gone": HTTP 404, or a refusal whose message says the
    model does not exist. Anything else (5xx, a 200 with Success false for another reason) is
    transient: never read as gone."""
    if status == 404:
        return True
    if isinstance(envelope, dict) and envelope.get("Success") is False:
        said = f"{envelope.get('Message') or ''} {envelope.get('Code') or ''}".lower()
        return any(word in said for word in _NOT_FOUND)
    return False


class MsModel(ModelKind):
    prefix = "model:ms/"
    endpoint = "modelscope"
    web_default = "https://modelscope.cn"
    has_files = False

    def url(self, key: str, fields: Mapping[str, Any], endpoints: Mapping[str, str]) -> str | None:
        web = (endpoints.get(self.endpoint) or self.web_default).rstrip("/")
        return f"{web}/models/{fields.get('id') or self.model_id(key)}"

    def normalise(self, raw: Mapping[str, Any]) -> dict[str, Any]:
        # The spider hands over the parser's fields; None is a field the answer did not carry.
        return {k: v for k, v in raw.items() if k not in self.counter_fields and v is not None}

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
    settings = {"DOWNLOAD_MAXSIZE": MAX_ANSWER_BYTES}  # a page is 100 models

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
