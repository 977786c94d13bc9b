"""Run the hub emulator standalone: `python -m crawler.emulator --demo --populate deepseek-ai:20`.

Prints the base URL as the first line of standard output (scripts read it) and the base URL
of every service as one JSON line on standard error, then serves until interrupted.
`--demo` fills every service (Hugging Face, GitHub, arXiv, feeds, ModelScope, daily
papers) with real labs' repos, papers and models.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time

from .demo_world import seed_demo_sources, seed_demo_world
from .server import HubEmulator
from .world import HubWorld


def _name_count(value: str) -> tuple[str, int]:
    name, sep, count = value.rpartition(":")
    if not sep or not name or not count.isdigit():
        raise argparse.ArgumentTypeError(f"expected NAME:N, got {value!r}")
    return name, int(count)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m crawler.emulator", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="port to bind on 127.0.0.1 (default: any free port)")
    parser.add_argument("--page-size", type=int, default=1000, help="max models per Hugging Face listing page")
    parser.add_argument("--populate", type=_name_count, action="append", default=[], metavar="ORG:N",
                        help="add N synthetic Hugging Face models under ORG (repeatable)")
    parser.add_argument("--populate-releases", type=_name_count, action="append", default=[], metavar="OWNER/REPO:N",
                        help="add a GitHub repo with N releases (repeatable)")
    parser.add_argument("--populate-papers", type=int, default=0, metavar="N", help="add N synthetic arXiv papers")
    parser.add_argument("--populate-modelscope", type=_name_count, action="append", default=[], metavar="OWNER:N",
                        help="add N synthetic ModelScope models under OWNER (repeatable)")
    parser.add_argument("--seed", type=int, default=0, help="seed for --populate")
    parser.add_argument("--demo", action="store_true", help="add the demo world to every service (real labs)")
    parser.add_argument("--enforce-rate-limits", action="store_true",
                        help="refuse when a quota is spent (429 on Hugging Face, 403 on GitHub)")
    args = parser.parse_args(argv)

    world = HubWorld()
    emulator = HubEmulator(
        world, page_size=args.page_size, port=args.port, enforce_rate_limits=args.enforce_rate_limits
    )
    if args.demo:
        seed_demo_world(world)
        seed_demo_sources(emulator)
    for org, count in args.populate:
        started = time.perf_counter()
        world.populate(count, org, seed=args.seed)
        print(f"populated {org}: {count} models in {time.perf_counter() - started:.2f}s", file=sys.stderr)
    for repo, count in args.populate_releases:
        if repo.lower() not in {r.full_name.lower() for r in emulator.github.repos()}:
            emulator.github.add_repo(repo)
        emulator.github.populate_releases(repo, count)
    if args.populate_papers:
        emulator.arxiv.populate(args.populate_papers)
    for owner, count in args.populate_modelscope:
        emulator.modelscope.populate(count, owner, seed=args.seed)
    print(emulator.start(), flush=True)
    print(json.dumps(emulator.endpoints()), file=sys.stderr, flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        emulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
