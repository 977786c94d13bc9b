"""Run the hub emulator standalone: `python -m crawler.emulator --populate deepseek-ai:20`.

Prints the base URL as the first line of standard output (scripts read it), then serves until
interrupted.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time

from .demo_world import seed_demo_world
from .server import HubEmulator
from .world import HubWorld


def _org_count(value: str) -> tuple[str, int]:
    org, sep, count = value.rpartition(":")
    if not sep or not org or not count.isdigit():
        raise argparse.ArgumentTypeError(f"expected ORG:N, got {value!r}")
    return org, int(count)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m crawler.emulator", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="port to bind on 127.0.0.1 (default: any free port)")
    parser.add_argument("--page-size", type=int, default=1000, help="max models per listing page")
    parser.add_argument("--populate", type=_org_count, action="append", default=[], metavar="ORG:N",
                        help="add N synthetic models under ORG (repeatable)")
    parser.add_argument("--seed", type=int, default=0, help="seed for --populate")
    parser.add_argument("--demo", action="store_true", help="add the demo world (real labs' models)")
    parser.add_argument("--enforce-rate-limits", action="store_true", help="answer 429 when a bucket is exhausted")
    args = parser.parse_args(argv)

    world = HubWorld()
    if args.demo:
        seed_demo_world(world)
    for org, count in args.populate:
        started = time.perf_counter()
        world.populate(count, org, seed=args.seed)
        print(f"populated {org}: {count} models in {time.perf_counter() - started:.2f}s", file=sys.stderr)
    emulator = HubEmulator(
        world, page_size=args.page_size, port=args.port, enforce_rate_limits=args.enforce_rate_limits
    )
    print(emulator.start(), flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        emulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
