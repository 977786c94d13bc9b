"""ModelScope (modelscope.cn), where Chinese labs publish, often before Hugging Face.

Endpoints and shapes are those the ModelScope SDK reads (modelscope/hub/api.py `HubApi`,
modelscope/hub/errors.py, modelscope/hub/info.py `ModelInfo`; the same calls survive in
modelscope_hub's legacy client):

- `GET /api/v1/models/{owner}/{name}[?Revision=master]` (`get_model`, `repo_exists`): the
  model's detail in `Data`;
- `PUT /api/v1/models/` with the JSON body `{"Path": owner, "PageNumber": n, "PageSize": m}`
  (`list_models`): `Data = {"Models": [...], "TotalCount": N}`, pages from 1; at most 100 a
  page here, fewer with `Fault.capped_pages(r"^/modelscope/api/v1/models/?$", 50)` (the
  SDK's own cap on its OpenAPI pages), `TotalCount` still the whole owner's;
- `GET /api/v1/models/{owner}/{name}/repo/files?Revision=&Recursive=` (`get_model_files`):
  `Data = {"Files": [{"Name", "Path", "Type": "blob", "Size", "Sha256", "Revision", ...}]}`;
- `GET /api/v1/models/{owner}/{name}/repo?Revision=master&FilePath=LICENSE`: the raw file.

Every JSON answer is the envelope `{"Code", "Data", "Message", "RequestId", "Success"}`;
`is_ok()` checks `Code == 200 and Success`, so success is in the body, not only in the
status (`Fault.modelscope_error` answers HTTP 200 with `Success: false`). Fields are
PascalCase as `ModelInfo.__init__` pops them: `Id`, `Name`, `Path` (the owner),
`ChineseName`, `Description`, `License` (a display name such as "Apache License 2.0"),
`Downloads`, `Stars`, `CreatedTime` and `LastUpdatedTime` (Unix seconds), `Tasks`, `Tags`,
`Architectures`, `ModelType`, `Organization`, `Visibility` (5 public, 1 private),
`RelatedArxivId`, `ReadMeContent` (detail only), ...

A missing, deleted or (without credentials) private model answers HTTP 404 with
`Success: false` (`repo_exists` reads the status: 200 exists, 404 does not) and the message
"模型不存在" ("model does not exist", a server message modelscope_hub translates). The
error `Code` below is the emulator's: no recorded answer for a missing model was found.
`ModelScopeWorld.missing_status = 200` answers the same envelope under HTTP 200 instead
(`get_model` raises `NotExistError` on either).

Mirrors of Hugging Face models (`ModelScopeWorld.add_mirror`): no field of the model answer
says a model is a copy of a Hugging Face repo (the SDK's `ModelInfo` reads none, and its
`create_model` sends none). What real mirrors share with their original is the id (labs
publish under the same owner and name on both hubs: `Qwen/Qwen2.5-7B-Instruct`,
`deepseek-ai/DeepSeek-R1`) or, for ModelScope's own mirror org `AI-ModelScope`
(`AI-ModelScope/FLUX.1-dev` from `black-forest-labs/FLUX.1-dev`, `AI-ModelScope/gemma-2b-it`),
the name; and the model card: `ReadMeContent` is the Hugging Face README.md, YAML header and
all. The `License` is ModelScope's own field, a display name (hub/constants.py `Licenses`:
"Apache License 2.0", "MIT", "GPL-3.0", ...), set by the uploader, so it can disagree with the
Hugging Face card's `license` (users report such inconsistencies).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import threading
import uuid
from datetime import datetime

from .routing import Request, Response, Service, json_response
from .times import utcnow

MISSING_CODE = 10010205001  # unverified: see the module docstring
MAX_PAGE_SIZE = 100
# Hugging Face licence ids -> ModelScope display names (modelscope/hub/constants.py
# `Licenses`); any other id is shown as the Hub spells it.
HF_LICENSE_NAMES = {"apache-2.0": "Apache License 2.0", "mit": "MIT", "gpl-2.0": "GPL-2.0", "gpl-3.0": "GPL-3.0",
                    "lgpl-2.1": "LGPL-2.1", "lgpl-3.0": "LGPL-3.0", "afl-3.0": "AFL-3.0", "ecl-2.0": "ECL-2.0"}


class MsModel:
    """One ModelScope model; change it through `ModelScopeWorld`."""

    def __init__(self, id, owner, name, created_at):
        self.id = id
        self.owner = owner
        self.name = name
        self.created_at = created_at
        self.updated_at = created_at
        self.license = "Apache License 2.0"
        self.chinese_name = ""
        self.description = ""
        self.tasks: list[str] = []
        self.tags: list[str] = []
        self.downloads = 0
        self.stars = 0
        self.private = False
        self.deleted = False
        self.arxiv: list[str] = []
        self.architectures: list[str] = []
        self.model_type: list[str] = []
        self.files: dict[str, bytes] = {}
        self.revision_sha = ""
        self.mirror_of: str | None = None  # the Hugging Face id it copies (not served: see the docstring)

    @property
    def model_id(self) -> str:
        return f"{self.owner}/{self.name}"

    def __repr__(self) -> str:
        return f"<MsModel {self.model_id} {self.license!r}>"


class ModelScopeWorld:
    """In-memory ModelScope; thread-safe (`self.lock`)."""

    def __init__(self, clock=None, *, missing_status: int = 404):
        self.clock = clock or utcnow
        self.lock = threading.RLock()
        self.missing_status = missing_status
        self._models: dict[str, MsModel] = {}
        self._ids = itertools.count(400_000)
        self.version = 0

    def add_model(self, model_id: str, *, license: str | None = "Apache License 2.0", chinese_name: str = "",
                  description: str = "", tasks=("text-generation",), tags=(), downloads: int = 0, stars: int = 0,
                  created_at=None, private: bool = False, arxiv=(), architectures=("Qwen2ForCausalLM",),
                  model_type=("qwen2",), readme: str | None = None, files=None) -> MsModel:
        """Create `owner/name` with a README.md (and `files`: name -> text or bytes)."""
        owner, name = _split(model_id)
        with self.lock:
            existing = self._models.get(model_id)
            if existing is not None and not existing.deleted:
                raise ValueError(f"model already exists: {model_id}")
            model = MsModel(next(self._ids), owner, name, created_at or self.clock())
            model.license = license
            model.chinese_name = chinese_name
            model.description = description
            model.tasks, model.tags = list(tasks), list(tags)
            model.downloads, model.stars = int(downloads), int(stars)
            model.private = private
            model.arxiv = list(arxiv)
            model.architectures, model.model_type = list(architectures), list(model_type)
            model.files = {"README.md": (readme if readme is not None else f"# {name}\n").encode("utf-8"),
                           "configuration.json": b'{"framework": "pytorch", "task": "text-generation"}\n'}
            for file_name, content in (files or {}).items():
                model.files[file_name] = content if isinstance(content, bytes) else str(content).encode("utf-8")
            self._commit(model)
            model.updated_at = max(model.created_at, model.updated_at) if created_at is None else model.created_at
            self._models[model_id] = model
            self.version += 1
            return model

    def add_mirror(self, hf_model, model_id: str | None = None, *, license: str | None = None, created_at=None,
                   downloads: int = 0, stars: int = 0, chinese_name: str = "", private: bool = False) -> MsModel:
        """A copy of a Hugging Face repo (`hf_model`, a `world.Model`) on ModelScope: the same
        files, the README.md verbatim as `ReadMeContent`, `Tasks` from its pipeline tag,
        `Architectures` / `ModelType` from its config.json, its `arxiv:` papers.

        `model_id` defaults to the same owner and name (how labs publish on both hubs);
        `AI-ModelScope/<name>` is ModelScope's own mirror org. `license` defaults to the Hugging
        Face licence's ModelScope display name (`HF_LICENSE_NAMES`); pass another to make the
        two hubs disagree. `created_at` defaults to now (a mirror comes after its original).
        """
        files = dict(hf_model.files)
        readme = files.pop("README.md", b"").decode("utf-8", "replace")
        try:
            config = json.loads(files.get("config.json", b"{}"))
        except ValueError:
            config = {}
        config = config if isinstance(config, dict) else {}
        if license is None:
            license = HF_LICENSE_NAMES.get(hf_model.license or "", hf_model.license_name or hf_model.license)
        pipeline = hf_model.pipeline_tag
        card_tags = hf_model.card.get("tags") or []
        model = self.add_model(model_id or hf_model.id, license=license, chinese_name=chinese_name,
                               description=f"{hf_model.name}", tasks=(pipeline,) if pipeline else (),
                               tags=[str(t) for t in (card_tags if isinstance(card_tags, list) else [card_tags])],
                               downloads=downloads, stars=stars, created_at=created_at, private=private,
                               arxiv=hf_model.arxiv, architectures=config.get("architectures") or (),
                               model_type=[config["model_type"]] if config.get("model_type") else (),
                               readme=readme, files=files)
        model.mirror_of = hf_model.id
        return model

    def relicense(self, model_id: str, license: str | None, *, license_text: str | None = None) -> None:
        """The model card's licence changes (and the LICENSE file, with `license_text`)."""
        with self.lock:
            model = self._live(model_id)
            model.license = license
            if license_text is not None:
                model.files["LICENSE"] = license_text.encode("utf-8")
            self._commit(model)

    def commit(self, model_id: str, files) -> None:
        """Add, replace (text or bytes) or delete (None) files: a new revision."""
        with self.lock:
            model = self._live(model_id)
            for name, content in files.items():
                if content is None:
                    model.files.pop(name, None)
                else:
                    model.files[name] = content if isinstance(content, bytes) else str(content).encode("utf-8")
            self._commit(model)

    def set_stats(self, model_id: str, *, downloads: int | None = None, stars: int | None = None) -> None:
        with self.lock:
            model = self._live(model_id)
            if downloads is not None:
                model.downloads = int(downloads)
            if stars is not None:
                model.stars = int(stars)
            self.version += 1

    def set_private(self, model_id: str, private: bool) -> None:
        with self.lock:
            self._live(model_id).private = private
            self.version += 1

    def delete(self, model_id: str) -> None:
        with self.lock:
            self._live(model_id).deleted = True
            self.version += 1

    def restore(self, model_id: str) -> None:
        with self.lock:
            self._models[model_id].deleted = False
            self.version += 1

    def get(self, model_id: str) -> MsModel:
        with self.lock:
            return self._models[model_id]

    def model_ids(self, owner: str | None = None) -> list[str]:
        with self.lock:
            return [m.model_id for m in self._models.values()
                    if not m.deleted and (owner is None or m.owner == owner)]

    def populate(self, n: int, owner: str, *, seed: int = 0) -> list[str]:
        """`n` models under `owner`, licences cycling through common display names."""
        licenses = ("Apache License 2.0", "MIT", "Apache License 2.0", "Other", "cc-by-nc-4.0")
        ids = []
        with self.lock:
            for i in range(1, n + 1):
                model_id = f"{owner}/Synthetic-{seed}-{i:05d}"
                if model_id in self._models:
                    continue
                self.add_model(model_id, license=licenses[i % len(licenses)], downloads=i * 13, stars=i % 50)
                ids.append(model_id)
        return ids

    # -- internals --------------------------------------------------------------------------

    def _commit(self, model: MsModel) -> None:
        model.updated_at = self.clock()
        digest = hashlib.sha1(f"{model.model_id}\0{model.updated_at.timestamp()}\0{self.version}".encode())
        for name in sorted(model.files):
            digest.update(name.encode() + b"\0" + model.files[name])
        model.revision_sha = digest.hexdigest()
        self.version += 1

    def _live(self, model_id: str) -> MsModel:
        model = self._models.get(model_id)
        if model is None or model.deleted:
            raise KeyError(model_id)
        return model

    def lookup(self, model_id: str, *, authed: bool) -> MsModel | None:
        """The model as a client sees it: None when missing, deleted, or private without
        credentials."""
        with self.lock:
            model = self._models.get(model_id)
            if model is None or model.deleted or (model.private and not authed):
                return None
            return model

    def visible(self, owner: str | None, *, authed: bool) -> list[MsModel]:
        """An owner's models a client sees (every owner's for None), newest update first."""
        with self.lock:
            models = [m for m in self._models.values()
                      if (owner is None or m.owner == owner) and self.lookup(m.model_id, authed=authed)]
            return sorted(models, key=lambda m: (m.updated_at, m.id), reverse=True)


def _split(model_id: str) -> tuple[str, str]:
    owner, sep, name = model_id.partition("/")
    if not sep or not owner or not name or "/" in name:
        raise ValueError(f"model ids are owner/name: {model_id!r}")
    return owner, name


def _unix(dt: datetime) -> int:
    return int(dt.timestamp())


def _organization(owner: str) -> dict:
    org_id = int(hashlib.sha1(owner.encode()).hexdigest()[:6], 16)
    return {"Id": org_id, "Name": owner, "FullName": owner, "Description": "", "Avatar":
            f"https://resouces.modelscope.cn/avatar/{owner}.png", "GithubAddress": "", "Type": 1, "Email": "",
            "GmtCreated": "2023-01-01T00:00:00Z", "GmtModified": "2025-01-01T00:00:00Z"}


def model_object(model: MsModel, *, detail: bool) -> dict:
    out = {
        "Id": model.id,
        "Name": model.name,
        "Path": model.owner,
        "ChineseName": model.chinese_name,
        "Description": model.description,
        "License": model.license,
        "Downloads": model.downloads,
        "Stars": model.stars,
        "CreatedTime": _unix(model.created_at),
        "LastUpdatedTime": _unix(model.updated_at),
        "CreatedBy": model.owner,
        "Visibility": 1 if model.private else 5,
        "IsPublished": 1,
        "IsOnline": 1,
        "AlreadyStar": False,
        "Tasks": [{"Name": task, "ChineseName": task} for task in model.tasks],
        "Tags": list(model.tags),
        "Architectures": list(model.architectures),
        "ModelType": list(model.model_type),
        "Organization": _organization(model.owner),
        "IsCertification": 0,
        "ApprovalMode": 1,
        "CardReady": 1,
        "BackendSupport": "{}",
        "ModelInfos": {},
        "IsAccessible": 1,
        "Revision": "master",
        "RelatedArxivId": list(model.arxiv),
        "RelatedPaper": [],
    }
    if detail:
        out["ReadMeContent"] = model.files.get("README.md", b"").decode("utf-8", "replace")
    return out


def envelope(data, *, code: int = 200, message: str = "success", success: bool = True) -> dict:
    return {"Code": code, "Data": data, "Message": message, "RequestId": str(uuid.uuid4()), "Success": success}


def _json(status: int, body: dict) -> Response:
    response = json_response(status, body)
    response.headers["Content-Type"] = "application/json;charset=UTF-8"
    response.headers["X-Request-Id"] = body["RequestId"]
    return response


class ModelScopeService(Service):
    """modelscope.cn's `/api/v1/models` over a `ModelScopeWorld`, mounted at `/modelscope`."""

    name = "modelscope"
    prefix = "/modelscope"

    def __init__(self, world: ModelScopeWorld):
        super().__init__()
        self.world = world
        base = r"^/api/v1/models/(?P<owner>[^/]+)/(?P<name>[^/]+)"
        self.router.add(("PUT",), r"^/api/v1/models/?$", self.list_models)
        self.router.add(("GET", "HEAD"), base + r"/repo/files/?$", self.files)
        self.router.add(("GET", "HEAD"), base + r"/repo/?$", self.file)
        self.router.add(("GET", "HEAD"), base + r"/?$", self.detail)

    def not_found(self, request: Request) -> Response:
        return _json(404, envelope(None, code=404, message="Not Found", success=False))

    def error_response(self, status: int, request: Request) -> Response:
        return _json(status, envelope(None, code=status, message="系统繁忙，请稍后再试", success=False))

    def _missing(self) -> Response:
        return _json(self.world.missing_status, envelope(None, code=MISSING_CODE, message="模型不存在", success=False))

    def _authed(self, request: Request) -> bool:
        return request.token is not None or "m_session_id=" in (request.header("Cookie") or "")

    def detail(self, request: Request, owner: str, name: str) -> Response:
        with self.world.lock:
            model = self.world.lookup(f"{owner}/{name}", authed=self._authed(request))
            if model is None:
                return self._missing()
            return _json(200, envelope(model_object(model, detail=True)))

    def list_models(self, request: Request) -> Response:
        body = request.json()
        if not isinstance(body, dict):
            return _json(400, envelope(None, code=400, message="请求参数错误", success=False))
        owner = body.get("Path")
        try:
            page = max(int(body.get("PageNumber") or 1), 1)
            size = request.capped(min(max(int(body.get("PageSize") or 10), 1), MAX_PAGE_SIZE))
        except (TypeError, ValueError):
            return _json(400, envelope(None, code=400, message="请求参数错误", success=False))
        authed = self._authed(request)
        with self.world.lock:
            models = self.world.visible(owner, authed=authed)
            if request.empty:
                return _json(200, envelope({"Models": [], "TotalCount": 0}))
            chosen = models[(page - 1) * size: page * size]
            return _json(200, envelope({"Models": [model_object(m, detail=False) for m in chosen],
                                        "TotalCount": len(models)}))

    def files(self, request: Request, owner: str, name: str) -> Response:
        with self.world.lock:
            model = self.world.lookup(f"{owner}/{name}", authed=self._authed(request))
            if model is None:
                return self._missing()
            stamp = _unix(model.updated_at)
            files = [{"CommitMessage": "upload", "CommittedDate": stamp, "CommitterName": model.owner,
                      "IsLFS": False, "Mode": "33188", "Name": file_name.rsplit("/", 1)[-1], "Path": file_name,
                      "Revision": model.revision_sha, "Sha256": hashlib.sha256(content).hexdigest(),
                      "Size": len(content), "Type": "blob", "Id": hashlib.sha1(content).hexdigest()}
                     for file_name, content in sorted(model.files.items())]
            return _json(200, envelope({"Files": files, "LatestCommitter": {"Name": model.owner}}))

    def file(self, request: Request, owner: str, name: str) -> Response:
        path = request.param("FilePath")
        with self.world.lock:
            model = self.world.lookup(f"{owner}/{name}", authed=self._authed(request))
            if model is None:
                return self._missing()
            content = model.files.get(path or "")
            if content is None:
                return _json(404, envelope(None, code=10010205002, message="文件不存在", success=False))
        return Response(200, {"Content-Type": "application/octet-stream"}, content)
