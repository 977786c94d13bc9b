"""The fault matrix: every source × every way a source fails, end to end (issue 10, A.1).

For each case, with the real `openwatch crawl` in a subprocess against the hub emulator:

1. a clean first crawl (a silent baseline) of a few items;
2. a scripted change in the emulator (a new model, release, paper, post) *and* the fault;
3. the faulted crawl: `partial` or `failed` in `crawls` and `openwatch status --json`, with a
   one-line error that names the problem; no event but the scripted one (it may legitimately
   be seen before the fault bites); every item and snapshot stored earlier still there,
   unchanged;
4. the fault cleared, a clean crawl: `ok`, and over both crawls exactly the one event the
   change makes, nothing else.

Keeping it fast: a scenario is one fault for every source at once, each source its own
watch in the same `openwatch crawl`, in two processes (`GITHUB_TOKEN` is per process); each
scenario has its own emulator, config and database, and several scenarios run at once
(`WORKERS`), since most of their time is waiting (retries, `Retry-After`, arXiv's 3-second
pacing). The module fixture computes the scenarios of the selected tests up front; each
test then reads its own source's slice, so no test depends on another having run.

Combinations skipped, with the reason in the parametrisation (`pytest -rs` prints them):
- GitHub's 403 with `x-ratelimit-remaining: 0` is GitHub's own answer: only the two GitHub
  watches get it.
- invalid JSON is for sources that read JSON (the XML ones, arXiv, feeds and `releases.atom`,
  get their malformed documents from the cut-body case).
- an error envelope under 200 exists on ModelScope (`Success: false`) and arXiv (an error
  entry) only.
- a listing half as long as last time means something only where a listing is complete
  (Hugging Face and ModelScope orgs); the other sources read incrementally (newest first, up
  to what they know), where a shorter answer is normal and removes nothing by construction.

Two expectations differ from "partial or failed": an empty daily-papers answer is `ok` (days
without papers are normal), and a 429 naming no time is one answer, not a storm
(`429-no-hint-once`, marked slow: the client's own 10-second wait), so `ok` with the change
seen at once is right too. The read timeout uses the watch's `request_timeout` (1 s against
answers 4 s late); the 10 MB answer is 10 MB, or just over the cap where a full page may
legitimately be larger (a Hugging Face org listing of 1000 models: 16 MiB).
"""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import httpx
import pytest

from crawler.emulator import Fault, HubEmulator
from crawler.emulator.faults import TEN_MB
from tests.support.cli import CLI, write_config

MiB = 1024 * 1024
# The module's scenarios are computed in the first test's setup: minutes, not one test's 5.
pytestmark = pytest.mark.timeout(900)


# -- the sources ---------------------------------------------------------------------------------


@dataclass
class SourceCase:
    """One watch of one source: its config, what of the emulator it asks, its scripted change."""

    id: str
    group: str                      # the process it runs in: "anon", or "token" (with GITHUB_TOKEN)
    watch: dict
    requests: str                   # a regex matching every request the watch sends
    change: Callable                # (emu, n) -> (event type, item key or None)
    cap: int = 8 * MiB              # the answer size over which it must refuse (DOWNLOAD_MAXSIZE)
    listing: str | None = None      # the request of its complete listing (short-listing case)


def _hf_change(emu, n):
    model = f"deepseek-ai/Fresh-{n}"
    emu.world.add_model(model, license="mit")
    return "model.added", f"model:hf/{model}"


def _hub_change(emu, n):
    model = f"tigerlab/tiger-fresh-{n}"
    emu.world.add_model(model, license="apache-2.0")
    return "model.added", f"model:hf/{model}"


def _ms_change(emu, n):
    model = f"Qwen/Fresh-{n}"
    emu.modelscope.add_model(model, license="Apache License 2.0")
    return "model.added", f"model:ms/{model}"


def _release_change(repo):
    def change(emu, n):
        emu.github.add_release(repo, f"v9.{n}", body="Fresh release")
        return "release.published", f"release:github/{repo}/v9.{n}"
    return change


def _arxiv_change(emu, n):
    paper = f"2601.{n:05d}"
    emu.arxiv.add_paper(paper, title=f"Fresh open-weight model {n}", abstract="open-weight release")
    return "paper.published", f"paper:arxiv/{paper}"


def _daily_change(emu, n):
    paper = f"2602.{n:05d}"
    emu.world.add_daily_paper(paper, title=f"Fresh daily paper {n}", upvotes=5)
    return "paper.published", f"paper:arxiv/{paper}"


def _feed_change(emu, n):
    emu.feeds.add_entry("lab", f"fresh-{n}", title=f"Fresh post {n}", link=f"https://lab.example/fresh-{n}")
    return "post.published", None


SOURCES = [
    SourceCase("huggingface-org", "anon",
               {"name": "hf", "source": "huggingface", "orgs": ["deepseek-ai"], "every": "1h"},
               r"^/api/models(\?author=deepseek-ai|/deepseek-ai/)|^/deepseek-ai/", _hf_change,
               cap=16 * MiB, listing=r"^/api/models\?author=deepseek-ai"),
    SourceCase("huggingface-hub", "anon",
               {"name": "hub", "source": "huggingface", "search": "tiger", "every": "1h"},
               r"^/api/models\?search=tiger|^/api/models/tigerlab/|^/tigerlab/", _hub_change),
    SourceCase("modelscope", "token",
               {"name": "ms", "source": "modelscope", "orgs": ["Qwen"], "every": "1h"},
               r"^/modelscope/", _ms_change, listing=r"^/modelscope/api/v1/models/?$"),
    SourceCase("github-rest", "token",
               {"name": "rest", "source": "github", "repos": ["deepseek-ai/DeepSeek-V3"], "every": "1h",
                "max_wait": "2s"},
               r"^/github-api/(repos/deepseek-ai/|rate_limit)", _release_change("deepseek-ai/DeepSeek-V3"),
               cap=32 * MiB),
    SourceCase("github-atom", "anon",
               {"name": "atom", "source": "github", "repos": ["openai/gpt-oss"], "every": "1h", "max_wait": "2s"},
               r"^/github-api/(repos/openai/|rate_limit)|^/github/openai/", _release_change("openai/gpt-oss"),
               cap=32 * MiB),
    SourceCase("arxiv", "token",
               {"name": "papers", "source": "arxiv", "query": 'abs:"open-weight"', "every": "6h", "cache": "0s"},
               r"^/arxiv/", _arxiv_change),
    SourceCase("hf_papers", "anon",
               {"name": "daily", "source": "hf_papers", "every": "6h"},
               r"^/api/daily_papers", _daily_change),
    SourceCase("feed", "anon",
               {"name": "blog", "source": "feed", "urls": ["{emu}/feeds/lab"], "every": "2h"},
               r"^/feeds/", _feed_change),
]
SOURCE = {s.id: s for s in SOURCES}
GROUPS = ("anon", "token")


def build_world(emu: HubEmulator) -> None:
    for name in ("A", "B", "C", "D"):
        emu.world.add_model(f"deepseek-ai/Model-{name}", license="mit")
    emu.world.add_model("tigerlab/tiger-7b", license="apache-2.0")
    emu.world.add_model("tigerlab/tiger-13b", license="llama3.1")
    for name in ("A", "B", "C", "D"):
        emu.modelscope.add_model(f"Qwen/Model-{name}", license="Apache License 2.0")
    emu.github.add_repo("deepseek-ai/DeepSeek-V3", license_spdx="MIT")
    emu.github.add_release("deepseek-ai/DeepSeek-V3", "v1.0", body="First release")
    emu.github.add_repo("openai/gpt-oss", license_spdx="Apache-2.0")
    emu.github.add_release("openai/gpt-oss", "v0.1", body="First release")
    for i in range(3):
        emu.arxiv.add_paper(f"2507.{i:05d}", title=f"Open-weight model {i}", abstract="open-weight release")
    emu.world.add_daily_paper("2501.12948", title="DeepSeek-R1", upvotes=50, organization="deepseek-ai")
    emu.world.add_daily_paper("2501.00656", title="2 OLMo 2 Furious", upvotes=20)
    emu.feeds.add_feed("lab")
    for i in range(3):
        emu.feeds.add_entry("lab", f"post-{i}", title=f"Post {i}", link=f"https://lab.example/{i}")


# -- the faults ----------------------------------------------------------------------------------


@dataclass
class FaultCase:
    """How to inject one fault for a source, and what the faulted crawl's error must name."""

    id: str
    make: Callable                  # (source case, emu) -> [Fault, ...]
    names: str                      # a regex the error must match
    only: tuple[str, ...] = ()      # the sources it exists for (empty: all)
    skip_reason: str = ""
    watch: dict = field(default_factory=dict)   # keys added to every watch of the scenario
    statuses: tuple[str, ...] = ("partial", "failed")
    ok_for: dict = field(default_factory=dict)  # source id -> why this answer is normal there (ok, no error)
    transient: bool = False         # one bad answer, retried: `ok` (the change seen at once) is right too
    mark: object = None


def _short_listing(case: SourceCase, emu: HubEmulator) -> list[Fault]:
    """The real listing, all but one model left out: a 200 that looks fine and is short."""
    if case.id == "modelscope":
        answer = httpx.put(f"{emu.url}/modelscope/api/v1/models/",
                           json={"Path": "Qwen", "PageNumber": 1, "PageSize": 100}, trust_env=False).json()
        answer["Data"]["Models"] = answer["Data"]["Models"][:1]
        answer["Data"]["TotalCount"] = 1
    else:
        answer = httpx.get(f"{emu.url}/api/models", params={"author": "deepseek-ai"}, trust_env=False).json()[:1]
    body = json.dumps(answer).encode()
    return [Fault(case.listing, status=200, body=body, headers={"Content-Type": "application/json"})]


def _oversized(case: SourceCase, emu: HubEmulator) -> list[Fault]:
    """10 MB where a few kB are expected; just over the cap where a full page may be larger."""
    return [Fault.oversized(case.requests, size=max(TEN_MB, case.cap + MiB))]


def _github_limit(case: SourceCase, emu: HubEmulator) -> list[Fault]:
    return [Fault.github_rate_limited(r"^/github-api/", reset_in=3600, times=None)]


def _envelope(case: SourceCase, emu: HubEmulator) -> list[Fault]:
    if case.id == "modelscope":
        return [Fault.modelscope_error(case.requests)]
    return [Fault.arxiv_error(case.requests)]


def _simple(factory, **kwargs):
    return lambda case, emu: [factory(case.requests, **kwargs)]


def _rate_limited(*, ratelimit: bool, retry_after: bool, times: int | None = None):
    def make(case, emu):
        headers = {}
        if ratelimit:
            headers["RateLimit"] = '"api";r=0;t=1'
            headers["RateLimit-Policy"] = '"fixed window";"api";q=500;w=300'
        if retry_after:
            headers["Retry-After"] = "1"
        return [Fault(case.requests, status=429, headers=headers, body='{"error": "rate limited"}', times=times)]
    return make


FAULTS = [
    FaultCase("http-500", _simple(Fault.server_error, status=500), r"\b500\b"),
    FaultCase("http-502", _simple(Fault.server_error, status=502), r"\b502\b"),
    FaultCase("http-503", _simple(Fault.server_error, status=503), r"\b503\b"),
    FaultCase("429-ratelimit-and-retry-after", _rate_limited(ratelimit=True, retry_after=True), r"429|rate limit"),
    FaultCase("429-ratelimit-only", _rate_limited(ratelimit=True, retry_after=False), r"429|rate limit"),
    FaultCase("429-retry-after-only", _rate_limited(ratelimit=False, retry_after=True), r"429|rate limit"),
    # No hint at all: the client waits its own default (10 s) before each try, so the fault
    # is one answer, not a storm (five 10-second waits per request would be minutes): the
    # crawl waits, asks again and is done, or (GitHub: a secondary limit means a minute,
    # over the watch's max_wait) leaves the repo for the next crawl.
    FaultCase("429-no-hint-once", _rate_limited(ratelimit=False, retry_after=False, times=1), r"429|rate limit",
              transient=True, mark=pytest.mark.slow),
    FaultCase("github-403-ratelimit-remaining-0", _github_limit, r"rate limit", only=("github-rest", "github-atom"),
              skip_reason="only GitHub's API answers 403 with x-ratelimit-remaining: 0"),
    FaultCase("connection-reset", _simple(Fault.connection_reset), r"ConnectionLost|ConnectionDone|reset by peer"),
    FaultCase("read-timeout", _simple(Fault.slow, seconds=4), r"(?i)timed? ?out|took longer",
              watch={"request_timeout": "1s"}),
    FaultCase("cut-mid-document", _simple(Fault.cut_body, fraction=0.5), r"(?i)unreadable|not json|not xml|"
              r"malformed|expecting|unterminated|not a feed|parse|not well-formed|no element|syntax"),
    FaultCase("invalid-json", _simple(Fault.invalid_json), r"(?i)unreadable|not json|expecting|json",
              only=("huggingface-org", "huggingface-hub", "modelscope", "github-rest", "hf_papers"),
              skip_reason="this source reads XML; its malformed documents are the cut-mid-document case"),
    FaultCase("html-error-page-200", _simple(Fault.html_error_page), r"an HTML page, not (JSON|an Atom feed|an RSS)"),
    FaultCase("error-envelope-200", _envelope, r"(?i)unauthorized|refused|error", only=("modelscope", "arxiv"),
              skip_reason="only ModelScope (Success: false) and arXiv (error entries) wrap errors in a 200"),
    FaultCase("empty-listing", _simple(Fault.empty_listing), r"(?i)empty|short|no entries",
              ok_for={"hf_papers": "days without daily papers are normal (weekends, holidays)"}),
    FaultCase("short-listing", _short_listing, r"suspiciously short listing", only=("huggingface-org", "modelscope"),
              skip_reason="an incremental source (newest first, up to what it knows): a shorter answer is normal"
                          " and removes nothing"),
    FaultCase("redirect-loop", _simple(Fault.looping_redirect), r"(?i)redirect"),
    FaultCase("oversized-10mb", _oversized, r"(?i)over the .*limit|larger than|too large"),
]
FAULT = {f.id: f for f in FAULTS}


def _matrix():
    for fault in FAULTS:
        for source in SOURCES:
            marks = [fault.mark] if fault.mark else []
            if fault.only and source.id not in fault.only:
                marks.append(pytest.mark.skip(reason=fault.skip_reason))
            yield pytest.param(source.id, fault.id, id=f"{source.id}-{fault.id}", marks=marks)


# -- running scenarios -----------------------------------------------------------------------------


def _watches(emu: HubEmulator, group: str, extra: dict) -> list[dict]:
    out = []
    for case in SOURCES:
        if case.group == group:
            watch = {k: (v if k != "urls" else [u.format(emu=emu.url) for u in v]) for k, v in case.watch.items()}
            out.append({**watch, **extra})
    return out


def _config(emu: HubEmulator, folder: Path, group: str, extra: dict) -> CLI:
    folder.mkdir(parents=True, exist_ok=True)
    path = write_config(folder / "openwatch.toml", hf=emu.url, watches=_watches(emu, group, extra),
                        endpoints={k: v for k, v in emu.endpoints().items() if k != "huggingface"})
    return CLI(path, env={"GITHUB_TOKEN": "ghp_faultmatrix"} if group == "token" else None)


def _crawl_all(clis: dict[str, CLI]) -> dict[str, subprocess.CompletedProcess]:
    """`openwatch crawl <every watch>` in each group's process, the processes at once."""
    procs = {}
    for group, cli in clis.items():
        names = [w.group(1) for w in re.finditer(r'^name = "([^"]+)"', cli.config.read_text(), re.M)]
        procs[group] = subprocess.Popen([sys.executable, "-m", "jobs", "--config", str(cli.config), "crawl", *names],
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=cli.env,
                                        cwd=cli.config.parent)
    done = {}
    try:
        for group, proc in procs.items():
            out, err = proc.communicate(timeout=150)
            done[group] = subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
    except subprocess.TimeoutExpired as exc:
        for proc in procs.values():
            proc.kill()
            proc.communicate()
        raise AssertionError(f"a crawl hung: {' '.join(exc.cmd)}") from None
    return done


def _db(cli: CLI) -> Path:
    return cli.config.parent / "openwatch.db"


def _rows(cli: CLI, sql: str, params=()) -> list[tuple]:
    conn = sqlite3.connect(_db(cli))
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


ITEM_COLUMNS = "key, kind, license, license_category, gated, sha, content_hash, first_seen, last_changed, missing_count"


def _stored(cli: CLI, watch: str) -> dict:
    """What is stored for the watch's items: the rows that must survive a fault unchanged."""
    items = _rows(cli, f"select {ITEM_COLUMNS} from items where watch = ? order by key", (watch,))
    keys = [row[0] for row in items]
    marks = ",".join("?" * len(keys))
    snapshots = _rows(cli, f"select id, key, content_hash, data from snapshots where key in ({marks}) order by id", keys)
    return {"items": items, "snapshots": snapshots}


@dataclass
class Crawled:
    proc: dict                      # group -> CompletedProcess
    crawls: dict                    # watch -> (status, errors JSON)
    events: dict                    # watch -> [(type, item)]
    stored: dict                    # watch -> _stored()
    status: dict = field(default_factory=dict)   # watch -> its entry in `status --json`


def _observe(clis: dict[str, CLI], proc: dict, *, status: bool) -> Crawled:
    crawled = Crawled(proc, {}, {}, {})
    for group, cli in clis.items():
        for (watch,) in _rows(cli, "select distinct watch from crawls"):
            crawled.crawls[watch] = _rows(cli, "select status, errors from crawls where watch = ? order by id desc"
                                               " limit 1", (watch,))[0]
            crawled.events[watch] = _rows(cli, "select type, item from events where watch = ? order by seq", (watch,))
            crawled.stored[watch] = _stored(cli, watch)
    if status:  # `openwatch status --json`, the readable surface, in each group at once
        procs = [subprocess.Popen([sys.executable, "-m", "jobs", "--config", str(cli.config), "status", "--json"],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=cli.env,
                                  cwd=cli.config.parent) for cli in clis.values()]
        for proc in procs:
            out, err = proc.communicate(timeout=60)
            assert proc.returncode == 0, err
            crawled.status.update({w["watch"]: w for w in json.loads(out)["watches"]})
    return crawled


@dataclass
class Scenario:
    changes: dict                   # source id -> (event type, item key or None)
    baseline: Crawled
    faulted: Crawled
    clean: Crawled
    seconds: float = 0.0


def run_scenario(fault: FaultCase, root: Path) -> Scenario:
    """One fault for every source it exists for: its own emulator, baseline, change, crawls."""
    import time

    started = time.monotonic()
    emu = HubEmulator(page_size=5, rate_limits={"api": 10**6, "resolvers": 10**6, "pages": 10**6})
    emu.start()
    try:
        build_world(emu)
        clis = {group: _config(emu, root / group, group, {}) for group in GROUPS}
        proc = _crawl_all(clis)
        for group, done in proc.items():
            assert done.returncode == 0, f"baseline of {group} failed\n{done.stdout}\n{done.stderr}"
        baseline = _observe(clis, proc, status=False)
        cases = [s for s in SOURCES if not fault.only or s.id in fault.only]
        changes = {}
        for n, case in enumerate(cases, 1):
            kind, key = case.change(emu, n)
            changes[case.id] = (kind, key)
        if fault.watch:  # keys for the faulted crawl only (a short request timeout)
            clis = {group: _config(emu, root / group, group, fault.watch) for group in GROUPS}
        for case in cases:
            for injected in fault.make(case, emu):
                emu.faults.add(injected)
        faulted = _observe(clis, _crawl_all(clis), status=True)
        emu.faults.clear()
        if fault.watch:
            clis = {group: _config(emu, root / group, group, {}) for group in GROUPS}
        clean = _observe(clis, _crawl_all(clis), status=False)
        return Scenario(changes, baseline, faulted, clean, time.monotonic() - started)
    finally:
        emu.stop()


WORKERS = 4  # scenarios at once: most of a scenario's time is waiting (retries, Retry-After, pacing)


@pytest.fixture(scope="module")
def matrix(request, tmp_path_factory):
    """Every selected fault's scenario, computed up front, several at once."""
    from concurrent.futures import ThreadPoolExecutor

    wanted = sorted({item.callspec.params["fault_id"] for item in request.session.items
                     if getattr(item, "originalname", None) == "test_fault" and hasattr(item, "callspec")})
    root = tmp_path_factory.mktemp("fault-matrix")
    with ThreadPoolExecutor(WORKERS) as pool:
        futures = {f: pool.submit(run_scenario, FAULT[f], root / f) for f in wanted}
    results = {}
    for fault_id, future in futures.items():
        try:
            results[fault_id] = future.result()
        except Exception as exc:  # noqa: BLE001 - reported by each test of that fault
            results[fault_id] = exc
    return results


# -- the test --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("source_id", "fault_id"), list(_matrix()))
def test_fault(matrix, source_id, fault_id):
    source, fault = SOURCE[source_id], FAULT[fault_id]
    watch = source.watch["name"]
    scenario = matrix[fault_id]
    if isinstance(scenario, Exception):
        raise scenario
    kind, key = scenario.changes[source_id]
    faulted, clean = scenario.faulted, scenario.clean
    logs = "\n".join(f"{p.stdout}\n{p.stderr}" for p in faulted.proc.values())

    assert scenario.baseline.events[watch] == [], "the baseline is silent"
    assert scenario.baseline.crawls[watch][0] == "ok"

    # 3. the faulted crawl: partial or failed, one readable line naming the problem
    status, errors = faulted.crawls[watch]
    errors = json.loads(errors or "[]")
    shown = faulted.status[watch]
    assert "Traceback" not in logs
    if source_id in fault.ok_for:  # a normal answer there: nothing to report, nothing invented
        assert (status, errors, shown["result"]) == ("ok", [], "ok"), f"{watch}: {status} {errors}"
    elif fault.transient and status == "ok":  # waited, asked again, done: the change is in
        assert errors == [] and shown["result"] == "ok"
        assert [t for t, _ in faulted.events[watch]] == [kind], f"{watch}: {faulted.events[watch]}"
    else:
        assert status in fault.statuses, f"{watch}: {status} {errors}\n{logs}"
        assert shown["result"] == status
        assert errors and shown["last_error"], f"{watch}: no error recorded"
        for error in errors:
            assert "\n" not in error and "Traceback" not in error and len(error) <= 400, error
            assert "<twisted" not in error and "expand%5B" not in error, f"not for people: {error}"
        assert re.search(fault.names, " ".join(errors)), f"{watch}: {errors} does not name the fault"
    # no event but the scripted one; nothing stored earlier lost or changed
    seen = faulted.events[watch]
    assert all(t == kind and (key is None or k == key) for t, k in seen), f"{watch}: invented {seen}"
    before, after = scenario.baseline.stored[watch], faulted.stored[watch]
    assert set(before["items"]) <= set(after["items"]), f"{watch}: stored items changed or lost"
    assert set(before["snapshots"]) <= set(after["snapshots"]), f"{watch}: snapshots lost"
    assert len(after["items"]) - len(before["items"]) == len(seen)

    # 4. the fault cleared: ok, and the change made exactly one event over both crawls
    status, errors = clean.crawls[watch]
    assert status == "ok", f"{watch}: {status} {errors}"
    events = clean.events[watch]
    assert len(events) == 1 and events[0][0] == kind and (key is None or events[0][1] == key), (
        f"{watch}: {events}")
    assert set(before["snapshots"]) <= set(clean.stored[watch]["snapshots"])
