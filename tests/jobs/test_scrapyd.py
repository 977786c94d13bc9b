"""Crawls as Scrapyd jobs, against real Scrapyd servers on loopback (tests/support/scrapyd.py)
and the hub emulator: the `[scrapyd]` section, the egg, deploy, a crawl through a server that
gives the items a local `scrapy crawl` gives, and jobs that die, are cancelled or time out."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
import zipfile
from pathlib import Path
from types import SimpleNamespace

import click
import httpx
import pytest
from click.testing import CliRunner

from crawler.emulator import Fault
from jobs.cli import deploy_command
from jobs.scrapyd import egg as scrapyd_egg, pool as scrapyd_pool
from jobs.scrapyd.args import MAX_ARG_BYTES, check_arg_sizes, encode_spider_args
from jobs.scrapyd.deploy import deploy
from jobs.scrapyd.egg import build_egg
from jobs.scrapyd.executor import crawl_watch_via_scrapyd
from jobs.scrapyd.joblog import parse_job_log
from jobs.scrapyd.pool import JobOutcome, ScrapydPool, crawl_via_scrapyd
from jobs.scrapyd.prior import PriorServer
from jobs.scrapyd.settings import ScrapydSettingError, ScrapydSettings, parse_scrapyd_section
from jobs.config.loader import load_config
from tests.support.cli import CLI, ROOT, write_config
from tests.support.scrapyd import ScrapydServer, bare_python, worker_environ

ORGS = ["meta-llama", "deepseek-ai"]



# -- fixtures -----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def worker_python(tmp_path_factory) -> str:
    """An interpreter with Scrapyd but without openwatch: crawler/ can only come from the egg."""
    return bare_python(tmp_path_factory.mktemp("worker") / "venv")


@pytest.fixture(scope="session")
def spiders() -> list[str]:
    """`scrapy list` in the project folder: every spider, all of which the egg must hold."""
    listed = subprocess.run([sys.executable, "-m", "scrapy", "list"], cwd=ROOT, env=worker_environ(),
                            capture_output=True, text=True, check=True, timeout=120)
    return listed.stdout.split()


@pytest.fixture(scope="session")
def egg(tmp_path_factory) -> Path:
    return build_egg(tmp_path_factory.mktemp("egg"))


@pytest.fixture(scope="module")
def server(tmp_path_factory, worker_python, egg):
    """One Scrapyd for the module's crawls, the project deployed."""
    with ScrapydServer(tmp_path_factory.mktemp("scrapyd"), python=worker_python) as srv:
        results = deploy(settings_for(srv), egg=egg, version="v1")
        assert [r.ok for r in results] == [True], results
        yield srv


def settings_for(*servers: ScrapydServer, **extra) -> ScrapydSettings:
    table = {"url": [s.url for s in servers], "poll_interval": 0.2, **extra}
    return parse_scrapyd_section(table)


def seed(world) -> None:
    world.add_model("meta-llama/Llama-3.1-8B", license="llama3.1", gated="manual",
                    files={"LICENSE": "LLAMA 3.1 COMMUNITY LICENSE AGREEMENT\n", "USE_POLICY.md": "Acceptable use v1"})
    world.add_model("meta-llama/Llama-3.2-1B", license="llama3.2", gated="manual")
    for i in range(7):  # two listing pages (page_size=5)
        world.add_model(f"deepseek-ai/DeepSeek-Model-{i}", license="mit", files={"LICENSE": f"MIT License {i}"})


def run(coro):
    return asyncio.run(coro)


class Collector:
    """on_items: keeps every list it is handed, in order."""

    def __init__(self):
        self.calls: list[list[dict]] = []

    def __call__(self, items: list[dict]) -> None:
        self.calls.append(list(items))

    @property
    def items(self) -> list[dict]:
        return [item for call in self.calls for item in call]


def crawl(settings, emulator, orgs=ORGS, *, timeout=120.0, pool=None, **kwargs) -> tuple[JobOutcome, list[dict]]:
    got = Collector()
    args = {"orgs": orgs, "watch": "labs", "endpoint": emulator.url}
    outcome = run(crawl_via_scrapyd(settings, "huggingface", args, timeout=timeout, on_items=got, pool=pool,
                                    **kwargs))
    return outcome, got.items


def local_crawl(tmp_path: Path, emulator, orgs=ORGS) -> list[dict]:
    """The same crawl as `scrapy crawl huggingface -a orgs=… -O out.jl` in the project folder."""
    out = tmp_path / f"local-{len(list(tmp_path.glob('local-*')))}.jl"
    subprocess.run(
        [sys.executable, "-m", "scrapy", "crawl", "huggingface", "-a", f"orgs={','.join(orgs)}",
         "-a", "watch=labs", "-a", f"endpoint={emulator.url}", "-O", str(out), "-s", "LOG_LEVEL=WARNING"],
        cwd=ROOT, env=worker_environ(), check=True, capture_output=True, timeout=180,
    )
    return [json.loads(line) for line in out.read_text().splitlines() if line.strip()]


def comparable(batches: list[dict]) -> list[str]:
    """Batches modulo the time each was observed at, in a stable order."""
    return sorted(json.dumps({k: v for k, v in batch.items() if k != "observed_at"}, sort_keys=True)
                  for batch in batches)


def observations(batches: list[dict]) -> dict[str, str]:
    return {o["key"]: json.dumps(o, sort_keys=True) for batch in batches for o in batch["observations"]}


def ends(batches: list[dict]) -> dict[str, bool]:
    return {batch["unit"]: batch["end"]["complete"] for batch in batches if batch.get("end")}


def assert_units_end_last(batches: list[dict]) -> None:
    """The store relies on it: a unit's end comes with or after all of its observations."""
    ended: set[str] = set()
    for batch in batches:
        assert batch["unit"] not in ended, f"{batch['unit']} has batches after its end"
        if batch.get("end"):
            ended.add(batch["unit"])


# -- the [scrapyd] section ----------------------------------------------------------------


def test_section_defaults_and_lists():
    one = parse_scrapyd_section({"url": "http://localhost:6800/"})
    assert one == ScrapydSettings(urls=("http://localhost:6800",))
    assert (one.project, one.timeout, one.poll_interval, one.prior_bind, one.prior_url) == (
        "openwatch", 30.0, 2.0, ("127.0.0.1", 0), None)
    many = parse_scrapyd_section({
        "url": ["http://w1:6800", "https://w2.example/scrapyd"], "project": "ow", "username": "u",
        "password": "s3cret", "timeout": "1m", "poll_interval": 5, "prior_bind": "0.0.0.0:8801",
        "prior_url": "http://ingest.example:8801/",
    })
    assert many.urls == ("http://w1:6800", "https://w2.example/scrapyd")
    assert (many.project, many.username, many.timeout, many.poll_interval) == ("ow", "u", 60.0, 5.0)
    assert (many.prior_bind, many.prior_url) == (("0.0.0.0", 8801), "http://ingest.example:8801")
    assert "s3cret" not in repr(many)


@pytest.mark.parametrize("table, message", [
    ({}, 'scrapyd: "url" is missing; add url = "http://localhost:6800" to [scrapyd]'),
    ({"url": []}, 'scrapyd.url: is empty; list at least one server, e.g. url = ["http://localhost:6800"]'),
    ({"url": 6800}, "scrapyd.url: expected a string or an array of strings, got an integer; write url = "
                    '"http://localhost:6800" or url = ["http://w1:6800", "http://w2:6800"]'),
    ({"url": ["http://a:6800", "ftp://b"]}, 'scrapyd.url[2]: is not an http(s) URL; use a URL such '
                                            'as "http://localhost:6800"'),
    ({"url": ["http://a:6800", "http://a:6800/"]}, 'scrapyd.url[2]: "http://a:6800" is listed twice; list each '
                                                   "server once"),
    ({"url": "http://u:p@a:6800"}, 'scrapyd.url: has a user name or password in it; remove it and set username '
                                   '= "…" and password = "${SCRAPYD_PASSWORD}"'),
    ({"url": "http://a", "projet": "x"}, 'scrapyd.projet: unknown key; did you mean "project"?'),
    ({"url": "http://a", "project": "a/b"}, 'scrapyd.project: "a/b" is not a project name; use letters, '
                                            'digits, "_", "." and "-", e.g. project = "openwatch"'),
    ({"url": "http://a", "username": "u"}, "scrapyd.password: is missing while username is set; Scrapyd "
                                           "checks credentials only when both are set: set both, or neither"),
    ({"url": "http://a", "password": 12}, "scrapyd.password: expected a string, got an integer; write "
                                          'password = "${SCRAPYD_PASSWORD}"'),
    ({"url": "http://a", "timeout": "soon"}, 'scrapyd.timeout: "soon" is not a duration; use a number and a '
                                             'unit, e.g. "30m", "6h", "1d"'),
    ({"url": "http://a", "poll_interval": 0}, 'scrapyd.poll_interval: must be more than 0 seconds; write '
                                              'poll_interval = "2s"'),
    ({"url": "http://a", "prior_bind": "8801"}, 'scrapyd.prior_bind: "8801" is not host:port; write e.g. '
                                                'prior_bind = "0.0.0.0:8801" (port 0 picks a free one)'),
    ({"url": "http://a", "prior_bind": "0.0.0.0:8801"}, 'scrapyd.prior_url: is needed with prior_bind = '
                                                        '"0.0.0.0:8801"; set prior_url to the URL workers reach '
                                                        'this machine at, e.g. "http://ingest.example:8801"'),
])
def test_section_errors_name_key_problem_and_fix(table, message):
    with pytest.raises(ScrapydSettingError) as caught:
        parse_scrapyd_section(table)
    assert str(caught.value) == message
    assert isinstance(caught.value, ValueError)
    assert f"{caught.value.problem}; {caught.value.fix}" in message  # what jobs/config/loader.py re-raises with a line


def test_password_never_in_errors():
    with pytest.raises(ScrapydSettingError) as caught:
        parse_scrapyd_section({"url": "http://a", "password": ["hunter2"]})
    assert "hunter2" not in str(caught.value)


# -- arguments and logs (pure) ------------------------------------------------------------


def test_spider_arguments_as_scrapyd_passes_them():
    assert encode_spider_args({"orgs": ["Qwen", "deepseek-ai"], "watch": "labs", "full": True,
                               "opts": {"a": 1}, "token": None, "n": 3}) == [
        ("orgs", "Qwen,deepseek-ai"), ("watch", "labs"), ("full", "true"), ("opts", '{"a":1}'), ("n", "3")]
    for reserved in ("project", "spider", "jobid", "setting", "_version", "priority", "bad-name"):
        with pytest.raises(ValueError, match="cannot be passed through Scrapyd"):
            encode_spider_args({reserved: "x"})
    for secret in ("token", "hf_token", "password", "api_key"):
        with pytest.raises(ValueError, match="in the Scrapyd service's environment"):
            encode_spider_args({secret: "hf_xxx"})
    assert encode_spider_args({"token": None}) == []


def test_argument_sizes_are_checked_before_scheduling():
    check_arg_sizes([("orgs", "x" * (MAX_ARG_BYTES - 5))], {})
    with pytest.raises(ValueError, match=r"spider argument 'orgs' is 100001 bytes.*serve it by URL"):
        check_arg_sizes([("orgs", "x" * (MAX_ARG_BYTES - 4))], {})
    with pytest.raises(ValueError, match="setting 'FEEDS'"):
        check_arg_sizes([], {"FEEDS": "x" * MAX_ARG_BYTES})
    with pytest.raises(ValueError, match="together"):
        check_arg_sizes([(f"a{i}", "x" * 90_000) for i in range(12)], {})


STATS_TAIL = """\
2026-12-01 23:17:25 [scrapy.core.engine] INFO: Closing spider (finished)
2026-12-01 23:17:25 [scrapy.extensions.feedexport] INFO: Stored jsonlines feed (10 items) in: file:///x.jl
2026-12-01 23:17:25 [scrapy.statscollectors] INFO: Dumping Scrapy stats:
{'downloader/request_bytes': 4605,
 'downloader/request_count': 12,
 'elapsed_time_seconds': 0.41,
 'finish_reason': '%s',
 'finish_time': datetime.datetime(2026, 12, 1, 23, 17, 25, 1, tzinfo=datetime.timezone.utc),
 'item_scraped_count': 10,
 'log_count/INFO': 10}
2026-12-01 23:17:25 [scrapy.core.engine] INFO: Spider closed (%s)
"""


def test_job_log_says_how_the_crawl_ended():
    ok = parse_job_log(STATS_TAIL % ("finished", "finished"))
    assert (ok.closed, ok.finish_reason, ok.requests, ok.items, ok.last_error) == (True, "finished", 12, 10, None)
    cut = parse_job_log("2026-12-01 23:17:24 [scrapy.crawler] INFO: Received SIGINT, shutting down gracefully.\n"
                        + STATS_TAIL % ("shutdown", "shutdown"))
    assert (cut.closed, cut.finish_reason) == (True, "shutdown")
    died = parse_job_log("2026-12-01 23:17:24 [scrapy.core.engine] INFO: Spider opened\n"
                         "2026-12-01 23:17:24 [huggingface] WARNING: listing of x failed\n")
    assert (died.closed, died.finish_reason, died.requests) == (False, None, None)
    assert died.last_error == "2026-12-01 23:17:24 [huggingface] WARNING: listing of x failed"
    raised = parse_job_log("Traceback (most recent call last):\n  File \"x\", line 1\n"
                           "ValueError: huggingface spider needs orgs, e.g. -a orgs=deepseek-ai,Qwen\n")
    assert raised.last_error == "ValueError: huggingface spider needs orgs, e.g. -a orgs=deepseek-ai,Qwen"
    errored = parse_job_log("2026-12-01 23:17:24 [scrapy.core.scraper] ERROR: Spider error processing <GET u>\n"
                            + STATS_TAIL % ("finished", "finished"))
    assert errored.last_error == "Spider error processing <GET u>"


# -- the egg and deploy -------------------------------------------------------------------


def test_egg_holds_the_crawler_its_data_and_settings_entry_point(egg):
    names = set(zipfile.ZipFile(egg).namelist())
    for name in ("crawler/__init__.py", "crawler/settings.py", "crawler/spiders/huggingface.py",
                 "crawler/pipelines.py", "crawler/data/licenses.csv", "crawler/data/orgs.csv"):
        assert name in names
    assert not any(n.startswith(("jobs/", "alerts/", "tests/")) or "__pycache__" in n for n in names)
    entry_points = zipfile.ZipFile(egg).read("EGG-INFO/entry_points.txt").decode()
    assert "[scrapy]\nsettings = crawler.settings" in entry_points


def test_egg_leaves_the_hub_emulator_out(egg):
    """The emulator is for tests and the demo: no worker runs it (the crawls below run the
    spiders from this egg)."""
    names = zipfile.ZipFile(egg).namelist()
    assert not any(n.startswith("crawler/emulator/") for n in names), [n for n in names if "emulator" in n]
    spiders = {n for n in names if n.startswith("crawler/spiders/") and n.endswith(".py")}
    assert spiders == {f"crawler/spiders/{p.name}" for p in (ROOT / "crawler" / "spiders").glob("*.py")}


def test_egg_runs_where_openwatch_is_not_installed(worker_python, egg, spiders):
    """The worker interpreter cannot import crawler by itself; with the egg it lists the spider."""
    env = {**worker_environ(), "PYTHONDONTWRITEBYTECODE": "1"}
    alone = subprocess.run([worker_python, "-c", "import crawler"], capture_output=True, text=True, env=env,
                           cwd=egg.parent)
    assert "No module named 'crawler'" in alone.stderr
    listed = subprocess.run(
        [worker_python, "-c", "import sys; sys.path.insert(0, sys.argv[1]); "
         "from scrapy.cmdline import execute; execute(['scrapy', 'list'])", str(egg)],
        capture_output=True, text=True, env={**env, "SCRAPY_SETTINGS_MODULE": "crawler.settings"}, cwd=egg.parent,
    )
    assert "huggingface" in spiders
    assert listed.stdout.split() == spiders, listed.stderr


def test_deploy_uploads_a_version_to_the_server(server, egg, spiders):
    results = deploy(settings_for(server), egg=egg, version="20261201T000000Z-test")
    assert [(r.url, r.ok, r.version, r.spiders, r.error) for r in results] == [
        (server.url, True, "20261201T000000Z-test", len(spiders), None)]
    versions = httpx.get(f"{server.url}/listversions.json", params={"project": "openwatch"}, trust_env=False).json()
    assert "20261201T000000Z-test" in versions["versions"]


def test_deploy_version_sorts_by_time_and_names_the_commit():
    from datetime import datetime, timezone

    version = scrapyd_egg.deploy_version(ROOT / "crawler", now=datetime(2026, 12, 1, 23, 9, 53, tzinfo=timezone.utc))
    assert version.startswith("20261201T230953Z")
    assert all(c.isalnum() or c in "_-" for c in version)  # Scrapyd stores it as a file name


def test_deploy_command(server, egg, spiders, tmp_path):
    """The click command the CLI registers, under a stand-in for jobs.cli's App."""

    @click.group()
    @click.pass_context
    def cli(ctx):
        ctx.obj = SimpleNamespace(config=lambda: SimpleNamespace(scrapyd=settings_for(server)))

    cli.add_command(deploy_command)
    result = CliRunner().invoke(cli, ["deploy", "--egg", str(egg), "--version", "v2"])
    assert (result.exit_code, result.output) == (0, f"{server.url}: openwatch v2 ({len(spiders)} spiders)\n")

    built = tmp_path / "openwatch.egg"
    result = CliRunner().invoke(cli, ["deploy", "--build-egg", str(built)])
    assert (result.exit_code, result.output) == (0, f"wrote {built}\n")
    assert "crawler/spiders/huggingface.py" in zipfile.ZipFile(built).namelist()

    @click.group()
    @click.pass_context
    def bare(ctx):
        ctx.obj = SimpleNamespace(config=lambda: SimpleNamespace(scrapyd=None))

    bare.add_command(deploy_command)
    result = CliRunner().invoke(bare, ["deploy"])
    assert result.exit_code == 2
    assert "no [scrapyd] section in the config" in result.output


# -- crawls through Scrapyd ---------------------------------------------------------------


def test_crawl_through_scrapyd_gives_the_items_of_a_local_crawl(server, emulator, tmp_path):
    seed(emulator.world)
    settings = settings_for(server)
    outcome, items = crawl(settings, emulator)
    assert (outcome.status, outcome.errors, outcome.finish_reason, outcome.server) == (
        "ok", [], "finished", server.url)
    assert outcome.requests > 0 and outcome.log_url.startswith(f"{server.url}/logs/openwatch/huggingface/")
    local = local_crawl(tmp_path, emulator)
    assert outcome.items == len(items) == len(local)
    assert comparable(items) == comparable(local)
    assert len(observations(items)) == 9
    assert ends(items) == ends(local) == {"meta-llama": True, "deepseek-ai": True}
    assert_units_end_last(items)

    # One change: the job's items differ from the first crawl's exactly where a local crawl's do.
    emulator.world.relicense("deepseek-ai/DeepSeek-Model-3", "apache-2.0", license_text="Apache License 2.0")
    outcome2, after = crawl(settings, emulator)
    local_after = local_crawl(tmp_path, emulator)
    assert outcome2.status == "ok"
    assert comparable(after) == comparable(local_after)

    def changed(before, now):
        old, new = observations(before), observations(now)
        return sorted(key for key in new if old.get(key) != new[key])

    assert changed(items, after) == changed(local, local_after) == ["model:hf/deepseek-ai/DeepSeek-Model-3"]


def test_a_watch_through_scrapyd_finds_a_change_as_a_local_crawl_does(server, emulator, tmp_path):
    """The whole path: prior state from the history, the job, its batches ingested here."""
    seed(emulator.world)
    watches = [{"name": "labs", "source": "huggingface", "orgs": ORGS, "every": "1h"}]
    (tmp_path / "remote").mkdir()
    (tmp_path / "local").mkdir()
    remote_path = write_config(tmp_path / "remote" / "openwatch.toml", hf=emulator.url, watches=watches)
    local = CLI(write_config(tmp_path / "local" / "openwatch.toml", hf=emulator.url, watches=watches))
    config = load_config(remote_path, os.environ)
    pool = ScrapydPool(settings_for(server))
    try:
        first = run(crawl_watch_via_scrapyd(config, config.watch("labs"), pool=pool))
        local("crawl", "labs")
        emulator.world.relicense("deepseek-ai/DeepSeek-Model-3", "apache-2.0", license_text="Apache License 2.0")
        second = run(crawl_watch_via_scrapyd(config, config.watch("labs"), pool=pool))
        local("crawl", "labs")
    finally:
        pool.close()
    assert (first.status, first.events, first.errors) == ("ok", 0, [])
    assert (second.status, second.errors) == ("ok", [])
    remote_events = CLI(remote_path).json("events")
    local_events = local.json("events")
    assert second.events == len(remote_events) > 0
    assert [(e["type"], e["item"], e["summary"]) for e in remote_events] == [
        (e["type"], e["item"], e["summary"]) for e in local_events]
    assert {e["item"] for e in remote_events} == {"model:hf/deepseek-ai/DeepSeek-Model-3"}


def test_items_are_handed_over_in_order_and_in_bounded_lists(server, emulator, monkeypatch):
    seed(emulator.world)
    monkeypatch.setattr(scrapyd_pool, "ITEMS_PER_CALL", 2)
    got = Collector()
    outcome = run(crawl_via_scrapyd(settings_for(server), "huggingface",
                                    {"orgs": ORGS, "watch": "labs", "endpoint": emulator.url},
                                    timeout=120, on_items=got))
    assert outcome.status == "ok"
    sizes = [len(call) for call in got.calls]
    assert sum(sizes) == outcome.items and sizes == [2] * (outcome.items // 2) + [1] * (outcome.items % 2)
    assert_units_end_last(got.items)


def test_an_argument_too_big_for_scrapyd_fails_before_scheduling(server, emulator):
    outcome, items = crawl(settings_for(server), emulator, orgs=["x" * 200_000])
    assert (outcome.status, outcome.server, outcome.job, items) == ("failed", None, None, [])
    assert "serve it by URL" in outcome.errors[0]


@pytest.fixture
def slow_org(emulator):
    """deepseek-ai's listing hangs (the emulator delays it 120 s); `reached` is set when the
    crawl asks for it, so a test acts mid-job without guessing at times."""
    seed(emulator.world)
    reached = threading.Event()

    def match(method, path):
        if "author=deepseek-ai" in path:
            reached.set()
            return True
        return False

    emulator.faults.add(Fault(match, delay=120))
    return reached


async def running_job(srv: ScrapydServer, reached: threading.Event) -> dict:
    assert await asyncio.to_thread(reached.wait, 120), "the crawl never asked for the slow listing"
    async with httpx.AsyncClient(trust_env=False) as http:
        running = (await http.get(f"{srv.url}/listjobs.json", params={"project": "openwatch"})).json()["running"]
    assert len(running) == 1, running
    return running[0]


def test_a_job_cancelled_mid_crawl_is_a_failed_crawl(server, emulator, slow_org):
    got = Collector()
    settings = settings_for(server)

    async def scenario():
        # Cancelling is SIGINT: Scrapy's clean shutdown waits for requests in flight, up to
        # DOWNLOAD_TIMEOUT (60 s by default); the hanging listing gets 5.
        task = asyncio.ensure_future(crawl_via_scrapyd(
            settings, "huggingface", {"orgs": ORGS, "watch": "labs", "endpoint": emulator.url},
            timeout=120, on_items=got, job_settings={"DOWNLOAD_TIMEOUT": 5}))
        job = await running_job(server, slow_org)
        async with httpx.AsyncClient(trust_env=False) as http:
            await http.post(f"{server.url}/cancel.json", data={"project": "openwatch", "job": job["id"]})
        return await task

    outcome = run(scenario())
    assert (outcome.status, outcome.finish_reason) == ("failed", "shutdown")
    assert any("ended early: shutdown" in e for e in outcome.errors)
    assert ends(got.items).get("meta-llama") is True  # the unit that completed still counts
    assert ends(got.items).get("deepseek-ai") is not True  # never an invented end
    assert_units_end_last(got.items)


def test_a_crawl_process_killed_mid_job_is_a_failed_crawl(server, emulator, slow_org):
    got = Collector()
    settings = settings_for(server)

    async def scenario():
        task = asyncio.ensure_future(crawl_via_scrapyd(
            settings, "huggingface", {"orgs": ORGS, "watch": "labs", "endpoint": emulator.url},
            timeout=120, on_items=got))
        job = await running_job(server, slow_org)
        os.kill(job["pid"], 9)
        return await task

    outcome = run(scenario())
    assert outcome.status == "failed"
    assert any("died before the spider closed" in e for e in outcome.errors), outcome.errors
    assert ends(got.items).get("deepseek-ai") is not True


def test_a_job_past_its_timeout_is_cancelled_and_failed(server, emulator, slow_org, monkeypatch):
    # The job does not stop on SIGINT (its hanging request has 60 s to go), so it gets SIGKILL
    # once the grace (2 s here) is over.
    monkeypatch.setattr(scrapyd_pool, "STOP_GRACE", 2.0)
    outcome, items = crawl(settings_for(server), emulator, timeout=8)
    assert (outcome.status, outcome.timed_out) == ("failed", True)
    assert "timed out after 8s" in outcome.errors[0]
    assert ends(items).get("deepseek-ai") is not True


def test_a_worker_that_dies_mid_job_is_a_failed_crawl(tmp_path, worker_python, egg, emulator, slow_org):
    with ScrapydServer(tmp_path / "scrapyd", python=worker_python) as srv:
        settings = settings_for(srv)
        assert deploy(settings, egg=egg)[0].ok

        async def scenario():
            task = asyncio.ensure_future(crawl_via_scrapyd(
                settings, "huggingface", {"orgs": ORGS, "watch": "labs", "endpoint": emulator.url},
                timeout=120, on_items=Collector()))
            await running_job(srv, slow_org)
            srv.kill()
            return await task

        outcome = run(scenario())
    assert (outcome.status, outcome.items) == ("failed", 0)
    assert "server stopped answering" in outcome.errors[0]


def test_jobs_spread_over_two_servers(tmp_path, worker_python, egg, emulator):
    seed(emulator.world)
    emulator.world.add_model("hang/Model", license="mit")
    reached = threading.Event()
    emulator.faults.add(Fault(lambda method, path: "author=hang" in path and (reached.set() or True), delay=120))
    with ScrapydServer(tmp_path / "a", python=worker_python) as a, \
            ScrapydServer(tmp_path / "b", python=worker_python) as b:
        settings = settings_for(a, b)
        assert [(r.url, r.ok) for r in deploy(settings, egg=egg)] == [(a.url, True), (b.url, True)]
        pool = ScrapydPool(settings)

        def one(pool, orgs, **kwargs):
            return crawl_via_scrapyd(settings, "huggingface", {"orgs": orgs, "watch": "labs", "endpoint": emulator.url},
                                     timeout=120, on_items=Collector(), pool=pool, **kwargs)

        async def scenario():
            # Equally idle servers take turns.
            first = await one(pool, ["meta-llama"])
            second = await one(pool, ["meta-llama"])
            # A busy server is passed over, whoever's turn it is.
            hanging = asyncio.ensure_future(one(pool, ["hang"], job_settings={"DOWNLOAD_TIMEOUT": 5}))
            assert await asyncio.to_thread(reached.wait, 120)
            busy = await pool.loads()
            third = await one(pool, ["deepseek-ai"])
            # Cancelling the caller cancels the job on its server.
            hanging.cancel()
            with pytest.raises(asyncio.CancelledError):
                await hanging
            return first, second, busy, third

        try:
            first, second, busy, third = run(scenario())
            cancelled = run(wait_finished(a, b))
        finally:
            pool.close()
    assert (first.status, second.status, third.status) == ("ok", "ok", "ok")
    assert {first.server, second.server} == {a.url, b.url}
    idle = next(url for url, load in busy.items() if load == 0)
    assert third.server == idle
    assert cancelled == ["shutdown"]


async def wait_finished(*servers: ScrapydServer) -> list[str]:
    """Each job still running on `servers`, once it has finished: how its log says it ended."""
    reasons = []
    async with httpx.AsyncClient(trust_env=False) as http:
        for srv in servers:
            running = (await http.get(f"{srv.url}/listjobs.json", params={"project": "openwatch"})).json()["running"]
            for job in running:
                for _ in range(600):  # bounded: 120 s
                    state = (await http.get(f"{srv.url}/status.json", params={"job": job["id"]})).json()
                    if state["currstate"] == "finished":
                        break
                    await asyncio.sleep(0.2)
                log = (await http.get(f"{srv.url}{job['log_url']}")).text
                reasons.append(parse_job_log(log).finish_reason)
    return reasons


def test_credentials_and_a_worker_without_items_dir(tmp_path, worker_python, egg, emulator):
    seed(emulator.world)
    with ScrapydServer(tmp_path / "s", python=worker_python, username="ow", password="s3cret",
                       items_dir=False) as srv:
        wrong = deploy(settings_for(srv, username="ow", password="nope"), egg=egg)
        assert not wrong[0].ok and "HTTP 401: check [scrapyd] username and password" in wrong[0].error
        settings = settings_for(srv, username="ow", password="s3cret")
        undeployed, _ = crawl(settings, emulator)
        assert undeployed.status == "failed" and undeployed.errors == [
            "no Scrapyd server took the job",
            f"{srv.url}: schedule.json: project 'openwatch' not found; run `openwatch deploy`"]
        assert deploy(settings, egg=egg)[0].ok
        outcome, items = crawl(settings, emulator)
    assert (outcome.status, outcome.finish_reason, items) == ("failed", "finished", [])
    assert any("set items_dir in its scrapyd.conf" in e for e in outcome.errors)


def test_no_server_answering_is_a_failed_crawl(emulator):
    from tests.support.scrapyd import free_port

    settings = parse_scrapyd_section({"url": f"http://127.0.0.1:{free_port()}", "timeout": 5})
    outcome, items = crawl(settings, emulator)
    assert (outcome.status, outcome.server, items) == ("failed", None, [])
    assert outcome.errors[0] == "no Scrapyd server took the job"
    assert "daemonstatus.json: ConnectError" in outcome.errors[1]


# -- the prior state, by URL --------------------------------------------------------------


def test_prior_server_serves_each_document_until_withdrawn():
    server = PriorServer()
    try:
        document = {"deepseek-ai": {"last_complete_count": 2, "models": {"deepseek-ai/R1": {"sha": "a" * 40}}}}
        url, token = server.publish(document)
        assert url.startswith("http://127.0.0.1:") and len(token) >= 40
        with httpx.Client(trust_env=False) as http:
            response = http.get(url)
            assert (response.status_code, response.headers["content-encoding"], response.json()) == (
                200, "gzip", document)
            plain = http.get(url, headers={"Accept-Encoding": "identity"})
            assert (plain.status_code, plain.json()) == (200, document)
            assert http.get(url.replace(token, "x" * 43)).status_code == 404
            server.withdraw(token)
            assert http.get(url).status_code == 404
    finally:
        server.close()


def test_the_prior_reaches_the_spider_by_url(server, emulator, tmp_path):
    seed(emulator.world)
    path = write_config(tmp_path / "openwatch.toml", hf=emulator.url,
                        watches=[{"name": "labs", "source": "huggingface", "orgs": ORGS, "every": "1h"}])
    config = load_config(path, os.environ)
    pool = ScrapydPool(settings_for(server))

    def file_reads():
        return sum(1 for r in emulator.requests.log if "/resolve/" in r.path)

    try:
        assert run(crawl_watch_via_scrapyd(config, config.watch("labs"), pool=pool)).status == "ok"
        before = file_reads()
        assert before > 0
        assert run(crawl_watch_via_scrapyd(config, config.watch("labs"), pool=pool)).status == "ok"
    finally:
        pool.close()
    assert file_reads() == before  # LICENSE files read at these shas already: the spider knew


def test_the_real_cli_deploys_and_crawls_through_scrapyd(server, emulator, tmp_path):
    """`openwatch deploy`, then `openwatch crawl` with a [scrapyd] section: the same baseline
    and the same one event as a local crawl, ingested in this process."""
    seed(emulator.world)
    path = write_config(tmp_path / "openwatch.toml", hf=emulator.url,
                        watches=[{"name": "labs", "source": "huggingface", "orgs": ORGS, "every": "1h"}])
    path.write_text(path.read_text().replace(
        "[endpoints]", f'[scrapyd]\nurl = "{server.url}"\npoll_interval = 0.2\n\n[endpoints]'))
    ow = CLI(path)
    deployed = ow("deploy", "--version", "cli-test")
    assert f"{server.url}: openwatch cli-test" in deployed.stdout
    ow("crawl", "labs")
    assert ow.json("events") == []
    emulator.world.relicense("deepseek-ai/DeepSeek-Model-3", "cc-by-nc-4.0")
    ow("crawl", "labs")
    (event,) = ow.json("events")
    assert event["type"] == "model.license_changed" and event["data"]["direction"] == "more_restrictive"
    status = ow.json("status")
    assert status["watches"][0]["result"] == "ok"
