"""Crawls as Scrapyd jobs (DESIGN.md, "Beyond one machine"): the `[scrapyd]` settings, the
project egg, `openwatch deploy`, and one crawl through a server.

    settings = parse_scrapyd_section({"url": ["http://w1:6800", "http://w2:6800"]})
    deploy(settings)                                   # addversion.json on every server
    pool = ScrapydPool(settings)                       # one per daemon: spreads and rotates
    outcome = await crawl_watch_via_scrapyd(config, watch, pool=pool)   # a CrawlOutcome
    # or, below the history: a JobOutcome, the job's JSON objects handed to on_items in order
    job = await pool.crawl("huggingface", {"orgs": ["Qwen"], "watch": "labs"},
                           timeout=600, on_items=ingest, prior=prior_state)
    pool.close()

What Scrapyd does, and what follows here (Scrapyd 1.6 source, `scrapyd/launcher.py`,
`environ.py`, `webservice.py`; measured against a real server in tests/test_scrapyd.py):

- Spider arguments become `-a key=value` command-line arguments of the crawl process. Linux
  caps one argument string at 131,072 bytes (MAX_ARG_STRLEN, the NUL included). A longer one
  is accepted by `schedule.json` (`"status": "ok"`), then `spawnProcess` fails with E2BIG:
  the job vanishes from every list, nothing is logged, and that process slot never runs a job
  again. So every argument is checked here before scheduling (`MAX_ARG_BYTES`), and the
  prior state (what the spider must know of the past, ~220 bytes a model: 2,500 models are
  ~550 kB of JSON, ~200 kB even zlib-compressed and base64-encoded) never travels as an
  argument: it is served by `PriorServer` at an unguessable URL and the spider gets `prior_url`.
- Items: with `items_dir` set, Scrapyd adds `FEEDS` for each job, a JSON-lines file served
  at `/items/<project>/<spider>/<job>.jl` (listjobs' `items_url`). Without it a job's items
  are not reachable over HTTP, so a worker must have `items_dir`; a job without an items
  file is a failed crawl whose error says so.
- listjobs.json says pending, running or finished, never how a job ended: a crawl that was
  cancelled, crashed or was killed is "finished" like a good one. How it ended is read from
  the end of its log (`/logs/...`): Scrapy's stats dump (`'finish_reason': 'finished'`,
  `item_scraped_count`, `downloader/request_count`) and "Spider closed (reason)". The log
  level is therefore at least INFO for every job. A job whose log ends without them died.
- `cancel.json` sends SIGINT: Scrapy shuts down cleanly, the feed is closed, the reason is
  `shutdown`. Scrapyd forgets running and finished jobs when it restarts (pending ones are in
  its SQLite queue and survive); a job no server lists any more has vanished.
- `jobs_to_keep` (default 5) deletes the oldest log and items files of a spider as new jobs
  start: with more concurrent jobs than that, a finished job's items can be gone before they
  are read (that is a failed crawl here). Workers should set it well above `max_proc`.

A job that fails, is cancelled, times out or vanishes is an outcome with status "failed" and
a readable error; nothing here raises for it. Items read from a job that ended badly are still
handed over (never an invented one: a half-written last line is dropped): the store marks a
unit complete only on its end-of-unit item, so a cut job's complete units count and the rest
do not.
"""

from __future__ import annotations

import asyncio
import gzip
import inspect
import json
import logging
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import util as importlib_util
from pathlib import Path
from typing import Any, Awaitable, Callable, Iterable, Mapping
from urllib.parse import urlsplit

import click
import httpx

from jobs.exceptions import OpenwatchError

logger = logging.getLogger("openwatch.scrapyd")

DEFAULT_PROJECT = "openwatch"
DEFAULT_TIMEOUT = 30.0          # seconds for one call to a Scrapyd server
DEFAULT_POLL_INTERVAL = 2.0     # seconds between two looks at a job's state
DEFAULT_PRIOR_BIND = "127.0.0.1:0"
SECTION_KEYS = ("url", "project", "username", "password", "timeout", "poll_interval", "prior_bind", "prior_url")

# Linux MAX_ARG_STRLEN: one argv string, its NUL included (include/uapi/linux/binfmts.h).
MAX_ARG_STRLEN = 131_072
MAX_ARG_BYTES = 100_000         # one `key=value` of ours; the rest is headroom
MAX_ARGS_BYTES = 1_000_000      # all of a job's arguments and settings (ARG_MAX is ~2 MB with the environment)
# Scrapyd's own schedule.json parameters: a spider argument cannot have these names.
RESERVED_ARGS = ("project", "spider", "_version", "jobid", "priority", "setting")
# Arguments show in listjobs.json and in `ps` on the worker: secrets go in its environment.
SECRET_ARG = re.compile(r"token|password|secret|api_?key", re.IGNORECASE)
# A worker never writes the history database: only the one ingest process does.
FORBIDDEN_SETTINGS = ("OPENWATCH_DATABASE", "OPENWATCH_CONFIG")

ITEMS_PER_CALL = 500            # JSON objects handed to on_items at a time
MAX_ITEM_BYTES = 16 * 1024 * 1024  # one JSON line (an item carries LICENSE texts of up to 1 MiB each)
LOG_TAIL_BYTES = 256 * 1024     # the end of a job's log holds its stats dump and close line
UNREACHABLE_POLLS = 3           # consecutive failed looks at a job before its server counts as gone
STOP_GRACE = 30.0               # seconds a cancelled job gets to close its feed before SIGKILL
MAX_ERROR = 300                 # characters of one error message


class ScrapydError(OpenwatchError):
    """A Scrapyd server refused a request or could not be reached (retryable: try again later)."""


class ScrapydSettingError(ValueError):
    """One problem in the `[scrapyd]` table: `at` is its key path inside the table."""

    def __init__(self, at: tuple, problem: str, fix: str):
        self.at = at
        self.problem = problem
        self.fix = fix
        super().__init__(f"{_key_path(('scrapyd', *at))}: {problem}; {fix}")


def _key_path(at: tuple) -> str:
    from jobs.config import _key_path as config_key_path  # one way to write key paths

    return config_key_path(at)


# -- settings ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ScrapydSettings:
    """The `[scrapyd]` section: where crawls run when it is present.

    `prior_bind` is where this process serves each job's prior state (`host:port`; port 0
    picks one); `prior_url` is how workers reach it (default: the bound address, which only
    a Scrapyd on this machine can reach when it is loopback).
    """

    urls: tuple[str, ...]
    project: str = DEFAULT_PROJECT
    username: str = ""
    password: str = field(default="", repr=False)
    timeout: float = DEFAULT_TIMEOUT
    poll_interval: float = DEFAULT_POLL_INTERVAL
    prior_bind: tuple[str, int] = ("127.0.0.1", 0)
    prior_url: str | None = None

    @property
    def auth(self) -> httpx.BasicAuth | None:
        return httpx.BasicAuth(self.username, self.password) if self.username else None


_PROJECT = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


def parse_scrapyd_section(table: dict) -> ScrapydSettings:
    """The `[scrapyd]` table (with `${VAR}` already substituted) -> `ScrapydSettings`.

    Raises `ScrapydSettingError` (a `ValueError`; `.at`, `.problem`, `.fix`) for the first
    problem, its message one line: `scrapyd.<key>: <problem>; <fix>`.
    """
    from jobs.config import DURATION_EXAMPLES, _did_you_mean, _is_http_url, _show, _type_name, parse_duration

    if not isinstance(table, dict):
        raise ScrapydSettingError((), f"expected a table, got {_type_name(table)}",
                                  'write [scrapyd] and url = "http://localhost:6800" below it')
    for key in table:
        if key not in SECTION_KEYS:
            raise ScrapydSettingError((key,), "unknown key", _did_you_mean(key, SECTION_KEYS, "valid keys"))

    if "url" not in table:
        raise ScrapydSettingError((), '"url" is missing', 'add url = "http://localhost:6800" to [scrapyd]')
    raw = table["url"]
    if isinstance(raw, str):
        entries = [(("url",), raw)]
    elif isinstance(raw, list):
        entries = [(("url", i), url) for i, url in enumerate(raw)]
    else:
        raise ScrapydSettingError(("url",), f"expected a string or an array of strings, got {_type_name(raw)}",
                                  'write url = "http://localhost:6800" or url = ["http://w1:6800", "http://w2:6800"]')
    if not entries:
        raise ScrapydSettingError(("url",), "is empty",
                                  'list at least one server, e.g. url = ["http://localhost:6800"]')
    urls: list[str] = []
    for at, url in entries:
        if not isinstance(url, str):
            raise ScrapydSettingError(at, f"expected a string, got {_type_name(url)}",
                                      'write e.g. "http://localhost:6800"')
        if not _is_http_url(url):
            # Not shown: a mistyped server URL may carry its credentials.
            raise ScrapydSettingError(at, "is not an http(s) URL",
                                      'use a URL such as "http://localhost:6800"')
        parts = urlsplit(url)
        if parts.username or parts.password:
            raise ScrapydSettingError(at, "has a user name or password in it",
                                      'remove it and set username = "…" and password = "${SCRAPYD_PASSWORD}"')
        if parts.query or parts.fragment:
            raise ScrapydSettingError(at, f"{_show(url)} has a query or fragment", "give the server's base URL only")
        url = url.rstrip("/")
        if url in urls:
            raise ScrapydSettingError(at, f"{_show(url)} is listed twice", "list each server once")
        urls.append(url)

    def string(key: str, default: str, example: str, secret: bool = False) -> str:
        value = table.get(key, default)
        if not isinstance(value, str):
            shown = "" if secret else f" ({_show(value)})"
            raise ScrapydSettingError((key,), f"expected a string, got {_type_name(value)}{shown}",
                                      f"write {key} = {example}")
        return value

    project = string("project", DEFAULT_PROJECT, '"openwatch"')
    if not _PROJECT.fullmatch(project):
        raise ScrapydSettingError(("project",), f"{_show(project)} is not a project name",
                                  'use letters, digits, "_", "." and "-", e.g. project = "openwatch"')
    username = string("username", "", '"openwatch"')
    password = string("password", "", '"${SCRAPYD_PASSWORD}"', secret=True)
    if bool(username) != bool(password):
        missing = "password" if username else "username"
        raise ScrapydSettingError((missing,), f"is missing while {'username' if username else 'password'} is set",
                                  "Scrapyd checks credentials only when both are set: set both, or neither")

    def seconds(key: str, default: float, example: str) -> float:
        if key not in table:
            return default
        value = table[key]
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            number = float(value)
        elif isinstance(value, str):
            try:
                number = parse_duration(value)
            except ValueError:
                raise ScrapydSettingError((key,), f"{_show(value)} is not a duration", DURATION_EXAMPLES) from None
        else:
            shown = _type_name(value) if isinstance(value, (list, dict)) else _show(value)
            raise ScrapydSettingError((key,), f"{shown} is not a duration", f"write {key} = {example}")
        if number <= 0:
            raise ScrapydSettingError((key,), "must be more than 0 seconds", f"write {key} = {example}")
        return number

    timeout = seconds("timeout", DEFAULT_TIMEOUT, '"30s"')
    poll_interval = seconds("poll_interval", DEFAULT_POLL_INTERVAL, '"2s"')

    bind_text = string("prior_bind", DEFAULT_PRIOR_BIND, '"0.0.0.0:8801"')
    host, _, port_text = bind_text.rpartition(":")
    host = host.strip("[]")
    if not host or not port_text.isdigit() or int(port_text) > 65535:
        raise ScrapydSettingError(("prior_bind",), f"{_show(bind_text)} is not host:port",
                                  'write e.g. prior_bind = "0.0.0.0:8801" (port 0 picks a free one)')
    prior_url = None
    if "prior_url" in table:
        prior_url = string("prior_url", "", '"http://ingest.example:8801"')
        if not _is_http_url(prior_url):
            raise ScrapydSettingError(("prior_url",), f"{_show(prior_url)} is not an http(s) URL",
                                      "give the URL workers reach prior_bind at, e.g. \"http://ingest.example:8801\"")
        prior_url = prior_url.rstrip("/")
    elif host in ("0.0.0.0", "::"):  # every interface: no one address to give workers
        raise ScrapydSettingError(("prior_url",), f"is needed with prior_bind = {_show(bind_text)}",
                                  'set prior_url to the URL workers reach this machine at, '
                                  'e.g. "http://ingest.example:8801"')
    return ScrapydSettings(
        urls=tuple(urls), project=project, username=username, password=password, timeout=timeout,
        poll_interval=poll_interval, prior_bind=(host, int(port_text)), prior_url=prior_url,
    )


# -- one server -------------------------------------------------------------------------


class ScrapydClient:
    """Scrapyd's JSON API on one server (https://scrapyd.readthedocs.io/en/latest/api.html).

    Scrapyd answers most errors with HTTP 200 and `{"status": "error", "message": …}`; both
    that and HTTP errors become `ScrapydError`.
    """

    def __init__(self, http: httpx.AsyncClient, url: str, project: str):
        self.http = http
        self.url = url.rstrip("/")
        self.project = project

    def absolute(self, path: str) -> str:
        """listjobs' `log_url` / `items_url` are root paths of the server: `/logs/…`."""
        return self.url + path if path.startswith("/") else f"{self.url}/{path}"

    async def call(self, method: str, endpoint: str, **kwargs) -> dict:
        try:
            response = await self.http.request(method, f"{self.url}/{endpoint}", **kwargs)
        except httpx.HTTPError as exc:
            raise ScrapydError(f"{self.url}: {endpoint}: {type(exc).__name__}: {exc}"[:MAX_ERROR]) from exc
        if response.status_code == 401:
            raise ScrapydError(f"{self.url}: {endpoint}: HTTP 401: check [scrapyd] username and password")
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise ScrapydError(f"{self.url}: {endpoint}: HTTP {response.status_code}, not a Scrapyd answer"
                               f" ({response.text[:100]!r})")
        if body.get("status") != "ok":
            raise ScrapydError(f"{self.url}: {endpoint}: {str(body.get('message') or body)[:200]}")
        return body

    async def daemonstatus(self) -> dict:
        return await self.call("GET", "daemonstatus.json")

    async def addversion(self, version: str, egg: bytes) -> dict:
        return await self.call("POST", "addversion.json", data={"project": self.project, "version": version},
                               files={"egg": ("project.egg", egg, "application/octet-stream")})

    async def schedule(self, spider: str, jobid: str, args: list[tuple[str, str]], settings: Mapping[str, str]) -> str:
        data: dict[str, Any] = {"project": self.project, "spider": spider, "jobid": jobid}
        if settings:
            data["setting"] = [f"{k}={v}" for k, v in settings.items()]
        data.update(dict(args))
        return (await self.call("POST", "schedule.json", data=data))["jobid"]

    async def status(self, job: str) -> str | None:
        """"pending", "running", "finished", or None: this server does not know the job."""
        return (await self.call("GET", "status.json", params={"job": job, "project": self.project}))["currstate"]

    async def job(self, job: str) -> dict | None:
        """The job's entry in listjobs.json, with its state added."""
        listing = await self.call("GET", "listjobs.json", params={"project": self.project})
        for state in ("finished", "running", "pending"):
            for entry in listing.get(state) or ():
                if entry.get("id") == job:
                    return {**entry, "state": state}
        return None

    async def cancel(self, job: str, signal: str = "INT") -> str | None:
        return (await self.call("POST", "cancel.json", data={"project": self.project, "job": job,
                                                             "signal": signal})).get("prevstate")


# -- the project egg and deploy ---------------------------------------------------------

_SETUP_PY = """\
# Written by openwatch deploy into a temporary folder (as scrapyd-deploy writes its setup.py).
from setuptools import setup

setup(
    name="openwatch",
    version={version!r},
    packages={packages!r},
    package_data={package_data!r},
    entry_points={{"scrapy": ["settings = {settings}"]}},
    zip_safe=True,
)
"""


def build_egg(dest: Path, *, package: str = "crawler", settings_module: str = "crawler.settings") -> Path:
    """Build the Scrapy project egg into folder `dest`; returns its path.

    As scrapyd-client's `scrapyd-deploy --build-egg` does (a setup.py with the
    `[scrapy] settings` entry point, `setup.py bdist_egg` in a subprocess), but in a
    temporary copy of the installed `crawler` package: scrapyd-deploy writes setup.py into
    the project folder, and its setup.py meets our pyproject.toml there. The egg holds
    `crawler` with its data files, nothing else; workers need Scrapy, not openwatch.
    """
    spec = importlib_util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ScrapydError(f"cannot find the {package!r} package to build the egg from")
    source = Path(next(iter(spec.submodule_search_locations)))
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="openwatch-egg-") as tmp:
        root = Path(tmp)
        shutil.copytree(source, root / package, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.pyo"))
        packages, package_data = [], {}
        for init in sorted((root / package).rglob("__init__.py")):
            folder = init.parent
            name = ".".join(folder.relative_to(root).parts)
            packages.append(name)
            data = sorted(
                str(path.relative_to(folder)) for path in folder.rglob("*")
                if path.is_file() and path.suffix != ".py" and _owning_package(path, root) == folder
            )
            if data:
                package_data[name] = data
        from importlib.metadata import PackageNotFoundError, version

        try:
            egg_version = version("openwatch")
        except PackageNotFoundError:
            egg_version = "0.0.0"
        (root / "setup.py").write_text(_SETUP_PY.format(
            version=egg_version, packages=packages, package_data=package_data, settings=settings_module))
        out = root / "dist"
        proc = subprocess.run(
            [sys.executable, "setup.py", "-q", "bdist_egg", "-d", str(out)],
            cwd=root, capture_output=True, text=True,
        )
        eggs = sorted(out.glob("*.egg"))
        if proc.returncode != 0 or not eggs:
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
            hint = " (pip install setuptools)" if "setuptools" in " ".join(tail) else ""
            raise ScrapydError(f"building the egg failed: {tail[0][:200]}{hint}")
        target = dest / eggs[0].name
        shutil.copyfile(eggs[0], target)
    return target


def _owning_package(path: Path, root: Path) -> Path:
    """The innermost folder above `path` with an __init__.py: its package owns the data file."""
    for parent in path.parents:
        if (parent / "__init__.py").exists() or parent == root:
            return parent
    return root


def deploy_version(source: Path | None = None, now: datetime | None = None) -> str:
    """`20261201T230953Z` plus `-<git describe>` when the code comes from a git work tree.

    Timestamp first: Scrapyd runs the last version in its sort (PEP 440 if every version
    parses, else plain string order), and these sort by time either way.
    """
    stamp = (now or datetime.now(timezone.utc)).strftime("%Y%m%dT%H%M%SZ")
    if source is None:
        spec = importlib_util.find_spec("crawler")
        source = Path(next(iter(spec.submodule_search_locations))) if spec and spec.submodule_search_locations else None
    described = ""
    if source is not None and shutil.which("git"):
        try:
            proc = subprocess.run(["git", "-C", str(source), "describe", "--always", "--dirty"],
                                  capture_output=True, text=True, timeout=10)
            if proc.returncode == 0:
                described = re.sub(r"[^A-Za-z0-9_-]", "_", proc.stdout.strip())
        except (OSError, subprocess.SubprocessError):
            described = ""
    return f"{stamp}-{described}" if described else stamp


@dataclass
class DeployResult:
    url: str
    ok: bool
    version: str
    spiders: int = 0
    error: str | None = None


async def deploy_async(settings: ScrapydSettings, *, version: str | None = None, egg: Path | None = None,
                       transport: httpx.AsyncBaseTransport | None = None) -> list[DeployResult]:
    """Upload the project egg (built now unless `egg` is given) to every server, at once."""
    version = version or deploy_version()
    if egg is None:
        with tempfile.TemporaryDirectory(prefix="openwatch-deploy-") as tmp:
            data = (await asyncio.to_thread(build_egg, Path(tmp))).read_bytes()
    else:
        data = Path(egg).read_bytes()

    async def one(http: httpx.AsyncClient, url: str) -> DeployResult:
        client = ScrapydClient(http, url, settings.project)
        try:
            answer = await client.addversion(version, data)
        except ScrapydError as exc:
            return DeployResult(url, False, version, error=str(exc))
        return DeployResult(url, True, version, spiders=int(answer.get("spiders") or 0))

    # addversion.json runs `scrapy list` on the egg before it answers: allow for it.
    async with _http(settings, transport, timeout=max(settings.timeout, 120.0)) as http:
        return list(await asyncio.gather(*(one(http, url) for url in settings.urls)))


def deploy(settings: ScrapydSettings, *, version: str | None = None, egg: Path | None = None) -> list[DeployResult]:
    """`deploy_async` for callers without an event loop (the CLI)."""
    return asyncio.run(deploy_async(settings, version=version, egg=egg))


def _http(settings: ScrapydSettings, transport=None, *, timeout: float | None = None) -> httpx.AsyncClient:
    # trust_env=False: servers are named in the config; an HTTP(S)_PROXY meant for the
    # sources must not swallow calls to workers on a private network.
    return httpx.AsyncClient(auth=settings.auth, timeout=timeout or settings.timeout, transport=transport,
                             trust_env=False, headers={"User-Agent": "openwatch-scrapyd-client"})


# -- the prior state, served to workers -------------------------------------------------


class PriorServer:
    """Serves each job's prior state at `<base>/prior/<token>.json` while the job runs.

    Tokens are 32 random bytes, one per job, withdrawn when the job ends: the document (model
    ids, shas, ETags) is readable only by the worker the job went to. gzip when asked.
    """

    def __init__(self, bind: tuple[str, int] = ("127.0.0.1", 0), public_url: str | None = None):
        self.bind = bind
        self.public_url = public_url
        self.documents: dict[str, bytes] = {}
        self.lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self.base_url: str | None = None

    def start(self) -> str:
        if self._server is None:
            server = ThreadingHTTPServer(self.bind, _prior_handler(self))
            server.daemon_threads = True
            host, port = server.server_address[:2]
            threading.Thread(target=server.serve_forever, name=f"prior-server:{port}", daemon=True).start()
            self._server = server
            shown = f"[{host}]" if ":" in host else host
            self.base_url = self.public_url or f"http://{shown}:{port}"
        return self.base_url

    def publish(self, document: Any) -> tuple[str, str]:
        """Serve `document` as JSON; returns (url, token) — `withdraw(token)` when the job ends."""
        base = self.start()
        token = secrets.token_urlsafe(32)
        body = gzip.compress(json.dumps(document, separators=(",", ":")).encode(), compresslevel=6)
        with self.lock:
            self.documents[token] = body
        return f"{base}/prior/{token}.json", token

    def withdraw(self, token: str) -> None:
        with self.lock:
            self.documents.pop(token, None)

    def get(self, token: str) -> bytes | None:
        with self.lock:
            return self.documents.get(token)

    def close(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()


def _prior_handler(owner: PriorServer):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            match = re.fullmatch(r"/prior/([A-Za-z0-9_-]{20,100})\.json", self.path)
            body = owner.get(match.group(1)) if match else None
            if body is None:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            if "gzip" in (self.headers.get("Accept-Encoding") or ""):
                self.send_header("Content-Encoding", "gzip")
            else:
                body = gzip.decompress(body)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format, *args):  # noqa: A002 - the stdlib's name
            logger.debug("prior server: " + format, *args)

    return Handler


# -- arguments --------------------------------------------------------------------------


def encode_spider_args(spider_args: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Spider arguments as Scrapyd passes them (`-a key=value`, strings only).

    A list or tuple becomes comma-separated (`orgs=Qwen,deepseek-ai`), a dict JSON, a bool
    `true`/`false`, None is left out. ValueError for a reserved name, or a secret (a token
    given as an argument is readable by anyone who can list the server's jobs).
    """
    encoded = []
    for key, value in spider_args.items():
        if key in RESERVED_ARGS or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
            raise ValueError(f"spider argument {key!r} cannot be passed through Scrapyd: "
                             f"use a name other than {', '.join(RESERVED_ARGS)}")
        if value is None:
            continue
        if SECRET_ARG.search(key):
            raise ValueError(f"spider argument {key!r} would show in listjobs.json and ps on the worker: "
                             "set the secret (e.g. HF_TOKEN) in the Scrapyd service's environment instead")
        if isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, (list, tuple)):
            text = ",".join(str(v) for v in value)
        elif isinstance(value, dict):
            text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
        else:
            text = str(value)
        encoded.append((key, text))
    return encoded


def check_arg_sizes(args: Iterable[tuple[str, str]], settings: Mapping[str, str]) -> None:
    """ValueError naming the first argument or setting Linux would refuse to exec (see module doc)."""
    total = 0
    for kind, key, value in [*(("argument", k, v) for k, v in args), *(("setting", k, v) for k, v in settings.items())]:
        size = len(f"{key}={value}".encode())
        total += size + 4
        if size > MAX_ARG_BYTES:
            raise ValueError(f"spider {kind} {key!r} is {size} bytes; Scrapyd passes it as one command-line "
                             f"argument, and more than {MAX_ARG_BYTES} would lose the job: serve it by URL")
    if total > MAX_ARGS_BYTES:
        raise ValueError(f"spider arguments and settings are {total} bytes together; more than "
                         f"{MAX_ARGS_BYTES} cannot start a crawl process: serve the big ones by URL")


# -- a job's end: its log and its items -------------------------------------------------


@dataclass
class JobLog:
    closed: bool = False                  # "Spider closed (…)" was logged
    finish_reason: str | None = None
    requests: int | None = None           # downloader/request_count
    items: int | None = None              # item_scraped_count
    last_error: str | None = None         # the last ERROR/CRITICAL line, or the traceback's last line


_CLOSED = re.compile(r"\[scrapy\.core\.engine\] INFO: Spider closed \(([^)]*)\)")
_STAT = re.compile(r"'(finish_reason|downloader/request_count|item_scraped_count)': ('?)([^',}\n]*)\2")
_ERROR_LINE = re.compile(r"^\S+ \S+ \[[^\]]+\] (?:ERROR|CRITICAL): (.*)$")


def parse_job_log(text: str) -> JobLog:
    """How a Scrapy crawl ended, from the end of its log (a pure function)."""
    log = JobLog()
    closed = _CLOSED.findall(text)
    if closed:
        log.closed = True
        log.finish_reason = closed[-1]
    dump = text.rfind("Dumping Scrapy stats:")
    if dump >= 0:
        for key, _, value in _STAT.findall(text[dump:]):
            if key == "finish_reason":
                log.finish_reason = value
            elif value.isdigit():
                setattr(log, "requests" if key == "downloader/request_count" else "items", int(value))
    lines = [line for line in text.splitlines() if line.strip()]
    for line in reversed(lines):
        match = _ERROR_LINE.match(line)
        if match:
            log.last_error = match.group(1)[:MAX_ERROR]
            break
    if log.last_error is None and not log.closed and lines:
        log.last_error = lines[-1].strip()[:MAX_ERROR]  # a traceback's last line says what raised
    return log


async def _json_lines(response: httpx.Response, errors: list[str]):
    """Each JSON object of a JSON-lines body, in order. A line longer than MAX_ITEM_BYTES, or
    one that is not a JSON object, is skipped with an error; so is a last line without its
    newline that does not parse (a writer killed mid-line)."""
    buffer = bytearray()
    skipping = False
    line_no = 0

    def parse(raw: bytes, last: bool):
        try:
            value = json.loads(raw)
        except ValueError:
            errors.append(f"item line {line_no}: {'cut short (the writer died mid-line)' if last else 'not JSON'}")
            return None
        if not isinstance(value, dict):
            errors.append(f"item line {line_no}: not a JSON object")
            return None
        return value

    async for chunk in response.aiter_bytes():
        buffer += chunk
        while True:
            end = buffer.find(b"\n")
            if end < 0:
                if len(buffer) > MAX_ITEM_BYTES:
                    if not skipping:
                        line_no += 1
                        errors.append(f"item line {line_no}: longer than {MAX_ITEM_BYTES} bytes, skipped")
                    skipping = True
                    buffer.clear()
                break
            raw = bytes(buffer[:end])
            del buffer[: end + 1]
            if skipping:
                skipping = False
                continue
            if not raw.strip():
                continue
            line_no += 1
            value = parse(raw, last=False)
            if value is not None:
                yield value
    if buffer.strip() and not skipping:
        line_no += 1
        value = parse(bytes(buffer), last=True)
        if value is not None:
            yield value


# -- crawls -----------------------------------------------------------------------------


@dataclass
class JobOutcome:
    """How one crawl through Scrapyd went. `status` is "ok" only when the job ran to its end
    (`finish_reason` "finished") and every item it scraped was read and handed over."""

    status: str = "failed"               # ok | failed
    server: str | None = None
    job: str | None = None
    items: int = 0                       # JSON objects handed to on_items
    requests: int = 0                    # the crawl's downloader/request_count
    finish_reason: str | None = None
    timed_out: bool = False
    seconds: float = 0.0
    log_url: str | None = None
    errors: list[str] = field(default_factory=list)


OnItems = Callable[[list[dict]], Awaitable[None] | None]


class ScrapydPool:
    """The servers of one `[scrapyd]` section, shared by every crawl of one process.

    Keep one for the daemon's life: scheduling takes turns on a lock, so concurrent crawls
    see each other's jobs in `daemonstatus.json`, and servers equally loaded take turns.
    `close()` stops the prior server.
    """

    def __init__(self, settings: ScrapydSettings, *, transport: httpx.AsyncBaseTransport | None = None):
        self.settings = settings
        self.transport = transport
        self.turn = 0
        self._lock: tuple[asyncio.AbstractEventLoop, asyncio.Lock] | None = None
        self._prior: PriorServer | None = None

    def prior_server(self) -> PriorServer:
        if self._prior is None:
            self._prior = PriorServer(self.settings.prior_bind, self.settings.prior_url)
        return self._prior

    def close(self) -> None:
        if self._prior is not None:
            self._prior.close()
            self._prior = None

    async def loads(self, http: httpx.AsyncClient | None = None) -> dict[str, int | ScrapydError]:
        """pending + running jobs of each server (all projects), or why it could not say."""
        if http is None:
            async with _http(self.settings, self.transport) as own:
                return await self.loads(own)

        async def one(url: str):
            try:
                status = await ScrapydClient(http, url, self.settings.project).daemonstatus()
                return int(status.get("pending") or 0) + int(status.get("running") or 0)
            except (ScrapydError, ValueError, TypeError) as exc:
                return exc if isinstance(exc, ScrapydError) else ScrapydError(f"{url}: daemonstatus.json: {exc}")

        return dict(zip(self.settings.urls, await asyncio.gather(*(one(u) for u in self.settings.urls))))

    async def schedule(self, http: httpx.AsyncClient, spider: str, args: list[tuple[str, str]],
                       job_settings: Mapping[str, str], errors: list[str]) -> tuple[ScrapydClient, str] | None:
        """Schedule on the least loaded server (ties: each in turn); the next one if it refuses."""
        loop = asyncio.get_running_loop()
        if self._lock is None or self._lock[0] is not loop:  # a lock serves one event loop
            self._lock = (loop, asyncio.Lock())
        async with self._lock[1]:
            loads = await self.loads(http)
            n = len(self.settings.urls)
            turn, self.turn = self.turn, self.turn + 1
            ranked = sorted(
                (load, (i - turn) % n, url) for i, (url, load) in enumerate(loads.items()) if isinstance(load, int)
            )
            errors.extend(str(load) for load in loads.values() if isinstance(load, ScrapydError))
            for _, _, url in ranked:
                client = ScrapydClient(http, url, self.settings.project)
                jobid = uuid.uuid4().hex
                try:
                    return client, await client.schedule(spider, jobid, args, job_settings)
                except ScrapydError as exc:
                    hint = "; run `openwatch deploy`" if f"project '{self.settings.project}' not found" in str(exc) \
                        or "spider '" in str(exc) else ""
                    errors.append(f"{exc}{hint}")
            return None

    async def crawl(
        self,
        spider: str,
        spider_args: Mapping[str, Any],
        *,
        timeout: float,
        on_items: OnItems,
        prior: Any = None,
        job_settings: Mapping[str, Any] | None = None,
    ) -> JobOutcome:
        """Run `spider` as a Scrapyd job and hand its items to `on_items`, in order, in lists.

        `prior` (JSON-serialisable) is served by URL and passed as the `prior_url` argument.
        `job_settings` become `-s KEY=VALUE` (`setting=` of schedule.json); LOG_LEVEL is at
        least INFO (the job's end is read from its log). `timeout` covers the whole job,
        pending time included: past it the job is cancelled and the outcome is failed, with
        whatever it had written handed over. Raises only what `on_items` raises, and
        CancelledError (after cancelling the job on its server).
        """
        started = time.monotonic()
        outcome = JobOutcome()
        token = None
        prior_server = self.prior_server() if prior is not None else None
        try:
            args = encode_spider_args(spider_args)
            settings = _job_settings(job_settings or {})
            if prior_server is not None:
                url, token = await asyncio.to_thread(prior_server.publish, prior)
                args.append(("prior_url", url))
            check_arg_sizes(args, settings)
        except (ValueError, TypeError, OSError) as exc:
            outcome.errors.append(str(exc)[:MAX_ERROR])
            return outcome
        try:
            async with _http(self.settings, self.transport) as http:
                await self._run(http, spider, args, settings, started + timeout, timeout, on_items, outcome)
        finally:
            if token is not None:
                prior_server.withdraw(token)
            outcome.seconds = time.monotonic() - started
        return outcome

    async def _run(self, http, spider, args, settings, deadline, timeout, on_items, outcome: JobOutcome) -> None:
        scheduled = await self.schedule(http, spider, args, settings, outcome.errors)
        if scheduled is None:
            outcome.errors.insert(0, "no Scrapyd server took the job")
            return
        client, job = scheduled
        outcome.server, outcome.job = client.url, job
        logger.info("crawl %s scheduled on %s as job %s", spider, client.url, job)
        try:
            state = await self._follow(client, job, deadline, timeout, outcome)
        except asyncio.CancelledError:
            await asyncio.shield(_cancel_quietly(client, job))
            raise
        if state != "finished":
            return
        try:
            entry = await client.job(job)
        except ScrapydError as exc:
            outcome.errors.append(str(exc))
            return
        if entry is None or entry["state"] != "finished":
            outcome.errors.append(f"job {job} vanished from {client.url} after it finished")
            return
        await self._collect(client, entry, on_items, outcome)

    async def _follow(self, client: ScrapydClient, job: str, deadline: float, timeout: float,
                      outcome: JobOutcome) -> str | None:
        """Wait for the job to finish; cancel it at the deadline. Returns "finished", or None
        when the job vanished or its server stopped answering (errors say which)."""
        misses = 0
        cancelled_at = None
        killed = False
        while True:
            try:
                state = await client.status(job)
                misses = 0
            except ScrapydError as exc:
                misses += 1
                if misses >= UNREACHABLE_POLLS:
                    outcome.errors.append(f"server stopped answering while job {job} ran: {exc}"[:MAX_ERROR])
                    return None
                state = "unknown"
            if state is None:
                outcome.errors.append(f"job {job} vanished from {client.url} (server restarted, or the "
                                      "job could not start)")
                return None
            if state == "finished":
                return state
            now = time.monotonic()
            if state != "unknown" and now >= deadline and cancelled_at is None:
                outcome.timed_out = True
                outcome.errors.append(f"timed out after {timeout:.0f}s while {state}: cancelled on {client.url}")
                cancelled_at = now
                await _cancel_quietly(client, job)
                if state == "pending":
                    return None  # removed from the queue: it never ran
            elif cancelled_at is not None and not killed and now >= cancelled_at + STOP_GRACE:
                killed = True
                await _cancel_quietly(client, job, signal="KILL")
            elif cancelled_at is not None and now >= cancelled_at + 2 * STOP_GRACE:
                outcome.errors.append(f"job {job} did not stop after SIGKILL")
                return None
            await asyncio.sleep(self.settings.poll_interval)

    async def _collect(self, client: ScrapydClient, entry: dict, on_items: OnItems, outcome: JobOutcome) -> None:
        """Hand over the finished job's items, then judge from its log how it ended."""
        read_errors: list[str] = []
        items_url = entry.get("items_url")
        if items_url:
            batch: list[dict] = []
            try:
                async with client.http.stream("GET", client.absolute(items_url)) as response:
                    if response.status_code != 200:
                        read_errors.append(f"items file: HTTP {response.status_code} (jobs_to_keep on the "
                                           "server too low for the jobs running at once?)")
                    else:
                        async for item in _json_lines(response, read_errors):
                            batch.append(item)
                            if len(batch) >= ITEMS_PER_CALL:
                                await _deliver(on_items, batch)
                                outcome.items += len(batch)
                                batch = []
            except httpx.HTTPError as exc:
                read_errors.append(f"reading items: {type(exc).__name__}: {exc}"[:MAX_ERROR])
            if batch:
                await _deliver(on_items, batch)
                outcome.items += len(batch)
        else:
            read_errors.append(f"{client.url} serves no items file for job {outcome.job}: set items_dir in its "
                               "scrapyd.conf (e.g. items_dir = items)")

        log = JobLog()
        if entry.get("log_url"):
            outcome.log_url = client.absolute(entry["log_url"])
            try:
                log = parse_job_log(await _tail(client.http, outcome.log_url))
            except httpx.HTTPError as exc:
                read_errors.append(f"reading the job log: {type(exc).__name__}: {exc}"[:MAX_ERROR])
        else:
            read_errors.append(f"{client.url} has no log for job {outcome.job} (logs_dir off?): cannot tell "
                               "a finished crawl from a dead one")
        outcome.finish_reason = log.finish_reason
        outcome.requests = log.requests or 0
        if not log.closed and entry.get("log_url"):
            outcome.errors.append("the crawl process died before the spider closed"
                                  + (f": {log.last_error}" if log.last_error else ""))
        elif log.closed and log.finish_reason != "finished" and not outcome.timed_out:
            outcome.errors.append(f"the job ended early: {log.finish_reason} (cancelled, or its worker shut down)")
        if log.items is not None and log.items > outcome.items and not read_errors:
            read_errors.append(f"read {outcome.items} items of the {log.items} the job scraped")
        outcome.errors += read_errors
        if log.closed and log.finish_reason == "finished" and not read_errors and not outcome.timed_out:
            outcome.status = "ok"


def _job_settings(job_settings: Mapping[str, Any]) -> dict[str, str]:
    settings = {}
    for key, value in job_settings.items():
        if key in FORBIDDEN_SETTINGS:
            raise ValueError(f"setting {key} is the ingest process's: a Scrapyd job never writes the database")
        if not re.fullmatch(r"[A-Z][A-Z0-9_]*", key):
            raise ValueError(f"{key!r} is not a Scrapy setting name")
        settings[key] = json.dumps(value) if isinstance(value, (dict, list, bool)) else str(value)
    if settings.get("LOG_LEVEL", "INFO").upper() not in ("DEBUG", "INFO"):
        settings["LOG_LEVEL"] = "INFO"  # the stats dump and "Spider closed" are INFO lines
    return settings


async def _deliver(on_items: OnItems, batch: list[dict]) -> None:
    result = on_items(batch)
    if inspect.isawaitable(result):
        await result


async def _tail(http: httpx.AsyncClient, url: str) -> str:
    """The last LOG_TAIL_BYTES of a log. Asks for its size first: Twisted's static files
    answer a suffix Range longer than the file (`bytes=-N`) with a 500, not the whole file."""
    head = await http.head(url)
    head.raise_for_status()
    size = int(head.headers.get("Content-Length") or 0)
    headers = {"Range": f"bytes={size - LOG_TAIL_BYTES}-"} if size > LOG_TAIL_BYTES else {}
    data = bytearray()
    async with http.stream("GET", url, headers=headers) as response:
        response.raise_for_status()
        async for chunk in response.aiter_bytes():
            data += chunk
            if len(data) > 2 * LOG_TAIL_BYTES:  # a server that ignored Range: keep the end only
                del data[:-LOG_TAIL_BYTES]
    return data[-LOG_TAIL_BYTES:].decode("utf-8", "replace")


async def _cancel_quietly(client: ScrapydClient, job: str, signal: str = "INT") -> None:
    try:
        await asyncio.wait_for(client.cancel(job, signal=signal), timeout=10)
    except (ScrapydError, TimeoutError) as exc:
        logger.warning("could not cancel job %s on %s: %s", job, client.url, exc)


async def crawl_via_scrapyd(
    settings: ScrapydSettings,
    spider: str,
    spider_args: Mapping[str, Any],
    *,
    timeout: float,
    on_items: OnItems,
    prior: Any = None,
    job_settings: Mapping[str, Any] | None = None,
    pool: ScrapydPool | None = None,
) -> JobOutcome:
    """One crawl through Scrapyd (see `ScrapydPool.crawl`). Pass the daemon's `pool` so that
    crawls spread; without one, a pool lives for this call only."""
    if pool is not None:
        return await pool.crawl(spider, spider_args, timeout=timeout, on_items=on_items, prior=prior,
                                job_settings=job_settings)
    own = ScrapydPool(settings)
    try:
        return await own.crawl(spider, spider_args, timeout=timeout, on_items=on_items, prior=prior,
                               job_settings=job_settings)
    finally:
        own.close()


# -- one watch's crawl, ingested here ---------------------------------------------------


async def crawl_watch_via_scrapyd(config, watch, *, pool: ScrapydPool):
    """`jobs.runner.crawl_watch`, with the crawl running as a Scrapyd job: the prior state
    is read here and served by URL, each batch the job wrote is ingested here, in order, one
    transaction each (the one writer). Returns a `CrawlOutcome`; never raises for a crawl
    failure. Its status follows the pipeline's rule: ok when the job finished and every unit
    ended complete, partial when some did, else failed."""
    from crawler.items import Batch
    from crawler.sources import SourceError, source_for
    from jobs.runner import CrawlOutcome, open_store

    started = time.monotonic()
    outcome = CrawlOutcome(watch=watch.name, status="failed")
    store = await asyncio.to_thread(open_store, config)
    try:
        crawl_id = await asyncio.to_thread(store.start_crawl, watch.name, watch.source, os.getpid())
        outcome.crawl_id = crawl_id
        try:
            source = source_for(watch.source)
            spider = source.spider_class().name
            prior = await asyncio.to_thread(source.prior, store, watch)
        except (SourceError, ImportError) as exc:
            outcome.errors.append(str(exc)[:MAX_ERROR])
            await asyncio.to_thread(store.finish_crawl, crawl_id, "failed", requests=0, items=0, events=0,
                                    errors=outcome.errors)
            return outcome
        args = dict(source.spider_args(watch, config.endpoints, prior)) | source.watchlist_args(watch, config.subscriptions)
        prior = args.pop("prior", prior)
        job_settings = {
            **source.settings,
            "USER_AGENT": config.daemon.user_agent,
            "DOWNLOAD_TIMEOUT": watch.request_timeout,
        }
        if config.endpoints.get("huggingface"):
            job_settings["OPENWATCH_HF_ENDPOINT"] = config.endpoints.get("huggingface")
        expected = set(watch.units)
        complete: set[str] = set()
        errors: list[str] = []

        async def on_items(dicts: list[dict]) -> None:
            for data in dicts:
                try:
                    batch = Batch.from_dict(data)
                except (KeyError, TypeError, ValueError) as exc:
                    errors.append(f"unreadable batch from the job: {type(exc).__name__}: {exc}"[:MAX_ERROR])
                    continue
                if batch.watch != watch.name or batch.unit not in expected or batch.source != watch.source:
                    errors.append(f"a batch for {batch.watch}/{batch.unit} is not this watch's: ignored"[:MAX_ERROR])
                    continue
                result = await asyncio.to_thread(store.ingest, batch, crawl_id)
                outcome.items += result.items
                outcome.events += len(result.events)
                errors.extend(result.errors)
                complete.update(result.units_complete)
                for event in result.events:
                    logger.info("event %s %s", event["type"], event["summary"])

        try:
            job = await pool.crawl(spider, args, timeout=watch.timeout, on_items=on_items, prior=prior,
                                   job_settings=job_settings)
        except asyncio.CancelledError:  # the daemon is stopping: close the crawl's row, let it through
            await asyncio.shield(asyncio.to_thread(
                store.finish_crawl, crawl_id, "partial" if complete else "failed", requests=0, items=outcome.items,
                events=outcome.events, errors=[*errors, "cut: the daemon stopped before the crawl finished"]))
            raise
        except Exception as exc:  # ingest failed (the job itself never raises): the crawl failed
            job = JobOutcome(errors=[f"ingest failed: {type(exc).__name__}: {exc}"[:MAX_ERROR]])
            logger.exception("ingest of %s failed", watch.name)
        outcome.requests = job.requests
        outcome.errors = job.errors + errors
        from crawler.rules import crawl_status

        outcome.status = crawl_status(expected, complete, job.status == "ok", outcome.errors)
        await asyncio.to_thread(store.finish_crawl, crawl_id, outcome.status, requests=outcome.requests,
                                items=outcome.items, events=outcome.events, errors=outcome.errors)
        if job.job:
            logger.info("crawl of %s: job %s on %s: %s", watch.name, job.job, job.server, outcome.status)
    finally:
        store.db.close()
        outcome.seconds = time.monotonic() - started
    return outcome


# -- the CLI command (registered by jobs/cli.py) ----------------------------------------


@click.command("deploy")
@click.option("--version", "version", help="Version name on the servers (default: UTC time + git describe).")
@click.option("--egg", type=click.Path(exists=True, dir_okay=False), help="Upload this egg instead of building one.")
@click.option("--build-egg", "build_only", type=click.Path(dir_okay=False),
              help="Only build the egg, into this file; upload nothing.")
@click.pass_obj
def deploy_command(app, version, egg, build_only):
    """Upload the crawler to every Scrapyd server of [scrapyd] (addversion.json).

    Run it after each upgrade of openwatch: workers run the version uploaded last.

    Example: openwatch deploy
    """
    if build_only:
        with tempfile.TemporaryDirectory(prefix="openwatch-egg-") as tmp:
            shutil.copyfile(build_egg(Path(tmp)), build_only)
        click.echo(f"wrote {build_only}")
        return
    settings = getattr(app.config(), "scrapyd", None)
    if settings is None:
        raise click.UsageError('no [scrapyd] section in the config; add one with url = "http://localhost:6800"')
    results = deploy(settings, version=version, egg=Path(egg) if egg else None)
    for result in results:
        if result.ok:
            click.echo(f"{result.url}: {settings.project} {result.version} ({result.spiders} spiders)")
        else:
            click.echo(f"{result.url}: failed: {result.error}", err=True)
    failed = [r for r in results if not r.ok]
    if failed:
        raise click.ClickException(f"deploy failed on {len(failed)} of {len(results)} servers")
