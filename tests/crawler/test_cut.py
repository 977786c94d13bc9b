"""crawler/cut.py: a cut ends what is awaited through it, and only that; no reactor needed."""

from __future__ import annotations

import asyncio
import pytest
from scrapy.signalmanager import SignalManager

from crawler.cut import CrawlCut, cut, pause, until_cut


class Crawler:
    """What crawler/cut.py uses of a Scrapy crawler: signals sent by this crawler."""

    def __init__(self):
        self.signals = SignalManager(self)  # as scrapy.crawler.Crawler does: this crawler's own


def crawler():
    return Crawler()


def test_a_cut_ends_a_wait_in_flight_and_every_one_after():
    async def main():
        c = crawler()
        waiting = asyncio.ensure_future(pause(c, 3600))
        await asyncio.sleep(0)
        cut(c, "timed out after 3s")
        with pytest.raises(CrawlCut, match="timed out after 3s"):
            await asyncio.wait_for(waiting, 5)
        with pytest.raises(CrawlCut):
            await until_cut(c, asyncio.sleep(3600))  # refused at once: nothing new starts

    asyncio.run(main())


def test_what_finishes_is_returned_and_a_cancel_of_the_caller_goes_through():
    async def answer():
        return 42

    async def main():
        c = crawler()
        assert await until_cut(c, answer()) == 42
        caller = asyncio.ensure_future(until_cut(c, asyncio.sleep(3600)))
        await asyncio.sleep(0)
        caller.cancel()
        with pytest.raises(asyncio.CancelledError):
            await caller
        other = crawler()  # a cut is per crawl
        cut(other, "stopped")
        assert await until_cut(c, answer()) == 42

    asyncio.run(main())


def test_a_component_built_without_a_crawler_just_sleeps():
    asyncio.run(pause(None, 0))
