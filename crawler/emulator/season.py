"""A scripted season of the open-model race: N days of launches, growth and one outage.

    season = build_season(days=90)                 # worlds + clock + script, nothing served yet
    with HubEmulator(**season.worlds()) as emu:
        for n in range(season.days + 1):
            season.day(n, emu)                     # clock to day n, that day's changes, its faults
            ...                                    # crawl with OPENWATCH_NOW = season.clock()

Real org names (Qwen, deepseek-ai, meta-llama, allenai, mistralai, moonshotai) and, for the
models they had before the season, real ids, licences and safetensors totals (MoE repos count
every expert: `Qwen/Qwen3-30B-A3B` is 30.5 B total, 3 B active). The launches are fiction
built from real patterns, and say so in their cards:

- a family launch (`Qwen3.5`): five sizes (0.8 B to a 35 B-A3B MoE), each base + instruct,
  FP8 (`base_model_relation: quantized`, F8_E4M3 weights) and GGUF variants, Apache-2.0,
  created private 20 days before launch day (`createdAt` is then, not launch day), a paper
  linking the weights two days before, a ModelScope mirror on launch day;
- a later size of that family (`Qwen3.5-122B-A10B`) weeks after;
- weights pending: a GitHub release of allenai/OLMo links `allenai/Olmo-3-7B` three days
  before the repo exists;
- a launch on both hubs whose ModelScope licence disagrees with the Hugging Face card
  (`deepseek-ai/DeepSeek-V4`: `mit` on Hugging Face, "Apache License 2.0" on ModelScope);
- a model that takes off (`Qwen/Qwen3.5-9B`: downloads per day far above its size class);
- community derivatives (finetunes, quantizations, adapters) of the new and old base models,
  so the bases' `childrenModelCount` grows;
- a gap: one day the Hugging Face API is unreachable (every connection reset).

Day n is `start + n days` (12:00 UTC by default). `day(n)` must be called in order; it sets
the clock, applies day n's events, adds day n's downloads to every public model
(`HubWorld.add_downloads`: `downloadsAllTime` grows, `downloads` rolls over 30 days) and, with
an emulator, installs or lifts the gap's fault. `schedule` lists every event by day.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Callable

from .arxiv import ArxivWorld
from .faults import Fault
from .feeds import FeedWorld
from .github import GitHubWorld
from .modelscope import ModelScopeWorld
from .releases import announce_weights
from .times import UTC
from .world import HubWorld

DEFAULT_START = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
# Every Hugging Face path (the Hub is mounted at the root); the other services keep answering.
HF_PATHS = r"^/(?!github|arxiv/|arxiv$|modelscope/|modelscope$|feeds/)"


class SeasonClock:
    """The worlds' clock: `now` until moved (`set`)."""

    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def set(self, when: datetime) -> None:
        self.now = when


# (id, licence kwargs, parameters, downloads/day, created, extra add_model kwargs): the repos
# the orgs had before the season (real ids, licences and totals; download rates rounded).
BASELINE = [
    ("Qwen/Qwen3-8B-Base", dict(license="apache-2.0"), 8_190_735_360, 15_000, "2025-04-28", {}),
    ("Qwen/Qwen3-8B", dict(license="apache-2.0"), 8_190_735_360, 70_000, "2025-04-27",
     dict(base_model="Qwen/Qwen3-8B-Base")),
    ("Qwen/Qwen3-30B-A3B", dict(license="apache-2.0"), 30_532_122_624, 40_000, "2025-04-27", {}),
    ("Qwen/Qwen3-235B-A22B", dict(license="apache-2.0"), 235_093_634_560, 6_000, "2025-04-27", {}),
    ("deepseek-ai/DeepSeek-V3.1", dict(license="mit"), 684_531_386_000, 8_000, "2025-08-21", {}),
    ("deepseek-ai/DeepSeek-R1-0528", dict(license="mit"), 684_531_386_000, 10_000, "2025-05-28", {}),
    ("meta-llama/Llama-3.1-8B", dict(license="llama3.1"), 8_030_261_248, 20_000, "2024-07-14",
     dict(gated="manual")),
    ("meta-llama/Llama-3.1-8B-Instruct", dict(license="llama3.1"), 8_030_261_248, 90_000, "2024-07-18",
     dict(gated="manual", base_model="meta-llama/Llama-3.1-8B")),
    ("meta-llama/Llama-3.3-70B-Instruct", dict(license="llama3.3"), 70_553_706_496, 15_000, "2024-11-26",
     dict(gated="manual")),
    ("allenai/OLMo-2-1124-7B", dict(license="apache-2.0"), 7_298_011_136, 2_000, "2024-11-19", {}),
    ("allenai/OLMo-2-1124-7B-Instruct", dict(license="apache-2.0"), 7_298_011_136, 3_000, "2024-11-25",
     dict(base_model="allenai/OLMo-2-1124-7B")),
    ("mistralai/Mistral-7B-Instruct-v0.3", dict(license="apache-2.0"), 7_248_023_552, 30_000, "2024-05-22", {}),
    ("mistralai/Mistral-Small-3.2-24B-Instruct-2506", dict(license="apache-2.0"), 24_011_361_280, 8_000,
     "2025-06-19", {}),
    ("moonshotai/Kimi-K2-Base", dict(license="other", license_name="modified-mit"), 1_026_408_232_448, 500,
     "2025-07-11", {}),
    ("moonshotai/Kimi-K2-Instruct", dict(license="other", license_name="modified-mit"), 1_026_408_232_448, 9_000,
     "2025-07-11", dict(base_model="moonshotai/Kimi-K2-Base")),
]

# The Qwen3.5 family (fiction): (size label, total parameters, downloads/day at launch).
QWEN35_SIZES = [("0.8B", 800_000_000, 6_000), ("4B", 4_020_000_000, 12_000), ("9B", 9_050_000_000, 20_000),
                ("27B", 27_200_000_000, 8_000), ("35B-A3B", 35_100_000_000, 10_000)]
TAKEOFF = "Qwen/Qwen3.5-9B"
TAKEOFF_PER_DAY = 400_000
FICTION = "(A model invented for openwatch's season demo.)"


@dataclass
class Season:
    start: datetime
    days: int
    clock: SeasonClock
    hf: HubWorld
    modelscope: ModelScopeWorld
    github: GitHubWorld
    arxiv: ArxivWorld
    feeds: FeedWorld
    gap_days: frozenset[int]
    schedule: dict[int, list[str]] = field(default_factory=dict)
    _actions: dict[int, list[Callable]] = field(default_factory=dict)
    _rates: dict[str, tuple[int, int]] = field(default_factory=dict)  # id -> (per day, day it went public)
    _today: int = -1
    _gap_fault: Fault | None = None
    _pending: dict = field(default_factory=dict)

    def worlds(self) -> dict:
        """Keyword arguments for `HubEmulator`: the season's worlds."""
        return {"world": self.hf, "modelscope": self.modelscope, "github": self.github, "arxiv": self.arxiv,
                "feeds": self.feeds}

    def when(self, n: int) -> datetime:
        return self.start + timedelta(days=n)

    def day(self, n: int, emulator=None) -> list[str]:
        """Live day `n` (0 .. days, in order): what happened, one line each."""
        if n <= self._today or n > self.days:
            raise ValueError(f"days run in order from 0 to {self.days}: {n} after {self._today}")
        self._today = n
        self.clock.set(self.when(n))
        for action in self._actions.get(n, ()):
            action()
        self._grow(n)
        if emulator is not None:
            if self._gap_fault is not None:
                emulator.faults.remove(self._gap_fault)
                self._gap_fault = None
            if n in self.gap_days:
                self._gap_fault = emulator.faults.add(Fault.connection_reset(HF_PATHS))
        return list(self.schedule.get(n, ()))

    # -- building -------------------------------------------------------------------------

    def _on(self, n: int, text: str, action: Callable) -> None:
        if 0 < n <= self.days:
            self.schedule.setdefault(n, []).append(text)
            self._actions.setdefault(n, []).append(action)

    def _launch(self, model_id: str, per_day: int, n: int) -> None:
        """The repo is public from day n: it starts downloading then."""
        self._rates[model_id] = (per_day, n)

    def _grow(self, n: int) -> None:
        today = self.when(n).date()
        for model_id, (per_day, since) in self._rates.items():
            model = self.hf.lookup(model_id, authed=False)
            if model is None or n < since:
                continue
            age = n - since
            if model_id == TAKEOFF:
                # Takes off: ramps to 20x its launch rate within two weeks, then stays.
                rate = min(TAKEOFF_PER_DAY, per_day * (1 + age * 2))
            else:
                # A launch peaks in its first days and settles at a third of it.
                rate = int(per_day * (1 / 3 + 2 / 3 * math.exp(-age / 14))) if since > 0 else per_day
            self.hf.add_downloads(model_id, rate, day=today)
        for model_id in self.modelscope.model_ids():
            model = self.modelscope.get(model_id)
            if not model.private:
                self.modelscope.set_stats(model_id, downloads=model.downloads + 1_000)


def _d(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(hour=12, tzinfo=UTC)


class _Worlds:
    """What `announce_weights` needs of an emulator, before one is serving."""

    def __init__(self, season: Season):
        self.world, self.modelscope, self.github = season.hf, season.modelscope, season.github
        self.arxiv, self.feeds = season.arxiv, season.feeds


def build_season(days: int = 90, *, start: datetime = DEFAULT_START) -> Season:
    """The worlds on day 0 and the script of days 1..`days` (events at fixed shares of the
    season, so a shorter season keeps them all when `days` >= 30; `schedule` says what is kept)."""
    if days < 1:
        raise ValueError("a season has at least one day")
    clock = SeasonClock(start)
    season = Season(start, days, clock, HubWorld(clock=clock), ModelScopeWorld(clock=clock),
                    GitHubWorld(clock=clock), ArxivWorld(clock=clock), FeedWorld(clock=clock),
                    gap_days=frozenset({max(1, round(days * 0.5))}))
    hf = season.hf
    worlds = _Worlds(season)

    def at(share: float) -> int:
        return max(1, min(days, round(days * share)))

    # Day 0: what the orgs had before the season.
    for model_id, licence, parameters, per_day, created, extra in BASELINE:
        created_at = _d(created)
        hf.add_model(model_id, created_at=created_at, parameters=parameters, downloads=per_day * 30,
                     downloads_all_time=per_day * max(30, (start - created_at).days), likes=per_day // 20,
                     **licence, **extra)
        season._launch(model_id, per_day, 0)
    season.github.add_repo("QwenLM/Qwen3", description="Qwen3 is the large language model series developed by "
                           "Qwen team, Alibaba Cloud.", created_at=_d("2025-04-28"))
    season.github.add_repo("allenai/OLMo", description="Modeling, training, eval, and inference code for OLMo",
                           created_at=_d("2023-02-09"))
    for model_id in ("Qwen/Qwen3-8B", "deepseek-ai/DeepSeek-V3.1", "moonshotai/Kimi-K2-Instruct"):
        season.modelscope.add_mirror(hf.get(model_id), created_at=hf.get(model_id).created_at + timedelta(days=1),
                                     downloads=50_000)

    # The Qwen3.5 launch: repos created private 20 days before launch day.
    launch = at(0.1)
    family = []
    hf_clock_at_creation = season.when(launch - 20)
    clock.set(hf_clock_at_creation)
    for label, parameters, per_day in QWEN35_SIZES:
        base, instruct = f"Qwen/Qwen3.5-{label}-Base", f"Qwen/Qwen3.5-{label}"
        hf.add_model(base, private=True, parameters=parameters, arxiv=("2605.09388",),
                     card_extra={"tags": ["qwen3.5"]}, files={"README.md": f"# Qwen3.5-{label}-Base\n\n{FICTION}\n"})
        hf.add_model(instruct, private=True, parameters=parameters, base_model=base, arxiv=("2605.09388",),
                     card_extra={"tags": ["chat"]}, files={"README.md": f"# Qwen3.5-{label}\n\n{FICTION}\n"})
        family += [(base, per_day // 4), (instruct, per_day)]
    for label, parameters, per_day in (QWEN35_SIZES[2], QWEN35_SIZES[4]):
        fp8 = f"Qwen/Qwen3.5-{label}-FP8"
        bf16 = parameters // 50
        hf.add_model(fp8, private=True, base_model=f"Qwen/Qwen3.5-{label}", base_model_relation="quantized",
                     parameters={"BF16": bf16, "F8_E4M3": parameters - bf16},
                     files={"README.md": f"# Qwen3.5-{label}-FP8\n\n{FICTION}\n"})
        family.append((fp8, per_day // 5))
    gguf = "Qwen/Qwen3.5-9B-GGUF"
    hf.add_model(gguf, private=True, base_model="Qwen/Qwen3.5-9B", library_name="gguf",
                 files={"README.md": f"# Qwen3.5-9B-GGUF\n\n{FICTION}\n", "config.json": None,
                        "qwen3.5-9b-q4_k_m.gguf": b"GGUF", "qwen3.5-9b-q8_0.gguf": b"GGUF"})
    family.append((gguf, 3_000))
    clock.set(start)

    def paper():
        announce_weights(worlds, "Qwen/Qwen3.5-9B", via="arxiv", arxiv_id="2605.09388",
                         title="Qwen3.5 Technical Report")

    season._on(launch - 2, "arXiv 2605.09388: the Qwen3.5 report links Qwen/Qwen3.5-9B (still private)", paper)

    def qwen_launch():
        for model_id, per_day in family:
            hf.set_private(model_id, False)
            season._launch(model_id, per_day, launch)
        season.modelscope.add_mirror(hf.get("Qwen/Qwen3.5-9B"))

    season._on(launch, f"Qwen launches Qwen3.5: {len(family)} repos public (created private 20 days before), "
               "a ModelScope mirror of Qwen/Qwen3.5-9B", qwen_launch)

    def later_size():
        hf.add_model("Qwen/Qwen3.5-122B-A10B", parameters=122_100_000_000, arxiv=("2605.09388",),
                     files={"README.md": f"# Qwen3.5-122B-A10B\n\n{FICTION}\n"})
        season._launch("Qwen/Qwen3.5-122B-A10B", 5_000, at(0.33))

    season._on(at(0.33), "Qwen/Qwen3.5-122B-A10B: a later size of Qwen3.5", later_size)

    # Weights pending: a GitHub release links a repo that does not exist yet.
    olmo = at(0.2)

    def olmo_release():
        season._pending["olmo"] = announce_weights(
            worlds, "allenai/Olmo-3-7B", via="github", repo="allenai/OLMo", tag="v1.0.0",
            text="Olmo 3 is coming: weights at https://huggingface.co/allenai/Olmo-3-7B",
            parameters=7_300_000_000, files={"README.md": f"# Olmo-3-7B\n\n{FICTION}\n"})

    def olmo_weights():
        season._pending["olmo"].publish()
        hf.add_model("allenai/Olmo-3-7B-Instruct", parameters=7_300_000_000, base_model="allenai/Olmo-3-7B",
                     files={"README.md": f"# Olmo-3-7B-Instruct\n\n{FICTION}\n"})
        season._launch("allenai/Olmo-3-7B", 1_500, olmo + 3)
        season._launch("allenai/Olmo-3-7B-Instruct", 4_000, olmo + 3)

    season._on(olmo, "allenai/OLMo v1.0.0: release notes link allenai/Olmo-3-7B (no such repo yet)", olmo_release)
    season._on(olmo + 3, "allenai/Olmo-3-7B and -Instruct: weights public 3 days after the release", olmo_weights)

    # A launch on both hubs whose licences disagree.
    def deepseek():
        hf.add_model("deepseek-ai/DeepSeek-V4", license="mit", parameters=1_210_000_000_000,
                     files={"README.md": f"# DeepSeek-V4\n\n{FICTION}\n", "LICENSE": "MIT License\n"})
        season._launch("deepseek-ai/DeepSeek-V4", 12_000, at(0.4))
        season.modelscope.add_mirror(hf.get("deepseek-ai/DeepSeek-V4"), license="Apache License 2.0")

    season._on(at(0.4), "deepseek-ai/DeepSeek-V4: mit on Hugging Face, Apache License 2.0 on ModelScope", deepseek)

    def mistral():
        hf.add_model("mistralai/Mistral-Small-4-24B-Base-2607", parameters=24_011_361_280,
                     files={"README.md": f"# Mistral-Small-4-24B-Base-2607\n\n{FICTION}\n"})
        hf.add_model("mistralai/Mistral-Small-4-24B-Instruct-2607", parameters=24_011_361_280,
                     base_model="mistralai/Mistral-Small-4-24B-Base-2607",
                     files={"README.md": f"# Mistral-Small-4-24B-Instruct-2607\n\n{FICTION}\n"})
        season._launch("mistralai/Mistral-Small-4-24B-Base-2607", 1_000, at(0.7))
        season._launch("mistralai/Mistral-Small-4-24B-Instruct-2607", 6_000, at(0.7))

    season._on(at(0.7), "mistralai/Mistral-Small-4-24B: base + instruct", mistral)

    def kimi():
        hf.add_model("moonshotai/Kimi-K2.5-Instruct", license="other", license_name="modified-mit",
                     parameters=1_026_408_232_448, base_model="moonshotai/Kimi-K2-Base",
                     files={"README.md": f"# Kimi-K2.5-Instruct\n\n{FICTION}\n"})
        season._launch("moonshotai/Kimi-K2.5-Instruct", 9_000, at(0.6))

    season._on(at(0.6), "moonshotai/Kimi-K2.5-Instruct", kimi)

    # Community derivatives: every few days after launch, one more child of a base.
    derivatives = [
        ("unsloth/Qwen3.5-9B-GGUF", "Qwen/Qwen3.5-9B", dict(library_name="gguf", files={"m.gguf": b"GGUF"})),
        ("NousResearch/Hermes-5-Qwen3.5-9B", "Qwen/Qwen3.5-9B", {}),
        ("bartowski/Qwen3.5-35B-A3B-GGUF", "Qwen/Qwen3.5-35B-A3B", dict(library_name="gguf",
                                                                      files={"m.gguf": b"GGUF"})),
        ("someone/qwen3.5-9b-medical-lora", "Qwen/Qwen3.5-9B", dict(library_name="peft",
                                                                  files={"adapter_config.json": "{}"})),
        ("NousResearch/Hermes-5-Llama-3.1-8B", "meta-llama/Llama-3.1-8B", {}),
        ("mlx-community/Qwen3.5-9B-4bit", "Qwen/Qwen3.5-9B", dict(base_model_relation="quantized",
                                                                library_name="mlx")),
        ("arcee-ai/Qwen3.5-9B-Llama-merge", ["Qwen/Qwen3.5-9B", "meta-llama/Llama-3.1-8B"], {}),
        ("allenai/Olmo-3-7B-Tulu", "allenai/Olmo-3-7B", {}),
    ]
    first = launch + 1
    for i, (model_id, base, extra) in enumerate(derivatives):
        n = first + i * max(1, (days - first) // (len(derivatives) + 1))

        def add(model_id=model_id, base=base, extra=extra, n=n):
            if any(hf.lookup(b, authed=False) is None for b in ([base] if isinstance(base, str) else base)):
                return  # its base is not public yet (a short season)
            kwargs = dict(extra)
            files = {"README.md": f"# {model_id.split('/', 1)[1]}\n\n{FICTION}\n", **kwargs.pop("files", {})}
            hf.add_model(model_id, base_model=base, files=files, **kwargs)
            season._launch(model_id, 800, n)

        season._on(n, f"{model_id}: a derivative of {base if isinstance(base, str) else ' + '.join(base)}", add)

    season._on(min(days, at(0.5)), "Hugging Face unreachable all day (connections reset)", lambda: None)
    return season
