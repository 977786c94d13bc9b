"""The emulated Hugging Face world: models, their commits and settings, in memory.

Tests and scripts mutate it while the HTTP server (crawler/emulator/server.py) reads it from
other threads, so every method takes `self.lock`; the server takes the same lock to read a
consistent snapshot. A commit never mutates an older commit: each one holds its own file map
and card, so old revisions stay resolvable and readers never see a half-applied commit.

Hub facts mirrored here (sources in the comments where they are used):
- the card (README.md YAML header) is `cardData`; licence, base model, datasets, pipeline and
  library live there, and tags are derived from it;
- gating and visibility are repo settings, not commits: they change neither `sha` nor
  `lastModified`;
- every commit gets a new 40-hex sha and `lastModified` = the commit's date, to the second
  (`….000Z`, as in every recorded answer): two commits within one second share it;
- a renamed repo (`rename`) keeps its `_id`, sha, files and dates; the old id answers a 307
  to the new one (hf_api.py) until a new repo takes the old name;
- a card's `base_model` (an id or a list) makes the repo a child of each base, with the
  card's `base_model_relation` or the one the Hub infers (`infer_relation`); the Hub derives
  the tags `base_model:<id>` and `base_model:<relation>:<id>`, the child's `baseModels` and
  the base's `childrenModelCount` from it (hf_api.py);
- a repo created private keeps its `createdAt` when it turns public (`set_private(False)`):
  `createdAt` is the creation, not the first public day;
- some answers leave fields out (`hide_fields`): an `expand` variant without `gated`, old
  repos without `cardData`; a client must read "absent" as unknown.

Daily papers (`add_daily_paper`) live here too: they are Hugging Face's (`/api/daily_papers`).

World API (`HubWorld`, also `emu.world` / `emu.hf`):
- models: `add_model(model_id, *, license, license_name, license_link, gated, private, files,
  pipeline_tag, library_name, tags, downloads, downloads_all_time, likes, created_at,
  base_model, base_model_relation, datasets, arxiv, parameters, card_extra)`,
  `commit(model_id, files, delete, card, message)`,
  `relicense(model_id, license, *, license_name, license_link, license_text)`,
  `set_gated`, `set_private`, `set_stats(downloads, downloads_all_time, likes, trending_score)`,
  `add_downloads(model_id, n, day)` (grows `downloadsAllTime` and rolls the 30-day
  `downloads`), `children_counts` (`childrenModelCount`), `delete`,
  `restore`, `rename(old_id, new_id)`, `hide_fields(model_id, *names)`, `show_fields`,
  `populate(n, author, seed)`;
- daily papers: `add_daily_paper(arxiv_id, *, title, summary, authors, upvotes, date,
  published_at, submitted_by, organization, github_repo, project_page, ai_summary,
  ai_keywords, num_comments)`, `set_paper_upvotes`, `remove_daily_paper`;
- reading: `get`, `model_ids`, `authors`, `lookup`, `redirect_for`, `daily_papers`,
  `daily_paper`, `models_citing`.
Legacy creation dates: pass `created_at=SENTINEL_CREATED_AT` or `SENTINEL_CREATED_AT_05`
(times.py); synthetic worlds use both.
"""

from __future__ import annotations

import hashlib
import itertools
import threading
from bisect import bisect_right
from datetime import datetime, timedelta
from operator import attrgetter

from . import cards, synthetic
from .hf_papers import DailyPaper
from .times import SENTINEL_CREATED_AT, iso, to_second, utcnow  # noqa: F401  (re-exported)

GATED_VALUES = (False, "auto", "manual")
README = "README.md"


def git_blob_sha1(data: bytes) -> str:
    """Git's object id for a blob; the Hub's `ETag` and `blobId` for non-LFS files."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def _as_bytes(content) -> bytes:
    return content if isinstance(content, bytes) else str(content).encode("utf-8")


class Commit:
    """One revision of a repo: its files (README.md rendered from `card` + `body`)."""

    __slots__ = ("sha", "date", "files", "card", "body", "message")

    def __init__(self, sha, date, files, card, body, message):
        self.sha: str = sha
        self.date: datetime = date
        self.files: dict[str, bytes] = files
        self.card: dict = card
        self.body: str = body
        self.message: str = message

    @property
    def has_readme(self) -> bool:
        return README in self.files


class Model:
    """A model repo. Read its attributes freely; change it only through `HubWorld`."""

    __slots__ = ("id", "author", "name", "seq", "object_id", "created_at", "private", "gated", "disabled", "deleted",
                 "downloads", "downloads_all_time", "daily_downloads", "likes", "trending_score", "parameters",
                 "arxiv", "commits", "version", "hidden", "tags_cache", "world")

    def __init__(self, model_id: str, seq: int, created_at: datetime):
        self.id = model_id
        self.author, self.name = model_id.split("/", 1)
        self.seq = seq
        # Shaped like a MongoDB ObjectId, as the Hub's `_id`; sorts in creation order.
        self.object_id = f"64d2a000{seq:016x}"
        self.created_at = created_at
        self.private = False
        self.gated: bool | str = False
        self.disabled = False
        self.deleted = False
        self.downloads = 0  # the Hub's `downloads`: the last 30 days
        self.downloads_all_time = 0  # `downloadsAllTime`: cumulative since creation
        # date -> downloads that day, kept by `HubWorld.add_downloads` to roll the 30-day window.
        self.daily_downloads: dict = {}
        self.likes = 0
        self.trending_score = 0
        self.parameters: int | dict | None = None
        self.arxiv: tuple[str, ...] = ()
        self.commits: list[Commit] = []
        # Bumped on every change; lets readers cache what they derive from the model.
        self.version = 0
        # Fields the Hub leaves out of this repo's answers (see `HubWorld.hide_fields`).
        self.hidden: frozenset[str] = frozenset()
        self.tags_cache: tuple | None = None  # (version, sha, tags), kept by hf_api.derive_tags
        self.world: HubWorld | None = None  # the world holding it (for answers about other repos)

    @property
    def head(self) -> Commit:
        return self.commits[-1]

    @property
    def sha(self) -> str:
        return self.head.sha

    @property
    def last_modified(self) -> datetime:
        return self.head.date

    @property
    def card(self) -> dict:
        return dict(self.head.card)

    @property
    def files(self) -> dict[str, bytes]:
        return dict(self.head.files)

    @property
    def license(self) -> str | None:
        return self.head.card.get("license")

    @property
    def license_name(self) -> str | None:
        return self.head.card.get("license_name")

    @property
    def license_link(self) -> str | None:
        return self.head.card.get("license_link")

    @property
    def pipeline_tag(self) -> str | None:
        return self.head.card.get("pipeline_tag")

    @property
    def base_models(self) -> list[str]:
        """The card's `base_model` as a list (the Hub takes a string or a list)."""
        return _listify(self.head.card.get("base_model")) if self.head.has_readme else []

    @property
    def base_model_relation(self) -> str | None:
        """The relation to the base model(s): the card's `base_model_relation` when it gives one
        of the four, else the Hub's inference (`infer_relation`); None without a base model."""
        if not self.base_models:
            return None
        return infer_relation(self.head)

    @property
    def library_name(self) -> str | None:
        return self.head.card.get("library_name")

    def file_text(self, name: str) -> str:
        return self.head.files[name].decode("utf-8")

    def commit_at(self, revision: str) -> Commit | None:
        """The commit a revision names: `main` or a full 40-hex sha of this repo."""
        if revision == "main":
            return self.head
        for commit in reversed(self.commits):
            if commit.sha == revision:
                return commit
        return None

    def visible(self, authed: bool) -> bool:
        """Seen by a client; any bearer token counts as the owner's (emulator simplification)."""
        return not self.deleted and (authed or not self.private)

    def __repr__(self) -> str:
        flags = [f for f in ("private", "deleted") if getattr(self, f)]
        if self.gated:
            flags.append(f"gated={self.gated}")
        return f"<Model {self.id} {self.sha[:7]} {' '.join(flags)}>".replace(" >", ">")


def _build_card(
    license, license_name, license_link, base_model, datasets, pipeline_tag, library_name, tags, card_extra
):
    card: dict = {}
    if license is not None:
        card["license"] = license
    if license_name is not None:
        card["license_name"] = license_name
    if license_link is not None:
        card["license_link"] = license_link
    if base_model:
        card["base_model"] = base_model if isinstance(base_model, str) else list(base_model)
    if datasets:
        card["datasets"] = list(datasets)
    if pipeline_tag is not None:
        card["pipeline_tag"] = pipeline_tag
    if library_name is not None:
        card["library_name"] = library_name
    if tags:
        card["tags"] = list(tags)
    if card_extra:
        card.update(card_extra)
    return card


def _default_body(model_id: str, pipeline_tag: str | None, arxiv) -> str:
    name = model_id.split("/", 1)[1]
    lines = [f"# {name}", "", f"{name} is a {pipeline_tag or 'machine learning'} model."]
    if arxiv:
        lines += ["", "Paper(s): " + ", ".join(f"https://arxiv.org/abs/{a}" for a in arxiv)]
    return "\n".join(lines) + "\n"


def _default_config(author: str, library_name: str | None) -> bytes:
    if library_name != "transformers":
        return b'{\n  "model_type": "custom"\n}\n'
    return synthetic.config_json(synthetic.MODEL_TYPES_BY_AUTHOR.get(author, "llama"))


class HubWorld:
    """In-memory Hugging Face: add and change models; the emulator serves what is here now."""

    def __init__(self, clock=None):
        self.clock = clock or utcnow
        self.lock = threading.RLock()
        self._models: dict[str, Model] = {}
        self._all: list[Model] = []
        self._by_author: dict[str, list[Model]] = {}
        self._seq = itertools.count(1)
        self._commit_counter = itertools.count(1)
        self._redirects: dict[str, str] = {}  # old id -> current id, after `rename`
        self._papers: dict[str, DailyPaper] = {}  # arXiv id -> daily paper
        self._children_index: tuple[int, dict] | None = None  # (version, base id -> relation counts)
        # Bumped on every change anywhere; readers key caches of derived views on it.
        self.version = 0

    # -- creating and changing models -------------------------------------------------------

    def add_model(
        self,
        model_id: str,
        *,
        license="apache-2.0",
        license_name=None,
        license_link=None,
        gated=False,
        private=False,
        files=None,
        pipeline_tag="text-generation",
        library_name="transformers",
        tags=(),
        downloads=0,
        downloads_all_time=None,
        likes=0,
        created_at=None,
        base_model=None,
        base_model_relation=None,
        datasets=(),
        arxiv=(),
        parameters=None,
        card_extra=None,
    ) -> str:
        """Create a repo with one commit; returns its sha.

        `files` (name -> text or bytes) is added to the default README.md and config.json; a
        None value leaves that default out (`{"README.md": None}` makes a repo without a card).
        A README.md given here keeps its body; its YAML header, if any, is merged over the
        card built from the keyword arguments. No LICENSE file is invented.

        `base_model` (an id or a list of ids) and `base_model_relation` (`adapter`, `merge`,
        `quantized`, `finetune`) go into the card, as on the Hub; without a relation the Hub
        infers one (`infer_relation`). `downloads` is the 30-day count, `downloads_all_time`
        the cumulative one (default: `downloads`, a repo whose downloads all fell in the last
        30 days). `parameters` is the safetensors total, or a dict dtype -> count (an FP8
        repo's `{"F8_E4M3": ..., "BF16": ...}`). `private=True` creates the repo private:
        `createdAt` is this creation, whenever `set_private(False)` makes it public.
        """
        _check_relation(base_model_relation)
        _check_id(model_id)
        _check_gated(gated)
        with self.lock:
            existing = self._models.get(model_id)
            if existing is not None and not existing.deleted:
                raise ValueError(f"model already exists: {model_id}")
            now = self.clock()
            card = _build_card(
                license, license_name, license_link, base_model, datasets, pipeline_tag, library_name, tags, card_extra
            )
            if base_model_relation is not None:
                card["base_model_relation"] = base_model_relation
            body = _default_body(model_id, pipeline_tag, arxiv)
            config = _default_config(model_id.split("/", 1)[0], library_name)
            base_files: dict[str, bytes | None] = {README: None, "config.json": config}
            readme_wanted = True
            for name, content in (files or {}).items():
                if name == README:
                    if content is None:
                        readme_wanted = False
                        continue
                    front, text = cards.split_readme(_as_bytes(content).decode("utf-8"))
                    if front is not None:
                        card.update(front)
                    body = text
                elif content is None:
                    base_files.pop(name, None)
                else:
                    base_files[name] = _as_bytes(content)
            base_files.pop(README)
            if readme_wanted:
                base_files = {README: cards.render_readme(card, body).encode("utf-8"), **base_files}
            model = self._new_model(model_id, created_at or now)
            model.private = bool(private)
            model.gated = gated
            model.downloads = int(downloads)
            model.downloads_all_time = int(downloads if downloads_all_time is None else downloads_all_time)
            model.likes = int(likes)
            model.parameters = parameters
            model.arxiv = tuple(arxiv)
            model.commits.append(self._make_commit(model, now, base_files, card, body, "initial commit"))
            return model.sha

    def commit(self, model_id: str, files=None, delete=(), card=None, message="") -> str:
        """Make one commit; returns the new sha.

        `files` adds or replaces files (None value deletes); a README.md with a YAML header
        replaces the card, without one it replaces the body. `card` then sets card keys
        (None removes a key). README.md is re-rendered from the resulting card and body.
        """
        with self.lock:
            model = self._live(model_id)
            head = model.head
            new_files = dict(head.files)
            new_card = dict(head.card)
            body = head.body
            has_readme = head.has_readme
            for name, content in (files or {}).items():
                if name == README:
                    if content is None:
                        has_readme = False
                        continue
                    front, text = cards.split_readme(_as_bytes(content).decode("utf-8"))
                    if front is not None:
                        new_card = front
                    body = text
                    has_readme = True
                elif content is None:
                    new_files.pop(name, None)
                else:
                    new_files[name] = _as_bytes(content)
            for name in delete:
                if name == README:
                    has_readme = False
                new_files.pop(name, None)
            for key, value in (card or {}).items():
                if value is None:
                    new_card.pop(key, None)
                else:
                    new_card[key] = value
            new_files.pop(README, None)
            if has_readme:
                new_files = {README: cards.render_readme(new_card, body).encode("utf-8"), **new_files}
            commit = self._make_commit(model, self.clock(), new_files, new_card, body, message or "Update")
            model.commits.append(commit)
            self._touch(model)
            return commit.sha

    def relicense(self, model_id: str, license, *, license_name=None, license_link=None, license_text=None) -> str:
        """One commit changing the card's licence keys and, with `license_text`, the LICENSE file."""
        files = {"LICENSE": license_text} if license_text is not None else None
        card = {"license": license, "license_name": license_name, "license_link": license_link}
        return self.commit(model_id, files=files, card=card, message="Update license")

    def set_gated(self, model_id: str, gated) -> None:
        """A repo setting (not a commit): sha and lastModified do not change."""
        _check_gated(gated)
        with self.lock:
            model = self._live(model_id)
            model.gated = gated
            self._touch(model)

    def set_private(self, model_id: str, private: bool) -> None:
        with self.lock:
            model = self._live(model_id)
            model.private = bool(private)
            self._touch(model)

    def set_stats(self, model_id: str, *, downloads=None, downloads_all_time=None, likes=None,
                  trending_score=None) -> None:
        """Counters the Hub updates without a commit: `downloads` (30 days),
        `downloads_all_time` (cumulative), `likes`, `trending_score`. Each is set as given;
        `add_downloads` grows both download counters together."""
        with self.lock:
            model = self._live(model_id)
            if downloads is not None:
                model.downloads = int(downloads)
            if downloads_all_time is not None:
                model.downloads_all_time = int(downloads_all_time)
            if likes is not None:
                model.likes = int(likes)
            if trending_score is not None:
                model.trending_score = int(trending_score)
            self._touch(model)

    def add_downloads(self, model_id: str, n: int, *, day=None) -> None:
        """`n` downloads on `day` (a date; default the clock's UTC day): `downloadsAllTime`
        grows by `n` and `downloads` becomes the sum of the 30 days ending that day, as the
        Hub's two counters relate (huggingface_hub `ModelInfo`: `downloads` over the last 30
        days, `downloads_all_time` "cumulated number of downloads of the model since its
        creation"). The 30-day count a repo had before its first `add_downloads` counts as
        the day before's and ages out with it; a scripted season calls this every day."""
        if n < 0:
            raise ValueError("downloads only grow")
        with self.lock:
            model = self._live(model_id)
            today = day or self.clock().date()
            if not model.daily_downloads and model.downloads:
                model.daily_downloads[today - timedelta(days=1)] = model.downloads
            model.daily_downloads[today] = model.daily_downloads.get(today, 0) + int(n)
            model.downloads_all_time += int(n)
            start = today - timedelta(days=29)
            for old in [d for d in model.daily_downloads if d < start - timedelta(days=1)]:
                del model.daily_downloads[old]
            model.downloads = sum(v for d, v in model.daily_downloads.items() if start <= d <= today)
            self._touch(model)

    def children_counts(self, model_id: str) -> dict[str, int]:
        """`childrenModelCount` of `model_id`: the public repos whose card names it as a base
        model, per relation; all four keys, zeros included (see hf_api.py for the shape)."""
        with self.lock:
            if self._children_index is None or self._children_index[0] != self.version:
                index: dict[str, dict[str, int]] = {}
                for model in self._all:
                    if not model.visible(False):
                        continue
                    bases = model.base_models
                    if not bases:
                        continue
                    relation = model.base_model_relation
                    for base in dict.fromkeys(bases):
                        counts = index.setdefault(base, dict.fromkeys(RELATIONS, 0))
                        counts[relation] += 1
                self._children_index = (self.version, index)
            return dict(self._children_index[1].get(model_id) or dict.fromkeys(RELATIONS, 0))

    def delete(self, model_id: str) -> None:
        with self.lock:
            model = self._live(model_id)
            model.deleted = True
            self._touch(model)

    def restore(self, model_id: str) -> None:
        """Undo `delete`: same `_id`, sha, files and settings as before."""
        with self.lock:
            model = self._models.get(model_id)
            if model is None:
                raise KeyError(model_id)
            model.deleted = False
            self._touch(model)

    def rename(self, old_id: str, new_id: str) -> None:
        """Move a repo to a new id (a new name, or a new owner): same `_id`, sha, files, dates.

        The listing shows the new id; `GET /api/models/<old id>` and `/<old id>/resolve/...`
        answer 307 to the new id's path, as the Hub does for moved repos (huggingface_hub
        follows such relative redirects: utils/_http.py, "follow a redirection to a renamed
        repository"). A repo created later under the old id takes precedence.
        """
        _check_id(new_id)
        with self.lock:
            model = self._live(old_id)
            existing = self._models.get(new_id)
            if existing is not None and not existing.deleted:
                raise ValueError(f"model already exists: {new_id}")
            if existing is not None:
                self._drop(existing)
            del self._models[old_id]
            old_author = model.author
            model.id = new_id
            model.author, model.name = new_id.split("/", 1)
            self._models[new_id] = model
            if model.author != old_author:
                self._by_author[old_author].remove(model)
                siblings = self._by_author.setdefault(model.author, [])
                siblings.insert(bisect_right(siblings, model.seq, key=attrgetter("seq")), model)
            for source, target in list(self._redirects.items()):
                if target == old_id:
                    self._redirects[source] = new_id
            self._redirects[old_id] = new_id
            self._redirects.pop(new_id, None)
            self._touch(model)

    def redirect_for(self, model_id: str) -> str | None:
        """The id a moved repo lives under now, when `model_id` names no repo itself."""
        with self.lock:
            if model_id in self._models:
                return None
            return self._redirects.get(model_id)

    def hide_fields(self, model_id: str, *names: str) -> None:
        """Leave these properties out of every answer about the repo (info, listing, expand).

        The Hub's answers do not always carry every field (an `expand` variant without
        `gated`, repos without `cardData`): a client must treat "absent" as unknown.
        """
        with self.lock:
            model = self._models[model_id]
            model.hidden = model.hidden | frozenset(names)
            self._touch(model)

    def show_fields(self, model_id: str, *names: str) -> None:
        """Undo `hide_fields` for `names` (all of them when none are given)."""
        with self.lock:
            model = self._models[model_id]
            model.hidden = model.hidden - frozenset(names) if names else frozenset()
            self._touch(model)

    # -- daily papers -----------------------------------------------------------------------

    def add_daily_paper(self, arxiv_id: str, *, title: str, summary: str = "", authors=(), upvotes: int = 0,
                        date=None, published_at=None, submitted_by: str = "akhaliq", organization=None,
                        github_repo: str | None = None, project_page: str | None = None,
                        ai_summary: str | None = None, ai_keywords=(), num_comments: int = 0) -> DailyPaper:
        """Feature a paper on the daily papers page of `date` (YYYY-MM-DD or a datetime;
        default: now). `organization` is an org name (or a dict with name/fullname);
        `published_at` is the arXiv publication time (default: the day before)."""
        with self.lock:
            paper = DailyPaper.make(arxiv_id, title=title, summary=summary, authors=authors, upvotes=upvotes,
                                    date=date, now=self.clock(), published_at=published_at,
                                    submitted_by=submitted_by, organization=organization,
                                    github_repo=github_repo, project_page=project_page, ai_summary=ai_summary,
                                    ai_keywords=ai_keywords, num_comments=num_comments,
                                    seq=len(self._papers) + 1)
            self._papers[paper.arxiv_id] = paper
            self.version += 1
            return paper

    def set_paper_upvotes(self, arxiv_id: str, upvotes: int) -> None:
        with self.lock:
            self._papers[arxiv_id].upvotes = int(upvotes)
            self.version += 1

    def remove_daily_paper(self, arxiv_id: str) -> None:
        with self.lock:
            del self._papers[arxiv_id]
            self.version += 1

    def daily_papers(self) -> list[DailyPaper]:
        with self.lock:
            return list(self._papers.values())

    def daily_paper(self, arxiv_id: str) -> DailyPaper | None:
        with self.lock:
            return self._papers.get(arxiv_id)

    def models_citing(self, arxiv_id: str) -> list[Model]:
        """Public models whose `arxiv:` tags name the paper, in creation order."""
        with self.lock:
            return [m for m in self._all if arxiv_id in m.arxiv and m.visible(False)]

    # -- reading ----------------------------------------------------------------------------

    def get(self, model_id: str) -> Model:
        """The model (also when deleted: check `.deleted`). KeyError if it never existed."""
        with self.lock:
            return self._models[model_id]

    def model_ids(self, author: str | None = None) -> list[str]:
        """Ids of models that are not deleted (private ones included), in creation order."""
        with self.lock:
            models = self._all if author is None else self._by_author.get(author, [])
            return [m.id for m in models if not m.deleted]

    def authors(self) -> list[str]:
        with self.lock:
            return [a for a, models in self._by_author.items() if any(not m.deleted for m in models)]

    def __len__(self) -> int:
        with self.lock:
            return sum(1 for m in self._models.values() if not m.deleted)

    def lookup(self, model_id: str, *, authed: bool) -> Model | None:
        """The model as a client sees it: None when missing, deleted, or private without a token."""
        with self.lock:
            model = self._models.get(model_id)
            return model if model is not None and model.visible(authed) else None

    def page(self, author, *, authed, after=None, limit, search=None, where=None):
        """Creation-ordered page: (models, more_remain). `after` is the last seen `seq`;
        `search` a substring of the id (case-insensitive); `where(model)` a further filter.

        Cost is O(log n + page) per call, so listing 100k models page by page stays linear.
        """
        with self.lock:
            models = self._all if author is None else self._by_author.get(author, [])
            start = 0 if after is None else bisect_right(models, after, key=attrgetter("seq"))
            keep = _matcher(authed, search, where)
            out: list[Model] = []
            i = start
            while i < len(models) and len(out) < limit:
                model = models[i]
                i += 1
                if keep(model):
                    out.append(model)
            more = any(keep(m) for m in itertools.islice(models, i, None))
            return out, more

    def select(self, author, *, authed, search=None, where=None) -> list[Model]:
        """Every visible model of `author` (all authors if None) passing the filters, in
        creation order."""
        with self.lock:
            models = self._all if author is None else self._by_author.get(author, [])
            keep = _matcher(authed, search, where)
            return [m for m in models if keep(m)]

    # -- bulk -------------------------------------------------------------------------------

    def populate(self, n: int, author: str, seed: int = 0) -> list[str]:
        """Create `n` realistic models under `author` (licences, tasks, downloads vary); ids.

        Linear in `n` (100k models take seconds); the lock is released between chunks so a
        running server keeps answering.
        """
        ids: list[str] = []
        now = self.clock()
        specs = synthetic.model_specs(n, author, seed, now, taken=self._models.__contains__)
        while True:
            with self.lock:  # ids are checked against `taken` and added under one hold
                chunk = list(itertools.islice(specs, 1000))
                if not chunk:
                    return ids
                for spec in chunk:
                    ids.append(self._add_synthetic(spec))

    def _add_synthetic(self, spec: synthetic.Spec) -> str:
        model = self._new_model(spec.model_id, spec.created_at)
        model.downloads = spec.downloads
        model.downloads_all_time = spec.downloads * 7  # synthetic repos are older than 30 days
        model.likes = spec.likes
        model.trending_score = spec.likes // 10
        model.gated = spec.gated
        model.parameters = spec.parameters
        model.arxiv = spec.arxiv
        body = _default_body(spec.model_id, spec.card.get("pipeline_tag"), spec.arxiv)
        files = {README: cards.render_readme(spec.card, body).encode("utf-8"), "config.json": spec.config}
        model.commits.append(self._make_commit(model, spec.last_modified, files, spec.card, body, "initial commit"))
        return model.id

    # -- internals --------------------------------------------------------------------------

    def _touch(self, model: Model) -> None:
        model.version += 1
        self.version += 1

    def _drop(self, model: Model) -> None:
        """Forget a deleted repo entirely (its id is being reused by `rename`)."""
        del self._models[model.id]
        self._all.remove(model)
        self._by_author[model.author].remove(model)

    def _new_model(self, model_id: str, created_at: datetime) -> Model:
        self.version += 1
        existing = self._models.get(model_id)
        if existing is not None:  # a deleted repo whose name is taken again
            self._drop(existing)
        self._redirects.pop(model_id, None)
        model = Model(model_id, next(self._seq), to_second(created_at))
        model.world = self
        self._models[model_id] = model
        self._all.append(model)
        self._by_author.setdefault(model.author, []).append(model)
        return model

    def _make_commit(self, model: Model, date: datetime, files, card, body, message) -> Commit:
        parent = model.commits[-1].sha if model.commits else ""
        # Unique (a world-wide counter) yet reproducible for the same sequence of operations.
        seed = f"{model.id}\0{parent}\0{date.timestamp()}\0{message}\0{next(self._commit_counter)}"
        digest = hashlib.sha1(seed.encode())
        for name, content in files.items():
            digest.update(b"\0%s\0%d\0%s" % (name.encode(), len(content), content))
        # The Hub keeps commit times to the second: the date is stored as it is served.
        return Commit(digest.hexdigest(), to_second(date), files, card, body, message)

    def _live(self, model_id: str) -> Model:
        model = self._models.get(model_id)
        if model is None or model.deleted:
            raise KeyError(model_id)
        return model


def _matcher(authed: bool, search: str | None, where):
    needle = search.lower() if search else None

    def keep(model: Model) -> bool:
        return (model.visible(authed) and (needle is None or needle in model.id.lower())
                and (where is None or where(model)))

    return keep


def _check_id(model_id: str) -> None:
    owner, sep, name = model_id.partition("/")
    if not sep or not owner or not name or "/" in name:
        raise ValueError(f"model ids are owner/name: {model_id!r}")


RELATIONS = ("adapter", "merge", "quantized", "finetune")


def _listify(value) -> list[str]:
    if value is None:
        return []
    return [str(value)] if isinstance(value, str) else [str(v) for v in value]


def infer_relation(commit: Commit) -> str:
    """The relation of a repo to its base model(s), as the Hub states it.

    Hub docs, model-cards "Specifying a base model": "The Hub will infer the type of
    relationship from the current model to the base model ("adapter", "merge", "quantized",
    "finetune") but you can also set it explicitly if needed: `base_model_relation:
    quantized`". The inference below is the emulator's reading of that (the Hub does not
    publish its rule): a PEFT `adapter_config.json` makes an adapter, GGUF files or a
    `quantization_config` in config.json a quantized repo, two or more bases a merge,
    anything else a finetune.
    """
    card = commit.card if commit.has_readme else {}
    stated = card.get("base_model_relation")
    if stated in RELATIONS:
        return stated
    files = commit.files
    if "adapter_config.json" in files:
        return "adapter"
    if any(name.endswith(".gguf") for name in files) or b'"quantization_config"' in files.get("config.json", b""):
        return "quantized"
    if len(_listify(card.get("base_model"))) > 1:
        return "merge"
    return "finetune"


def _check_relation(relation) -> None:
    if relation is not None and relation not in RELATIONS:
        raise ValueError(f"base_model_relation must be one of {', '.join(RELATIONS)}, not {relation!r}")


def _check_gated(gated) -> None:
    if gated is not False and gated not in GATED_VALUES:
        raise ValueError(f"gated must be False, 'auto' or 'manual', not {gated!r}")
