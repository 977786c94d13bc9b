"""GitHub repos and releases -> fields. Pure: JSON objects, bytes and headers in, dicts out.

    repo_fields(obj) -> dict                 GET /repos/{o}/{r} (also each item of /orgs/{o}/repos)
    repos_from_listing(data) -> list[dict]   GET /orgs/{o}/repos, /users/{u}/repos
    release_fields(obj, repo) -> dict        one item of GET /repos/{o}/{r}/releases
    releases_from_api(data, repo) -> list[dict]
    releases_from_atom(data: bytes, repo, content_type=None) -> ReleaseList (a list, plus .bozo)
    parse_link(header) -> {rel: url};  parse_link_next(header) -> url | None
    rate_limit_wait(status, headers, now, body=None) -> seconds | None
    api_error(obj) -> str | None             the `message` of an error body
    repo_key(owner, repo) -> "repo:github/<owner>/<repo>"
    release_key(owner, repo, tag) -> "release:github/<owner>/<repo>/<tag>"

Repo fields (None: the answer did not carry it, or carried something that is not the type):

    id                int, GitHub's repository id: stable across renames and transfers
    full_name, owner, name, url (html_url), description
    archived, disabled, fork        bool
    default_branch, pushed_at (ISO UTC), created_at
    license, license_name, license_category   normalised (crawler.licenses); `license: null`
                      (no licence file) and `NOASSERTION` (unrecognised file) are category
                      "unknown"; all three None when the answer had no `license` key at all
    license_spdx      GitHub's `spdx_id` as sent ("MIT", "NOASSERTION") or None
    stars             int, volatile counter (REPO_COUNTERS)

Release fields:

    repo              "owner/name" as given
    repo_id           int, GitHub's repository id (from the Atom entry id), or None (REST)
    id                int (REST) or None (Atom)
    tag, name         `name` is None when empty (GitHub shows the tag then)
    published_at, created_at, updated_at   ISO UTC or None
    prerelease, draft bool, or None when the path does not say (the Atom feed)
    url               the release page
    body_excerpt      about EXCERPT_CHARS of text, cut at a word, `…` when cut
    body              the body as sent (Markdown from REST, HTML from Atom), capped at MAX_BODY
    body_truncated    bool
    body_format       "markdown" | "html"
    author            login (REST) or name (Atom)
    via               "api" | "atom"

What each path gives. REST (`/releases`, with or without a token; a token raises the limit
from 60 to 5,000 requests an hour): every field above, drafts only with push access, paged
by `Link`. `releases.atom` (no limit to speak of, no token): tag, title, the release page,
`updated` (the last edit of the release, a local-offset time), the author's name and the
body as HTML; no published date, no prerelease or draft flag (None: unknown, never False),
no release id, the latest ~10 releases only.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import unquote

from crawler.licenses import normalize as normalize_license
from crawler.sources._parsing import (
    ParseError,
    boolean,
    capped,
    clean,
    excerpt,
    html_text,
    integer,
    parse_time,
    struct_time,
    text,
)
from crawler.diff import changed_fields, event
from crawler.licenses import direction
from crawler.sources import Context, EventType, ItemKind, Source
from crawler.sources._text import model_mentions
from crawler.rules import MAX_ANSWER_BYTES

REPO_COUNTERS = ("stars",)
EXCERPT_CHARS = 2000
MAX_BODY = 65_536
MAX_NAME = 200       # GitHub: owners 39 characters, repos 100
MAX_TAG = 500
MAX_TEXT = 1000
MAX_URL = 2000
MAX_HEADER = 8192
SECONDARY_LIMIT_WAIT = 60.0   # GitHub: "wait for at least one minute" when no header says

_ATOM_ID = re.compile(r"^tag:github\.com,2008:Repository/(\d+)/(.+)$", re.DOTALL)
_LINK = re.compile(r"<([^<>]*)>([^<]*)")
_REL = re.compile(r";\s*rel\s*=\s*(?:\"([^\"]*)\"|([^\s;,]+))", re.IGNORECASE)
_SECONDARY = re.compile(rb"secondary rate limit|rate limit exceeded|abuse detection", re.IGNORECASE)


class GitHubParseError(ParseError):
    """A GitHub answer that is not the repo or the releases asked for (an error body, say)."""


class ReleaseList(list):
    """Releases read from a `releases.atom` document; `.bozo` as `feed.FeedPage.bozo`."""

    bozo: str | None = None


# -- keys -------------------------------------------------------------------------------------


def repo_key(owner: str, repo: str) -> str:
    return f"repo:github/{_part(owner, 'owner')}/{_part(repo, 'repo')}"


def release_key(owner: str, repo: str, tag: str) -> str:
    if not isinstance(tag, str) or not tag:
        raise ValueError("a release tag is a non-empty string")
    return f"release:github/{_part(owner, 'owner')}/{_part(repo, 'repo')}/{clean(tag)}"


def _part(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value or "/" in value or len(value) > MAX_NAME:
        raise ValueError(f"not a GitHub {what} name: {str(value)[:100]!r}")
    return value


def _split_repo(repo: str) -> tuple[str, str]:
    owner, _, name = (repo or "").partition("/") if isinstance(repo, str) else ("", "", "")
    _part(owner, "owner")
    _part(name, "repo")
    return owner, name


# -- repos ------------------------------------------------------------------------------------


def api_error(obj: Any) -> str | None:
    """The `message` of a GitHub error body (`{"message": "Not Found", ...}`), else None."""
    if isinstance(obj, dict):
        return text(obj.get("message"), 300)
    return None


def repo_fields(obj: Any) -> dict[str, Any]:
    """The tracked fields of one repo object (see the module docstring)."""
    if not isinstance(obj, dict):
        raise GitHubParseError(f"a repo is a JSON object, not {type(obj).__name__}")
    full_name = text(obj.get("full_name"), 2 * MAX_NAME + 1)
    owner_obj = obj.get("owner") if isinstance(obj.get("owner"), dict) else {}
    owner = text(owner_obj.get("login"), MAX_NAME)
    name = text(obj.get("name"), MAX_NAME)
    if full_name and "/" in full_name:
        owner_part, _, name_part = full_name.partition("/")
        owner, name = owner or owner_part, name or name_part
    if not owner or not name:
        raise GitHubParseError(
            "not a repo object" + (f": {api_error(obj)}" if api_error(obj) else " (no full_name)")
        )
    fields: dict[str, Any] = {
        "id": integer(obj.get("id")),
        "full_name": full_name or f"{owner}/{name}",
        "owner": owner,
        "name": name,
        "url": text(obj.get("html_url"), MAX_URL),
        "description": text(obj.get("description"), MAX_TEXT),
        "archived": boolean(obj.get("archived")),
        "disabled": boolean(obj.get("disabled")),
        "fork": boolean(obj.get("fork")),
        "default_branch": text(obj.get("default_branch"), 255),
        "pushed_at": parse_time(obj.get("pushed_at")),
        "created_at": parse_time(obj.get("created_at")),
        "license": None,
        "license_name": None,
        "license_category": None,
        "license_spdx": None,
        "stars": integer(obj.get("stargazers_count")),
    }
    raw = obj.get("license", ...)
    if raw is None or isinstance(raw, dict):  # null: GitHub found no licence file
        raw = raw or {}
        spdx = text(raw.get("spdx_id"), 100)
        lic = normalize_license(spdx=spdx or _license_key(raw), display_name=text(raw.get("name"), 300))
        fields.update(
            license=lic.id, license_name=lic.name, license_category=lic.category, license_spdx=spdx
        )
    return fields


def _license_key(raw: Mapping[str, Any]) -> str | None:
    """GitHub's licensee `key` ("mit", "other"), used when `spdx_id` is missing."""
    return text(raw.get("key"), 100)


def repos_from_listing(data: Any) -> list[dict[str, Any]]:
    """Every repo of an owner's listing page; entries that are not repos are skipped."""
    if not isinstance(data, list):
        raise GitHubParseError(
            "a repo listing is a JSON array" + (f": {api_error(data)}" if api_error(data) else "")
        )
    out = []
    for obj in data:
        try:
            out.append(repo_fields(obj))
        except GitHubParseError:
            continue
    return out


# -- releases: REST ---------------------------------------------------------------------------


def release_fields(obj: Any, repo: str) -> dict[str, Any]:
    """One release object of the REST API (see the module docstring)."""
    _split_repo(repo)
    if not isinstance(obj, dict):
        raise GitHubParseError(f"a release is a JSON object, not {type(obj).__name__}")
    tag = text(obj.get("tag_name"), MAX_TAG, strip=False)
    if tag is None or not tag.strip():
        raise GitHubParseError("release without tag_name" + (f": {api_error(obj)}" if api_error(obj) else ""))
    body, truncated = capped(obj.get("body"), MAX_BODY)
    author = obj.get("author") if isinstance(obj.get("author"), dict) else {}
    return {
        "repo": repo,
        "repo_id": None,
        "id": integer(obj.get("id")),
        "tag": tag,
        "name": text(obj.get("name"), MAX_TEXT),
        "published_at": parse_time(obj.get("published_at")),
        "created_at": parse_time(obj.get("created_at")),
        "updated_at": None,
        "prerelease": boolean(obj.get("prerelease")),
        "draft": boolean(obj.get("draft")),
        "url": text(obj.get("html_url"), MAX_URL),
        "body_excerpt": excerpt(body, EXCERPT_CHARS),
        "body": body,
        "body_truncated": truncated,
        "body_format": "markdown",
        "author": text(author.get("login"), MAX_NAME),
        "via": "api",
    }


def releases_from_api(data: Any, repo: str) -> list[dict[str, Any]]:
    """Every release of one `/releases` page; objects without a tag are skipped."""
    if not isinstance(data, list):
        raise GitHubParseError(
            "a releases page is a JSON array" + (f": {api_error(data)}" if api_error(data) else "")
        )
    out, seen = [], set()
    for obj in data:
        try:
            fields = release_fields(obj, repo)
        except GitHubParseError:
            continue
        if fields["tag"] not in seen:
            seen.add(fields["tag"])
            out.append(fields)
    return out


# -- releases: Atom ---------------------------------------------------------------------------


def releases_from_atom(data: bytes, repo: str, content_type: str | None = None) -> ReleaseList:
    """The releases of `https://github.com/<repo>/releases.atom` (see "What each path gives").

    Raises `feed.FeedError` (and its `NotAFeed`) when the bytes are not a feed.
    """
    from crawler.sources.feed import feedparse

    _split_repo(repo)
    result, bozo, _notes = feedparse(data, content_type)
    out = ReleaseList()
    seen: set[str] = set()
    skipped = 0
    for entry in result.get("entries") or ():
        fields = _atom_release(entry, repo)
        if fields is None:
            skipped += 1
        elif fields["tag"] not in seen:
            seen.add(fields["tag"])
            out.append(fields)
    if skipped:
        bozo = bozo or f"{skipped} entries name no release tag"
    out.bozo = bozo
    return out


def _atom_release(entry: Any, repo: str) -> dict[str, Any] | None:
    if not isinstance(entry, dict):
        return None
    get = dict.get  # feedparser's own get() answers `updated` with `published`
    entry_id = text(get(entry, "id"), MAX_URL, strip=False) or ""
    link = text(get(entry, "link"), MAX_URL)
    tag = repo_id = None
    found = _ATOM_ID.match(entry_id.strip())
    if found:
        repo_id, tag = int(found.group(1)), found.group(2)
    elif link and "/releases/tag/" in link:
        tag = unquote(link.split("/releases/tag/", 1)[1].split("?", 1)[0].split("#", 1)[0])
    tag = text(tag, MAX_TAG, strip=False)
    if tag is None or not tag.strip():
        return None
    body = get(entry, "summary")
    content = get(entry, "content")
    if isinstance(content, list) and content and isinstance(content[0], dict):
        body = content[0].get("value") or body
    body, truncated = capped(body, MAX_BODY)
    return {
        "repo": repo,
        "repo_id": repo_id,
        "id": None,
        "tag": tag,
        "name": text(get(entry, "title"), MAX_TEXT),
        "published_at": None,
        "created_at": None,
        "updated_at": struct_time(get(entry, "updated_parsed")),
        "prerelease": None,
        "draft": None,
        "url": link,
        "body_excerpt": html_text(body, EXCERPT_CHARS) if body else None,
        "body": body,
        "body_truncated": truncated,
        "body_format": "html",
        "author": text(get(entry, "author"), MAX_NAME),
        "via": "atom",
    }


# -- paging and limits ------------------------------------------------------------------------


def parse_link(header: Any) -> dict[str, str]:
    """RFC 8288 `Link` -> {rel: url} (the first URL of each rel; `rel="next last"` counts twice)."""
    if isinstance(header, (list, tuple)):  # several Link lines are one comma-separated list
        header = ", ".join(filter(None, (_header_text(v) for v in header)))
    value = _header_text(header)
    out: dict[str, str] = {}
    if not value:
        return out
    for match in _LINK.finditer(value[:MAX_HEADER]):
        url, params = match.group(1).strip(), match.group(2)
        rel = _REL.search(params)
        if not url or rel is None:
            continue
        for name in (rel.group(1) or rel.group(2) or "").lower().split():
            out.setdefault(name, url)
    return out


def parse_link_next(header: Any) -> str | None:
    """The `rel="next"` URL of a `Link` header (GitHub pages with it), or None on the last page."""
    return parse_link(header).get("next")


def rate_limit_wait(status: int, headers: Any, now: float | datetime, body: Any = None) -> float | None:
    """Seconds to wait before asking GitHub again, or None when `status` is no rate limit.

    GitHub's rules (docs.github.com, "Rate limits for the REST API"): a 403 or 429 with
    `Retry-After` waits that long; one with `x-ratelimit-remaining: 0` waits until
    `x-ratelimit-reset` (epoch seconds); a secondary limit without either header waits at
    least a minute (a 429 always is a limit; a 403 only when its body says so).
    `headers` is any mapping or list of pairs (str or bytes, Scrapy's `Headers` too).
    """
    if status not in (403, 429):
        return None
    moment = now.timestamp() if isinstance(now, datetime) else float(now)
    retry_after = _header(headers, "retry-after")
    if retry_after is not None:
        wait = _retry_after(retry_after, moment)
        if wait is not None:
            return wait
    remaining = _header(headers, "x-ratelimit-remaining")
    if remaining is not None and remaining.strip() == "0":
        reset = _header(headers, "x-ratelimit-reset")
        if reset is not None and reset.strip().isdigit() and len(reset.strip()) <= 12:
            return max(0.0, float(int(reset.strip())) - moment)
        return SECONDARY_LIMIT_WAIT
    if status == 429:
        return SECONDARY_LIMIT_WAIT
    raw = body.encode("utf-8", "replace") if isinstance(body, str) else body
    if isinstance(raw, bytes) and _SECONDARY.search(raw[:4096]):
        return SECONDARY_LIMIT_WAIT
    return None


def _retry_after(value: str, now: float) -> float | None:
    value = value.strip()
    if value.isascii() and value.isdigit() and len(value) <= 12:
        return float(int(value))
    try:
        when = parsedate_to_datetime(value[:100])
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, when.timestamp() - now)


def _header(headers: Any, name: str) -> str | None:
    """The (last) value of header `name` in any mapping or sequence of pairs, as text."""
    if headers is None:
        return None
    items: Iterable[Any]
    if hasattr(headers, "items"):
        try:
            items = list(headers.items())
        except Exception:  # noqa: BLE001 - an odd headers object is no header
            return None
    elif isinstance(headers, (list, tuple)):
        items = headers
    else:
        return None
    found = None
    for pair in items:
        if not isinstance(pair, (list, tuple)) or len(pair) != 2:
            continue
        key, value = pair
        key = _header_text(key)
        if key is not None and key.strip().lower() == name:
            if isinstance(value, (list, tuple)):
                value = value[-1] if value else None
            found = _header_text(value)
    return found


def _header_text(value: Any) -> str | None:
    if isinstance(value, bytes):
        return value.decode("latin-1")
    if isinstance(value, str):
        return value
    if isinstance(value, (list, tuple)) and value:
        return _header_text(value[-1])
    return None


# ---------------------------------------------------------------------------------------------
# The registry entry: options, item kinds, events (crawler/sources/__init__.py)

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


def repo_key_of(full_name: str) -> str:
    """`repo:github/<owner>/<repo>` of `owner/repo`."""
    return repo_key(*full_name.split("/", 1))


def release_key_of(full_name: str, tag: str) -> str:
    return release_key(*full_name.split("/", 1), tag)
class RepoKind(ItemKind):
    name = "repo"
    prefix = "repo:github/"
    counter_fields = ("stars",)
    quiet = ("pushed_at", "etag")

    def normalise(self, raw: Mapping[str, Any]) -> dict[str, Any]:
        # None is "the answer did not say": never a change (a licence GitHub could not find
        # is already `unknown`, not None).
        return {k: v for k, v in raw.items() if k not in self.counter_fields and v is not None}

    def key(self, full_name: str) -> str:
        return repo_key_of(full_name)

    def org(self, fields: Mapping[str, Any]) -> str | None:
        """The repo's owner: the registry maps GitHub owners to their labs' countries."""
        return fields.get("owner") or (fields.get("full_name") or "").split("/", 1)[0] or None

    def url(self, key: str, fields: Mapping[str, Any], endpoints: Mapping[str, str]) -> str | None:
        return fields.get("url") or f"https://github.com/{key.removeprefix(self.prefix)}"

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
    # An edited release is not new, and what one path (REST or Atom) gives and the other not
    # is no change either.
    quiet = ("body", "body_excerpt", "body_truncated", "body_format", "name", "updated_at", "via",
             "published_at", "created_at", "prerelease", "draft", "author", "id", "repo_id")

    def normalise(self, raw: Mapping[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in raw.items() if v is not None}

    def org(self, fields: Mapping[str, Any]) -> str | None:
        return (fields.get("repo") or "").split("/", 1)[0] or None

    def url(self, key: str, fields: Mapping[str, Any], endpoints: Mapping[str, str]) -> str | None:
        """The answer's own link; from the key alone (a linked release), its tag's page."""
        if fields.get("url"):
            return fields["url"]
        path = key.removeprefix(self.prefix)
        if path.count("/") < 2:
            return None
        owner, repo, tag = path.split("/", 2)
        return f"https://github.com/{owner}/{repo}/releases/tag/{tag}"

    def columns(self, key: str, fields: Mapping[str, Any]) -> dict[str, Any]:
        return {"name": f"{fields.get('repo')} {fields.get('tag')}", "license": None, "license_category": None,
                "gated": None, "sha": fields.get("tag")}

    def links(self, key: str, fields: Mapping[str, Any]) -> list[tuple[str, str, str]]:
        out = [(repo_key_of(fields["repo"]), "release_of", "release")] if fields.get("repo") else []
        return out + [(model, "announces", "release notes") for model in model_mentions(fields.get("body"))]

    def added(self, ctx: Context, fields: Mapping[str, Any]) -> list[dict]:
        title = fields.get("name") or fields.get("tag")
        pre = " (pre-release)" if fields.get("prerelease") else ""
        return [event(
            ctx, "release.published", f"{fields.get('repo')} released {title}{pre}",
            after={k: fields.get(k) for k in ("tag", "name", "published_at", "prerelease", "url")},
            data={"excerpt": fields.get("body_excerpt"), "repo": fields.get("repo")},
        )]


GITHUB_MAX_ANSWER_BYTES = 4 * MAX_ANSWER_BYTES


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
    settings = {
        # A page is 100 releases, each with its author and an uploader object per asset
        # (~2 kB an asset): a busy repo's 40 assets a release and long notes near 8 MiB.
        "DOWNLOAD_MAXSIZE": GITHUB_MAX_ANSWER_BYTES,
        # The spider owns GitHub's limits (403/429, `x-ratelimit-reset`, the watch's
        # `max_wait`); the generic 429 waits would come first and wait again (50 s for a
        # 429 that names no time), before the spider could decide.
        "RATELIMIT_ENABLED": False,
    }

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
