"""The pipeline benchmark (issues 7 and 9): the real `openwatch` CLI against the hub emulator,
side by side with a bare download loop and with urlwatch, in one run on one emulator world.

    python bench/pipeline.py --label before       # 10k and 100k; writes bench/RESULTS.md
    python bench/pipeline.py --quick              # small sizes, 2 repetitions: a smoke run
    python bench/pipeline.py --label after --repeat 7
    python bench/pipeline.py --only steady,urlwatch --no-write

What it measures (ratios matter, not absolute times; nothing here is asserted anywhere):

1. steady   `openwatch crawl` of --models models in --orgs orgs with nothing changed, its
            duration as recorded in `crawls` (started_at -> finished_at), against a bare httpx
            loop that downloads and `json.loads` exactly the listing URLs the spider fetched for
            its complete (baseline) listings; A B A B … interleaved, medians, ratio.
2. urlwatch the whole `openwatch run --once` process (wall, peak RSS) against urlwatch watching
            the same listing URLs (its cache filled by a first run): urlwatch as configured by
            default (it sends If-None-Match, the emulator answers 304) and with
            `ignore_cached: true` (full downloads, as openwatch does today).
3. baseline the first crawl's rate in models/s from its crawl duration, in fresh databases.
4. big      --big-models models in each of --big-orgs orgs counts: baseline, steady against the
            bare loop, requests per org per cycle, peak RSS, then one cycle with 100 changes.
5. fixed    process start -> first request and whole-process wall of a tiny crawl, with each
            unused Scrapy component turned off in turn (settings passed through bench/_cli.py,
            crawler/settings.py untouched); `-X importtime` of `import jobs.cli` and of a crawl.
6. profile  one steady cycle at --models under cProfile (every thread), top costs.

The emulator runs in this process (threads), the CLI, the bare loop and urlwatch as
subprocesses with OPENWATCH_ALLOW_SHORT_INTERVALS=1 in a temporary directory; every
subprocess has a timeout. Peak RSS is the child's ru_maxrss from wait4 (what /usr/bin/time -v
reports: the largest single process of the tree, not a sum). Every subprocess is started by
bench/_spawn.py, a small process of its own: Linux keeps a parent's RSS high-water mark in a
child's ru_maxrss across exec, and this process holds the emulator's worlds.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import pstats
import re
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import psutil

from crawler.emulator import HubEmulator

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
RESULTS = BENCH / "RESULTS.md"
WATCH = "bench"
PAGE_CAP = 1000  # the emulator's page cap, the Hub's own (the spider asks for limit=1000)
UNLIMITED = {"api": 10**9, "resolvers": 10**9, "pages": 10**9}  # never let pacing skew timings
STRIP_ENV = ("HF_", "GITHUB_", "SLACK_", "SMTP_", "OPENWATCH_", "SCRAPY_")
PROXY_ENV = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")
STEPS = ("steady", "urlwatch", "baseline", "big", "fixed", "profile")
CHANGES = 100

# Scrapy components openwatch does not use (Scrapy 2.19 names).
EXT = "scrapy.extensions."
DMW = "scrapy.downloadermiddlewares."
SMW = "scrapy.spidermiddlewares."
UNUSED_EXTENSIONS = [EXT + n for n in ("memusage.MemoryUsage", "memdebug.MemoryDebugger", "closespider.CloseSpider",
                                       "feedexport.FeedExporter", "logstats.LogStats", "spiderstate.SpiderState",
                                       "throttle.AutoThrottle")]
UNUSED_DOWNLOADER_MW = [DMW + n for n in ("offsite.OffsiteMiddleware", "robotstxt.RobotsTxtMiddleware",
                                          "httpauth.HttpAuthMiddleware", "redirect.MetaRefreshMiddleware",
                                          "httpproxy.HttpProxyMiddleware", "httpcache.HttpCacheMiddleware")]
UNUSED_SPIDER_MW = [SMW + n for n in ("referer.RefererMiddleware", "urllength.UrlLengthMiddleware",
                                      "depth.DepthMiddleware", "metacopy.MetaCopyDetectionMiddleware")]
RC, TELNET, COOKIES = EXT + "remote_control.RemoteControl", EXT + "telnet.TelnetConsole", DMW + "cookies.CookiesMiddleware"
# Two ways to turn a component off. Set to None in EXTENSIONS / *_MIDDLEWARES (the documented
# way): Scrapy 2.19 still imports its class (get_component_priority_dict_with_base loads every
# key of the override dict to deduplicate). Left out of the *_BASE dict: never imported.
FIXED_VARIANTS: list[tuple[str, dict]] = [
    ("as shipped", {}),
    ("REMOTE_CONTROL_ENABLED = False", {"REMOTE_CONTROL_ENABLED": False}),
    ("RemoteControl: None in EXTENSIONS", {"EXTENSIONS": {RC: None}}),
    ("RemoteControl left out of EXTENSIONS_BASE", {"EXTENSIONS_BASE": {RC: None}}),
    ("TelnetConsole left out of EXTENSIONS_BASE", {"EXTENSIONS_BASE": {TELNET: None}}),
    ("CookiesMiddleware: None in DOWNLOADER_MIDDLEWARES", {"DOWNLOADER_MIDDLEWARES": {COOKIES: None}}),
    ("CookiesMiddleware left out of DOWNLOADER_MIDDLEWARES_BASE", {"DOWNLOADER_MIDDLEWARES_BASE": {COOKIES: None}}),
    ("7 other unused extensions left out of the base", {"EXTENSIONS_BASE": dict.fromkeys(UNUSED_EXTENSIONS)}),
    ("6 unused downloader middlewares left out of the base",
     {"DOWNLOADER_MIDDLEWARES_BASE": dict.fromkeys(UNUSED_DOWNLOADER_MW)}),
    ("4 unused spider middlewares left out of the base", {"SPIDER_MIDDLEWARES_BASE": dict.fromkeys(UNUSED_SPIDER_MW)}),
    ("all of the above left out of the bases", {
        "EXTENSIONS_BASE": dict.fromkeys([RC, TELNET, *UNUSED_EXTENSIONS]),
        "DOWNLOADER_MIDDLEWARES_BASE": dict.fromkeys([COOKIES, *UNUSED_DOWNLOADER_MW]),
        "SPIDER_MIDDLEWARES_BASE": dict.fromkeys(UNUSED_SPIDER_MW),
    }),
]
WATCHED_IMPORTS = ("scrapy", "twisted", "aiohttp", "tldextract", "apscheduler", "alerts", "jinja2", "apprise",
                   "sqlite_utils", "httpx", "psutil", "feedparser", "click")


class BenchError(RuntimeError):
    """A run the numbers cannot be taken from (a failed crawl, a timeout)."""


# -- the emulator -------------------------------------------------------------------------------


class Hub:
    """The hub emulator in this process, with an arrival log of (epoch, method, path, status)."""

    def __init__(self):
        self.emu = HubEmulator(page_size=PAGE_CAP, rate_limits=UNLIMITED)
        self.world = self.emu.world
        self.arrivals: list[tuple[float, str, str, int]] = []
        record = self.emu.requests.record

        def recording(method, path, status, headers, **extra):
            self.arrivals.append((time.time(), method, path, status))  # list.append is atomic
            record(method, path, status, headers, **extra)

        self.emu.requests.record = recording

    def __enter__(self) -> Hub:
        self.url = self.emu.start()
        return self

    def __exit__(self, *exc) -> None:
        self.emu.stop()

    def mark(self) -> int:
        return len(self.arrivals)

    def since(self, mark: int) -> list[tuple[float, str, str, int]]:
        return self.arrivals[mark:]


def request_kind(path: str) -> str:
    bare = path.split("?", 1)[0]
    if bare.rstrip("/") == "/api/models":
        return "listing"
    if bare.startswith("/api/"):
        return "model"
    if "/resolve/" in bare:
        return "file"
    return "other"


def count_requests(arrivals) -> dict[str, int]:
    counts = {"total": len(arrivals), "listing": 0, "model": 0, "file": 0, "other": 0, "304": 0}
    for _, _, path, status in arrivals:
        counts[request_kind(path)] += 1
        counts["304"] += status == 304
    return counts


# -- scenarios ----------------------------------------------------------------------------------


@dataclass
class Scenario:
    name: str
    orgs: list[str]
    per_org: int
    folder: Path
    ids: list[str] = field(default_factory=list)
    listing_urls: list[str] = field(default_factory=list)
    databases: int = 0

    @property
    def models(self) -> int:
        return len(self.orgs) * self.per_org

    @property
    def config(self) -> Path:
        return self.folder / "openwatch.toml"

    @property
    def database(self) -> Path:
        return self.folder / "openwatch.db"


def populate(hub: Hub, tag: str, orgs: int, per_org: int, tmp: Path) -> Scenario:
    names = [f"{tag}-org-{i:03d}" for i in range(orgs)]
    scenario = Scenario(f"{orgs * per_org:,} models in {orgs} orgs of {per_org:,}", names, per_org, tmp / tag)
    scenario.folder.mkdir(parents=True)
    for i, org in enumerate(names):
        scenario.ids += hub.world.populate(per_org, org, seed=i)
    return scenario


def write_config(folder: Path, url: str, orgs: list[str], timeout: float) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "openwatch.toml"
    path.write_text("\n".join([
        'database = "openwatch.db"', "", "[endpoints]", f"huggingface = {json.dumps(url)}", "",
        "[[watch]]", f"name = {json.dumps(WATCH)}", 'source = "huggingface"', f"orgs = {json.dumps(orgs)}",
        'every = "1d"', f'timeout = "{int(timeout)}s"', "",
    ]))
    return path


# -- processes ----------------------------------------------------------------------------------


@dataclass
class Proc:
    returncode: int
    wall: float       # seconds, Popen -> reaped
    rss: int          # bytes, ru_maxrss of the child
    cpu: float        # seconds, user + system of the child (less sensitive to a loaded machine)
    started: float    # epoch at Popen
    out: str
    err: str


def child_env(extra: dict | None = None, home: Path | None = None) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(STRIP_ENV) and k.lower() not in PROXY_ENV}
    # Users' interpreters cache bytecode; without it every run compiles the project from source.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.update({"OPENWATCH_ALLOW_SHORT_INTERVALS": "1", "NO_PROXY": "127.0.0.1,localhost",
                "no_proxy": "127.0.0.1,localhost", "PYTHONPATH": str(ROOT)})
    if home is not None:  # keep tools that write to the user's profile (urlwatch, Scrapy's job files) in tmp
        env.update({"HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"),
                    "XDG_CACHE_HOME": str(home / ".cache"), "XDG_DATA_HOME": str(home / ".local/share")})
    env.update(extra or {})
    return env


class Spawner:
    """bench/_spawn.py, started once: every subprocess is started from it (see its docstring:
    started from this process, a child's ru_maxrss would include the emulator's worlds)."""

    _proc: subprocess.Popen | None = None
    _lock = threading.Lock()

    @classmethod
    def run(cls, request: dict) -> dict:
        with cls._lock:
            if cls._proc is None or cls._proc.poll() is not None:
                cls._proc = subprocess.Popen([sys.executable, str(BENCH / "_spawn.py")], stdin=subprocess.PIPE,
                                             stdout=subprocess.PIPE, text=True, env=child_env())
            cls._proc.stdin.write(json.dumps(request) + "\n")
            cls._proc.stdin.flush()
            line = cls._proc.stdout.readline()
        if not line:
            raise BenchError("bench/_spawn.py ended without an answer")
        return json.loads(line)


def run_process(cmd: list[str], *, env: dict, cwd: Path, timeout: float, check: bool = True) -> Proc:
    """Run to completion (killing its process group at `timeout`); wall time and peak RSS."""
    answer = Spawner.run({"cmd": [str(c) for c in cmd], "env": env, "cwd": str(cwd), "timeout": timeout})
    result = Proc(answer["returncode"], answer["wall"], answer["rss"], answer["cpu"], answer["started"],
                  answer["out"], answer["err"])
    if answer["timed_out"]:
        raise BenchError(f"timed out after {timeout:.0f}s: {' '.join(map(str, cmd))}\n{result.err[-2000:]}")
    if check and result.returncode != 0:
        raise BenchError(f"exit {result.returncode}: {' '.join(map(str, cmd))}\n{result.out[-1000:]}\n"
                         f"{result.err[-3000:]}")
    return result


def openwatch_cmd() -> list[str]:
    script = Path(sys.executable).with_name("openwatch")
    return [str(script)] if script.exists() else [sys.executable, "-m", "jobs"]


def iso_epoch(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def last_crawl(database: Path) -> dict:
    conn = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        conn.row_factory = sqlite3.Row
        row = conn.execute("select * from crawls where watch = ? order by id desc limit 1", (WATCH,)).fetchone()
        return dict(row) if row else {}
    finally:
        conn.close()


def crawl_events(database: Path, crawl_id: int) -> list[tuple[str, str]] | None:
    """(item key, type) of the events a crawl recorded; None if the schema no longer says."""
    conn = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        return conn.execute("select item, type from events where crawl_id = ?", (crawl_id,)).fetchall()
    except sqlite3.OperationalError:
        return None
    finally:
        conn.close()


@dataclass
class Crawl:
    duration: float   # crawls.finished_at - crawls.started_at
    wall: float
    rss: int
    cpu: float
    startup: float    # Popen -> crawls.started_at
    first_request: float | None  # Popen -> first request the emulator answered
    requests: dict
    recorded_requests: int
    items: int
    events: int
    status: str
    crawl_id: int


def run_cli(hub: Hub, folder: Path, args: list[str], timeout: float, *, via_wrapper: bool = False,
            env_extra: dict | None = None) -> tuple[Crawl, Proc]:
    cmd = [sys.executable, BENCH / "_cli.py"] if via_wrapper else openwatch_cmd()
    mark = hub.mark()
    proc = run_process([*cmd, "--config", folder / "openwatch.toml", *args], env=child_env(env_extra, folder / "home"),
                       cwd=folder, timeout=timeout, check=False)
    arrivals = hub.since(mark)
    row = last_crawl(folder / "openwatch.db")
    if proc.returncode != 0 or not row or row.get("status") != "ok":
        raise BenchError(f"crawl not ok (exit {proc.returncode}, status {row.get('status')!r}, errors "
                         f"{row.get('errors')!r}):\n{proc.out[-1000:]}\n{proc.err[-3000:]}")
    started, finished = iso_epoch(row["started_at"]), iso_epoch(row["finished_at"])
    crawl = Crawl(
        duration=finished - started, wall=proc.wall, rss=proc.rss, cpu=proc.cpu, startup=started - proc.started,
        first_request=(arrivals[0][0] - proc.started) if arrivals else None, requests=count_requests(arrivals),
        recorded_requests=row.get("requests") or 0, items=row.get("items") or 0, events=row.get("events") or 0,
        status=row["status"], crawl_id=row["id"],
    )
    return crawl, proc


def crawl(hub: Hub, scenario: Scenario, timeout: float, **kw) -> Crawl:
    return run_cli(hub, scenario.folder, ["crawl", WATCH], timeout, **kw)[0]


def bare_loop(scenario: Scenario, timeout: float) -> dict:
    urls = scenario.folder / "listing-urls.json"
    if not urls.exists():
        urls.write_text(json.dumps(scenario.listing_urls))
    proc = run_process([sys.executable, BENCH / "_bare_loop.py", urls], env=child_env(), cwd=scenario.folder,
                       timeout=timeout)
    result = json.loads(proc.out.strip().splitlines()[-1])
    result["rss"] = proc.rss
    result["cpu"] = proc.cpu
    return result


def baseline(hub: Hub, scenario: Scenario, timeout: float) -> Crawl:
    """The first crawl of `scenario` into its database; keeps the listing URLs it fetched."""
    mark = hub.mark()
    write_config(scenario.folder, hub.url, scenario.orgs, timeout)
    first = crawl(hub, scenario, timeout)
    urls = [hub.url + path for _, method, path, _ in hub.since(mark)
            if method == "GET" and request_kind(path) == "listing"]
    scenario.listing_urls = list(dict.fromkeys(urls))
    if first.items < scenario.models:
        print(f"  ! baseline recorded {first.items} items for {scenario.models} models", flush=True)
    return first


def fresh_baseline(hub: Hub, scenario: Scenario, timeout: float) -> Crawl:
    scenario.databases += 1
    folder = scenario.folder / f"baseline-{scenario.databases}"
    write_config(folder, hub.url, scenario.orgs, timeout)
    return run_cli(hub, folder, ["crawl", WATCH], timeout)[0]


# -- steps --------------------------------------------------------------------------------------


def median(values) -> float:
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else float("nan")


def mib(n: float) -> float:
    return n / 2**20


def note(text: str) -> None:
    print(text, flush=True)


def steady_pairs(hub: Hub, scenario: Scenario, repeat: int, timeout: float) -> dict:
    crawls, loops = [], []
    for i in range(repeat):
        c = crawl(hub, scenario, timeout)
        b = bare_loop(scenario, timeout)
        crawls.append(c)
        loops.append(b)
        note(f"  [{i + 1}/{repeat}] crawl {c.duration:.3f}s (wall {c.wall:.2f}s, {c.requests['total']} requests, "
             f"{c.events} events, rss {mib(c.rss):.0f} MiB) | bare loop {b['seconds']:.3f}s "
             f"({b['pages']} pages, {b['bytes'] / 1e6:.1f} MB)")
        if c.events:
            note(f"  ! {c.events} events in a cycle where nothing changed")
    crawl_s = median(c.duration for c in crawls)
    loop_s = median(b["seconds"] for b in loops)
    return {
        "scenario": scenario.name, "models": scenario.models, "orgs": len(scenario.orgs), "repeat": repeat,
        "crawl_s": crawl_s, "crawl_all": [c.duration for c in crawls], "loop_s": loop_s,
        "loop_all": [b["seconds"] for b in loops], "ratio": crawl_s / loop_s,
        "wall_s": median(c.wall for c in crawls), "startup_s": median(c.startup for c in crawls),
        "cpu_s": median(c.cpu for c in crawls), "loop_cpu_s": median(b["cpu"] for b in loops),
        "recorded_requests": crawls[-1].recorded_requests,
        "rss": max(c.rss for c in crawls), "requests": crawls[-1].requests,
        "requests_per_org": crawls[-1].requests["total"] / len(scenario.orgs),
        "listing_per_org": crawls[-1].requests["listing"] / len(scenario.orgs),
        "pages": loops[-1]["pages"], "bytes": loops[-1]["bytes"], "events": sum(c.events for c in crawls),
    }


def baseline_row(scenario: Scenario, runs: list[Crawl]) -> dict:
    seconds = median(c.duration for c in runs)
    return {
        "scenario": scenario.name, "models": scenario.models, "runs": len(runs), "crawl_s": seconds,
        "crawl_all": [c.duration for c in runs], "rate": scenario.models / seconds,
        "wall_s": median(c.wall for c in runs), "rss": max(c.rss for c in runs),
        "requests": runs[0].requests["total"], "items": runs[0].items,
    }


URLWATCH_CONFIG = """\
display:
  new: true
  error: true
  unchanged: false
  empty-diff: true
report:
  stdout:
    enabled: true
    color: false
"""


def urlwatch_step(hub: Hub, scenario: Scenario, repeat: int, timeout: float) -> dict | None:
    exe = Path(sys.executable).with_name("urlwatch")
    if not exe.exists():
        note("  urlwatch is not installed in this venv (pip install urlwatch): skipped")
        return None
    folder = scenario.folder / "urlwatch"
    folder.mkdir(exist_ok=True)
    (folder / "urlwatch.yaml").write_text(URLWATCH_CONFIG)
    variants = {}
    for variant, extra in (("default", ""), ("ignore_cached", "ignore_cached: true\n")):
        jobs = [f"name: {json.dumps(f'listing {i}')}\nurl: {json.dumps(url)}\n{extra}"
                for i, url in enumerate(scenario.listing_urls)]
        urls = folder / f"urls-{variant}.yaml"
        urls.write_text("---\n".join(jobs))
        variants[variant] = [exe, "--urls", urls, "--config", folder / "urlwatch.yaml",
                             "--hooks", folder / "hooks.py", "--cache", folder / f"cache-{variant}.db"]
    env = child_env(home=folder / "home")
    for cmd in variants.values():  # fill the caches: the first run sees every job as new
        run_process(cmd, env=env, cwd=folder, timeout=timeout)
    once: list[Crawl] = []
    runs: dict[str, list[tuple[Proc, dict]]] = {v: [] for v in variants}
    for i in range(repeat):
        c, _ = run_cli(hub, scenario.folder, ["run", "--once"], timeout)
        once.append(c)
        line = f"  [{i + 1}/{repeat}] run --once wall {c.wall:.2f}s rss {mib(c.rss):.0f} MiB"
        for variant, cmd in variants.items():
            mark = hub.mark()
            proc = run_process(cmd, env=env, cwd=folder, timeout=timeout)
            counts = count_requests(hub.since(mark))
            runs[variant].append((proc, counts))
            line += f" | urlwatch {variant} {proc.wall:.2f}s rss {mib(proc.rss):.0f} MiB ({counts['total']} req, " \
                    f"{counts['304']} 304)"
        note(line)
    row = {"once_wall": median(c.wall for c in once), "once_all": [c.wall for c in once],
           "once_rss": max(c.rss for c in once), "once_requests": once[-1].requests["total"],
           "once_crawl_s": median(c.duration for c in once), "urlwatch": {}}
    for variant, results in runs.items():
        wall = median(p.wall for p, _ in results)
        row["urlwatch"][variant] = {"wall": wall, "all": [p.wall for p, _ in results],
                                    "rss": max(p.rss for p, _ in results), "requests": results[-1][1]["total"],
                                    "not_modified": results[-1][1]["304"], "ratio": row["once_wall"] / wall}
    return row


def changes_step(hub: Hub, scenario: Scenario, timeout: float) -> dict:
    """100 changes spread over the orgs: half relicensed in the card, half with a new LICENSE."""
    step = max(1, len(scenario.ids) // CHANGES)
    chosen = scenario.ids[::step][:CHANGES]
    with_file = 0
    for i, model_id in enumerate(chosen):
        current = hub.world.get(model_id).license
        if i % 2 == 0:
            hub.world.relicense(model_id, "cc-by-nc-4.0" if current != "cc-by-nc-4.0" else "mit")
        else:
            hub.world.relicense(model_id, "mit" if current != "mit" else "apache-2.0",
                                license_text=f"MIT License\n\nCopyright (c) 2025 {model_id}\n")
            with_file += 1
    c = crawl(hub, scenario, timeout)
    changed = set(chosen)
    events = crawl_events(scenario.database, c.crawl_id)
    # "model:hf/<owner>/<name>" -> "<owner>/<name>"
    items = {item.split("/", 1)[1] for item, _ in events or () if isinstance(item, str) and "/" in item}
    orgs_changed = len({m.split("/", 1)[0] for m in chosen})
    found = len(changed & items) if events is not None else float("nan")
    return {"changed": len(chosen), "found": found, "events": c.events, "crawl_s": c.duration,
            "requests": c.requests, "bound": len(scenario.orgs) + orgs_changed + with_file,
            "bound_text": f"{len(scenario.orgs)} orgs + {orgs_changed} pages with changes + {with_file} LICENSE files",
            "rss": c.rss}


def fixed_step(hub: Hub, tmp: Path, repeat: int, timeout: float) -> dict:
    scenario = populate(hub, "tiny", 1, 10, tmp)
    baseline(hub, scenario, timeout)
    results: dict[str, list[Crawl]] = {"real CLI (no wrapper)": []}
    results.update({name: [] for name, _ in FIXED_VARIANTS})
    for _ in range(repeat):  # round-robin, so drift hits every variant alike
        results["real CLI (no wrapper)"].append(crawl(hub, scenario, timeout))
        for name, settings in FIXED_VARIANTS:
            results[name].append(crawl(hub, scenario, timeout, via_wrapper=True,
                                       env_extra={"OPENWATCH_BENCH_SCRAPY_SETTINGS": json.dumps(settings)}))
    # What each variant imports: module counts are exact, whatever else runs on the machine.
    wrapper = [sys.executable, "-X", "importtime", BENCH / "_cli.py", "--config", scenario.config, "crawl", WATCH]
    imports = {name: importtime(wrapper, scenario.folder, timeout,
                                {"OPENWATCH_BENCH_SCRAPY_SETTINGS": json.dumps(settings)}, keep_names=True)
               for name, settings in FIXED_VARIANTS}
    shipped_self_us = imports["as shipped"].pop("names")
    shipped_modules = set(shipped_self_us)
    rows = []
    for name, runs in results.items():
        imp = imports.get(name)
        names = set(imp.pop("names", None) or shipped_modules) if imp else shipped_modules
        avoided = sorted({n.split(".", 1)[0] for n in shipped_modules - names}
                         - {n.split(".", 1)[0] for n in names})
        rows.append({"variant": name, "first_request": median(c.first_request for c in runs),
                     "first_request_min": min(c.first_request for c in runs),
                     "startup": median(c.startup for c in runs), "wall": median(c.wall for c in runs),
                     "cpu": median(c.cpu for c in runs), "cpu_min": min(c.cpu for c in runs),
                     "rss": median(c.rss for c in runs),
                     "modules": imp["modules"] if imp else None, "import_ms": imp["total_us"] / 1000 if imp else None,
                     "modules_avoided": len(shipped_modules - names), "packages_avoided": avoided,
                     "avoided_import_ms": sum(shipped_self_us[n] for n in shipped_modules - names) / 1000})
    reference = next(r for r in rows if r["variant"] == "as shipped")
    for r in rows:
        r["saves_first_request"] = reference["first_request"] - r["first_request"]
        r["saves_first_request_min"] = reference["first_request_min"] - r["first_request_min"]
        r["saves_wall"] = reference["wall"] - r["wall"]
        r["saves_cpu"] = reference["cpu"] - r["cpu"]
        r["saves_cpu_min"] = reference["cpu_min"] - r["cpu_min"]
    python_start = median(run_process([sys.executable, "-c", "pass"], env=child_env(), cwd=tmp, timeout=60).wall
                          for _ in range(repeat))
    import_cli = median(run_process([sys.executable, "-c", "import jobs.cli"], env=child_env(), cwd=tmp,
                                    timeout=60).wall for _ in range(repeat))
    imports_cli = importtime([sys.executable, "-X", "importtime", "-c", "import jobs.cli"], tmp, timeout)
    cli = openwatch_cmd()
    cli = cli[1:] if cli[0] == sys.executable else cli  # `python -X importtime <script>` or `-m jobs`
    imports_crawl = importtime([sys.executable, "-X", "importtime", *cli, "--config",
                                scenario.config, "crawl", WATCH], scenario.folder, timeout)
    return {"rows": rows, "python_start": python_start, "import_cli_wall": import_cli, "imports_cli": imports_cli,
            "imports_crawl": imports_crawl, "repeat": repeat}


IMPORT_LINE = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)\s*$")


def importtime(cmd: list, cwd: Path, timeout: float, env_extra: dict | None = None, keep_names: bool = False) -> dict:
    proc = run_process(cmd, env=child_env(env_extra, home=cwd / "home"), cwd=cwd, timeout=timeout)
    modules = []
    for line in proc.err.splitlines():
        match = IMPORT_LINE.match(line)
        if match:
            modules.append((match.group(4), int(match.group(1)), int(match.group(2)), len(match.group(3))))
    by_package: dict[str, int] = {}
    for name, self_us, _, _ in modules:
        package = name.split(".", 1)[0]
        by_package[package] = by_package.get(package, 0) + self_us
    top_level = sorted(((name, cum) for name, _, cum, depth in modules if depth <= 1), key=lambda t: -t[1])
    imported = {name.split(".", 1)[0] for name, *_ in modules}
    result = {"total_us": sum(m[1] for m in modules), "modules": len(modules),
              "by_package": sorted(by_package.items(), key=lambda kv: -kv[1])[:25], "top_level": top_level[:25],
              "watched": {name: name in imported for name in WATCHED_IMPORTS}}
    if keep_names:
        result["names"] = {m[0]: m[1] for m in modules}  # module -> self µs
    return result


def profile_step(hub: Hub, scenario: Scenario, timeout: float) -> dict:
    path = scenario.folder / "steady.prof"
    c, _ = run_cli(hub, scenario.folder, ["crawl", WATCH], timeout, via_wrapper=True,
                   env_extra={"OPENWATCH_BENCH_PROFILE": str(path), "OPENWATCH_BENCH_PROFILE_FROM": "crawler"})
    stats = pstats.Stats(str(path))
    entries, waiting = [], []
    for (filename, line, func), (cc, nc, tt, ct, callers) in stats.stats.items():
        where = short_path(filename, line, func)
        entry = {"where": where, "file": filename, "ncalls": nc, "tottime": tt, "cumtime": ct,
                 "caller": caller_chain(stats, (filename, line, func))}
        (waiting if filename == "~" and WAITING.search(where) else entries).append(entry)
    by_area: dict[str, float] = {}
    for e in entries:
        by_area[area(e["file"], e["where"])] = by_area.get(area(e["file"], e["where"]), 0.0) + e["tottime"]
    own = [e for e in entries if is_project(e["file"])]
    return {"crawl_s": c.duration, "wall": c.wall, "stats_path": str(path),
            "tottime": sorted(entries, key=lambda e: -e["tottime"])[:15],
            "own_cumtime": sorted(own, key=lambda e: -e["cumtime"])[:15],
            "areas": sorted(by_area.items(), key=lambda kv: -kv[1])[:12],
            "total_tottime": sum(e["tottime"] for e in entries),
            "waiting": sorted(waiting, key=lambda e: -e["tottime"]),
            "waiting_total": sum(e["tottime"] for e in waiting)}


def caller_chain(stats: pstats.Stats, key: tuple, depth: int = 12) -> str:
    """The heaviest callers upwards, until openwatch's own code; standard library, importlib and
    C frames are walked through but not shown (up to three frames shown)."""
    frames = []
    seen = {key}
    while len(frames) < depth:
        callers = {k: v for k, v in stats.stats.get(key, (0, 0, 0, 0, {}))[4].items() if k not in seen}
        if not callers:
            break
        key = max(callers.items(), key=lambda kv: kv[1][3])[0]
        seen.add(key)
        frames.append(key)
        if is_project(key[0]):
            break
    shown = [f for f in frames if f[0] != "~" and "/site-packages/" in f[0] or is_project(f[0])][-3:] or frames[:1]
    return " ← ".join(short_path(*f) for f in shown)


# Threads blocked on a lock, a queue or the selector: time spent waiting, not working.
WAITING = re.compile(r"acquire' of '_thread|_queue\.SimpleQueue|select\.(e?poll|select)|time\.sleep")


def short_path(filename: str, line: int, func: str) -> str:
    if filename == "~":
        return func  # a C function: "<method 'execute' of 'sqlite3.Cursor' objects>"
    for marker in ("/site-packages/", str(ROOT) + "/", "/lib/python3."):
        if marker in filename:
            filename = filename.split(marker, 1)[1]
            if marker == "/lib/python3.":
                filename = "stdlib/" + filename.split("/", 1)[-1]
            break
    return f"{filename}:{line}({func})"


def is_project(filename: str) -> bool:
    """openwatch's own code (not the venv, not this bench)."""
    prefix = str(ROOT) + "/"
    return filename.startswith(prefix) and not filename[len(prefix):].startswith((".venv/", "bench/"))


def area(filename: str, where: str) -> str:
    if filename == "~":
        match = re.search(r"of '([\w.]+)", where) or re.search(r"<built-in method ([\w.]+)", where)
        name = match.group(1) if match else where
        return "C: " + name.split(".")[0]
    if "/site-packages/" in filename:
        return filename.split("/site-packages/", 1)[1].split("/", 1)[0]
    if is_project(filename):
        return "openwatch: " + filename.split(str(ROOT) + "/", 1)[1].split("/", 1)[0]
    return "stdlib: " + filename.rsplit("/", 1)[-1]


# -- the machine ----------------------------------------------------------------------------------


def pkg_version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def git(*args: str) -> str:
    try:
        return subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True, timeout=30,
                              check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def machine() -> dict:
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    dirty = [line for line in git("status", "--porcelain", "--untracked-files=no").splitlines()
             if not line[3:].startswith("bench/")]
    return {
        "nproc": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "cpu": cpu or "unknown", "ram_gib": psutil.virtual_memory().total / 2**30,
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "os": platform.platform(), "sqlite": sqlite3.sqlite_version,
        "versions": {n: pkg_version(n) for n in ("openwatch", "scrapy", "twisted", "httpx", "sqlite-utils",
                                                  "urlwatch", "requests", "psutil")},
        # The code measured: the last commit touching anything outside bench/.
        "commit": git("log", "-1", "--format=%h", "--", ".", ":(exclude)bench") or "unknown", "dirty": bool(dirty),
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "load": load(),
    }


def load() -> str:
    try:
        return " ".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:
        return "unknown"


# -- report -------------------------------------------------------------------------------------


def fmt_s(x: float) -> str:
    return f"{x:.3f} s" if x < 10 else f"{x:.1f} s"


def target(value: float, limit: float, *, at_most: bool = True) -> str:
    if value != value:
        return "not measured"
    met = value <= limit if at_most else value >= limit
    if met:
        return "met"
    return f"missed by {value / limit:.1f}x" if at_most else f"missed: {limit / value:.1f}x too slow"


def report(meta: dict, r: dict, label: str) -> str:
    """`meta`: step -> {"machine", "argv"} of the run that measured it (steps may come from several runs)."""
    runs = []
    for step in STEPS:
        if step in meta and meta[step] not in [run for run, _ in runs]:
            runs.append((meta[step], []))
        for run, steps in runs:
            if step in meta and run == meta[step]:
                steps.append(step)
    m = runs[-1][0]["machine"]
    dates = sorted({run["machine"]["date"] for run, _ in runs})
    out = [f"## {label} (commit {m['commit']}{', with local changes' if m['dirty'] else ''}, {', '.join(dates)})", ""]
    v = m["versions"]
    out += [f"Machine: {m['nproc']} CPUs ({m['cpu']}), {m['ram_gib']:.1f} GiB RAM, {m['os']}; {m['python']}, "
            f"SQLite {m['sqlite']}; openwatch {v['openwatch']}, Scrapy {v['scrapy']}, Twisted {v['twisted']}, "
            f"httpx {v['httpx']}, sqlite-utils {v['sqlite-utils']}, urlwatch {v['urlwatch']}, "
            f"requests {v['requests']}. Bytecode caching on in the children. Other work on the machine shows in "
            "the load average (1, 5, 15 min); ratios are measured interleaved so both sides share it.", ""]
    for run, steps in runs:
        rm = run["machine"]
        command = " ".join(["python bench/pipeline.py", *run["argv"]])
        out.append(f"- `{command}`"
                   + f" ({', '.join(steps)}): {rm['date']}, load {rm['load']} at start, {rm.get('load_end', '?')} "
                   "at end")
    out.append("")

    targets = []
    if "steady" in r:
        s = r["steady"]
        targets.append((f"steady cycle vs bare loop, {s['scenario']}", f"{s['ratio']:.2f}x", "≤ 1.5x (issue 7)",
                        target(s["ratio"], 1.5)))
    if r.get("urlwatch"):
        u = r["urlwatch"]
        for variant, w in u["urlwatch"].items():
            targets.append((f"`run --once` process vs urlwatch ({variant})", f"{w['ratio']:.2f}x",
                            "≤ 1.0x (issue 7)", target(w["ratio"], 1.0)))
    if "baseline" in r:
        b = r["baseline"]
        targets.append((f"first crawl, {b['scenario']}", f"{b['rate']:,.0f} models/s", "≥ 10,000 models/s (issue 7)",
                        target(b["rate"], 10_000, at_most=False)))
    for big in r.get("big", []):
        s = big["steady"]
        targets.append((f"steady cycle vs bare loop, {s['scenario']}", f"{s['ratio']:.2f}x",
                        "≤ 2x (issue 7); ≤ 0.5x (issue 9)", f"{target(s['ratio'], 2.0)}; {target(s['ratio'], 0.5)}"))
        targets.append((f"steady requests per org, {s['scenario']}", f"{s['requests_per_org']:.2f}",
                        "≤ 1 (issue 9)", target(s["requests_per_org"], 1.0)))
        peak = max(big["baseline"]["rss"], s["rss"], big.get("changes", {}).get("rss", 0))
        targets.append((f"peak RSS, {s['scenario']}", f"{peak / 1e6:.0f} MB", "≤ 300 MB (issues 7, 9)",
                        target(peak / 1e6, 300)))
        if big.get("changes"):
            c = big["changes"]
            targets.append((f"cycle with {c['changed']} changes, {s['scenario']}",
                            f"{c['found']} found, {c['requests']['total']} requests",
                            f"all found; ≤ {c['bound']} requests (issue 9)",
                            ("events not readable" if c["found"] != c["found"] else "met" if c["found"] == c["changed"]
                             else f"{c['changed'] - c['found']} not found") + "; "
                            + target(c["requests"]["total"], c["bound"])))
    if targets:
        out += ["### Targets", "", "| measure | value | target | |", "|---|---|---|---|"]
        out += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in targets]
        out.append("")

    if "steady" in r:
        out += steady_section("1. Steady cycle against the bare loop", r["steady"])
    if r.get("urlwatch"):
        u = r["urlwatch"]
        out += ["### 2. The whole `run --once` process against urlwatch", "",
                "Same listing URLs; urlwatch's cache filled by one run first. `default` is urlwatch as a user "
                "runs it: it sends `If-None-Match` and the emulator answers 304 (the Hub's own ETag behaviour on "
                "/api/models is not verified); `ignore_cached` makes it download every page, as openwatch does.",
                "", "| process | wall (median) | all runs | peak RSS | requests |", "|---|---|---|---|---|",
                f"| openwatch run --once | {fmt_s(u['once_wall'])} | {runs_text(u['once_all'])} | "
                f"{mib(u['once_rss']):.0f} MiB | {u['once_requests']} |"]
        for variant, w in u["urlwatch"].items():
            out.append(f"| urlwatch ({variant}) | {fmt_s(w['wall'])} | {runs_text(w['all'])} | "
                       f"{mib(w['rss']):.0f} MiB | {w['requests']} ({w['not_modified']} answered 304) |")
        out += ["", f"openwatch's crawl inside `run --once`: {fmt_s(u['once_crawl_s'])} (median, from `crawls`).", ""]
    if "baseline" in r:
        b = r["baseline"]
        out += ["### 3. First crawl (baseline)", "",
                f"{b['scenario']}, no LICENSE files in the world (listings only), {b['runs']} fresh database(s): "
                f"crawl {fmt_s(b['crawl_s'])} (runs: {runs_text(b['crawl_all'])}) = **{b['rate']:,.0f} models/s**; "
                f"process wall {fmt_s(b['wall_s'])}, peak RSS {mib(b['rss']):.0f} MiB, {b['requests']} requests, "
                f"{b['items']:,} items recorded.", ""]
    if r.get("big"):
        out += ["### 4. 100k models", "",
                "| world | cycle | crawl (crawls) | bare loop | ratio | process wall | peak RSS | requests | "
                "requests/org |", "|---|---|---|---|---|---|---|---|---|"]
        for big in r["big"]:
            b, s = big["baseline"], big["steady"]
            out.append(f"| {s['scenario']} | baseline | {fmt_s(b['crawl_s'])} ({b['rate']:,.0f} models/s) | | | "
                       f"{fmt_s(b['wall_s'])} | {mib(b['rss']):.0f} MiB | {b['requests']} | "
                       f"{b['requests'] / s['orgs']:.2f} |")
            out.append(f"| {s['scenario']} | steady (median of {s['repeat']}) | {fmt_s(s['crawl_s'])} | "
                       f"{fmt_s(s['loop_s'])} | **{s['ratio']:.2f}x** | {fmt_s(s['wall_s'])} | {mib(s['rss']):.0f} MiB | "
                       f"{s['requests']['total']} | {s['requests_per_org']:.2f} |")
            if big.get("changes"):
                c = big["changes"]
                out.append(f"| {s['scenario']} | {c['changed']} changes | {fmt_s(c['crawl_s'])} | | | | "
                           f"{mib(c['rss']):.0f} MiB | {c['requests']['total']} (bound {c['bound']}) | "
                           f"{c['requests']['total'] / s['orgs']:.2f} |")
        out.append("")
        for big in r["big"]:
            s = big["steady"]
            out.append(f"- {s['scenario']}: steady crawls {runs_text(s['crawl_all'])}, bare loops "
                       f"{runs_text(s['loop_all'])}; {s['pages']} listing pages, {s['bytes'] / 1e6:.0f} MB.")
            if big.get("changes"):
                c = big["changes"]
                rq = c["requests"]
                out.append(f"  100 changes: {c['found']}/{c['changed']} changed models have an event "
                           f"({c['events']} events); requests {rq['listing']} listing + {rq['file']} files + "
                           f"{rq['model']} model = {rq['total']}; bound = {c['bound_text']}.")
        out.append("")
    if "fixed" in r:
        out += fixed_section(r["fixed"])
    if "profile" in r:
        out += profile_section(r["profile"], label)
    return "\n".join(out).rstrip() + "\n"


def runs_text(values) -> str:
    return ", ".join(f"{v:.2f}" for v in values)


def steady_section(title: str, s: dict) -> list[str]:
    rq = s["requests"]
    return [f"### {title}", "",
            f"{s['scenario']}, nothing changed, {s['repeat']} pairs interleaved (crawl, loop, crawl, loop, …). "
            f"Crawl = `crawls.finished_at - started_at`; bare loop = one httpx client downloading and "
            f"`json.loads`-ing the {s['pages']} listing URLs the baseline crawl fetched ({s['bytes'] / 1e6:.1f} MB), "
            "one at a time.", "",
            "| | median | all runs |", "|---|---|---|",
            f"| openwatch crawl | {fmt_s(s['crawl_s'])} | {runs_text(s['crawl_all'])} |",
            f"| bare loop | {fmt_s(s['loop_s'])} | {runs_text(s['loop_all'])} |",
            f"| **ratio** | **{s['ratio']:.2f}x** | |", "",
            f"Whole crawl process: wall {fmt_s(s['wall_s'])} (median), of which {fmt_s(s['startup_s'])} from process "
            f"start to the crawl's row; CPU {fmt_s(s['cpu_s'])} (the bare loop's process: {fmt_s(s['loop_cpu_s'])}); "
            f"peak RSS {mib(s['rss']):.0f} MiB. Requests per cycle (emulator log): {rq['total']} ({rq['listing']} "
            f"listing, {rq['model']} model, {rq['file']} file) = {s['requests_per_org']:.2f} per org; "
            f"`crawls.requests` {s['recorded_requests']}.",
            ""]


def fixed_section(f: dict) -> list[str]:
    out = ["### 5. Fixed costs: process start to first request", "",
           f"A steady crawl of 1 org of 10 models, {f['repeat']} rounds round-robin (every variant once per round). "
           "Every variant but the first runs through bench/_cli.py, which applies the settings above every other "
           "priority (dict settings merged) without editing crawler/settings.py. \"saves\" = as shipped minus the "
           "variant; times as median / best of the rounds (on a busy machine the best is the steadier estimate); "
           "modules from one `-X importtime` run of each variant (exact).", "",
           "| variant | to first request (median / best) | saves (median / best) | process CPU (median / best) | "
           "saves (median / best) | modules imported | not imported (their import time in the shipped run) | "
           "packages no longer imported |", "|---|---|---|---|---|---|---|---|"]
    for row in f["rows"]:
        ref = row["variant"].startswith(("as shipped", "real CLI"))

        def ms(key):
            return f"{row[key] * 1000:.0f}"

        def saved(key):
            return "" if ref else f"{row[key] * 1000:+.0f} / {row[key + '_min'] * 1000:+.0f} ms"

        modules = "" if row["modules"] is None else f"{row['modules']}"
        avoided = "" if ref else f"{row['modules_avoided']} ({row['avoided_import_ms']:.0f} ms)"
        out.append(f"| {row['variant']} | {ms('first_request')} / {ms('first_request_min')} ms | "
                   f"{saved('saves_first_request')} | {ms('cpu')} / {ms('cpu_min')} ms | {saved('saves_cpu')} | "
                   f"{modules} | {avoided} | {', '.join(row['packages_avoided'])} |")
    out += ["", f"For scale: `python -c pass` {f['python_start'] * 1000:.0f} ms, `python -c \"import jobs.cli\"` "
            f"{f['import_cli_wall'] * 1000:.0f} ms (wall).", ""]
    for title, key in (("`python -X importtime -c \"import jobs.cli\"`", "imports_cli"),
                       ("`python -X importtime openwatch crawl` (the whole crawl process)", "imports_crawl")):
        imp = f[key]
        watched = ", ".join(f"{n} {'yes' if hit else 'no'}" for n, hit in imp["watched"].items())
        out += [f"{title}: {imp['modules']} modules, {imp['total_us'] / 1000:.0f} ms of import time. Imported: "
                f"{watched}.", "", "| package | self time, summed |", "|---|---|"]
        out += [f"| {name} | {us / 1000:.1f} ms |" for name, us in imp["by_package"][:15]]
        out.append("")
    return out


def profile_section(p: dict, label: str) -> list[str]:
    out = [f"### Profile {label}", "",
           f"One steady cycle of the main world under cProfile, every thread profiled and merged "
           f"(bench/_cli.py), from the building of the Scrapy crawler to the process's exit (the CLI's own start "
           f"and imports before it left out; Scrapy's build and the imports it triggers are in). Under the profiler the crawl took {fmt_s(p['crawl_s'])} (wall {fmt_s(p['wall'])}); "
           "times are inflated by the profiler and threads overlap, so read them as shares. Own time working: "
           f"{p['total_tottime']:.2f} s; waiting (locks, queues, the selector; left out below): "
           f"{p['waiting_total']:.2f} s.", "", "Top 15 by own time:", "",
           "| function | calls | own | cumulative | called mostly from (heaviest callers, up to our code) |",
           "|---|---|---|---|---|"]
    out += [f"| `{e['where']}` | {e['ncalls']:,} | {e['tottime']:.3f} s | {e['cumtime']:.3f} s | {e['caller']} |"
            for e in p["tottime"]]
    out += ["", "Own time by area:", "", "| area | own time |", "|---|---|"]
    out += [f"| {name} | {t:.3f} s |" for name, t in p["areas"]]
    out += ["", "openwatch's own functions, top 15 by cumulative time:", "", "| function | calls | own | cumulative |",
            "|---|---|---|---|"]
    out += [f"| `{e['where']}` | {e['ncalls']:,} | {e['tottime']:.3f} s | {e['cumtime']:.3f} s |"
            for e in p["own_cumtime"]]
    return out + [""]


HEADER = """# Benchmark results (bench/pipeline.py)

Written by `python bench/pipeline.py --label LABEL`; a run replaces only its own section (between
its `<!-- run:LABEL -->` markers), so notes outside the markers stay. Ratios against a reference
measured in the same run, on the same emulator world, are what compare across machines. Nothing
here is asserted by the test suite.
"""


def write_results(text: str, label: str) -> None:
    start, end = f"<!-- run:{label} -->", f"<!-- /run:{label} -->"
    block = f"{start}\n{text}{end}\n"
    current = RESULTS.read_text() if RESULTS.exists() else HEADER
    if start in current and end in current:
        before, rest = current.split(start, 1)
        _, after = rest.split(end, 1)
        current = before + block + after.lstrip("\n")
        if not current.endswith("\n"):
            current += "\n"
    else:
        current = current.rstrip("\n") + "\n\n" + block
    RESULTS.write_text(current)


# -- main -----------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", type=int, default=10_000, help="models in the main world (default 10,000)")
    parser.add_argument("--orgs", type=int, default=40, help="orgs in the main world (default 40)")
    parser.add_argument("--big-models", type=int, default=100_000, help="models in each big world (default 100,000)")
    parser.add_argument("--big-orgs", default="400,40", help="org counts of the big worlds (default 400,40)")
    parser.add_argument("--repeat", type=int, default=5, help="interleaved pairs per steady measurement (default 5)")
    parser.add_argument("--big-repeat", type=int, default=None, help="pairs for the big worlds (default min(repeat, 3))")
    parser.add_argument("--fixed-repeat", type=int, default=None, help="rounds of the fixed-cost variants "
                        "(default 2 x repeat)")
    parser.add_argument("--quick", action="store_true", help="2,000 models / 8 orgs, big 10,000 in 40,4; repeat 2")
    parser.add_argument("--only", default=",".join(STEPS), help=f"comma-separated steps (default all: {','.join(STEPS)})")
    parser.add_argument("--label", default=None, help="section name in RESULTS.md (default: commit <sha>)")
    parser.add_argument("--timeout", type=float, default=900, help="seconds allowed per subprocess (default 900)")
    parser.add_argument("--no-write", action="store_true", help="print only; leave bench/RESULTS.md alone")
    args = parser.parse_args(argv)
    if args.quick:
        args.models, args.orgs, args.big_models, args.big_orgs, args.repeat = 2_000, 8, 10_000, "40,4", 2
    steps = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = set(steps) - set(STEPS)
    if unknown:
        parser.error(f"unknown step(s) {', '.join(sorted(unknown))}; choose from {', '.join(STEPS)}")
    big_orgs = [int(x) for x in args.big_orgs.split(",") if x.strip()]
    big_repeat = args.big_repeat or min(args.repeat, 3)
    m = machine()
    label = args.label or f"commit {m['commit']}"
    note(f"# {m['nproc']} CPUs, {m['ram_gib']:.1f} GiB, {m['python']}, openwatch at {m['commit']}"
         f"{' (local changes)' if m['dirty'] else ''}; steps: {', '.join(steps)}")
    results: dict = {}
    begun = time.perf_counter()
    with Hub() as hub, tempfile.TemporaryDirectory(prefix="openwatch-bench-") as tmp_name:
        tmp = Path(tmp_name)
        needs_main = {"steady", "urlwatch", "baseline", "profile"} & set(steps)
        if needs_main:
            t = time.perf_counter()
            main_world = populate(hub, "main", args.orgs, args.models // args.orgs, tmp)
            note(f"## {main_world.name}: populated in {time.perf_counter() - t:.1f}s")
            first = baseline(hub, main_world, args.timeout)
            note(f"  baseline {first.duration:.2f}s ({main_world.models / first.duration:,.0f} models/s), "
                 f"{first.requests['total']} requests, {len(main_world.listing_urls)} listing URLs")
            if "steady" in steps:
                note("## steady cycle vs bare loop")
                results["steady"] = steady_pairs(hub, main_world, args.repeat, args.timeout)
                note(f"  => crawl {results['steady']['crawl_s']:.3f}s vs loop {results['steady']['loop_s']:.3f}s: "
                     f"{results['steady']['ratio']:.2f}x")
            if "urlwatch" in steps:
                note("## run --once vs urlwatch")
                results["urlwatch"] = urlwatch_step(hub, main_world, args.repeat, args.timeout)
            if "baseline" in steps:
                note("## first crawl rate")
                runs = [first] + [fresh_baseline(hub, main_world, args.timeout) for _ in range(min(args.repeat, 3) - 1)]
                results["baseline"] = baseline_row(main_world, runs)
                note(f"  => {results['baseline']['rate']:,.0f} models/s (crawls {runs_text(results['baseline']['crawl_all'])})")
            if "profile" in steps:
                note("## profile of one steady cycle")
                results["profile"] = profile_step(hub, main_world, args.timeout)
                for e in results["profile"]["tottime"][:15]:
                    note(f"  {e['tottime']:7.3f}s own {e['cumtime']:7.3f}s cum {e['ncalls']:>9,}  {e['where']}")
        if "fixed" in steps:
            note("## fixed costs")
            results["fixed"] = fixed_step(hub, tmp, args.fixed_repeat or max(2 * args.repeat, 4), args.timeout)
            for row in results["fixed"]["rows"]:
                note(f"  {row['variant']:<42} first request {row['first_request'] * 1000:6.0f} ms "
                     f"(saves {row['saves_first_request'] * 1000:+5.0f}) cpu {row['cpu'] * 1000:6.0f} ms "
                     f"(saves {row['saves_cpu'] * 1000:+5.0f}) wall {row['wall'] * 1000:6.0f} ms "
                     f"(saves {row['saves_wall'] * 1000:+5.0f})")
        if "big" in steps:
            results["big"] = []
            for n_orgs in big_orgs:
                t = time.perf_counter()
                world = populate(hub, f"big{n_orgs}", n_orgs, args.big_models // n_orgs, tmp)
                note(f"## {world.name}: populated in {time.perf_counter() - t:.1f}s")
                first = baseline(hub, world, args.timeout)
                note(f"  baseline {first.duration:.2f}s ({world.models / first.duration:,.0f} models/s), "
                     f"rss {mib(first.rss):.0f} MiB, {first.requests['total']} requests")
                entry = {"baseline": baseline_row(world, [first]),
                         "steady": steady_pairs(hub, world, big_repeat, args.timeout)}
                note(f"  => crawl {entry['steady']['crawl_s']:.2f}s vs loop {entry['steady']['loop_s']:.2f}s: "
                     f"{entry['steady']['ratio']:.2f}x; {entry['steady']['requests_per_org']:.2f} requests/org")
                entry["changes"] = changes_step(hub, world, args.timeout)
                c = entry["changes"]
                note(f"  100 changes: {c['found']}/{c['changed']} found, {c['requests']['total']} requests "
                     f"(bound {c['bound']}), {c['crawl_s']:.2f}s")
                results["big"].append(entry)
                world.ids.clear()
    m["load_end"] = load()
    note(f"# done in {time.perf_counter() - begun:.0f}s")
    meta = {step: {"machine": m, "argv": argv} for step in STEPS if step in results}
    if not args.no_write:
        meta, results = merge_raw(label, meta, results)
    text = report(meta, results, label)
    print("\n" + text)
    if not args.no_write:
        write_results(text, label)
        note(f"# wrote {RESULTS.relative_to(ROOT)} (section {label!r}) and {raw_path(label).relative_to(ROOT)}")
    return 0


def raw_path(label: str) -> Path:
    return BENCH / "results" / (re.sub(r"[^\w.-]+", "-", label).strip("-") + ".json")


def merge_raw(label: str, meta: dict, results: dict) -> tuple[dict, dict]:
    """Keep the steps of earlier runs under this label (same code commit) that this run did not
    measure, so `--only fixed` redoes one part; write the raw numbers next to RESULTS.md."""
    path = raw_path(label)
    if path.exists():
        old = json.loads(path.read_text())
        commits = {run["machine"]["commit"] for run in old["meta"].values()}
        current = next(iter(meta.values()))["machine"]["commit"] if meta else None
        if commits == {current}:
            meta = {**old["meta"], **meta}
            results = {**old["results"], **results}
        else:
            note(f"# {path.name} holds commit(s) {', '.join(sorted(commits))}, this run {current}: replaced")
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps({"label": label, "meta": meta, "results": results}, indent=1) + "\n")
    return meta, results


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as exc:
        print(f"bench failed: {exc}", file=sys.stderr)
        sys.exit(1)
