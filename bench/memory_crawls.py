"""Does a long-running daemon leak? RSS over many consecutive crawls against the hub emulator.

    python bench/memory_crawls.py                       # 200 in-process crawls
    python bench/memory_crawls.py --mode subprocess     # 200 crawls, one child process each
    python bench/memory_crawls.py --crawls 50 --models 500 --every 10

The emulator runs in its own process (its request log grows with every request, which must
not be counted against the crawler). Prints RSS every `--every` crawls, then time per crawl,
requests per crawl and the RSS growth over the second half (after warm-up): a leak shows as
growth that does not level off.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent


def start_emulator(models: int, page_size: int) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "crawler.emulator", "--demo", "--populate", f"deepseek-ai:{models}",
         "--page-size", str(page_size)],
        stdout=subprocess.PIPE, text=True, cwd=ROOT,
    )
    url = proc.stdout.readline().strip()  # the first line is the base URL, once it listens
    if not url.startswith("http"):
        proc.kill()
        raise SystemExit(f"emulator did not start: {url!r}")
    return proc, url


def write_config(folder: Path, url: str) -> Path:
    path = folder / "openwatch.toml"
    path.write_text(
        'database = "bench.db"\n\n[endpoints]\n'
        f"huggingface = {json.dumps(url)}\n\n"
        '[[watch]]\nname = "labs"\nsource = "huggingface"\n'
        'orgs = ["meta-llama", "deepseek-ai", "Qwen", "moonshotai", "openai", "allenai"]\n'
        'every = "1m"\ntimeout = "5m"\n'
    )
    return path


def mib(n: int) -> float:
    return n / (1024 * 1024)


def run_inprocess(config, crawls: int, every: int) -> list[tuple[int, float, float, int]]:
    from jobs.runner import crawl_watch, run_in_reactor

    me = psutil.Process()
    watch = config.watch("labs")
    rows = []

    async def main():
        for i in range(1, crawls + 1):
            started = time.perf_counter()
            outcome = await crawl_watch(config, watch)
            seconds = time.perf_counter() - started
            if outcome.status != "ok":
                print(f"crawl {i}: {outcome.status} {outcome.errors[:2]}", file=sys.stderr)
            if i % every == 0 or i == 1:
                gc.collect()
                rows.append((i, mib(me.memory_info().rss), seconds, outcome.requests))
                print(f"crawl {i:4d}: rss {rows[-1][1]:7.1f} MiB  {seconds:5.2f}s  {outcome.requests} requests",
                      flush=True)
            else:
                rows.append((i, float("nan"), seconds, outcome.requests))

    run_in_reactor(main)
    return rows


def run_subprocess(config, crawls: int, every: int) -> list[tuple[int, float, float, int]]:
    """The daemon's child-per-crawl mode: parent RSS stays flat; peak child RSS is reported."""
    import sqlite3

    me = psutil.Process()
    rows = []
    env = {**os.environ, "OPENWATCH_ALLOW_SHORT_INTERVALS": "1"}
    for i in range(1, crawls + 1):
        started = time.perf_counter()
        child = psutil.Popen([sys.executable, "-m", "jobs", "--config", str(config.path), "crawl", "labs"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        peak = 0
        while child.poll() is None:
            try:
                peak = max(peak, child.memory_info().rss)
            except psutil.Error:
                pass
            time.sleep(0.05)  # sampling the child's RSS, not waiting for readiness
        seconds = time.perf_counter() - started
        conn = sqlite3.connect(config.database)
        (requests,) = conn.execute("select requests from crawls order by id desc limit 1").fetchone()
        conn.close()
        if i % every == 0 or i == 1:
            rows.append((i, mib(me.memory_info().rss), seconds, requests))
            print(f"crawl {i:4d}: parent rss {rows[-1][1]:6.1f} MiB  child peak {mib(peak):6.1f} MiB  "
                  f"{seconds:5.2f}s  {requests} requests", flush=True)
        else:
            rows.append((i, float("nan"), seconds, requests))
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=("inprocess", "subprocess"), default="inprocess")
    parser.add_argument("--crawls", type=int, default=200)
    parser.add_argument("--every", type=int, default=20, help="print RSS every N crawls")
    parser.add_argument("--models", type=int, default=300, help="synthetic deepseek-ai models besides the demo world")
    parser.add_argument("--page-size", type=int, default=100)
    args = parser.parse_args(argv)

    os.environ["OPENWATCH_ALLOW_SHORT_INTERVALS"] = "1"
    emulator, url = start_emulator(args.models, args.page_size)
    try:
        with tempfile.TemporaryDirectory() as folder:
            from jobs.config.loader import load_config

            config = load_config(write_config(Path(folder), url))
            run = run_inprocess if args.mode == "inprocess" else run_subprocess
            rows = run(config, args.crawls, args.every)
    finally:
        emulator.terminate()
        emulator.wait()

    sampled = [(i, rss) for i, rss, _, _ in rows if rss == rss]
    times = [s for _, _, s, _ in rows]
    requests = [r for _, _, _, r in rows]
    half = [rss for i, rss in sampled if i >= args.crawls // 2]
    print(f"\n{args.mode}: {args.crawls} crawls")
    print(f"time per crawl: median {statistics.median(times):.2f}s, first {times[0]:.2f}s, max {max(times):.2f}s")
    print(f"requests per crawl: median {statistics.median(requests):.0f} (first crawl {requests[0]})")
    print(f"rss: after crawl 1 {sampled[0][1]:.1f} MiB, at end {sampled[-1][1]:.1f} MiB")
    if len(half) >= 2:
        per100 = (half[-1] - half[0]) / max(1, sampled[-1][0] - args.crawls // 2) * 100
        print(f"rss growth over the second half: {half[-1] - half[0]:+.1f} MiB ({per100:+.1f} MiB per 100 crawls)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
