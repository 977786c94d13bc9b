"""The hub emulator: every service openwatch reads, on one loopback port, over scriptable worlds.

    from crawler.emulator import HubEmulator, Fault
    with HubEmulator() as emu:
        emu.world.add_model("deepseek-ai/DeepSeek-R1", license="mit")        # Hugging Face
        emu.github.add_repo("deepseek-ai/DeepSeek-R1", license_spdx="MIT")   # GitHub
        emu.github.add_release("deepseek-ai/DeepSeek-R1", "v1.0", body="Weights: https://huggingface.co/...")
        emu.arxiv.add_paper("2501.12948", title="DeepSeek-R1: ...", authors=["DeepSeek-AI"])
        emu.feeds.add_feed("lab-blog", kind="rss2", encoding="iso-8859-1")
        emu.modelscope.add_model("deepseek-ai/DeepSeek-R1", license="MIT")
        emu.world.add_daily_paper("2501.12948", title="DeepSeek-R1: ...", upvotes=300)
        emu.faults.add(Fault.rate_limited("/api/models", t=1, times=2))
        config_endpoints = emu.endpoints()   # {"huggingface": ..., "github": ..., ...}

Base URLs: Hugging Face `emu.url` (API, files, `/api/daily_papers`); GitHub web
`emu.url + "/github"` (`/{o}/{r}/releases.atom`); GitHub API `emu.url + "/github-api"`;
arXiv `emu.url + "/arxiv"` (`/api/query`); ModelScope `emu.url + "/modelscope"`
(`/api/v1/models/...`); feeds `emu.url + "/feeds/<name>"` (`emu.feed_url(name)`).
Each module's docstring documents its endpoints and world API: hf_api.py, hf_papers.py,
world.py (Hugging Face), github.py, arxiv.py, feeds.py, modelscope.py; faults.py the fault
knobs; requests_log.py how to read requests, arrival times and per-window counts;
releases.py weights announced before they are public (`announce_weights`); season.py a
scripted season of launches, growth and an outage on an injected clock (`build_season`).

Used by the tests, by `openwatch demo` and by the benchmarks (`python -m crawler.emulator`).
"""

from .arxiv import ArxivWorld
from .demo_world import apply_demo_changes, apply_demo_source_changes, seed_demo_sources, seed_demo_world
from .faults import Fault, FaultSet
from .feeds import FeedWorld
from .github import GitHubWorld
from .modelscope import ModelScopeWorld
from .releases import Pending, announce_weights
from .season import Season, SeasonClock, build_season
from .requests_log import LoggedRequest, RequestLog
from .server import HubEmulator
from .times import LEGACY_CREATED_ATS, SENTINEL_CREATED_AT, SENTINEL_CREATED_AT_05
from .world import Commit, HubWorld, Model

__all__ = [
    "ArxivWorld",
    "Commit",
    "Fault",
    "FaultSet",
    "FeedWorld",
    "GitHubWorld",
    "HubEmulator",
    "HubWorld",
    "LEGACY_CREATED_ATS",
    "LoggedRequest",
    "Model",
    "ModelScopeWorld",
    "Pending",
    "RequestLog",
    "SENTINEL_CREATED_AT",
    "SENTINEL_CREATED_AT_05",
    "Season",
    "SeasonClock",
    "apply_demo_changes",
    "announce_weights",
    "apply_demo_source_changes",
    "build_season",
    "seed_demo_sources",
    "seed_demo_world",
]
