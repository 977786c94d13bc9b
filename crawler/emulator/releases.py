"""Weights pending: a paper, a release or a post links a model repo before its weights are public.

Labs announce first and publish after: an arXiv paper's comment, a Hugging Face daily paper's
summary, a GitHub release's notes or a blog post says "Weights: https://huggingface.co/<id>"
while that repo does not exist yet, or exists private (an anonymous client gets the Hub's 401
`RepoNotFound` for both, hf_api.py `repo_not_found`; ModelScope its 404 "模型不存在").
Days later the repo turns public (`set_private(False)`: its `createdAt` stays the day it was
created) or is created.

    pending = announce_weights(emu, "Qwen/Qwen3.5-8B", via="arxiv", arxiv_id="2605.01234",
                               title="Qwen3.5 Technical Report", private_repo=True, created_at=...)
    pending.url           # "https://huggingface.co/Qwen/Qwen3.5-8B", the link the text carries
    ...                   # crawls: the link answers 401
    pending.publish()     # the repo turns public (or is created with `publish(**add_model kwargs)`)

Link forms are the ones the labs write: `https://huggingface.co/<owner>/<name>` and
`https://modelscope.cn/models/<owner>/<name>` (ModelScope's model pages, as in the SDK's
`get_model_url` and labs' READMEs).

`via`: "arxiv" (the link in the paper's `comment`, where authors put code and weights links;
arxiv.py), "daily_paper" (the link in the daily paper's summary; its `/api/papers/<id>`
lists the repo under `linkedModels` only once it is public and tagged `arxiv:<id>`),
"github" (a release of `repo` whose notes carry the link; the repo is created if missing),
"feed" (a post of the feed `feed`, created as RSS 2.0 if missing).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

HF_WEB = "https://huggingface.co"
MS_WEB = "https://modelscope.cn/models"
VIAS = ("arxiv", "daily_paper", "github", "feed")


def model_url(model_id: str, hub: str = "hf") -> str:
    """The link a text gives to a model repo: `hf` Hugging Face, `ms` ModelScope."""
    if hub == "hf":
        return f"{HF_WEB}/{model_id}"
    if hub == "ms":
        return f"{MS_WEB}/{model_id}"
    raise ValueError(f"hub is 'hf' or 'ms', not {hub!r}")


@dataclass
class Pending:
    """An announced repo whose weights are not public yet; `publish()` makes them public."""

    emulator: object
    model_id: str
    hub: str
    via: str
    announced_at: datetime
    url: str
    source: str  # the arXiv id, daily paper id, "owner/repo@tag" or "feed#entry id"
    published_at: datetime | None = None
    publish_kwargs: dict = field(default_factory=dict)

    def publish(self, **add_model_kwargs) -> None:
        """The weights appear: a private repo turns public (its createdAt unchanged), a missing
        one is created (Hugging Face `add_model` / ModelScope `add_model` keyword arguments)."""
        kwargs = {**self.publish_kwargs, **add_model_kwargs}
        if self.hub == "hf":
            world = self.emulator.world
            with world.lock:
                try:
                    model = world.get(self.model_id)
                except KeyError:
                    model = None
                if model is not None and not model.deleted:
                    world.set_private(self.model_id, False)
                else:
                    world.add_model(self.model_id, **kwargs)
            self.published_at = world.clock()
        else:
            ms = self.emulator.modelscope
            with ms.lock:
                try:
                    model = ms.get(self.model_id)
                except KeyError:
                    model = None
                if model is not None and not model.deleted:
                    ms.set_private(self.model_id, False)
                else:
                    ms.add_model(self.model_id, **kwargs)
            self.published_at = ms.clock()


def announce_weights(emulator, model_id: str, *, via: str, hub: str = "hf", private_repo: bool = False,
                     created_at=None, title: str | None = None, arxiv_id: str | None = None,
                     repo: str | None = None, tag: str | None = None, feed: str | None = None,
                     entry_id: str | None = None, text: str | None = None, **add_model_kwargs) -> Pending:
    """Publish a text linking `model_id` on `hub` before its weights are public; returns the
    `Pending` whose `publish()` makes them public.

    `private_repo=True` creates the repo now, private (`created_at` default now: pass an
    earlier time for a repo created weeks before), with `add_model_kwargs`; otherwise the repo
    does not exist until `publish`, which then creates it with `add_model_kwargs`.
    `text` replaces the default sentence around the link ("Weights: <url>").
    """
    if via not in VIAS:
        raise ValueError(f"via is one of {VIAS}, not {via!r}")
    url = model_url(model_id, hub)
    sentence = text if text is not None else f"Weights: {url}"
    if url not in sentence:
        raise ValueError("text must contain the model's link")
    name = model_id.split("/", 1)[1]
    title = title or f"{name} (weights coming soon)"
    if hub == "hf":
        world = emulator.world
        now = world.clock()
        if private_repo:
            world.add_model(model_id, private=True, created_at=created_at or now, **add_model_kwargs)
    else:
        world = emulator.modelscope
        now = world.clock()
        if private_repo:
            world.add_model(model_id, private=True, created_at=created_at or now, **add_model_kwargs)
    if via == "arxiv":
        if not arxiv_id:
            raise ValueError("via='arxiv' needs arxiv_id")
        emulator.arxiv.add_paper(arxiv_id, title=title, authors=[model_id.split("/", 1)[0]],
                                 abstract=f"We introduce {name}. (Invented for the emulator.)", comment=sentence)
        source = arxiv_id
    elif via == "daily_paper":
        if not arxiv_id:
            raise ValueError("via='daily_paper' needs arxiv_id")
        emulator.world.add_daily_paper(arxiv_id, title=title, summary=f"We introduce {name}. {sentence}",
                                       organization=model_id.split("/", 1)[0])
        source = arxiv_id
    elif via == "github":
        repo = repo or model_id
        tag = tag or "v1.0"
        github = emulator.github
        with github.lock:
            found, _moved = github.find(*repo.split("/", 1))
            if found is None:
                github.add_repo(repo, description=f"{name}")
        github.add_release(repo, tag, body=f"## {name}\n\n{sentence}\n")
        source = f"{repo}@{tag}"
    else:
        feed = feed or f"{model_id.split('/', 1)[0].lower()}-blog"
        feeds = emulator.feeds
        with feeds.lock:
            if feed not in feeds.names():
                feeds.add_feed(feed, kind="rss2", title=f"{model_id.split('/', 1)[0]} blog")
        entry_id = entry_id or f"https://example.org/{feed}/{name.lower()}"
        feeds.add_entry(feed, entry_id, title=title, link=entry_id, summary=f"We introduce {name}. {sentence}")
        source = f"{feed}#{entry_id}"
    return Pending(emulator, model_id, hub, via, now, url, source,
                   publish_kwargs={} if private_repo else dict(add_model_kwargs))
