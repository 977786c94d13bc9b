"""How a Hugging Face crawl scales: time, requests per cycle and peak memory of the real
`openwatch crawl` process against the hub emulator, at 10k and 100k models.

    python bench/crawl_scale.py                 # 10k and 100k models
    python bench/crawl_scale.py --models 2000   # a quick look

Three cycles per size: the baseline (every model and LICENSE file is new), a re-crawl with
nothing changed, and a re-crawl after 1% of the models changed (commits, relicences).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

from crawler.emulator import HubEmulator

ORG = "bench-org"


def run_crawl(config: Path) -> tuple[float, float, str]:
    """Wall seconds, peak RSS (MiB) sampled every 50 ms, and the CLI's summary line."""
    env = {**os.environ, "OPENWATCH_ALLOW_SHORT_INTERVALS": "1"}
    started = time.perf_counter()
    # Logs go to a file: a pipe nobody reads while the crawl runs fills up and blocks it.
    log = open(config.with_suffix(".log"), "w+")
    proc = subprocess.Popen([sys.executable, "-m", "jobs", "--config", str(config), "crawl", "bench"],
                            stdout=subprocess.PIPE, stderr=log, text=True, env=env)
    ps = psutil.Process(proc.pid)
    peak = 0
    while proc.poll() is None:
        try:
            peak = max(peak, ps.memory_info().rss)
        except psutil.NoSuchProcess:
            break
        time.sleep(0.05)
    out, _ = proc.communicate()
    log.seek(0)
    err = log.read()
    log.close()
    if proc.returncode != 0:
        raise SystemExit(f"crawl failed ({proc.returncode}):\n{out}\n{err[-2000:]}")
    return time.perf_counter() - started, peak / 2**20, out.strip().splitlines()[-1]


def bench(n: int, license_every: int) -> list[dict]:
    rows = []
    with HubEmulator(page_size=1000) as emu, tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        ids = emu.world.populate(n, ORG, seed=1)
        for model_id in ids[::license_every]:
            emu.world.commit(model_id, files={"LICENSE": f"Licence text of {model_id}\n" * 20})
        populate_s = time.perf_counter() - t
        config = Path(tmp) / "openwatch.toml"
        config.write_text(
            f'database = "bench.db"\n[endpoints]\nhuggingface = "{emu.url}"\n'
            f'[[watch]]\nname = "bench"\nsource = "huggingface"\norgs = ["{ORG}"]\nevery = "1h"\ntimeout = "2h"\n'
        )
        for cycle in ("baseline", "unchanged", "1% changed"):
            if cycle == "1% changed":
                for i, model_id in enumerate(ids[: max(1, n // 100)]):
                    if i % 2:
                        emu.world.commit(model_id, files={"config.json": json.dumps({"v": i})})
                    else:
                        emu.world.relicense(model_id, "cc-by-nc-4.0")
            before = emu.requests.total
            seconds, peak, summary = run_crawl(config)
            rows.append({"models": n, "cycle": cycle, "seconds": round(seconds, 1),
                         "requests": emu.requests.total - before, "peak_rss_mib": round(peak),
                         "db_mib": round((Path(tmp) / "bench.db").stat().st_size / 2**20, 1), "summary": summary})
            print(json.dumps(rows[-1]), flush=True)
        print(f"# populate {n} models (+LICENSE on 1 in {license_every}): {populate_s:.1f}s", flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--license-every", type=int, default=10, help="1 model in N has a LICENSE file")
    args = parser.parse_args()
    print(f"# {psutil.cpu_count()} cores, python {sys.version.split()[0]}", flush=True)
    for n in args.models:
        bench(n, args.license_every)


if __name__ == "__main__":
    main()
