"""The Hugging Face endpoints the emulator serves, shaped like the real Hub's answers.

Sources for the shapes and status codes (checked against public material, see each comment):
- huggingface_hub `HfApi.list_models` / `model_info`, `ExpandModelProperty_T`, `paginate`
  (src/huggingface_hub/hf_api.py, utils/_pagination.py) and `hf_raise_for_status`
  (utils/_http.py);
- https://huggingface.co/docs/hub/rate-limits for the RateLimit headers (ratelimit.py);
- recorded `/api/models` answers for the default listing row.

Endpoints (HF is mounted at the emulator's root, `emu.url`):
- `GET /api/models` — `author`, `search` (substring of the id, case-insensitive; repeated
  values must all match), `filter` (tags; repeated or comma-separated values must all be on
  the model, as the Hub ANDs them: `filter=license:mit,text-generation`), `sort`
  (`lastModified`, `createdAt`, `downloads`, `likes`, `trendingScore`, descending unless
  `direction=1`), `limit` (capped by the emulator's page size), `expand[]`/`expand`,
  `full`, `cardData`, `cursor` (from the `Link: <...>; rel="next"` header);
- `GET /api/models/{owner}/{name}[/revision/{rev}]` — the model info;
- `GET /{owner}/{name}/resolve/{rev}/{path}` — files, with ETag and X-Repo-Commit;
- a moved repo (`HubWorld.rename`): the old id's API and resolve paths answer
  `307 Temporary Redirect` with a *relative* `Location` to the new id's path, query kept
  (huggingface_hub follows only relative redirects, "to a renamed repository");
- `GET /api/daily_papers`, `GET /api/papers/{arxiv id}` (hf_papers.py).
"""

from __future__ import annotations

import base64
import binascii
import itertools
import json
import mimetypes
from bisect import bisect_right
from functools import lru_cache
from urllib.parse import quote, unquote

from . import hf_papers
from . import world as world_mod
from .ratelimit import RateLimiter, bucket_for
from .routing import Request, Response, Service, json_response, text_response
from .times import iso

# huggingface_hub's ExpandModelProperty_T (hf_api.py). The Hub validates `expand[]`; an
# unknown property is refused with 400 here so a spider's typo fails loudly. Properties the
# emulator does not model are accepted and simply absent from the answer, as on the Hub when
# a repo has no such data (e.g. `safetensors` for a repo without safetensors weights).
EXPAND_PROPERTIES = frozenset({
    "author", "baseModels", "cardData", "childrenModelCount", "config", "createdAt", "disabled", "downloads",
    "downloadsAllTime", "evalResults", "gated", "gguf", "inference", "inferenceProviderMapping", "lastModified",
    "library_name", "likes", "mask_token", "model-index", "pipeline_tag", "private", "resourceGroup",
    "safetensors", "sha", "siblings", "spaces", "tags", "transformersInfo", "trendingScore", "usedStorage",
    "widgetData", "xetEnabled",
})

# The default (no `expand`, no `full`) listing row, key order as recorded from
# GET https://huggingface.co/api/models?author=... :
# {"_id","id","likes","trendingScore","private","downloads","tags","pipeline_tag",
#  "library_name","createdAt","modelId"}; keys without a value are left out.
LIST_KEYS = ("_id", "id", "likes", "trendingScore", "private", "downloads", "tags", "pipeline_tag", "library_name",
             "createdAt", "modelId")
# `full=true` adds the repo state (huggingface_hub: "Whether to fetch all model data,
# including the `last_modified`, the `sha`, the files and the `tags`").
FULL_EXTRA_KEYS = ("author", "gated", "disabled", "lastModified", "sha", "siblings")
# GET /api/models/{repo_id}: the model info object (huggingface_hub `ModelInfo`).
INFO_KEYS = ("_id", "id", "private", "pipeline_tag", "library_name", "tags", "downloads", "likes", "modelId",
             "author", "sha", "lastModified", "gated", "disabled", "cardData", "config", "siblings", "spaces",
             "createdAt", "safetensors", "usedStorage")

SORT_KEYS = {
    "downloads": lambda m: m.downloads,
    "likes": lambda m: m.likes,
    "trendingScore": lambda m: m.trending_score,
    "trending_score": lambda m: m.trending_score,
    "createdAt": lambda m: m.created_at.timestamp(),
    "created_at": lambda m: m.created_at.timestamp(),
    "lastModified": lambda m: m.last_modified.timestamp(),
    "last_modified": lambda m: m.last_modified.timestamp(),
}

# Files a gated repo still serves without access: the model card is public on the Hub
# (its licence must be readable before one agrees to it).
UNGATED_FILES = frozenset({"README.md"})


class HuggingFaceService(Service):
    """The Hub's API and file resolver over a `HubWorld`, at the emulator's root."""

    name = "huggingface"
    prefix = ""
    keep_on_304 = ("ETag", "X-Repo-Commit", "RateLimit", "RateLimit-Policy", "X-Request-Id")

    def __init__(self, world: world_mod.HubWorld, *, page_size, rate_limiter: RateLimiter):
        super().__init__()
        self.world = world
        self.rate_limiter = rate_limiter
        self._request_ids = itertools.count(1)
        api = HfApi(world, page_size)
        both = ("GET", "HEAD")
        add = self.router.add
        add(both, r"^/api/models/?$", api.list_models)
        add(both, r"^/api/models/(?P<owner>[^/]+)/(?P<name>[^/]+)(?P<rest>/revision/(?P<rev>[^/]+))?/?$",
            api.model_info)
        add(both, r"^/api/daily_papers/?$", lambda request: hf_papers.list_daily_papers(world, request))
        add(both, r"^/api/papers/(?P<arxiv_id>[^/]+)/?$",
            lambda request, arxiv_id: hf_papers.paper_info(
                world, request, unquote(arxiv_id), lambda m: model_object(m, m.head, LIST_KEYS)))
        add(both, r"^/(?!api/)(?P<owner>[^/]+)/(?P<name>[^/]+)/resolve/(?P<rev>[^/]+)/(?P<path>.+)$", api.resolve)

    def not_found(self, request: Request) -> Response:
        return json_response(404, {"error": "Sorry, we can't find the page you are looking for."})

    def bucket(self, request: Request) -> str:
        return bucket_for(request.path)

    def admit(self, request: Request) -> tuple[dict, Response | None]:
        plan = "token" if request.has_authorization else "anonymous"
        headers, allowed = self.rate_limiter.hit(self.bucket(request), plan)
        headers["X-Request-Id"] = f"Root=1-emulator-{next(self._request_ids):08x}"
        refusal = None
        if not allowed:
            refusal = json_response(429, {"error": "You have been rate-limited; you can retry this action later."})
        return headers, refusal

    def error_response(self, status: int, request: Request) -> Response:
        return json_response(status, {"error": _REASONS.get(status, "Injected fault")})

    def empty_response(self, request: Request) -> Response:
        return json_response(200, [])


_REASONS = {
    429: "You have been rate-limited; you can retry this action later.",
    500: "Internal Error - We're working hard to fix this as soon as possible!",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


# -- errors, as hf_raise_for_status reads them (X-Error-Code first) --------------------------


def hf_error(status: int, code: str | None, message: str, body_message: str | None = None) -> Response:
    headers = {"X-Error-Message": message}
    if code:
        headers["X-Error-Code"] = code
    return json_response(status, {"error": body_message or message}, headers)


def repo_not_found(request: Request) -> Response:
    # The Hub answers 401 (not 404) for a missing, deleted or private repo when no token is
    # sent, and 404 when one is; both carry X-Error-Code: RepoNotFound. huggingface_hub's
    # hf_raise_for_status notes: "401 is misleading as it is returned for: private and gated
    # repos if user is not authenticated, missing repos".
    status = 404 if request.has_authorization else 401
    return hf_error(status, "RepoNotFound", "Repository not found", f"Repository Not Found for url: {request.url}.")


def revision_not_found(request: Request, revision: str) -> Response:
    return hf_error(404, "RevisionNotFound", f"Invalid rev id: {revision}",
                    f"Revision Not Found for url: {request.url}.")


def entry_not_found(request: Request) -> Response:
    return hf_error(404, "EntryNotFound", "Entry not found", f"Entry Not Found for url: {request.url}.")


def gated_repo(request: Request, model_id: str) -> Response:
    # Without a token: 401; with a token that has not been granted access: 403. Both carry
    # X-Error-Code: GatedRepo (hf_raise_for_status raises GatedRepoError on that code).
    if request.has_authorization:
        message = (f"Access to model {model_id} is restricted and you are not in the authorized list. "
                   f"Visit https://huggingface.co/{model_id} to ask for access.")
        return hf_error(403, "GatedRepo", message)
    message = (f"Access to model {model_id} is restricted. You must have access to it and be authenticated "
               "to access it. Please log in.")
    return hf_error(401, "GatedRepo", message)


def moved_repo(request: Request, path: str) -> Response:
    # A moved repo answers 307 with a relative Location (huggingface_hub PR #983: "force
    # redirection only when the `Location` header is relative which is the case for renamed
    # repos"); the query string is kept.
    location = request.prefix + path + (f"?{request.query}" if request.query else "")
    return text_response(307, f"Temporary Redirect. Redirecting to {location}", headers={"Location": location})


def listing_filter(searches: tuple[str, ...], tags: tuple[str, ...]):
    """A `where` predicate for `HubWorld.page`/`select`: the id contains every search term
    (case-insensitive) and the model carries every tag; None when there is nothing to check."""
    if not searches and not tags:
        return None
    needles = [n.lower() for n in searches]

    def where(model: world_mod.Model) -> bool:
        if not all(n in model.id.lower() for n in needles):
            return False
        if not tags:
            return True
        have = set(derive_tags(model, model.head))
        return all(t in have for t in tags)

    return where


def bad_request(message: str) -> Response:
    return json_response(400, {"error": message})


# -- the model object -------------------------------------------------------------------------


@lru_cache(maxsize=4096)
def _config_summary(raw: bytes) -> dict | None:
    try:
        config = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(config, dict):
        return None
    return {k: config[k] for k in ("architectures", "model_type") if k in config}


def _listify(value) -> list:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def derive_tags(model: world_mod.Model, commit: world_mod.Commit) -> list[str]:
    """The Hub's tags: library, formats, model type, task, card tags, languages, datasets,
    papers, base models, licence, compatibility flags, region.

    Order follows answers seen on the Hub, e.g. ["transformers","safetensors","qwen2",
    "text-generation","chat","conversational","en","arxiv:2309.00071",
    "base_model:Qwen/Qwen2.5-7B","base_model:finetune:Qwen/Qwen2.5-7B","license:apache-2.0",
    "autotrain_compatible","text-generation-inference","endpoints_compatible","region:us"]:
    the tags that carry meaning come late, so a client capping the list drops them first.
    """
    cached = model.tags_cache
    if cached is not None and cached[0] == model.version and cached[1] == commit.sha:
        return list(cached[2])
    tags = _derive_tags(model, commit)
    if commit is model.head:
        model.tags_cache = (model.version, commit.sha, tuple(tags))
    return tags


def _derive_tags(model: world_mod.Model, commit: world_mod.Commit) -> list[str]:
    card = commit.card if commit.has_readme else {}
    tags: list[str] = []
    if card.get("library_name"):
        tags.append(str(card["library_name"]))
    if model.parameters or any(n.endswith((".safetensors", ".safetensors.index.json")) for n in commit.files):
        tags.append("safetensors")
    if any(n.endswith(".gguf") for n in commit.files):
        tags.append("gguf")  # the Hub's format tag for GGUF repos (the captured row below)
    config = commit.files.get("config.json")
    summary = _config_summary(config) if config is not None else None
    if summary and summary.get("model_type"):
        tags.append(str(summary["model_type"]))
    if card.get("pipeline_tag"):
        tags.append(str(card["pipeline_tag"]))
    tags.extend(str(t) for t in _listify(card.get("tags")))
    tags.extend(str(code) for code in _listify(card.get("language")))
    tags.extend(f"dataset:{d}" for d in _listify(card.get("datasets")))
    tags.extend(f"arxiv:{a}" for a in model.arxiv)
    bases = _listify(card.get("base_model"))
    if bases:
        # One `base_model:<id>` and one `base_model:<relation>:<id>` per base, the relation
        # stated or inferred (world.infer_relation): the recorded deepset/roberta-base-squad2
        # answer (../shared/samples) carries "base_model:FacebookAI/roberta-base",
        # "base_model:finetune:FacebookAI/roberta-base"; a listing row of a GGUF repo captured in
        # public code (mradermacher/Mellum2-12B-A2.5B-Thinking-i1-GGUF, June 2026) carries
        # ["transformers", "gguf", "en", "base_model:JetBrains/Mellum2-12B-A2.5B-Thinking",
        # "base_model:quantized:JetBrains/Mellum2-12B-A2.5B-Thinking", "license:apache-2.0", ...];
        # adapters and merges likewise `base_model:adapter:<id>`, `base_model:merge:<id>`.
        relation = world_mod.infer_relation(commit)
        for base in bases:
            tags += [f"base_model:{base}", f"base_model:{relation}:{base}"]
    if card.get("license"):
        tags.append(f"license:{card['license']}")
    if card.get("library_name") == "transformers":
        if card.get("pipeline_tag") == "text-generation":
            tags += ["autotrain_compatible", "text-generation-inference"]
        tags.append("endpoints_compatible")
    tags.append("region:us")
    return list(dict.fromkeys(tags))


def _field(name: str, model: world_mod.Model, commit: world_mod.Commit, blobs: bool):
    """One property of the model object, or `_MISSING` when the repo has none."""
    if name in model.hidden:
        return _MISSING
    card = commit.card if commit.has_readme else None
    if name == "_id":
        return model.object_id
    if name in ("id", "modelId"):
        return model.id
    if name == "author":
        return model.author
    if name == "likes":
        return model.likes
    if name == "trendingScore":
        return model.trending_score
    if name == "downloads":
        return model.downloads
    if name == "downloadsAllTime":
        # Cumulative since creation (huggingface_hub ModelInfo.downloads_all_time, read from
        # `downloadsAllTime`: "Cumulated number of downloads of the model since its
        # creation"); only with `expand`, never in the default listing row or model info.
        return model.downloads_all_time
    if name == "childrenModelCount":
        # Per relation, all four keys: {"adapter": n, "merge": n, "quantized": n,
        # "finetune": n}, as answers to `expand[]=childrenModelCount` are recorded in public
        # code (e.g. a "direct API testing" note for microsoft/Phi-3.5-mini-instruct:
        # {"adapter": 716, "merge": 19, "quantized": 190, "finetune": 328}).
        # huggingface_hub keeps it untyped (ModelInfo stores unknown keys as they come); one
        # third-party Rust client types it as an integer, so a reader should take either
        # (an int: the total; a dict: the sum of its values).
        return model.world.children_counts(model.id) if model.world is not None else _MISSING
    if name == "private":
        return model.private
    if name == "gated":
        return model.gated
    if name == "disabled":
        return model.disabled
    if name == "tags":
        return derive_tags(model, commit)
    if name in ("pipeline_tag", "library_name"):
        value = card.get(name) if card else None
        return _MISSING if value is None else value
    if name == "createdAt":
        return iso(model.created_at)
    if name == "lastModified":
        return iso(commit.date)
    if name == "sha":
        return commit.sha
    if name == "cardData":
        return dict(card) if card is not None else _MISSING
    if name == "siblings":
        if not blobs:
            return [{"rfilename": n} for n in sorted(commit.files)]
        return [{"rfilename": n, "blobId": world_mod.git_blob_sha1(commit.files[n]), "size": len(commit.files[n])}
                for n in sorted(commit.files)]
    if name == "config":
        raw = commit.files.get("config.json")
        summary = _config_summary(raw) if raw is not None else None
        return summary if summary is not None else _MISSING
    if name == "spaces":
        return []
    if name == "usedStorage":
        return sum(len(b) for b in commit.files.values())
    if name == "safetensors":
        # huggingface_hub SafeTensorsInfo(parameters: dtype -> count, total); the recorded
        # roberta answer: {"parameters": {"F32": 124056578, "I64": 514}, "total": 124057092}.
        # MoE repos count every expert: `total` is the total, not the active parameters.
        if not model.parameters:
            return _MISSING
        if isinstance(model.parameters, dict):
            return {"parameters": dict(model.parameters), "total": sum(model.parameters.values())}
        return {"parameters": {"BF16": model.parameters}, "total": model.parameters}
    if name == "baseModels":
        # {"relation": r, "models": [{"_id", "id"}]}: one relation for the repo, each base
        # with its `_id` (recorded for unsloth/Phi-3.5-mini-instruct: {"relation":
        # "finetune", "models": [{"_id": "66bfbb1a43a701a837a745ac", "id":
        # "microsoft/Phi-3.5-mini-instruct"}]}). A base the emulator does not hold gets no `_id`.
        bases = _listify(card.get("base_model")) if card else []
        if not bases:
            return _MISSING
        world = model.world
        models = []
        for base in bases:
            known = world.lookup(base, authed=False) if world is not None else None
            models.append({"_id": known.object_id, "id": base} if known is not None else {"id": base})
        return {"relation": world_mod.infer_relation(commit), "models": models}
    return _MISSING


_MISSING = object()


def model_object(model, commit, keys, *, blobs: bool = False) -> dict:
    out = {}
    for key in keys:
        value = _field(key, model, commit, blobs)
        if value is not _MISSING:
            out[key] = value
    return out


# -- handlers -----------------------------------------------------------------------------------


def _truthy(value: str | None) -> bool:
    # huggingface_hub sends Python bools as "True"; JS clients send "true" or "1".
    return value is not None and value.lower() in ("1", "true", "yes")


def _expand(request: Request) -> list[str] | Response:
    # Both spellings reach the Hub: `expand[]=a` (JS clients, the docs) and `expand=a`
    # (requests encodes huggingface_hub's list params as repeated `expand=`).
    names = request.params.get("expand[]", []) + request.params.get("expand", [])
    unknown = [n for n in names if n not in EXPAND_PROPERTIES]
    if unknown:
        allowed = ", ".join(sorted(EXPAND_PROPERTIES))
        return bad_request(f'"expand" must be one of [{allowed}], got {unknown[0]!r}')
    return list(dict.fromkeys(names))


def _encode_cursor(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).decode().rstrip("=")


def _decode_cursor(token: str) -> dict | None:
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (ValueError, binascii.Error):
        return None
    return data if isinstance(data, dict) else None


def _next_link(request: Request, cursor: str) -> str:
    # The Hub paginates like GitHub: `Link: <absolute URL>; rel="next"` carrying the same query
    # plus `cursor`; the last page has no Link (huggingface_hub utils/_pagination.py follows
    # `response.links["next"]["url"]`). The client's own encoding of the other params is kept.
    parts = [p for p in request.query.split("&") if p and not p.startswith("cursor=")]
    parts.append("cursor=" + quote(cursor, safe=""))
    return f"{request.base_url}{request.path}?{'&'.join(parts)}"


class HfApi:
    SORT_CACHE_SIZE = 8

    def __init__(self, world: world_mod.HubWorld, page_size):
        self.world = world
        self.page_size = page_size
        self._sort_cache: dict[tuple, tuple[list, list]] = {}

    def _sorted(self, author, sort, sign, authed, searches, tags):
        """Visible models in sort order, with their keys; cached until the world changes, so
        paging through a sorted listing costs one sort, not one per page. Call under the lock."""
        cache_key = (author, sort, sign, authed, searches, tags, self.world.version)
        hit = self._sort_cache.get(cache_key)
        if hit is None:
            value = SORT_KEYS[sort]
            visible = self.world.select(author, authed=authed, where=listing_filter(searches, tags))
            keyed = sorted(((sign * value(m), m.seq), m) for m in visible)
            hit = ([k for k, _ in keyed], [m for _, m in keyed])
            if len(self._sort_cache) >= self.SORT_CACHE_SIZE:
                self._sort_cache.pop(next(iter(self._sort_cache)))
            self._sort_cache[cache_key] = hit
        return hit

    def list_models(self, request: Request) -> Response:
        expand = _expand(request)
        if isinstance(expand, Response):
            return expand
        cap = max(1, int(self.page_size()))
        raw_limit = request.param("limit")
        if raw_limit in (None, ""):
            limit = cap
        else:
            try:
                limit = int(raw_limit)
            except ValueError:
                return bad_request('"limit" must be a number')
            if limit < 1:
                return bad_request('"limit" must be greater than or equal to 1')
            limit = min(limit, cap)
        cursor = {}
        if request.param("cursor"):
            cursor = _decode_cursor(request.param("cursor"))
            if cursor is None:
                return bad_request("Invalid cursor")
        author = request.param("author") or None
        searches = tuple(v for v in request.params.get("search", []) if v)
        # Repeated `filter=` values and comma-separated ones are ANDed, as on the Hub.
        tags = tuple(sorted({t.strip() for v in request.params.get("filter", []) for t in v.split(",") if t.strip()}))
        sort = request.param("sort") or None
        if sort is not None and sort not in SORT_KEYS:
            return bad_request(f'"sort" must be one of [{", ".join(SORT_KEYS)}]')
        if expand:
            keys = ("_id", "id", *(k for k in expand if k not in ("_id", "id")))
        else:
            keys = LIST_KEYS + (FULL_EXTRA_KEYS if _truthy(request.param("full")) else ())
            if _truthy(request.param("cardData")):
                keys += ("cardData",)
        authed = request.authed

        with self.world.lock:
            if sort is None:
                after = cursor.get("seq") if cursor else None
                if cursor and not isinstance(after, int):
                    return bad_request("Invalid cursor")
                models, more = self.world.page(author, authed=authed, after=after, limit=limit,
                                               where=listing_filter(searches, tags))
                next_cursor = {"seq": models[-1].seq} if more and models else None
            else:
                # The Hub sorts descending unless direction=1 (huggingface_hub: "-1 sorts by
                # descending order"); ties break on creation order so pages never overlap.
                sign = 1 if request.param("direction") == "1" else -1
                keys_sorted, models_sorted = self._sorted(author, sort, sign, authed, searches, tags)
                start = 0
                if cursor:
                    key = cursor.get("key")
                    if not (isinstance(key, list) and len(key) == 2 and all(isinstance(v, (int, float)) for v in key)):
                        return bad_request("Invalid cursor")
                    start = bisect_right(keys_sorted, tuple(key))
                models = models_sorted[start : start + limit]
                more = start + limit < len(models_sorted)
                next_cursor = {"key": list(keys_sorted[start + len(models) - 1])} if more and models else None
            rows = [model_object(m, m.head, keys) for m in models]

        headers = {}
        if next_cursor is not None:
            headers["Link"] = f'<{_next_link(request, _encode_cursor(next_cursor))}>; rel="next"'
        return json_response(200, rows, headers)

    def model_info(self, request: Request, owner: str, name: str, rev: str | None = None,
                   rest: str | None = None) -> Response:
        expand = _expand(request)
        if isinstance(expand, Response):
            return expand
        with self.world.lock:
            model_id = f"{unquote(owner)}/{unquote(name)}"
            model = self.world.lookup(model_id, authed=request.authed)
            if model is None:
                moved = self.world.redirect_for(model_id)
                if moved is not None:
                    return moved_repo(request, f"/api/models/{moved}{rest or ''}")
                return repo_not_found(request)
            revision = unquote(rev) if rev else "main"
            commit = model.commit_at(revision)
            if commit is None:
                return revision_not_found(request, revision)
            keys = ("_id", "id", *(k for k in expand if k not in ("_id", "id"))) if expand else INFO_KEYS
            info = model_object(model, commit, keys, blobs=_truthy(request.param("blobs")))
        return json_response(200, info)

    def resolve(self, request: Request, owner: str, name: str, rev: str, path: str) -> Response:
        model_id = f"{unquote(owner)}/{unquote(name)}"
        revision, filename = unquote(rev), unquote(path)
        with self.world.lock:
            model = self.world.lookup(model_id, authed=request.authed)
            if model is None:
                moved = self.world.redirect_for(model_id)
                if moved is not None:
                    return moved_repo(request, f"/{moved}/resolve/{rev}/{path}")
                return repo_not_found(request)
            commit = model.commit_at(revision)
            if commit is None:
                return revision_not_found(request, revision)
            if model.gated and filename not in UNGATED_FILES:
                # The emulator treats every token as one that has not been granted access.
                return gated_repo(request, model_id)
            content = commit.files.get(filename)
            if content is None:
                return entry_not_found(request)
            sha = commit.sha
        basename = filename.rsplit("/", 1)[-1]
        headers = {
            "Content-Type": _content_type(filename),
            # Non-LFS files: the ETag is the git blob id, quoted (huggingface_hub file_download
            # reads `X-Linked-Etag` or `ETag` and `X-Repo-Commit`).
            "ETag": f'"{world_mod.git_blob_sha1(content)}"',
            "X-Repo-Commit": sha,
            "Accept-Ranges": "bytes",
            "Content-Disposition": f"inline; filename*=UTF-8''{quote(basename)}; filename=\"{basename}\";",
        }
        return Response(200, headers, content)


def _content_type(filename: str) -> str:
    if filename.endswith(".json"):
        return "application/json; charset=utf-8"
    guessed, _ = mimetypes.guess_type(filename)
    if guessed is None or guessed.startswith("text/") or filename.endswith((".md", ".txt")):
        return "text/plain; charset=utf-8"
    return guessed
