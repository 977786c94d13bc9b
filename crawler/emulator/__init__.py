"""The hub emulator: Hugging Face's API on a loopback port, over a scriptable in-memory world.

    from crawler.emulator import HubEmulator, HubWorld, Fault
    with HubEmulator() as emu:
        emu.world.add_model("deepseek-ai/DeepSeek-R1", license="mit")
        emu.faults.add(Fault.rate_limited("/api/models", t=1, times=2))
        ...  # point a client at emu.url

Used by the tests, by `openwatch demo` and by the benchmarks (`python -m crawler.emulator`).
"""

from .demo_world import apply_demo_changes, seed_demo_world
from .faults import Fault, FaultSet
from .requests_log import RequestLog
from .server import HubEmulator
from .times import SENTINEL_CREATED_AT
from .world import Commit, HubWorld, Model

__all__ = [
    "Commit",
    "Fault",
    "FaultSet",
    "HubEmulator",
    "HubWorld",
    "Model",
    "RequestLog",
    "SENTINEL_CREATED_AT",
    "apply_demo_changes",
    "seed_demo_world",
]
