"""GitHub: the REST API (repos, releases, an owner's repos) and the web's `releases.atom`.

Shapes follow real answers kept in ../shared/samples: `GET /repos/{o}/{r}/releases` as
PyGithub recorded it (release keys, `Link` with `next`/`last` in the `/repositories/<id>/`
form, `X-RateLimit-*`), `GET /repos/{o}/{r}` as octokit recorded it (repo keys, `license`),
and a `releases.atom` (comixed): `<content type="html">`, `<author>`, `<media:thumbnail>`,
no `<published>`, timestamps with a local UTC offset. Behaviour follows docs.github.com:

- pagination: `per_page` (default 30, at most 100) and `page`; `Link` carries `prev`,
  `next`, `last`, `first` as they apply, keeping the other query parameters;
- names are case-insensitive; a renamed or transferred repo answers `301 Moved Permanently`
  with `Location: <api>/repositories/<id>/<rest of the path>` and a JSON body
  `{"message": "Moved Permanently", "url": ..., "documentation_url": ...}`; the
  `/repositories/<id>` paths serve the repo under its current name. The web's
  `releases.atom` of the old name answers 301 to the new name's feed;
- drafts are seen only by a client with a token (the emulator treats every token as the
  owner's, like the Hugging Face side); `releases.atom` never lists drafts and carries no
  prerelease flag and no published date (what each path gives is the spider's to document);
- `releases/latest` is the newest release that is neither a draft nor a prerelease;
- ETag on every 200 (weak for lists, strong for objects, as recorded), `If-None-Match` →
  304; a 304 does not count against the rate limit (ratelimit.py) and keeps the rate-limit
  headers; with enforcement on, an exhausted limit answers 403, `X-RateLimit-Remaining: 0`
  and GitHub's JSON message.

URLs the API emits for following (`url`, `html_url`, `Link`, `Location`) point at the
emulator's mounts (`/github-api`, `/github`); identifiers (`node_id`, Atom `<id>` tag URIs)
and content (release bodies, avatars) keep their real form.

API routes, under `emu.url + "/github-api"`: `/repos/{o}/{r}`, `/repos/{o}/{r}/releases`,
`/repos/{o}/{r}/releases/latest`, `/repos/{o}/{r}/releases/tags/{tag}`,
`/repos/{o}/{r}/releases/{id}`, the same under `/repositories/{id}`, `/orgs/{org}/repos`,
`/users/{user}/repos` (and `/organizations/{id}/repos`, `/user/{id}/repos` used in their
`Link`s; `type`, `sort`, `direction`), `/licenses/{key}`, `/rate_limit` (free, as on GitHub).
Web routes, under `emu.url + "/github"`: `/{o}/{r}/releases.atom` and small HTML pages for
`/{o}/{r}`, `/{o}/{r}/releases` and `/{o}/{r}/releases/tag/{tag}`.
"""

from __future__ import annotations

import base64
import hashlib
import html
import itertools
import math
import re
import threading
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from urllib.parse import quote, unquote

from .routing import Request, Response, Service, json_response, text_response
from .times import UTC, utcnow

# SPDX id -> (GitHub licence key, name). GitHub answers `spdx_id: "NOASSERTION"` with key
# "other" for a licence file it cannot classify, and `license: null` without one.
LICENSES = {
    "MIT": ("mit", "MIT License"),
    "Apache-2.0": ("apache-2.0", "Apache License 2.0"),
    "GPL-3.0": ("gpl-3.0", "GNU General Public License v3.0"),
    "GPL-2.0": ("gpl-2.0", "GNU General Public License v2.0"),
    "AGPL-3.0": ("agpl-3.0", "GNU Affero General Public License v3.0"),
    "LGPL-3.0": ("lgpl-3.0", "GNU Lesser General Public License v3.0"),
    "LGPL-2.1": ("lgpl-2.1", "GNU Lesser General Public License v2.1"),
    "BSD-3-Clause": ("bsd-3-clause", 'BSD 3-Clause "New" or "Revised" License'),
    "BSD-2-Clause": ("bsd-2-clause", 'BSD 2-Clause "Simplified" License'),
    "MPL-2.0": ("mpl-2.0", "Mozilla Public License 2.0"),
    "Unlicense": ("unlicense", "The Unlicense"),
    "CC0-1.0": ("cc0-1.0", "Creative Commons Zero v1.0 Universal"),
    "CC-BY-4.0": ("cc-by-4.0", "Creative Commons Attribution 4.0 International"),
    "CC-BY-SA-4.0": ("cc-by-sa-4.0", "Creative Commons Attribution Share Alike 4.0 International"),
    "NOASSERTION": ("other", "Other"),
}
BOT_LOGIN, BOT_ID = "github-actions[bot]", 41898282
DOCS = "https://docs.github.com/rest"
# releases.atom writes local times with an offset (the comixed sample: -04:00).
ATOM_OFFSET = timezone(timedelta(hours=-4))
ATOM_ENTRIES = 10


def _gh_time(dt: datetime | None) -> str | None:
    return None if dt is None else dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _node_id(kind: str, number: int) -> str:
    # GitHub's legacy global ids are base64 of "<len(kind)>:<kind><id>", e.g. "07:Release41982557".
    return base64.b64encode(f"{len(kind):02d}:{kind}{number}".encode()).decode()


class Release:
    """One release. Read freely; change through `GitHubWorld`."""

    def __init__(self, id, tag, name, body, draft, prerelease, created_at, published_at, author, target_commitish):
        self.id = id
        self.tag = tag
        self.name = name
        self.body = body
        self.draft = draft
        self.prerelease = prerelease
        self.created_at = created_at
        self.published_at = published_at
        self.updated_at = published_at or created_at
        self.author = author
        self.target_commitish = target_commitish

    def __repr__(self) -> str:
        flags = [f for f in ("draft", "prerelease") if getattr(self, f)]
        return f"<Release {self.tag} {' '.join(flags)}>".replace(" >", ">")


class Repo:
    """One repository. Read freely; change through `GitHubWorld`."""

    def __init__(self, id, owner, name, owner_id, owner_type, created_at):
        self.id = id
        self.owner = owner
        self.name = name
        self.owner_id = owner_id
        self.owner_type = owner_type
        self.created_at = created_at
        self.updated_at = created_at
        self.pushed_at = created_at
        self.description: str | None = None
        self.license_spdx: str | None = None
        self.archived = False
        self.private = False
        self.deleted = False
        self.fork = False
        self.topics: list[str] = []
        self.language: str | None = None
        self.homepage: str | None = None
        self.default_branch = "main"
        self.stars = 0
        self.forks = 0
        self.releases: list[Release] = []

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"

    def release(self, tag: str) -> Release:
        for release in self.releases:
            if release.tag == tag:
                return release
        raise KeyError(f"{self.full_name}: no release {tag!r}")

    def visible_releases(self, *, drafts: bool) -> list[Release]:
        """Newest first by creation date, as GitHub lists them."""
        chosen = [r for r in self.releases if drafts or not r.draft]
        return sorted(chosen, key=lambda r: (r.created_at, r.id), reverse=True)

    def __repr__(self) -> str:
        return f"<Repo {self.full_name} {self.license_spdx}{' archived' if self.archived else ''}>"


class GitHubWorld:
    """In-memory GitHub: repos and their releases; thread-safe (`self.lock`)."""

    def __init__(self, clock=None):
        self.clock = clock or utcnow
        self.lock = threading.RLock()
        self._repos: dict[int, Repo] = {}
        self._by_name: dict[str, int] = {}  # lower-cased full name -> id
        self._moved: dict[str, int] = {}  # lower-cased old full name -> id
        self._owners: dict[str, tuple[int, str]] = {}  # lower-cased login -> (id, type)
        self._repo_ids = itertools.count(880_000_000)
        self._release_ids = itertools.count(180_000_000)
        self._owner_ids = itertools.count(120_000_000)
        self.version = 0

    # -- repos ------------------------------------------------------------------------------

    def add_repo(self, full_name: str, *, license_spdx: str | None = "Apache-2.0", archived: bool = False,
                 description: str | None = None, owner_type: str = "Organization", created_at=None,
                 topics=(), language: str | None = "Python", stars: int = 0, forks: int = 0,
                 default_branch: str = "main", private: bool = False, homepage: str | None = None,
                 fork: bool = False) -> Repo:
        """Create `owner/name`. `license_spdx`: an SPDX id ("MIT"), "NOASSERTION" (a licence
        GitHub cannot classify) or None (no licence file: `license: null`)."""
        owner, name = _split(full_name)
        _check_license(license_spdx)
        with self.lock:
            if full_name.lower() in self._by_name:
                raise ValueError(f"repo already exists: {full_name}")
            owner_id, owner_type = self._owner(owner, owner_type)
            now = created_at or self.clock()
            repo = Repo(next(self._repo_ids), owner, name, owner_id, owner_type, now)
            repo.license_spdx = license_spdx
            repo.archived = archived
            repo.description = description
            repo.topics = list(topics)
            repo.language = language
            repo.stars, repo.forks = int(stars), int(forks)
            repo.default_branch = default_branch
            repo.private = private
            repo.homepage = homepage
            repo.fork = fork
            self._repos[repo.id] = repo
            self._by_name[full_name.lower()] = repo.id
            self._moved.pop(full_name.lower(), None)
            self.version += 1
            return repo

    def relicense_repo(self, full_name: str, license_spdx: str | None) -> None:
        """A commit changing the LICENSE file: GitHub's detected licence follows."""
        _check_license(license_spdx)
        with self.lock:
            repo = self._live(full_name)
            repo.license_spdx = license_spdx
            self._push(repo)

    def archive_repo(self, full_name: str, archived: bool = True) -> None:
        with self.lock:
            repo = self._live(full_name)
            repo.archived = archived
            repo.updated_at = self.clock()
            self.version += 1

    def rename_repo(self, old: str, new: str) -> None:
        """Rename or transfer (`old` and `new` are `owner/name`); the old name redirects."""
        owner, name = _split(new)
        with self.lock:
            repo = self._live(old)
            if new.lower() in self._by_name and self._by_name[new.lower()] != repo.id:
                raise ValueError(f"repo already exists: {new}")
            del self._by_name[old.lower()]
            repo.owner_id, repo.owner_type = self._owner(owner, repo.owner_type)
            repo.owner, repo.name = owner, name
            self._by_name[new.lower()] = repo.id
            self._moved[old.lower()] = repo.id
            self._moved.pop(new.lower(), None)
            repo.updated_at = self.clock()
            self.version += 1

    def delete_repo(self, full_name: str) -> None:
        with self.lock:
            repo = self._live(full_name)
            repo.deleted = True
            del self._by_name[full_name.lower()]
            self.version += 1

    def set_private(self, full_name: str, private: bool) -> None:
        with self.lock:
            self._live(full_name).private = private
            self.version += 1

    def get_repo(self, full_name: str) -> Repo:
        with self.lock:
            return self._live(full_name)

    def repos(self, owner: str | None = None) -> list[Repo]:
        with self.lock:
            return [r for r in self._repos.values()
                    if not r.deleted and (owner is None or r.owner.lower() == owner.lower())]

    # -- releases ---------------------------------------------------------------------------

    def add_release(self, full_name: str, tag: str, *, name: str | None = None, body: str = "",
                    prerelease: bool = False, draft: bool = False, published_at=None, created_at=None,
                    author: str = BOT_LOGIN, target_commitish: str | None = None) -> Release:
        """Publish (or draft) a release; `name=None` names it after the tag, `name=""` leaves it
        unnamed (as many real releases are)."""
        with self.lock:
            repo = self._live(full_name)
            if any(r.tag == tag for r in repo.releases):
                raise ValueError(f"{full_name}: release {tag!r} exists")
            now = self.clock()
            published = None if draft else (published_at or now)
            created = created_at or published or now
            release = Release(next(self._release_ids), tag, tag if name is None else name, body, draft, prerelease,
                              created, published, author, target_commitish or repo.default_branch)
            repo.releases.append(release)
            self._push(repo)
            return release

    def edit_release(self, full_name: str, tag: str, **changes) -> Release:
        """Change `name`, `body`, `prerelease` or `tag` of a release: same id, new `updated`."""
        allowed = {"name", "body", "prerelease", "tag"}
        if set(changes) - allowed:
            raise TypeError(f"edit_release takes {sorted(allowed)}")
        with self.lock:
            release = self._live(full_name).release(tag)
            for key, value in changes.items():
                setattr(release, key, value)
            release.updated_at = self.clock()
            self.version += 1
            return release

    def publish_release(self, full_name: str, tag: str, published_at=None) -> Release:
        """A draft goes public (published_at is set now)."""
        with self.lock:
            repo = self._live(full_name)
            release = repo.release(tag)
            release.draft = False
            release.published_at = release.updated_at = published_at or self.clock()
            self._push(repo)
            return release

    def delete_release(self, full_name: str, tag: str) -> None:
        with self.lock:
            repo = self._live(full_name)
            repo.releases.remove(repo.release(tag))
            self.version += 1

    def populate_releases(self, full_name: str, n: int, *, start=None, every=timedelta(days=7),
                          prerelease_every: int = 5) -> list[str]:
        """`n` releases v0.1.0, v0.2.0, ... one `every` apart from `start` (default: n weeks
        ago); every `prerelease_every`-th is an `-rc1` prerelease. Returns the tags."""
        with self.lock:
            begin = start or self.clock() - every * n
            tags = []
            for i in range(n):
                prerelease = prerelease_every and (i + 1) % prerelease_every == 0
                tag = f"v0.{i + 1}.0" + ("-rc1" if prerelease else "")
                when = begin + every * i
                self.add_release(full_name, tag, name=f"Release {tag}", published_at=when, created_at=when,
                                 prerelease=bool(prerelease), body=f"## What's changed\n\n* Changes in {tag}\n")
                tags.append(tag)
            return tags

    # -- lookups for the server (call under the lock) ---------------------------------------

    def find(self, owner: str, name: str) -> tuple[Repo | None, bool]:
        """(repo, moved): the live repo by its current name, or by a name it had before."""
        key = f"{owner}/{name}".lower()
        repo_id = self._by_name.get(key)
        if repo_id is not None:
            return self._repos[repo_id], False
        repo_id = self._moved.get(key)
        if repo_id is not None and not self._repos[repo_id].deleted:
            return self._repos[repo_id], True
        return None, False

    def by_id(self, repo_id: int) -> Repo | None:
        repo = self._repos.get(repo_id)
        return None if repo is None or repo.deleted else repo

    def owner(self, login: str) -> tuple[int, str] | None:
        return self._owners.get(login.lower())

    def owner_login(self, owner_id: int) -> str | None:
        for repo in self._repos.values():
            if repo.owner_id == owner_id and not repo.deleted:
                return repo.owner
        return None

    # -- internals --------------------------------------------------------------------------

    def _owner(self, login: str, owner_type: str) -> tuple[int, str]:
        key = login.lower()
        if key not in self._owners:
            if owner_type not in ("Organization", "User"):
                raise ValueError("owner_type is 'Organization' or 'User'")
            self._owners[key] = (next(self._owner_ids), owner_type)
        return self._owners[key]

    def _push(self, repo: Repo) -> None:
        repo.pushed_at = repo.updated_at = self.clock()
        self.version += 1

    def _live(self, full_name: str) -> Repo:
        repo_id = self._by_name.get(full_name.lower())
        if repo_id is None:
            raise KeyError(full_name)
        return self._repos[repo_id]


def _split(full_name: str) -> tuple[str, str]:
    owner, sep, name = full_name.partition("/")
    if not sep or not owner or not name or "/" in name:
        raise ValueError(f"repos are owner/name: {full_name!r}")
    return owner, name


def _check_license(spdx: str | None) -> None:
    if spdx is not None and spdx not in LICENSES:
        raise ValueError(f"unknown SPDX id {spdx!r}; known: {', '.join(LICENSES)} (or None)")


# -- JSON objects -----------------------------------------------------------------------------


def user_object(login: str, user_id: int, user_type: str, api: str, web: str) -> dict:
    node_kind = {"Organization": "Organization", "Bot": "Bot"}.get(user_type, "User")
    return {
        "login": login,
        "id": user_id,
        "node_id": _node_id(node_kind, user_id),
        "avatar_url": f"https://avatars.githubusercontent.com/{'in/15368' if user_type == 'Bot' else f'u/{user_id}'}?v=4",
        "gravatar_id": "",
        "url": f"{api}/users/{quote(login)}",
        "html_url": f"{web}/{quote(login)}",
        "followers_url": f"{api}/users/{quote(login)}/followers",
        "following_url": f"{api}/users/{quote(login)}/following{{/other_user}}",
        "gists_url": f"{api}/users/{quote(login)}/gists{{/gist_id}}",
        "starred_url": f"{api}/users/{quote(login)}/starred{{/owner}}{{/repo}}",
        "subscriptions_url": f"{api}/users/{quote(login)}/subscriptions",
        "organizations_url": f"{api}/users/{quote(login)}/orgs",
        "repos_url": f"{api}/users/{quote(login)}/repos",
        "events_url": f"{api}/users/{quote(login)}/events{{/privacy}}",
        "received_events_url": f"{api}/users/{quote(login)}/received_events",
        "type": user_type,
        "site_admin": False,
    }


def _author_object(login: str, api: str, web: str) -> dict:
    if login == BOT_LOGIN:
        return user_object(login, BOT_ID, "Bot", api, web)
    return user_object(login, int(hashlib.sha1(login.encode()).hexdigest()[:7], 16), "User", api, web)


def license_object(spdx: str | None, api: str) -> dict | None:
    if spdx is None:
        return None
    key, name = LICENSES[spdx]
    return {"key": key, "name": name, "spdx_id": spdx, "url": None if spdx == "NOASSERTION" else f"{api}/licenses/{key}",
            "node_id": _node_id("License", list(LICENSES).index(spdx))}


def repo_object(repo: Repo, api: str, web: str, *, full: bool = True) -> dict:
    """The repository object; `full=False` is the form inside listings (no organization,
    network or subscriber counts)."""
    base = f"{api}/repos/{repo.full_name}"
    owner = user_object(repo.owner, repo.owner_id, repo.owner_type, api, web)
    out = {
        "id": repo.id,
        "node_id": _node_id("Repository", repo.id),
        "name": repo.name,
        "full_name": repo.full_name,
        "private": repo.private,
        "owner": owner,
        "html_url": f"{web}/{repo.full_name}",
        "description": repo.description,
        "fork": repo.fork,
        "url": base,
    }
    for key, suffix in (
        ("forks_url", "/forks"), ("keys_url", "/keys{/key_id}"), ("collaborators_url", "/collaborators{/collaborator}"),
        ("teams_url", "/teams"), ("hooks_url", "/hooks"), ("issue_events_url", "/issues/events{/number}"),
        ("events_url", "/events"), ("assignees_url", "/assignees{/user}"), ("branches_url", "/branches{/branch}"),
        ("tags_url", "/tags"), ("blobs_url", "/git/blobs{/sha}"), ("git_tags_url", "/git/tags{/sha}"),
        ("git_refs_url", "/git/refs{/sha}"), ("trees_url", "/git/trees{/sha}"), ("statuses_url", "/statuses/{sha}"),
        ("languages_url", "/languages"), ("stargazers_url", "/stargazers"), ("contributors_url", "/contributors"),
        ("subscribers_url", "/subscribers"), ("subscription_url", "/subscription"), ("commits_url", "/commits{/sha}"),
        ("git_commits_url", "/git/commits{/sha}"), ("comments_url", "/comments{/number}"),
        ("issue_comment_url", "/issues/comments{/number}"), ("contents_url", "/contents/{+path}"),
        ("compare_url", "/compare/{base}...{head}"), ("merges_url", "/merges"),
        ("archive_url", "/{archive_format}{/ref}"), ("downloads_url", "/downloads"), ("issues_url", "/issues{/number}"),
        ("pulls_url", "/pulls{/number}"), ("milestones_url", "/milestones{/number}"),
        ("notifications_url", "/notifications{?since,all,participating}"), ("labels_url", "/labels{/name}"),
        ("releases_url", "/releases{/id}"), ("deployments_url", "/deployments"),
    ):
        out[key] = base + suffix
    out.update({
        "created_at": _gh_time(repo.created_at),
        "updated_at": _gh_time(repo.updated_at),
        "pushed_at": _gh_time(repo.pushed_at),
        "git_url": f"git://github.com/{repo.full_name}.git",
        "ssh_url": f"git@github.com:{repo.full_name}.git",
        "clone_url": f"{web}/{repo.full_name}.git",
        "svn_url": f"{web}/{repo.full_name}",
        "homepage": repo.homepage,
        "size": 1024 + 17 * len(repo.releases),
        "stargazers_count": repo.stars,
        "watchers_count": repo.stars,
        "language": repo.language,
        "has_issues": True,
        "has_projects": True,
        "has_downloads": True,
        "has_wiki": True,
        "has_pages": False,
        "has_discussions": False,
        "forks_count": repo.forks,
        "mirror_url": None,
        "archived": repo.archived,
        "disabled": False,
        "open_issues_count": 0,
        "license": license_object(repo.license_spdx, api),
        "allow_forking": True,
        "is_template": False,
        "web_commit_signoff_required": False,
        "topics": list(repo.topics),
        "visibility": "private" if repo.private else "public",
        "forks": repo.forks,
        "open_issues": 0,
        "watchers": repo.stars,
        "default_branch": repo.default_branch,
    })
    if full:
        if repo.owner_type == "Organization":
            out["organization"] = owner
        out["network_count"] = repo.forks
        out["subscribers_count"] = max(1, repo.stars // 20)
    return out


def release_object(repo: Repo, release: Release, api: str, web: str) -> dict:
    """Key for key the release object PyGithub recorded (samples/github_releases_PyGithub_...)."""
    base = f"{api}/repos/{repo.full_name}/releases/{release.id}"
    return {
        "url": base,
        "assets_url": f"{base}/assets",
        "upload_url": f"{api}/repos/{repo.full_name}/releases/{release.id}/assets{{?name,label}}",
        "html_url": f"{web}/{repo.full_name}/releases/tag/{quote(release.tag)}",
        "id": release.id,
        "author": _author_object(release.author, api, web),
        "node_id": _node_id("Release", release.id),
        "tag_name": release.tag,
        "target_commitish": release.target_commitish,
        "name": release.name,
        "draft": release.draft,
        "prerelease": release.prerelease,
        "created_at": _gh_time(release.created_at),
        "published_at": _gh_time(release.published_at),
        "assets": [],
        "tarball_url": f"{api}/repos/{repo.full_name}/tarball/{quote(release.tag)}",
        "zipball_url": f"{api}/repos/{repo.full_name}/zipball/{quote(release.tag)}",
        "body": release.body,
    }


# -- the API service --------------------------------------------------------------------------


def _gh_error(status: int, message: str, doc: str = DOCS, headers: dict | None = None) -> Response:
    return json_response(status, {"message": message, "documentation_url": doc, "status": str(status)}, headers)


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value not in (None, "") else default
    except ValueError:
        return default


def paginate(request: Request, items: list, link_path: str, *, default: int = 30) -> tuple[list, dict]:
    """One page of `items` and its `Link` header, GitHub style."""
    per_page = request.capped(min(max(_int(request.param("per_page"), default), 1), 100))
    page = max(_int(request.param("page"), 1), 1)
    last = max(1, math.ceil(len(items) / per_page))
    chosen = [] if request.empty else items[(page - 1) * per_page: page * per_page]
    kept = [p for p in request.query.split("&") if p and not p.startswith("page=")]

    def url(n: int) -> str:
        return f"{request.root}{link_path}?{'&'.join([*kept, f'page={n}'])}"

    links = []
    if page > 1:
        links.append(f'<{url(min(page - 1, last))}>; rel="prev"')
    if page < last:
        links += [f'<{url(page + 1)}>; rel="next"', f'<{url(last)}>; rel="last"']
    if page > 1:
        links.append(f'<{url(1)}>; rel="first"')
    return chosen, ({"Link": ", ".join(links)} if links else {})


class GitHubApiService(Service):
    """api.github.com over a `GitHubWorld`, mounted at `/github-api`."""

    name = "github_api"
    prefix = "/github-api"
    keep_on_304 = ("ETag", "Last-Modified", "Cache-Control", "Vary", "X-GitHub-Request-Id", "X-RateLimit-Limit",
                   "X-RateLimit-Remaining", "X-RateLimit-Reset", "X-RateLimit-Used", "X-RateLimit-Resource")

    def __init__(self, world: GitHubWorld, rate_limiter):
        super().__init__()
        self.world = world
        self.rate_limiter = rate_limiter
        self._request_ids = itertools.count(1)
        both = ("GET", "HEAD")
        add = self.router.add
        add(both, r"^/repos/(?P<owner>[^/]+)/(?P<name>[^/]+)(?P<rest>/.*)?$", self.by_name)
        add(both, r"^/repositories/(?P<repo_id>\d+)(?P<rest>/.*)?$", self.by_id)
        add(both, r"^/orgs/(?P<login>[^/]+)/repos/?$", lambda r, login: self.owner_repos(r, login, org_only=True))
        add(both, r"^/users/(?P<login>[^/]+)/repos/?$", lambda r, login: self.owner_repos(r, login))
        add(both, r"^/(?:organizations|user)/(?P<owner_id>\d+)/repos/?$", self.owner_repos_by_id)
        add(both, r"^/licenses/(?P<key>[^/]+)/?$", self.license)
        add(both, r"^/rate_limit/?$", self.rate_limit)

    # -- hooks ------------------------------------------------------------------------------

    def web_root(self, request: Request) -> str:
        return request.base_url + GitHubWebService.prefix

    def not_found(self, request: Request) -> Response:
        return _gh_error(404, "Not Found")

    def bucket(self, request: Request) -> str | None:
        return None if request.path.rstrip("/") == "/rate_limit" else "core"

    def _client(self, request: Request) -> tuple[str, str]:
        token = request.token
        return (f"token:{token}", "token") if token else ("anonymous", "anonymous")

    def error_response(self, status: int, request: Request) -> Response:
        messages = {500: "Server Error", 502: "Server Error", 503: "Service Unavailable", 429: "Too Many Requests"}
        return _gh_error(status, messages.get(status, "Injected fault"))

    def etag(self, response: Response) -> str:
        digest = hashlib.sha256(response.body).hexdigest()
        return f'W/"{digest}"' if response.body[:1] == b"[" else f'"{digest}"'

    def finish(self, request: Request, response: Response, admitted_headers: dict) -> Response:
        client, plan = self._client(request)
        response.headers.setdefault("Cache-Control", f"{'private' if plan == 'token' else 'public'}, max-age=60, "
                                                     "s-maxage=60")
        response.headers.setdefault("Vary", "Accept, Accept-Encoding, Accept, X-Requested-With")
        response.headers.setdefault("X-GitHub-Media-Type", "github.v3; format=json")
        response.headers["X-GitHub-Request-Id"] = f"EMU0:{next(self._request_ids):08X}"
        response = super().finish(request, response, admitted_headers)
        if self.bucket(request) is None or response.status == 304:
            limit_headers = self.rate_limiter.peek(client, plan)
        else:
            limit_headers, allowed = self.rate_limiter.hit(client, plan)
            if not allowed:
                who = "user ID 1" if plan == "token" else "127.0.0.1"
                hint = "" if plan == "token" else (" (But here's the good news: Authenticated requests get a higher "
                                                  "rate limit. Check out the documentation for more details.)")
                response = json_response(403, {
                    "message": f"API rate limit exceeded for {who}.{hint}",
                    "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"})
        for key, value in limit_headers.items():
            response.headers.setdefault(key, value)  # a fault's own X-RateLimit-* win
        return response

    # -- routes -----------------------------------------------------------------------------

    def by_name(self, request: Request, owner: str, name: str, rest: str | None) -> Response:
        with self.world.lock:
            repo, moved = self.world.find(unquote(owner), unquote(name))
            if repo is None or (repo.private and not request.token):
                return self.not_found(request)
            if moved:
                location = f"{request.root}/repositories/{repo.id}{rest or ''}"
                if request.query:
                    location += f"?{request.query}"
                return json_response(301, {
                    "message": "Moved Permanently", "url": location,
                    "documentation_url": "https://docs.github.com/rest/guides/best-practices-for-using-the-rest-api"
                                         "#follow-redirects"}, {"Location": location})
            return self._repo_path(request, repo, rest or "")

    def by_id(self, request: Request, repo_id: str, rest: str | None) -> Response:
        with self.world.lock:
            repo = self.world.by_id(int(repo_id))
            if repo is None or (repo.private and not request.token):
                return self.not_found(request)
            return self._repo_path(request, repo, rest or "")

    def _repo_path(self, request: Request, repo: Repo, rest: str) -> Response:
        api, web = request.root, self.web_root(request)
        rest = rest.rstrip("/")
        drafts = bool(request.token)
        if rest == "":
            headers = {"Last-Modified": format_datetime(repo.updated_at.astimezone(UTC), usegmt=True)}
            return json_response(200, repo_object(repo, api, web), headers)
        if rest == "/releases":
            releases, headers = paginate(request, repo.visible_releases(drafts=drafts),
                                         f"/repositories/{repo.id}/releases")
            return json_response(200, [release_object(repo, r, api, web) for r in releases], headers)
        if rest == "/releases/latest":
            for release in repo.visible_releases(drafts=False):
                if not release.prerelease:
                    return json_response(200, release_object(repo, release, api, web))
            return _gh_error(404, "Not Found", f"{DOCS}/releases/releases#get-the-latest-release")
        match = re.fullmatch(r"/releases/tags/(.+)", rest)
        if match:
            tag = unquote(match.group(1))
            for release in repo.visible_releases(drafts=False):
                if release.tag == tag:
                    return json_response(200, release_object(repo, release, api, web))
            return _gh_error(404, "Not Found", f"{DOCS}/releases/releases#get-a-release-by-tag-name")
        match = re.fullmatch(r"/releases/(\d+)", rest)
        if match:
            for release in repo.visible_releases(drafts=drafts):
                if release.id == int(match.group(1)):
                    return json_response(200, release_object(repo, release, api, web))
        return self.not_found(request)

    def owner_repos(self, request: Request, login: str, *, org_only: bool = False) -> Response:
        with self.world.lock:
            owner = self.world.owner(unquote(login))
            if owner is None or (org_only and owner[1] != "Organization"):
                return self.not_found(request)
            return self._list_repos(request, unquote(login), owner[1])

    def owner_repos_by_id(self, request: Request, owner_id: str) -> Response:
        with self.world.lock:
            login = self.world.owner_login(int(owner_id))
            if login is None:
                return self.not_found(request)
            return self._list_repos(request, login, self.world.owner(login)[1])

    def _list_repos(self, request: Request, login: str, owner_type: str) -> Response:
        kind = request.param("type") or "all"
        sort = request.param("sort") or ("created" if owner_type == "Organization" else "full_name")
        keys = {"created": lambda r: r.created_at, "updated": lambda r: r.updated_at,
                "pushed": lambda r: r.pushed_at, "full_name": lambda r: r.full_name.lower()}
        if sort not in keys:
            return _gh_error(422, "Validation Failed")
        direction = request.param("direction") or ("asc" if sort == "full_name" else "desc")
        repos = [r for r in self.world.repos(login)
                 if (not r.private or request.token)
                 and (kind not in ("forks", "sources") or r.fork == (kind == "forks"))]
        owner_id = self.world.owner(login)[0]
        repos.sort(key=lambda r: (keys[sort](r), r.id), reverse=direction == "desc")
        link_base = f"/organizations/{owner_id}/repos" if owner_type == "Organization" else f"/user/{owner_id}/repos"
        chosen, headers = paginate(request, repos, link_base)
        api, web = request.root, self.web_root(request)
        return json_response(200, [repo_object(r, api, web, full=False) for r in chosen], headers)

    def license(self, request: Request, key: str) -> Response:
        for spdx, (known, name) in LICENSES.items():
            if known == key and spdx != "NOASSERTION":
                return json_response(200, license_object(spdx, request.root))
        return self.not_found(request)

    def rate_limit(self, request: Request) -> Response:
        client, plan = self._client(request)
        headers = self.rate_limiter.peek(client, plan)
        core = {"limit": int(headers["X-RateLimit-Limit"]), "remaining": int(headers["X-RateLimit-Remaining"]),
                "reset": int(headers["X-RateLimit-Reset"]), "used": int(headers["X-RateLimit-Used"]),
                "resource": "core"}
        return json_response(200, {"resources": {"core": core}, "rate": core})


# -- the web service: releases.atom and pages -------------------------------------------------


_URL = re.compile(r"https?://[^\s<>()\"']+")


def render_markdown(text: str) -> str:
    """A small subset of GitHub-flavoured Markdown to HTML: `#` headings, `*`/`-` lists,
    paragraphs, autolinked URLs; everything else escaped (GitHub sanitises raw HTML)."""
    def inline(line: str) -> str:
        out, last = [], 0
        for match in _URL.finditer(line):
            out.append(html.escape(line[last:match.start()]))
            url = html.escape(match.group(0))
            out.append(f'<a href="{url}" rel="nofollow">{url}</a>')
            last = match.end()
        out.append(html.escape(line[last:]))
        return "".join(out)

    blocks, items, para = [], [], []

    def flush():
        if para:
            blocks.append("<p>" + "<br>\n".join(inline(p) for p in para) + "</p>")
            para.clear()
        if items:
            blocks.append("<ul>\n" + "\n".join(f"<li>{inline(i)}</li>" for i in items) + "\n</ul>")
            items.clear()

    for raw in text.replace("\r\n", "\n").split("\n"):
        line = raw.rstrip()
        heading = re.match(r"^(#{1,6})\s+(.*)$", line)
        if heading:
            flush()
            level = len(heading.group(1))
            blocks.append(f"<h{level}>{inline(heading.group(2))}</h{level}>")
        elif re.match(r"^\s*[*-]\s+", line):
            if para:
                flush()
            items.append(re.sub(r"^\s*[*-]\s+", "", line))
        elif not line.strip():
            flush()
        else:
            if items:
                flush()
            para.append(line)
    flush()
    return "\n".join(blocks)


def _atom_time(dt: datetime) -> str:
    return dt.astimezone(ATOM_OFFSET).isoformat(timespec="seconds")


def releases_atom(repo: Repo, web: str) -> bytes:
    """`releases.atom` as github.com serves it to anyone: no drafts, newest first."""
    releases = repo.visible_releases(drafts=False)[:ATOM_ENTRIES]
    esc = html.escape
    updated = max((r.updated_at for r in releases), default=repo.updated_at)
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<feed xmlns="http://www.w3.org/2005/Atom" xmlns:media="http://search.yahoo.com/mrss/" xml:lang="en-US">',
        f"  <id>tag:github.com,2008:https://github.com/{esc(repo.full_name)}/releases</id>",
        f'  <link type="text/html" rel="alternate" href="{esc(web)}/{esc(repo.full_name)}/releases"/>',
        f'  <link type="application/atom+xml" rel="self" href="{esc(web)}/{esc(repo.full_name)}/releases.atom"/>',
        f"  <title>Release notes from {esc(repo.name)}</title>",
        f"  <updated>{_atom_time(updated)}</updated>",
    ]
    for release in releases:
        author = _author_object(release.author, "", "")
        lines += [
            "  <entry>",
            f"    <id>tag:github.com,2008:Repository/{repo.id}/{esc(release.tag)}</id>",
            f"    <updated>{_atom_time(release.updated_at)}</updated>",
            f'    <link rel="alternate" type="text/html" href="{esc(web)}/{esc(repo.full_name)}/releases/tag/'
            f'{esc(quote(release.tag))}"/>',
            f"    <title>{esc(release.name or release.tag, quote=False)}</title>",
            f'    <content type="html">{esc(render_markdown(release.body), quote=True)}</content>',
            "    <author>",
            f"      <name>{esc(release.author, quote=False)}</name>",
            "    </author>",
            f'    <media:thumbnail height="30" width="30" url="{esc(author["avatar_url"].replace("?v=4", "?s=60&v=4"))}"/>',
            "  </entry>",
        ]
    lines.append("</feed>")
    return ("\n".join(lines) + "\n").encode("utf-8")


class GitHubWebService(Service):
    """github.com's pages that openwatch reads (`releases.atom`), mounted at `/github`."""

    name = "github"
    prefix = "/github"

    def __init__(self, world: GitHubWorld):
        super().__init__()
        self.world = world
        both = ("GET", "HEAD")
        self.router.add(both, r"^/(?P<owner>[^/]+)/(?P<name>[^/]+?)(?P<rest>/releases\.atom|/releases/?|"
                              r"/releases/tag/.+|/?)$", self.page)

    def not_found(self, request: Request) -> Response:
        return text_response(404, "<!DOCTYPE html><html><body><h1>404</h1><p>This is not the web page you are "
                                  "looking for.</p></body></html>", "text/html; charset=utf-8")

    def error_response(self, status: int, request: Request) -> Response:
        return text_response(status, f"<!DOCTYPE html><html><body><h1>{status}</h1><p>Whoa there!</p></body></html>",
                             "text/html; charset=utf-8")

    def empty_response(self, request: Request) -> Response:
        request.empty = True
        return self.dispatch(request)

    def page(self, request: Request, owner: str, name: str, rest: str) -> Response:
        with self.world.lock:
            repo, moved = self.world.find(unquote(owner), unquote(name))
            if repo is None or repo.private:
                return self.not_found(request)
            if moved:
                location = f"{request.root}/{repo.full_name}{rest}"
                return text_response(301, f'<html><body>You are being <a href="{html.escape(location)}">'
                                          f"redirected</a>.</body></html>", "text/html; charset=utf-8",
                                     {"Location": location})
            if rest == "/releases.atom":
                body = releases_atom(repo, request.root)
                if request.empty:
                    body = re.sub(rb"\s*<entry>.*?</entry>", b"", body, flags=re.S)
                return Response(200, {"Content-Type": "application/atom+xml; charset=utf-8"}, body)
            title = html.escape(repo.full_name)
            return text_response(200, f"<!DOCTYPE html><html><head><title>{title}</title></head><body>"
                                      f"<h1>{title}</h1></body></html>", "text/html; charset=utf-8")

