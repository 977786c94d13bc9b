"""Feeds: any RSS 2.0, RSS 1.0 or Atom feed (lab blogs, project release feeds), read with
feedparser -> `post:<watch>/<sha1 of entry id>` and `post.published`."""

from __future__ import annotations

from typing import Any, Mapping

from crawler.diff import event
from crawler.sources import Context, EventType, ItemKind, Source
from crawler.sources._text import model_mentions

FEED_EVENTS = (
    EventType("post.published", "new post", "new posts",
              lambda e: f"New post: {(e.get('after') or {}).get('title') or ''}".strip(),
              help="a new entry in a watched feed (an entry edited later is not new)"),
)


class PostKind(ItemKind):
    name = "post"
    prefix = "post:"
    quiet = ("summary", "title", "updated")  # an entry edited later is not new

    def normalise(self, raw: Mapping[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in raw.items() if v is not None}

    def org(self, fields: Mapping[str, Any]) -> str | None:
        return fields.get("org")

    def url(self, key: str, fields: Mapping[str, Any], endpoints: Mapping[str, str]) -> str | None:
        return fields.get("link")

    def columns(self, key: str, fields: Mapping[str, Any]) -> dict[str, Any]:
        return {"name": fields.get("title"), "license": None, "license_category": None, "gated": None, "sha": None}

    def links(self, key: str, fields: Mapping[str, Any]) -> list[tuple[str, str, str]]:
        text = f"{fields.get('summary') or ''} {fields.get('link') or ''}"
        return [(model, "announces", "feed entry") for model in model_mentions(text)]

    def added(self, ctx: Context, fields: Mapping[str, Any]) -> list[dict]:
        return [event(ctx, "post.published", str(fields.get("title") or fields.get("link") or "new post"),
                      after={k: fields.get(k) for k in ("title", "link", "published", "author") if fields.get(k)},
                      data={"feed": fields.get("feed"), "excerpt": (fields.get("summary") or "")[:500]})]


class FeedSource(Source):
    """Entries of RSS/Atom feeds: `urls = ["https://example.org/blog/index.xml"]`."""

    kind = "feed"
    order = 40
    keys = ("urls",)
    item_kinds = (PostKind(),)
    events = FEED_EVENTS
    spider = "crawler.spiders.feed.FeedSpider"

    @classmethod
    def options(cls, read) -> dict[str, Any]:
        return {"urls": read.urls("urls")}

    @classmethod
    def units(cls, options: Mapping[str, Any]) -> tuple[str, ...]:
        return tuple(options["urls"])

    @classmethod
    def spider_args(cls, watch, endpoints: Mapping[str, str], prior: dict) -> dict[str, Any]:
        return {"watch": watch.name, "urls": list(watch.urls), "prior": prior}
