"""Helpers shared by the alerts tests (no tests here): configs, events, a fake clock."""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from alerts.transport import Transport
from crawler.events import event_to_row, make_event
from crawler.history.schema import immediate
from jobs.database import connect
from alerts.settings import AlertSettings
from jobs.config.loader import load_config

UTC = timezone.utc
START = datetime(2025, 3, 3, 8, 0, tzinfo=UTC)  # a Monday
SLACK_TOKEN = "T0SECRET/B0SECRET/XyZsEcReTtOkEn123"
WEBHOOK_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
HOSTILE = "<!channel> & <script>"


class Clock:
    """An injectable `now()`: moves only when told."""

    def __init__(self, start: datetime = START) -> None:
        self.moment = start

    def __call__(self) -> datetime:
        return self.moment

    def advance(self, seconds: float = 0, **kwargs: float) -> datetime:
        self.moment += timedelta(seconds=seconds, **kwargs)
        return self.moment

    def set(self, moment: datetime) -> datetime:
        self.moment = moment
        return moment


class FakeTime:
    """Monotonic clock and sleep for rate limiters: sleeping advances the clock, instantly."""

    def __init__(self) -> None:
        self.t = 1000.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.t += seconds


def make_transport(*, seed: int = 7, timeout: float = 2.0) -> tuple[Transport, FakeTime]:
    fake = FakeTime()
    return Transport(timeout=timeout, monotonic=fake.monotonic, sleep=fake.sleep, rng=random.Random(seed)), fake


def toml_value(value: Any) -> str:
    return json.dumps(value)  # TOML accepts JSON strings, numbers, booleans and arrays of them


def make_config(
    tmp_path: Path,
    subscriptions: list[dict[str, Any]],
    *,
    smtp: dict[str, Any] | None = None,
    environ: dict[str, str] | None = None,
) -> AlertSettings:
    """Write an openwatch.toml with two watches and `subscriptions`, load it with the real
    loader; what the alerts package gets of it."""
    lines = [
        'database = "x.db"',
        "",
        "[[watch]]",
        'name = "labs"',
        'source = "huggingface"',
        'orgs = ["meta-llama", "deepseek-ai", "Qwen"]',
        'every = "30m"',
        "",
        "[[watch]]",
        'name = "papers"',
        'source = "arxiv"',
        'query = "open-weight"',
        'every = "6h"',
        "",
    ]
    if smtp is not None:
        lines.append("[smtp]")
        lines += [f"{k} = {toml_value(v)}" for k, v in smtp.items()]
        lines.append("")
    for sub in subscriptions:
        lines.append("[[subscription]]")
        lines += [f"{k} = {toml_value(v)}" for k, v in sub.items()]
        lines.append("")
    path = tmp_path / "openwatch.toml"
    path.write_text("\n".join(lines))
    return load_config(path, environ or {}).alerts


def smtp_table(port: int, **extra: Any) -> dict[str, Any]:
    return {"host": "127.0.0.1", "port": port, "sender": "openwatch <openwatch@example.org>", "timeout": 5, **extra}


_counter = iter(range(1_000_000))


def event(
    type: str = "model.added",
    *,
    org: str | None = "deepseek-ai",
    name: str | None = None,
    country: str | None = "CN",
    watch: str = "labs",
    detected_at: datetime = START,
    before: dict | None = None,
    after: dict | None = None,
    **data: Any,
) -> dict[str, Any]:
    """A real event (crawler.events.make_event) with a unique dedupe key."""
    n = next(_counter)
    name = name or f"Model-{n}"
    family = type.split(".")[0]
    item = {
        "model": f"model:hf/{org}/{name}",
        "release": f"release:github/{org}/{name}/v{n}",
        "repo": f"repo:github/{org}/{name}",
        "paper": f"paper:arxiv/2503.{n:05d}",
        "post": f"post:{watch}/{n:040x}",
        "source": f"watch:{watch}",
    }[family]
    if type in ("model.license_changed", "repo.license_changed"):
        data.setdefault("license_before", "llama3.1")
        data.setdefault("license_after", "llama3.2")
        data.setdefault("category_before", "open-weight-restricted")
        data.setdefault("category_after", "open-weight-restricted")
        data.setdefault("direction", "lateral")
        before = before or {"license": data["license_before"]}
        after = after or {"license": data["license_after"]}
    return make_event(
        type=type,
        item=item,
        watch=watch,
        detected_at=detected_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        summary=f"{type} {name}",
        url=f"https://huggingface.co/{org}/{name}",
        dedupe_key=f"test:{n}:{type}:{item}",
        before=before,
        after=after,
        data={"org": org, "country": country, **data},
    )


def open_db(tmp_path: Path):
    return connect(tmp_path / "x.db")


def ingest(db, events: list[dict], config: AlertSettings, now: datetime) -> int:
    """What the history layer does: events and their deliveries in one transaction."""
    from alerts.outbox import enqueue

    with immediate(db):
        db["events"].insert_all([event_to_row(e) for e in events], ignore=True)
        return enqueue(db, events, config.subscriptions, now)


def deliveries(db, **where: str) -> list[dict]:
    sql = "SELECT * FROM deliveries"
    if where:
        sql += " WHERE " + " AND ".join(f"{k} = ?" for k in where)
    return list(db.query(sql + " ORDER BY id", list(where.values())))


def statuses(db) -> dict[str, int]:
    return {r["status"]: r["n"] for r in db.query("SELECT status, count(*) AS n FROM deliveries GROUP BY status")}


def parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
