"""The emulator tests' common fixtures: a fake clock at the module's `T0`, a world on it, the
emulator serving that world on loopback, and an HTTP client for it."""

from __future__ import annotations

import httpx
import pytest

from crawler.emulator import HubEmulator, HubWorld
from tests.support.clock import FakeClock


@pytest.fixture
def clock(request):
    return FakeClock(request.module.T0)


@pytest.fixture
def world(clock):
    return HubWorld(clock=clock)


@pytest.fixture
def emu(world):
    with HubEmulator(world, page_size=50) as emulator:
        yield emulator


@pytest.fixture
def client(emu):
    with httpx.Client(base_url=emu.url, trust_env=False, timeout=10) as c:
        yield c
