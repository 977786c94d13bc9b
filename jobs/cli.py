"""The `openwatch` command line (click). Errors are one line; `--debug` shows tracebacks.

Exit codes: 0 ok (also when some crawls were partial), 1 failure (a watch failed entirely, or
nothing could run), 2 usage or configuration error. Output cut short by its reader
(`openwatch events | head`) ends quietly with 0: the reader had what it asked for.

Global options (`--config`, `--debug`, `--log-format`) go before or after the command.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import click

from crawler.times import iso, parse
from jobs.views.output import emit, output_options

logger = logging.getLogger("openwatch")


class Failure(click.ClickException):
    """A command that ran but failed (exit 1)."""

    exit_code = 1


class ConfigProblem(click.ClickException):
    """A usage or configuration error (exit 2)."""

    exit_code = 2


# Commands that only read the history: they load the config without its secrets (a
# `${VAR}` of a subscription's URL or secret, or of [smtp] password, may be unset).
QUERY_COMMANDS = frozenset({"events", "status", "history", "models", "report", "feed", "serve", "alerts list"})


class App:
    """What every command needs, built lazily from the global options."""

    def __init__(self, config_path: str | None, debug: bool, log_format: str | None):
        self.config_path = config_path
        self.debug = debug
        self.log_format = log_format
        self._config = None
        self._verified = False
        self.pending: list[str] = []  # migrations a database opened read-only lacks (never applied)

    def config(self):
        if self._config is None:
            from jobs.config.loader import find_config_path, load_config

            self._config = load_config(find_config_path(self.config_path, os.environ), os.environ,
                                       secrets=_command_name() not in QUERY_COMMANDS)
        return self._config

    def db(self, *, readonly: bool = False):
        from jobs.database import connect

        path = self.config().database
        if readonly and not Path(path).exists():
            raise Failure(f"{path}: no history yet; run \"openwatch crawl WATCH\" or \"openwatch run --once\" first")
        if not readonly:
            self.verify_database()
        db = connect(path, readonly=readonly)
        self.pending = getattr(db, "pending_migrations", None) or self.pending
        return db

    def verify_database(self) -> None:
        """Before a command's first write: refuse a database that is damaged or cannot be written."""
        if not self._verified:
            from crawler.history.schema import verify

            verify(self.config().database)
            self._verified = True

    def setup_logging(self, level: str = "INFO") -> None:
        from jobs.runner import configure_logging

        fmt = self.log_format or (self._config.daemon.log_format if self._config else "text")
        configure_logging("DEBUG" if self.debug else level, fmt)


def _command_name() -> str:
    """The command being run, without the program: `events`, `alerts list`."""
    ctx = click.get_current_context(silent=True)
    names = []
    while ctx is not None and ctx.parent is not None:
        names.append(ctx.info_name or "")
        ctx = ctx.parent
    return " ".join(reversed(names))


def _set_global(ctx, param, value):
    """`openwatch crawl labs --log-format json`: a global option given after the command."""
    if value is not None and value is not False:
        setattr(ctx.find_object(App), param.name, value)


# The global options again, on every command; given there they win over the group's.
GLOBAL_OPTIONS = (
    click.Option(["--config", "config_path"], type=click.Path(dir_okay=False), expose_value=False,
                 callback=_set_global, is_eager=True, help="Config file (also before the command)."),
    click.Option(["--debug"], is_flag=True, default=None, expose_value=False, callback=_set_global, is_eager=True,
                 help="Show tracebacks and debug logs (also before the command)."),
    click.Option(["--log-format", "log_format"], type=click.Choice(["text", "json"]), expose_value=False,
                 callback=_set_global, is_eager=True, help="Log line format on stderr (also before the command)."),
)


class OpenwatchCommand(click.Command):
    """A command that also takes the global options."""

    def get_params(self, ctx):
        own = {opt for param in self.params for opt in param.opts}
        return super().get_params(ctx) + [p for p in GLOBAL_OPTIONS if not own & set(p.opts)]


class OpenwatchGroup(click.Group):
    """Turns domain errors into one clear line; tracebacks only with --debug."""

    command_class = OpenwatchCommand
    group_class = type  # `alerts` is an OpenwatchGroup too
    # name -> "module:attribute": imported only when that command runs or help lists it.
    lazy: dict[str, str] = {}

    def list_commands(self, ctx):
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx, name):
        if name in self.lazy and name not in self.commands:
            import importlib

            module, attribute = self.lazy[name].split(":")
            self.add_command(getattr(importlib.import_module(module), attribute), name)
        return super().get_command(ctx, name)

    def invoke(self, ctx):
        import sqlite3

        from crawler.history.schema import database_error
        from jobs.exceptions import ConfigError, OpenwatchError

        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except BrokenPipeError:  # before click's own handler, which exits 1
            _reader_gone()
        except ConfigError as exc:
            _traceback_if_debug(ctx)
            raise ConfigProblem(str(exc)) from None
        except OpenwatchError as exc:  # HistoryError (an unusable database) included
            _traceback_if_debug(ctx)
            raise Failure(str(exc)) from None
        except sqlite3.DatabaseError as exc:  # a query on a damaged or vanished database
            _traceback_if_debug(ctx)
            config = getattr(ctx.find_object(App), "_config", None)
            if config is None:
                raise Failure(f"{type(exc).__name__}: {exc} (run with --debug for the traceback)") from None
            pending = ctx.find_object(App).pending
            if pending and "no such" in str(exc):  # a table or column a newer openwatch adds
                raise Failure(f"{config.database}: written by an older openwatch (not yet applied: "
                              f"{', '.join(pending)}), and a reading command never upgrades it; run "
                              "\"openwatch crawl WATCH\" once as a user who may write it, then read it again") from None
            raise Failure(str(database_error(exc, config.database))) from None
        except Exception as exc:  # noqa: BLE001 - the one place that turns surprises into a line
            _traceback_if_debug(ctx)
            raise Failure(f"{type(exc).__name__}: {exc} (run with --debug for the traceback)") from None


def _traceback_if_debug(ctx) -> None:
    """With --debug the traceback goes to stderr first; the exit code stays the same."""
    if _debug(ctx):
        import traceback

        traceback.print_exc()


def _debug(ctx) -> bool:
    return bool(ctx.obj and ctx.obj.debug) or "--debug" in sys.argv


@click.group(cls=OpenwatchGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config_path", type=click.Path(dir_okay=False),
              help="Config file (default: $OPENWATCH_CONFIG, else ./openwatch.toml).")
@click.option("--debug", is_flag=True, help="Show tracebacks and debug logs.")
@click.option("--log-format", type=click.Choice(["text", "json"]), default=None, help="Log line format on stderr.")
@click.version_option(package_name="openwatch")
@click.pass_context
def cli(ctx, config_path, debug, log_format):
    """openwatch: watch open AI models appear, change licence, get gated and vanish.

    Example: openwatch init && openwatch run
    """
    ctx.obj = App(config_path, debug, log_format)


def main() -> None:
    """Entry point: every error, usage errors included, is one line on stderr."""
    try:
        cli.main(prog_name="openwatch", standalone_mode=False)
        sys.stdout.flush()  # a reader gone before the last buffered output: below, not at exit
    except BrokenPipeError:
        _reader_gone()
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(1)
    except click.UsageError as exc:
        hint = f" (see: {exc.ctx.command_path} --help)" if exc.ctx else ""
        click.echo(f"Error: {exc.format_message()}{hint}", err=True)
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        click.echo(f"Error: {exc.format_message()}", err=True)
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)


def _reader_gone() -> None:
    """stdout's reader closed the pipe (`| head`): stop quietly, exit 0. What is still buffered
    goes to /dev/null, so the interpreter's flush at exit does not fail again
    (docs.python.org/3/library/signal.html#note-on-sigpipe)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    sys.exit(0)


# -- init -----------------------------------------------------------------------------


@cli.command()
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
@click.pass_obj
def init(app: App, force):
    """Write a commented starter config watching the notable US and Chinese labs.

    Example: openwatch init && openwatch run --once
    """
    from crawler.orgs import default_orgs
    from jobs.config import write_starter

    path = Path(app.config_path or os.environ.get("OPENWATCH_CONFIG") or "openwatch.toml")
    write_starter(path, default_orgs(), force=force)
    click.echo(f"wrote {path}; edit it, then run: openwatch run")


# -- crawling -------------------------------------------------------------------------


def _crawl(app: App, watches) -> list:
    import asyncio

    from jobs.runner import crawl_watch, run_in_reactor
    from jobs.scheduler import record_outcome

    config = app.config()

    async def main():
        outcomes = []
        for watch in watches:
            logger.info("crawling %s (%s)", watch.name, watch.source)
            outcome = await crawl_watch(config, watch, log_level="DEBUG" if app.debug else "WARNING",
                                        progress=_progress(watch.name))
            await asyncio.to_thread(record_outcome, config, watch, outcome)  # watch health, source.failing
            outcomes.append(outcome)
        return outcomes

    return run_in_reactor(main)


def _progress(watch: str):
    """On a terminal, a crawl (a first baseline can take minutes) says how far it got, on one
    line that it rewrites; piped or logged, it stays quiet."""
    if not sys.stderr.isatty():
        return None
    shown = {"at": 0.0}

    def report(items: int, units: int, total_units: int, done: bool = False) -> None:
        import time

        now = time.monotonic()
        if not done and now - shown["at"] < 0.5:
            return
        shown["at"] = now
        end = "\n" if done else ""
        sys.stderr.write(f"\r{watch}: {items:,} items, {units}/{total_units} units complete{end}")
        sys.stderr.flush()

    return report


def _report(config, outcomes) -> None:
    """Each crawl's result line, and under it (stderr) what went wrong, explained."""
    from crawler.orgs import default_orgs
    from jobs.views.explain import explain

    for o in outcomes:
        line = (f"{o.watch}: {o.status} - {o.items} items, {o.events} events, {o.requests} requests, "
                f"{o.seconds:.1f}s")
        click.echo(line)
        for problem in explain(o.errors, status=o.status, watch=config.watch(o.watch), endpoints=config.endpoints,
                               registry=default_orgs()):
            click.echo(f"  {problem}", err=True)


def _deliver(app: App, *, force: bool):
    """Dispatch what is due (`force`: everything pending); prints and returns the report."""
    from alerts.schema import anything_waiting

    config = app.config()
    if not config.subscriptions and not Path(config.database).exists():
        return None
    db = app.db()
    try:
        if not anything_waiting(db):  # nothing to send: the alerts stack is not even loaded
            report = None
        else:
            from alerts.outbox import dispatch

            report = dispatch(db, config.alerts, now=lambda: datetime.now(timezone.utc), force=force)
    finally:
        db.close()
    click.echo(f"deliveries: {report or '0 sent'}")
    return report


@cli.command()
@click.argument("watches", nargs=-1, required=True)
@click.pass_obj
def crawl(app: App, watches):
    """Crawl the named watches once now (no deliveries).

    Example: openwatch crawl labs
    """
    config = app.config()
    selected = [config.watch(name) for name in watches]
    app.verify_database()
    app.setup_logging()
    outcomes = _crawl(app, selected)
    _report(config, outcomes)
    if any(o.status == "failed" for o in outcomes):
        raise Failure("a watch failed entirely; see the errors above and `openwatch status`")


@cli.command()
@click.option("--once", is_flag=True, help="Crawl every watch once, deliver what is due, exit.")
@click.pass_obj
def run(app: App, once):
    """Run the daemon: every watch on its schedule, deliveries as they fall due.

    Example: openwatch run          (or: openwatch run --once)
    """
    config = app.config()
    app.verify_database()
    app.setup_logging()
    if once:
        watches = [w for w in config.watches if w.enabled]
        if not watches:
            raise Failure("no enabled watch in the config; add a [[watch]] and run again")
        outcomes = _crawl(app, watches)
        _report(config, outcomes)
        _deliver(app, force=False)
        if any(o.status == "failed" for o in outcomes):
            raise Failure("a watch failed entirely; see the errors above and `openwatch status`")
        return
    from jobs.scheduler import run_daemon

    sys.exit(run_daemon(config, debug=app.debug, log_format=app.log_format))


@cli.command()
@click.pass_obj
def deliver(app: App):
    """Attempt every pending delivery now, whatever its backoff schedule. Exits 1 when a
    delivery became a dead letter (refused for good, or out of attempts).

    Example: openwatch deliver
    """
    app.config()
    app.setup_logging()
    report = _deliver(app, force=True)
    if report is not None and report.dead:
        raise Failure(f"{report.dead} {'delivery' if report.dead == 1 else 'deliveries'} refused for good or given "
                      "up (dead letters); see `openwatch status`, fix the receiver or the subscription, then run "
                      "`openwatch alerts retry`")


# A plain click command, as it was when loaded lazily: its help lists its own options only.
@click.command("deploy")
@click.option("--version", "version", help="Version name on the servers (default: UTC time + git describe).")
@click.option("--egg", type=click.Path(exists=True, dir_okay=False), help="Upload this egg instead of building one.")
@click.option("--build-egg", "build_only", type=click.Path(dir_okay=False),
              help="Only build the egg, into this file; upload nothing.")
@click.pass_obj
def deploy_command(app, version, egg, build_only):
    """Upload the crawler to every Scrapyd server of [scrapyd] (addversion.json).

    Run it after each upgrade of openwatch: workers run the version uploaded last.

    Example: openwatch deploy
    """
    import shutil
    import tempfile

    # Here, not at the top: jobs.scrapyd pulls in httpx, ~70 ms of every start (bench/RESULTS.md).
    from jobs.scrapyd.deploy import deploy
    from jobs.scrapyd.egg import build_egg

    if build_only:
        with tempfile.TemporaryDirectory(prefix="openwatch-egg-") as tmp:
            shutil.copyfile(build_egg(Path(tmp)), build_only)
        click.echo(f"wrote {build_only}")
        return
    settings = getattr(app.config(), "scrapyd", None)
    if settings is None:
        raise click.UsageError('no [scrapyd] section in the config; add one with url = "http://localhost:6800"')
    results = deploy(settings, version=version, egg=Path(egg) if egg else None)
    for result in results:
        if result.ok:
            click.echo(f"{result.url}: {settings.project} {result.version} ({result.spiders} spiders)")
        else:
            click.echo(f"{result.url}: failed: {result.error}", err=True)
    failed = [r for r in results if not r.ok]
    if failed:
        raise click.ClickException(f"deploy failed on {len(failed)} of {len(results)} servers")


cli.add_command(deploy_command)


# -- querying -------------------------------------------------------------------------

_SINCE = re.compile(r"^(\d+)\s*([smhdw])$")


def parse_since(text: str | None, now: datetime | None = None) -> str | None:
    """`7d`, `12h`, `30m`, `2w` ago, or an ISO date/time; returned as ISO UTC `Z`."""
    if not text:
        return None
    now = now or datetime.now(timezone.utc)
    match = _SINCE.match(text.strip().lower())
    if match:
        seconds = int(match.group(1)) * {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}[match.group(2)]
        try:
            moment = now - timedelta(seconds=seconds)
        except OverflowError:
            raise click.BadParameter(f"{text!r} reaches before year 1; use a shorter duration") from None
    else:
        try:
            moment = parse(text)
        except ValueError:
            raise click.BadParameter(f"{text!r}: use a duration like 7d, 12h, 30m or a date like 2026-11-01") from None

    return iso(moment)


@cli.command()
@click.option("--since", help="Only events detected since: 7d, 12h, or a date.")
@click.option("--type", "types", multiple=True,
              help="Event type, or a family as in the config: model.license_changed, model.* (repeatable).")
@click.option("--org", "orgs", multiple=True, help="Organisation, e.g. deepseek-ai (repeatable).")
@click.option("--country", "countries", multiple=True, help="ISO country code, e.g. CN (repeatable).")
@click.option("--watch", "watches", multiple=True, help="Watch name (repeatable).")
@click.option("--limit", type=click.IntRange(min=0), default=0, help="At most this many events (0: all).")
@output_options
@click.pass_obj
def events(app: App, since, types, orgs, countries, watches, limit, fmt):
    """Events, newest first.

    Example: openwatch events --since 7d --type model.license_changed --country CN --json
    """
    from crawler.history.queries import list_events

    types = _event_types(types)
    since = parse_since(since)
    db = app.db(readonly=True)
    checked = _filters(app.config(), db, orgs=orgs, countries=countries, watches=watches)
    rows = list_events(db, since=since, types=types, orgs=checked["orgs"], countries=checked["countries"],
                       watches=checked["watches"], limit=limit)
    flat = [{**e, "org": e["data"].get("org"), "country": e["data"].get("country")} for e in rows]
    emit(flat, fmt, ["detected_at", "type", "item", "org", "country", "summary"], json_rows=rows)


def _event_types(patterns) -> list[str]:
    """`--type` values as the config reads them (`model.*`, `*`): jobs/filters.py."""
    from jobs import filters

    out: list[str] = []
    for pattern in patterns:
        for t in _checked("--type", filters.event_types, pattern, noun='event types ("model.*" for a family)'):
            if t not in out:
                out.append(t)
    return out


def _checked(option: str, check, value, **options):
    """A filter of jobs/filters.py on an option's value; its error as a usage error (exit 2)."""
    from jobs.filters import FilterError

    try:
        return check(value, **options)
    except FilterError as exc:
        raise ConfigProblem(f"{option} {exc}") from None


class _Known:
    """What a query's filters may name besides the registry: the config's watches and orgs,
    and the history's (read once, when first needed)."""

    def __init__(self, config, db):
        self.config, self.db, self._seen = config, db, None

    def history(self) -> dict[str, set[str]]:
        if self._seen is None:
            from crawler.history.queries import known_names

            self._seen = known_names(self.db)
        return self._seen

    def watches(self) -> list[str]:
        return [w.name for w in self.config.watches] + sorted(self.history()["watches"])

    def orgs(self) -> set[str]:
        from jobs.filters import watched_orgs

        return watched_orgs(self.config.watches) | self.history()["orgs"]


def _filters(config, db, *, orgs=(), countries=(), watches=(), categories=(), sources=(), item_kind=None) -> dict:
    """Every filter value checked the one way (jobs/filters.py), as the query takes them:
    orgs as every lower-case name of their labs, countries as codes, sources as kinds."""
    from jobs import filters

    known = _Known(config, db)
    out: dict = {}
    out["watches"] = [_checked("--watch", filters.watch, w, names=known.watches(), where="the config or the history")
                      for w in watches]
    names: set[str] = set()
    for org in orgs:
        names |= _checked("--org", filters.org, org, known=known.orgs, where="the registry, the history or the config")
    out["orgs"] = sorted(names)
    out["countries"] = [_checked("--country", filters.country, c, known=lambda: known.history()["countries"])
                        for c in countries]
    out["categories"] = [_checked("--category", filters.category, c) for c in categories]
    out["sources"] = [_checked("--source", filters.source, s, item_kind=item_kind) for s in sources]
    return out


@cli.command()
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), help="Write to FILE (default stdout).")
@click.option("--since", help="Only events detected since: 7d, 12h, or a date.")
@click.option("--type", "types", multiple=True, help="Event type (repeatable).")
@click.option("--limit", type=click.IntRange(min=0), default=200, show_default=True, help="At most this many (0: all).")
@click.pass_obj
def feed(app: App, output, since, types, limit):
    """Events as an Atom feed, newest first (for feed readers): each entry says what changed,
    before → after. With -o the file is replaced atomically (readers never see half a feed).

    Example: openwatch feed --since 30d -o /var/www/openwatch.xml
    """
    from crawler.history.queries import list_events
    from jobs.views.feed import events_feed, write_feed

    since = parse_since(since)
    types = _event_types(types)
    db = app.db(readonly=True)
    if output:
        write_feed(db, output, since=since, types=types, limit=limit)
    else:
        click.echo(events_feed(list_events(db, since=since, types=types, limit=limit)).decode("utf-8"))


@cli.command()
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, writable=True),
              help="The HTML file to write.")
@click.option("--since", default="90d", show_default=True,
              help="The window of new models, licence changes and events: 90d, 26w, or a date.")
@click.pass_obj
def report(app: App, output, since):
    """One self-contained HTML page (no network needed to open it): new models by country and
    licence, openness by country, download share, licence changes, newest releases, source health.

    Example: openwatch report --since 90d -o report.html
    """
    from jobs.views.report import write_report

    db = app.db(readonly=True)
    write_report(db, output, since=parse_since(since))
    click.echo(f"wrote {output}")


@cli.command()
@click.argument("key_or_repo_id")
@click.option("--texts", is_flag=True, help="Include the full LICENSE texts of each snapshot.")
@output_options
@click.pass_obj
def history(app: App, key_or_repo_id, texts, fmt):
    """Snapshots of one item, oldest first, with what changed between them.

    A bare owner/name means the Hugging Face model; a ModelScope model is model:ms/owner/name.

    Example: openwatch history meta-llama/Llama-3.1-8B --json
    """
    from crawler.history.queries import history as load_history
    from crawler.history.queries import item_key, list_events, resolve_key

    key = item_key(key_or_repo_id)
    db = app.db(readonly=True)
    snapshots = load_history(db, key, with_texts=texts)
    if not snapshots:
        from crawler.history.queries import similar_keys

        close = similar_keys(db, key)
        raise Failure(f"{key}: not in the history; " + (f"did you mean {' or '.join(close)}?" if close else
                                                        "check the spelling (owner/name) or crawl its watch first"))
    if fmt != "table":
        columns = ["observed_at", "license", "gated", "sha", "changed"] + (["license_texts"] if texts else [])
        rows = [{"observed_at": s["observed_at"], "license": s.get("license"), "gated": s.get("gated"),
                 "sha": s.get("sha"), "changed": s["changed"], "license_texts": s.get("license_texts")}
                for s in snapshots]
        emit(rows, fmt, columns, json_rows=snapshots)
        return
    rows = []
    for s in snapshots:
        change = "; ".join(f"{k}: {_short(v['before'])} → {_short(v['after'])}" for k, v in s["changed"].items())
        rows.append({"observed_at": s["observed_at"], "license": s.get("license"), "gated": s.get("gated"),
                     "sha": (s.get("sha") or "")[:10], "changed": change or "(first seen)"})
    emit(rows, fmt, ["observed_at", "license", "gated", "sha", "changed"])
    from alerts.redaction import visible

    # Scraped LICENSE files go to a terminal: controls and bidi overrides shown, not obeyed.
    for s in snapshots:
        for name, text in (s.get("license_diffs") or {}).items():
            click.echo(visible(f"\n{s['observed_at']} {name}:\n{text}", lines=True))
        for name, text in (s.get("license_texts") or {}).items():
            shown = text if text is not None else "(text not stored)"
            click.echo(visible(f"\n{s['observed_at']} {name}:\n{shown}", lines=True))
    evs = list_events(db, item=key)
    if evs:
        click.echo("\nevents:")
        emit(list(reversed(evs)), "table", ["detected_at", "type", "summary"])
    from crawler.history.queries import item_links

    links = item_links(db, resolve_key(db, key))
    if links:
        click.echo("\nlinks:")
        emit(links, "table", ["relation", "key", "evidence", "first_seen"])


def _short(value) -> str:
    text = json.dumps(value, sort_keys=True) if isinstance(value, (dict, list, bool)) else str(value)
    return text if len(text) <= 40 else text[:39] + "…"


@cli.command()
@output_options(json="Print one JSON object: database, daemon, watches, budgets, subscriptions, dead_letters, "
                     "failing_receivers.")
@click.pass_obj
def status(app: App, fmt):
    """Each watch: last crawl, result, items, failures, next run; deliveries and dead letters
    (--json: one object with database, daemon, watches, subscriptions, dead_letters, failing_receivers).

    Example: openwatch status
    """
    from jobs.views.status import status_report

    config = app.config()
    db = app.db(readonly=True) if Path(config.database).exists() else None
    report = status_report(config, db)
    if fmt == "json":
        click.echo(json.dumps(report, indent=2, default=str))
        return
    emit(report["watches"], fmt, ["watch", "source", "every", "last_crawl", "result", "items", "events",
                                  "failures", "next_run", "next_reconcile", "last_error"])
    if fmt == "table":
        click.echo(f"\ndaemon: {report['daemon']}")
        if report.get("budgets"):
            click.echo("\nrequest budget (as the servers last said):")
            emit(report["budgets"], "table", ["source", "bucket", "remaining", "quota", "reset_at", "observed_at"])
        if report.get("subscriptions"):
            click.echo("\nsubscriptions:")
            emit(report["subscriptions"], "table", list(report["subscriptions"][0].keys()))
        if report.get("dead_letters"):
            click.echo("\ndead letters:")
            emit(report["dead_letters"], "table", list(report["dead_letters"][0].keys()))
        if report.get("failing_receivers"):
            click.echo("\nfailing receivers:")
            emit(report["failing_receivers"], "table", list(report["failing_receivers"][0].keys()))


# -- alerts ---------------------------------------------------------------------------


@cli.group()
def alerts():
    """Subscriptions: list them, send a test alert."""


@alerts.command("list")
@output_options
@click.pass_obj
def alerts_list(app: App, fmt):
    """Subscriptions and their delivery counts (sent, pending, dead).

    Example: openwatch alerts list
    """
    from alerts.commands import subscription_stats

    config = app.config()
    if Path(config.database).exists():
        db = app.db(readonly=True)
    else:  # nothing delivered yet: every count 0, and the file is not created by a reader
        import sqlite_utils

        db = sqlite_utils.Database(memory=True)
    rows = subscription_stats(db, config.alerts)
    emit(rows, fmt, list(rows[0].keys()) if rows else ["name"])


@alerts.command("test")
@click.argument("subscription")
@click.pass_obj
def alerts_test(app: App, subscription):
    """Send a sample event through SUBSCRIPTION and print the receiver's answer.

    Example: openwatch alerts test team
    """
    from alerts.commands import send_test

    config = app.config()
    config.subscription(subscription)
    result = send_test(config.alerts, subscription, now=datetime.now(timezone.utc))
    click.echo(str(result))
    if not getattr(result, "ok", False):
        raise Failure(f"test alert to {subscription} was not accepted")


@alerts.command("retry")
@click.argument("subscription", required=False)
@click.pass_obj
def alerts_retry(app: App, subscription):
    """Put dead letters back in the queue (after fixing a receiver or a setting), and the
    suppressed deliveries of subscriptions the config has enabled now.

    Example: openwatch alerts retry team && openwatch deliver
    """
    from alerts.commands import retry_dead, retry_suppressed

    config = app.config()
    if subscription:
        config.subscription(subscription)
    db = app.db()
    now = datetime.now(timezone.utc)
    count = retry_dead(db, now=now, subscription=subscription)
    enabled = [s.name for s in config.subscriptions if s.enabled and subscription in (None, s.name)]
    back = retry_suppressed(db, now=now, subscriptions=enabled)
    click.echo(f"{count} dead letters queued again" + (f", {back} suppressed deliveries queued again" if back else ""))


@alerts.command("channels")
def alerts_channels():
    """The alert channels and their settings.

    Example: openwatch alerts channels
    """
    from alerts.channels import channel_help

    for kind, text in channel_help().items():
        click.echo(f"{kind}\n  " + text.replace("\n", "\n  ") + "\n")


@cli.command()
@click.option("--port", type=click.IntRange(0, 65535), default=8001, show_default=True, help="0: any free port.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (loopback by default).")
@click.pass_obj
def serve(app: App, port, host):
    """Browse the history with Datasette: live data, read-only, with facets and canned queries
    (needs: pip install "openwatch[serve]"). Stops on SIGTERM or Ctrl-C.

    Example: openwatch serve --port 8001
    """
    config = app.config()
    if not Path(config.database).exists():
        raise Failure(f"{config.database}: no history yet; run \"openwatch run --once\" first")
    try:
        from jobs.views.serve import serve as run_server
    except ImportError as exc:
        raise Failure(f'Datasette is not installed ({exc.name}); run: pip install "openwatch[serve]"') from None
    if host not in ("127.0.0.1", "::1", "localhost"):
        click.echo(f"warning: serving on {host}: anyone who can reach it can read the history", err=True)

    def ready(url: str) -> None:
        click.echo(f"serving {config.database} read-only at {url}")
        sys.stdout.flush()

    run_server(config.database, host=host, port=port, ready=ready)


@cli.command()
@click.option("--keep", is_flag=True, help="Keep the demo's folder (database, config, daemon log) and print where.")
@click.option("--speed", type=click.FloatRange(0.25, 3.0), default=1.0, show_default=True,
              help="Faster (2) or slower (0.5) crawl intervals.")
@click.pass_obj
def demo(app: App, keep, speed):
    """The whole thing offline: hub emulator, daemon, Slack/email/webhook receivers, scripted changes.

    Needs no network and no config; exits 0 only if every scripted kind of alert arrived.

    Example: openwatch demo --keep
    """
    from jobs.demo import run_demo

    sys.exit(run_demo(keep=keep, speed=speed, debug=app.debug))


@cli.command()
@click.option("--country", "countries", multiple=True, help="Country code of the org (repeatable), e.g. CN.")
@click.option("--org", "orgs", multiple=True, help="Organisation (repeatable).")
@click.option("--category", "categories", multiple=True, help="Licence category (repeatable), e.g. non-commercial.")
@click.option("--openness", "levels", multiple=True,
              type=click.Choice(["restricted", "open-weights", "open-weights+code", "fully-open", "unknown"]),
              help="Openness level (repeatable).")
@click.option("--source", "sources", multiple=True, help="Source (repeatable): huggingface, modelscope.")
@click.option("--sort", type=click.Choice(["downloads", "likes", "created", "name"]), default="downloads",
              show_default=True)
@click.option("--limit", type=click.IntRange(min=0), default=0, help="At most N models (0: all).")
@output_options
@click.pass_obj
def models(app: App, countries, orgs, categories, levels, sources, sort, limit, fmt):
    """Tracked models now: licence, openness, parameters, downloads (30 days) and likes.

    Example: openwatch models --country CN --openness open-weights --sort downloads --limit 20
    """
    from crawler.history.queries import list_models

    db = app.db(readonly=True)
    checked = _filters(app.config(), db, orgs=orgs, countries=countries, categories=categories, sources=sources,
                       item_kind="model")
    rows = list_models(db, countries=checked["countries"], orgs=checked["orgs"], categories=checked["categories"],
                       openness=levels, sources=checked["sources"], sort=sort, limit=limit)
    table = [{**r, "parameters": r["parameters_text"], "name": r["name"]} for r in rows]
    emit(table, fmt, ["name", "source", "country", "license", "license_category", "openness", "parameters",
                      "downloads", "likes", "created"], json_rows=rows)


