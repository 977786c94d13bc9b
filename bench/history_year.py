"""A year of history: how long each read command takes on the database a year of crawls leaves.

    python bench/history_year.py                         # 20,000 models, 365 days (about 1 GB)
    python bench/history_year.py --models 2000 --days 60 # a quick look
    python bench/history_year.py --keep /tmp/year        # keep (and reuse) the generated database

The database is made the way the daemon makes it, then aged: the hub emulator serves 20,000
synthetic models in 100 orgs named after real labs (crawler/data/orgs.csv), `openwatch crawl`
records the baseline, a second crawl after 500 new models and 200 licence changes records real
events; then SQL spreads what the crawls wrote over the year: `first_seen`, `createdAt` and the
events' days, and one `metrics` row per model per day (the daily counters the store keeps),
downloads growing along each model's own curve. Each command is then timed as a whole process,
round-robin, beside `openwatch --help` (the process-start floor), and the figures are printed:
median wall time, the ratio to the floor, and the database's bytes per model-day.

Nothing here is asserted by the test suite; the numbers go into bench/RESULTS.md by hand.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))
sys.path.insert(0, str(BENCH))

from pipeline import WATCH, Hub, child_env, openwatch_cmd, run_process, write_config  # noqa: E402

DAY = timedelta(days=1)


def real_orgs(n: int) -> list[str]:
    """The first `n` Hugging Face orgs of the shipped registry: real names, real countries."""
    path = BENCH.parent / "crawler" / "data" / "orgs.csv"
    with path.open(newline="") as f:
        names = [row["hf_org"] for row in csv.DictReader(f) if row.get("hf_org")]
    if len(names) < n:
        names += [f"bench-org-{i:03d}" for i in range(n - len(names))]
    return names[:n]


def crawl(hub: Hub, folder: Path, timeout: float) -> None:
    proc = run_process([*openwatch_cmd(), "--config", folder / "openwatch.toml", "crawl", WATCH],
                       env=child_env(None, folder / "home"), cwd=folder, timeout=timeout, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"crawl failed (exit {proc.returncode}):\n{proc.err[-3000:]}")


def generate(folder: Path, models: int, days: int, timeout: float) -> dict:
    """Crawl a synthetic world twice, then age what the crawls stored into `days` of history."""
    per_org = max(1, models // 100)
    orgs = real_orgs(math.ceil(models / per_org))
    started = time.monotonic()
    with Hub() as hub:
        ids: list[str] = []
        for i, org in enumerate(orgs):
            ids += hub.world.populate(per_org, org, seed=i)
        write_config(folder, hub.url, orgs, timeout)
        crawl(hub, folder, timeout)
        rng = random.Random(7)
        for model_id in rng.sample(ids, min(200, len(ids))):
            current = hub.world.get(model_id).license
            hub.world.relicense(model_id, "cc-by-nc-4.0" if current != "cc-by-nc-4.0" else "mit")
        for i, org in enumerate(orgs):
            hub.world.populate(max(1, 500 // len(orgs)), org, seed=10_000 + i)
        crawl(hub, folder, timeout)
    crawled = time.monotonic() - started
    age(folder / "openwatch.db", days)
    return {"crawl_s": crawled, "aged_s": time.monotonic() - started - crawled, "orgs": len(orgs)}


def age(database: Path, days: int) -> None:
    """Spread the stored history over `days` days ending today: one metrics row per model per day."""
    end = datetime.now(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
    first = end - (days - 1) * DAY
    conn = sqlite3.connect(database)
    try:
        conn.execute("pragma journal_mode = wal")
        keys = [row[0] for row in conn.execute("select key from items where kind = 'model' order by key")]
        rng = random.Random(11)
        # Most models predate the year; a quarter appear during it (their first day is their release).
        born = {key: (0 if rng.random() < 0.75 else rng.randrange(days)) for key in keys}
        with conn:
            for key, day in born.items():
                stamp = (first + day * DAY).strftime("%Y-%m-%dT%H:%M:%SZ")
                conn.execute("update items set first_seen = ?, last_changed = ? where key = ?", (stamp, stamp, key))
            conn.execute("delete from metrics")
        template = conn.execute("select counters from metrics limit 1").fetchone()
        counters = template[0] if template else None
        rows = []
        for key in keys:
            scale = rng.lognormvariate(6, 2.2)  # downloads per day: a long tail, a few take off
            likes = int(rng.lognormvariate(2, 1.5))
            for day in range(born[key], days):
                age_days = day - born[key] + 1
                downloads = int(scale * min(age_days, 30) * (1 + 0.1 * math.sin(day / 7)))
                total = int(scale * age_days * (age_days + 1) / 2 / 30)
                text = counters if counters is None else json.dumps(
                    {"downloads": downloads, "likes": likes, "downloads_all_time": total}, separators=(",", ":"))
                rows.append((key, (first + day * DAY).strftime("%Y-%m-%d"), downloads, likes, text))
                if len(rows) >= 200_000:
                    with conn:
                        conn.executemany("insert into metrics (key, day, downloads, likes, counters) values (?, ?, ?, ?, ?)", rows)
                    rows.clear()
        with conn:
            conn.executemany("insert into metrics (key, day, downloads, likes, counters) values (?, ?, ?, ?, ?)", rows)
            # The events the two crawls recorded, copied over the year (about 20 a day).
            events = conn.execute("select * from events").fetchall()
            columns = [c[1] for c in conn.execute("pragma table_info(events)")]
            seq = conn.execute("select coalesce(max(seq), 0) from events").fetchone()[0]
            if events:
                for day in range(days):
                    for n in range(20):
                        row = dict(zip(columns, rng.choice(events)))
                        seq += 1
                        stamp = (first + day * DAY + timedelta(minutes=n * 37)).strftime("%Y-%m-%dT%H:%M:%SZ")
                        row.update(id=f"bench-{seq}", seq=seq, dedupe_key=f"bench:{seq}", detected_at=stamp)
                        conn.execute(f"insert into events ({', '.join(columns)}) values ({', '.join('?' * len(columns))})",
                                     [row[c] for c in columns])
        conn.execute("pragma wal_checkpoint(truncate)")
    finally:
        conn.close()


def footprint(database: Path) -> dict:
    conn = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        rows = conn.execute("select count(*), count(distinct key), count(distinct day) from metrics").fetchone()
        try:
            metric_bytes = conn.execute(
                "select sum(pgsize) from dbstat where name = 'metrics' or name in "
                "(select name from sqlite_master where tbl_name = 'metrics' and type = 'index')").fetchone()[0]
        except sqlite3.OperationalError:  # SQLite built without DBSTAT
            metric_bytes = None
        key = conn.execute("select key from items where kind = 'model' order by key limit 1").fetchone()[0]
    finally:
        conn.close()
    size = database.stat().st_size
    return {"size": size, "metrics_rows": rows[0], "models": rows[1], "days": rows[2],
            "bytes_per_model_day": size / max(rows[0], 1),
            "metrics_bytes_per_row": (metric_bytes / max(rows[0], 1)) if metric_bytes else None, "sample_key": key}


def commands(folder: Path, key: str) -> dict[str, list[str]]:
    out = str(folder / "out")
    return {
        "--help (floor)": ["--help"],
        "report (default window)": ["report", "-o", out + ".html"],
        "report --since 365d": ["report", "--since", "365d", "-o", out + "-365.html"],
        "models": ["models"],
        "events": ["events"],
        "history": ["history", key],
        "status": ["status"],
        "feed": ["feed", "-o", out + ".xml"],
    }


def time_commands(folder: Path, key: str, rounds: int, timeout: float, only: set[str] | None) -> dict[str, list[float]]:
    table = {name: args for name, args in commands(folder, key).items() if not only or name.split()[0] in only
             or name.startswith("--help")}
    walls: dict[str, list[float]] = {name: [] for name in table}
    errors: dict[str, str] = {}
    for _ in range(rounds + 1):  # the first round warms the page cache and is not counted
        for name, args in table.items():
            proc = run_process([*openwatch_cmd(), "--config", folder / "openwatch.toml", *args],
                               env=child_env(None, folder / "home"), cwd=folder, timeout=timeout, check=False)
            if proc.returncode != 0:
                errors[name] = (proc.err or proc.out).strip().splitlines()[-1:] or [f"exit {proc.returncode}"]
            walls[name].append(proc.wall)
    for name in walls:
        walls[name] = walls[name][1:]
    if errors:
        for name, lines in errors.items():
            print(f"  ! {name}: {lines[0][:200]}")
    return walls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", type=int, default=20_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--rounds", type=int, default=5, help="counted runs of each command (default 5)")
    parser.add_argument("--keep", type=Path, help="folder to keep the generated database in (reused when present)")
    parser.add_argument("--only", help="comma-separated command names to time (report,models,…)")
    parser.add_argument("--timeout", type=float, default=900)
    args = parser.parse_args()

    folder = args.keep or Path(tempfile.mkdtemp(prefix="openwatch-year-"))
    folder.mkdir(parents=True, exist_ok=True)
    database = folder / "openwatch.db"
    try:
        if not database.exists():
            print(f"generating {args.models:,} models x {args.days} days in {folder} …", flush=True)
            made = generate(folder, args.models, args.days, args.timeout)
            print(f"  crawled in {made['crawl_s']:.1f} s, aged in {made['aged_s']:.1f} s ({made['orgs']} orgs)")
        size = footprint(database)
        print(f"database: {size['size'] / 1e6:,.0f} MB, {size['metrics_rows']:,} metrics rows "
              f"({size['models']:,} models x {size['days']} days): {size['bytes_per_model_day']:.0f} bytes per "
              f"model-day for the whole file" + (f", {size['metrics_bytes_per_row']:.0f} in metrics and its indexes"
                                                  if size["metrics_bytes_per_row"] else ""))
        only = set(args.only.split(",")) if args.only else None
        walls = time_commands(folder, size["sample_key"], args.rounds, args.timeout, only)
        floor = statistics.median(walls["--help (floor)"])
        print(f"\n{'command':<26} {'median':>8} {'min':>8} {'max':>8} {'x floor':>8}")
        for name, values in walls.items():
            median = statistics.median(values)
            print(f"{name:<26} {median:>7.2f}s {min(values):>7.2f}s {max(values):>7.2f}s {median / floor:>7.1f}x")
        print(f"\nload average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
