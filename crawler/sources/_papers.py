"""Papers (`paper:arxiv/<id without version>`): one item whichever source saw it first
(the arXiv API or Hugging Face daily papers), one `paper.published`."""

from __future__ import annotations

from typing import Any, Mapping

from crawler.diff import event
from crawler.sources import Context, EventType, ItemKind
from crawler.sources._text import model_mentions, repo_mentions

PAPER_EVENTS = (
    EventType("paper.published", "new paper", "new papers",
              lambda e: f"New paper: {(e.get('after') or {}).get('title') or e.get('item', '').rsplit('/', 1)[-1]}",
              help="a paper matching the watch appeared (arXiv query, or Hugging Face daily papers)"),
)


def _model_key(model: str) -> str:
    return model if ":" in model.split("/", 1)[0] else f"model:hf/{model}"


class PaperKind(ItemKind):
    """An arXiv paper. `raw` is already normalised by the source's parser."""

    name = "paper"
    prefix = "paper:arxiv/"
    counter_fields = ("upvotes", "comments", "github_stars")
    quiet = ("updated", "published", "submitted_at", "submitted_by", "hf_url", "url")  # sources differ here

    def normalise(self, raw: Mapping[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in raw.items() if k not in self.counter_fields and v is not None}

    def org(self, fields: Mapping[str, Any]) -> str | None:
        return fields.get("organization")

    def url(self, key: str, fields: Mapping[str, Any], endpoints: Mapping[str, str]) -> str | None:
        links = fields.get("links") or {}
        return links.get("abs") or f"https://arxiv.org/abs/{key.removeprefix(self.prefix)}"

    def columns(self, key: str, fields: Mapping[str, Any]) -> dict[str, Any]:
        return {"name": fields.get("title"), "license": None, "license_category": None, "gated": None,
                "sha": str(fields["version"]) if fields.get("version") else None}

    def links(self, key: str, fields: Mapping[str, Any]) -> list[tuple[str, str, str]]:
        text = " ".join(str(fields.get(f) or "") for f in ("abstract", "comment"))
        out = [(repo, "code_of", "paper abstract/comment") for repo in repo_mentions(text)]
        if fields.get("code_url"):
            out += [(repo, "code_of", "Hugging Face papers githubRepo") for repo in repo_mentions(fields["code_url"])]
        out += [(model, "weights_of", "paper abstract/comment") for model in model_mentions(text)]
        # The models whose cards cite the paper (the Hub's own index): model -> paper.
        out += [(_model_key(model), "cites_paper", "Hugging Face papers", "in") for model in fields.get("models") or ()
                if isinstance(model, str) and model]
        return out

    def added(self, ctx: Context, fields: Mapping[str, Any]) -> list[dict]:
        authors = fields.get("authors") or []
        who = ", ".join(authors[:3]) + (" et al." if len(authors) > 3 else "")
        return [event(
            ctx, "paper.published", f"{fields.get('title')} ({who})" if who else str(fields.get("title")),
            after={k: fields.get(k) for k in ("title", "authors", "published", "categories", "comment")
                   if fields.get(k) is not None},
            data={"abstract": (fields.get("abstract") or "")[:1000], "arxiv_id": ctx.key.removeprefix(self.prefix)},
        )]
