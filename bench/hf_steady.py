"""The steady (idle) cycle of one Hugging Face org: requests and bytes, this tree against another.

    python bench/hf_steady.py --before /work/main            # 100, 1,000 and 2,500 models
    python bench/hf_steady.py --models 1000 --before /work/main

For each size and each code tree (`--before DIR` runs `python -m jobs` from that checkout, the
emulator and the world stay this tree's): a fresh world of one org (`populate`, seed 1), the
baseline crawl, then two crawls with nothing changed (`reconcile_every = "1d"`, so an org of
several pages is read incrementally). The second idle crawl is measured: requests from the
emulator's log, bytes by asking the same URLs again (answer bodies, uncompressed).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx

from crawler.emulator import HubEmulator

ORG = "bench-org"
HERE = Path(__file__).resolve().parent.parent


def crawl(config: Path, tree: Path) -> None:
    env = {**os.environ, "OPENWATCH_ALLOW_SHORT_INTERVALS": "1", "PYTHONPATH": str(tree)}
    proc = subprocess.run([sys.executable, "-m", "jobs", "--config", str(config), "crawl", "bench"],
                          capture_output=True, text=True, env=env, cwd=config.parent, timeout=900)
    if proc.returncode != 0:
        raise SystemExit(f"crawl failed ({proc.returncode}) in {tree}:\n{proc.stdout}\n{proc.stderr[-2000:]}")


def idle_cycle(n: int, tree: Path) -> dict:
    with HubEmulator(page_size=1000) as emu, tempfile.TemporaryDirectory() as tmp:
        emu.world.populate(n, ORG, seed=1)
        config = Path(tmp) / "openwatch.toml"
        config.write_text(
            f'database = "bench.db"\n[endpoints]\nhuggingface = "{emu.url}"\n'
            f'[[watch]]\nname = "bench"\nsource = "huggingface"\norgs = ["{ORG}"]\nevery = "1h"\n'
            f'reconcile_every = "1d"\ntimeout = "15m"\n'
        )
        crawl(config, tree)  # the baseline
        crawl(config, tree)  # idle once: the watermark settles
        start = emu.requests.total
        crawl(config, tree)
        sent = emu.requests.log[start:]
        size = 0
        with httpx.Client(base_url=emu.url) as client:
            for request in sent:
                size += len(client.get(request.path, headers={"Accept": "application/json"}).content)
        return {"models": n, "requests": len(sent), "bytes": size,
                "paths": sorted({r.path.split("?")[0] for r in sent})}


def revision(tree: Path) -> str:
    out = subprocess.run(["git", "-C", str(tree), "log", "-1", "--format=%h"], capture_output=True, text=True)
    dirty = subprocess.run(["git", "-C", str(tree), "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True).stdout.strip()
    return out.stdout.strip() + (" + local changes" if dirty else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, nargs="+", default=[100, 1000, 2500])
    parser.add_argument("--before", type=Path, help="a checkout of the code to compare with (e.g. /work/main)")
    args = parser.parse_args()
    trees = ([("before", args.before.resolve())] if args.before else []) + [("this tree", HERE)]
    print("| models | code | requests per idle org | bytes per idle org | endpoints |")
    print("|---|---|---|---|---|")
    for n in args.models:
        for label, tree in trees:
            row = idle_cycle(n, tree)
            print(f"| {n:,} | {label} ({revision(tree)}) | {row['requests']} | {row['bytes']:,} | "
                  f"{', '.join(row['paths'])} |", flush=True)


if __name__ == "__main__":
    main()
