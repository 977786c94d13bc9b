"""The real `openwatch` command, with two bench-only hooks (used by bench/pipeline.py).

    OPENWATCH_BENCH_SCRAPY_SETTINGS='{"COOKIES_ENABLED": false}' python bench/_cli.py --config … crawl w
    OPENWATCH_BENCH_PROFILE=/tmp/crawl.prof python bench/_cli.py --config … crawl w

- `OPENWATCH_BENCH_SCRAPY_SETTINGS`: a JSON object of Scrapy settings applied to every
  crawler the CLI builds, above every other priority. Dict settings (EXTENSIONS,
  DOWNLOADER_MIDDLEWARES, …) are merged into the crawler's value, so `{"EXTENSIONS":
  {"scrapy.extensions.remote_control.RemoteControl": null}}` turns one component off and keeps
  the project's own. In a `*_BASE` setting a null removes the key from Scrapy's base dict: in
  Scrapy 2.19 a component set to None in EXTENSIONS / *_MIDDLEWARES is still imported (its
  class is loaded to deduplicate keys), one left out of the base dict is not. Nothing in
  crawler/settings.py is edited.
- `OPENWATCH_BENCH_PROFILE`: cProfile every thread (the main one and each thread started
  later: ingest workers, the reactor's pool) and write the merged stats to that path at exit.
  With `OPENWATCH_BENCH_PROFILE_FROM=crawler` the main thread is profiled from the moment the
  first Scrapy crawler is built (the CLI's start and its imports left out), else from the start.

Everything else is the installed `openwatch` console script's entry point, unchanged.
"""

from __future__ import annotations

import atexit
import json
import os
import sys

OVERRIDE_PRIORITY = 50  # above Scrapy's "cmdline" (40), the highest named priority


def _override_settings(raw: str) -> None:
    overrides = json.loads(raw)
    # Importing scrapy.crawler installs no reactor (checked), so the CLI still picks its own.
    from scrapy import crawler as scrapy_crawler

    original = scrapy_crawler.Crawler.__init__

    def __init__(self, *args, **kwargs):
        original(self, *args, **kwargs)
        for key, value in overrides.items():
            if isinstance(value, dict):
                merged = self.settings.getdict(key)
                merged.update(value)
                if key.endswith("_BASE"):
                    merged = {k: v for k, v in merged.items() if v is not None}
                value = merged
            self.settings.set(key, value, priority=OVERRIDE_PRIORITY)

    scrapy_crawler.Crawler.__init__ = __init__


def _profile_all_threads(path: str, from_crawler: bool) -> None:
    import cProfile
    import threading

    finished: list[cProfile.Profile] = []
    original_run = threading.Thread.run

    def run(self):
        profile = cProfile.Profile()
        profile.enable()
        try:
            original_run(self)
        finally:
            profile.disable()
            finished.append(profile)

    threading.Thread.run = run
    main = cProfile.Profile()

    def dump():
        # atexit runs after the interpreter joined its non-daemon threads (executor workers).
        import pstats

        main.disable()
        stats = pstats.Stats(main)
        for profile in finished:
            stats.add(profile)
        stats.dump_stats(path)

    atexit.register(dump)
    if not from_crawler:
        main.enable()
        return
    from scrapy import crawler as scrapy_crawler

    original = scrapy_crawler.Crawler.__init__

    def __init__(self, *args, **kwargs):
        main.enable()  # the main thread runs the reactor: the crawl from here on
        original(self, *args, **kwargs)

    scrapy_crawler.Crawler.__init__ = __init__


def _entry_point():
    from importlib.metadata import entry_points

    for ep in entry_points(group="console_scripts", name="openwatch"):
        return ep.load()
    from jobs.cli import main  # a source tree without the package installed

    return main


def main() -> None:
    if os.environ.get("OPENWATCH_BENCH_SCRAPY_SETTINGS") is not None:
        _override_settings(os.environ["OPENWATCH_BENCH_SCRAPY_SETTINGS"] or "{}")
    if os.environ.get("OPENWATCH_BENCH_PROFILE"):
        _profile_all_threads(os.environ["OPENWATCH_BENCH_PROFILE"],
                             os.environ.get("OPENWATCH_BENCH_PROFILE_FROM") == "crawler")
    sys.argv[0] = "openwatch"
    sys.exit(_entry_point()())


if __name__ == "__main__":
    main()
