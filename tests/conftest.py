"""Shared fixtures: a clean environment, the hub emulator, loopback receivers. The helpers
tests import (the real CLI, the config writer, a database reader) are in tests/support/."""

from __future__ import annotations

import os

import pytest

from tests.support.cli import STRIP

try:  # keep Hypothesis from writing its example database into the repository
    from hypothesis import settings as _hypothesis_settings

    _hypothesis_settings.register_profile("openwatch", database=None)
    _hypothesis_settings.load_profile("openwatch")
except ImportError:  # pragma: no cover - hypothesis is a test dependency
    pass


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch):
    for name in list(os.environ):
        # Proxies too: every server in these tests is on loopback, and a proxy cannot reach it.
        if name.startswith(STRIP) or name.lower() in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
            monkeypatch.delenv(name, raising=False)


@pytest.fixture
def http():
    """A loopback HTTP receiver (Slack-like, webhooks) recording every request."""
    from alerts.receivers import HttpReceiver

    with HttpReceiver() as receiver:
        yield receiver


@pytest.fixture
def smtp():
    """A real SMTP server (aiosmtpd) on loopback recording every message."""
    from alerts.receivers import SmtpReceiver

    with SmtpReceiver() as receiver:
        yield receiver


@pytest.fixture
def emulator():
    from crawler.emulator import HubEmulator

    emu = HubEmulator(page_size=5)
    emu.start()
    try:
        yield emu
    finally:
        emu.stop()
