"""GitHub: releases and repository state of the watched repos (or every public repo of an owner).

With `GITHUB_TOKEN`: the REST API (`/repos/{o}/{r}`, `/repos/{o}/{r}/releases`, paged by
`Link`), which gives the licence, `archived`, the prerelease flag and the published date.
Without one: the repo's `releases.atom` feed, which has neither a prerelease flag nor a
published date (those fields stay unknown), plus one `/repos/{o}/{r}` call for the licence.
Conditional requests (`If-None-Match`) everywhere: a 304 is free against GitHub's limit of
60 requests an hour without a token.
"""

from __future__ import annotations

from typing import Any, Mapping

from crawler.diff import changed_fields, event
from crawler.licenses import direction
from crawler.sources import Context, EventType, ItemKind, Source
from crawler.sources._text import model_mentions

GITHUB_EVENTS = (
    EventType("release.published", "new release", "new releases",
              lambda e: "{} released {}".format(*_repo_tag(e)),
              help="a new release (tag) in a watched repo"),
    EventType("repo.license_changed", "repo licence change", "repo licence changes",
              lambda e: f"{e.get('item', '').removeprefix('repo:github/')} licence changed: "
                        f"{(e.get('data') or {}).get('license_before') or 'unknown'} → "
                        f"{(e.get('data') or {}).get('license_after') or 'unknown'}", licence=True,
              help="the repo's licence (`license.spdx_id`, normalised) changed; `data.direction` as for models"),
    EventType("repo.archived", "archived repo", "archived repos",
              lambda e: f"{e.get('item', '').removeprefix('repo:github/')} was archived",
              help="a watched repo was archived (read-only)"),
    EventType("repo.renamed", "renamed repo", "renamed repos",
              lambda e: f"{(e.get('before') or {}).get('full_name')} moved to {(e.get('after') or {}).get('full_name')}",
              help="GitHub answers a 301 to the repo's new name: one item, its history kept"),
)


def _repo_tag(e: Mapping[str, Any]) -> tuple[str, str]:
    rest = str(e.get("item") or "").removeprefix("release:github/")
    owner, _, tail = rest.partition("/")
    repo, _, tag = tail.partition("/")
    return f"{owner}/{repo}", tag


def repo_key(full_name: str) -> str:
    return f"repo:github/{full_name}"


def release_key(full_name: str, tag: str) -> str:
    return f"release:github/{full_name}/{tag}"


class RepoKind(ItemKind):
    name = "repo"
    prefix = "repo:github/"
    counter_fields = ("stars",)
    quiet = ("pushed_at", "etag")

    def normalise(self, raw: Mapping[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in raw.items() if k not in self.counter_fields}

    def key(self, full_name: str) -> str:
        return repo_key(full_name)

    def url(self, key: str, fields: Mapping[str, Any], endpoints: Mapping[str, str]) -> str | None:
        return fields.get("html_url") or f"https://github.com/{key.removeprefix(self.prefix)}"

    def columns(self, key: str, fields: Mapping[str, Any]) -> dict[str, Any]:
        return {"name": fields.get("full_name"), "license": fields.get("license"),
                "license_category": fields.get("license_category"), "gated": None, "sha": None}

    def changed(self, ctx: Context, before: Mapping[str, Any], after: Mapping[str, Any]) -> list[dict]:
        events = []
        changed = set(changed_fields(before, after, self.quiet))
        name = after.get("full_name")
        if {"license", "license_category"} & changed:
            move = direction(before.get("license_category"), after.get("license_category"))
            events.append(event(
                ctx, "repo.license_changed",
                f"{name} licence changed: {before.get('license')} → {after.get('license')} ({move.replace('_', ' ')})",
                before={f: before.get(f) for f in ("license", "license_category") if f in changed},
                after={f: after.get(f) for f in ("license", "license_category") if f in changed},
                data={"license": after.get("license"), "category": after.get("license_category"),
                      "license_before": before.get("license"), "license_after": after.get("license"),
                      "category_before": before.get("license_category"),
                      "category_after": after.get("license_category"), "direction": move}))
        if "archived" in changed and after.get("archived") is True:
            events.append(event(ctx, "repo.archived", f"{name} was archived",
                                before={"archived": before.get("archived")}, after={"archived": True}))
        return events

    def renamed(self, ctx: Context, old_key: str, before: Mapping[str, Any], after: Mapping[str, Any]) -> list[dict]:
        old = before.get("full_name") or old_key.removeprefix(self.prefix)
        return [event(ctx, "repo.renamed", f"{old} moved to {after.get('full_name')}",
                      before={"full_name": old}, after={"full_name": after.get("full_name")},
                      data={"previous_key": old_key}, tag=f":renamed:{old_key}")]


class ReleaseKind(ItemKind):
    name = "release"
    prefix = "release:github/"
    quiet = ("body", "body_excerpt", "name", "updated", "assets")  # an edited release is not new

    def normalise(self, raw: Mapping[str, Any]) -> dict[str, Any]:
        return dict(raw)

    def org(self, fields: Mapping[str, Any]) -> str | None:
        return (fields.get("repo") or "").split("/", 1)[0] or None

    def url(self, key: str, fields: Mapping[str, Any], endpoints: Mapping[str, str]) -> str | None:
        return fields.get("url")

    def columns(self, key: str, fields: Mapping[str, Any]) -> dict[str, Any]:
        return {"name": f"{fields.get('repo')} {fields.get('tag')}", "license": None, "license_category": None,
                "gated": None, "sha": fields.get("tag")}

    def links(self, key: str, fields: Mapping[str, Any]) -> list[tuple[str, str, str]]:
        out = [(repo_key(fields["repo"]), "release_of", "release")] if fields.get("repo") else []
        return out + [(model, "announces", "release notes") for model in model_mentions(fields.get("body"))]

    def added(self, ctx: Context, fields: Mapping[str, Any]) -> list[dict]:
        title = fields.get("name") or fields.get("tag")
        pre = " (pre-release)" if fields.get("prerelease") else ""
        return [event(
            ctx, "release.published", f"{fields.get('repo')} released {title}{pre}",
            after={k: fields.get(k) for k in ("tag", "name", "published_at", "prerelease", "url")},
            data={"excerpt": fields.get("body_excerpt"), "repo": fields.get("repo")},
        )]


class GitHubSource(Source):
    """GitHub releases and repo state: `repos = ["deepseek-ai/DeepSeek-V3"]` or
    `orgs = ["deepseek-ai"]` (every public repo of the owner). `GITHUB_TOKEN` raises the limit
    from 60 to 5,000 requests an hour and gives prerelease flags and published dates."""

    kind = "github"
    order = 20
    keys = ("repos", "orgs", "max_wait")
    endpoints = {"github_api": "https://api.github.com", "github": "https://github.com"}
    item_kinds = (RepoKind(), ReleaseKind())
    events = GITHUB_EVENTS
    spider = "crawler.spiders.github.GitHubSpider"

    @classmethod
    def options(cls, read) -> dict[str, Any]:
        if not read.has("repos") and not read.has("orgs"):
            raise read.missing("repos", '["openai/gpt-oss"] (or orgs = ["openai"])')
        if read.has("repos") and read.has("orgs"):
            raise read.error("orgs", "a github watch takes repos or orgs, not both",
                             "split it into two watches, or remove one of the keys")
        repos = read.repos("repos") if read.has("repos") else ()
        orgs = tuple(read.string_list("orgs", example='["deepseek-ai"]')) if read.has("orgs") else ()
        return {"repos": repos, "orgs": orgs,
                "max_wait": read.duration("max_wait", default=300.0, example='"5m"')}

    @classmethod
    def units(cls, options: Mapping[str, Any]) -> tuple[str, ...]:
        return tuple(options.get("repos") or ()) + tuple(options.get("orgs") or ())

    @classmethod
    def spider_args(cls, watch, endpoints: Mapping[str, str], prior: dict) -> dict[str, Any]:
        return {"watch": watch.name, "repos": list(watch.repos), "orgs": list(watch.orgs),
                "max_wait": watch.max_wait, "prior": prior, "api": endpoints.get("github_api"),
                "web": endpoints.get("github")}
