"""The history database: tables, recorded migrations, connection setup (WAL).

Tables are a public interface (users query them with SQL and Datasette); change them only by
appending a migration below, never by editing an applied one. (One exception, with no effect on
any database: the `deliveries` table, which 001 and 002 used to create, moved with its two steps
to its owner, alerts/schema.py, whose steps find it in place on the databases made before.)
Layers above keep their own tables' migrations and hand them to `connect(..., also=...)`.
"""

from __future__ import annotations

import os
import sqlite3
import stat
from contextlib import contextmanager

from pathlib import Path
from typing import Callable, Iterator, Sequence
from urllib.parse import quote

import sqlite_utils

from crawler.history.exceptions import DatabaseUnusable

BUSY_TIMEOUT_MS = 30_000
# The database says what is watched, who is subscribed and what each receiver answered: the
# operator's business, not every local user's (SECURITY.md, "Local users").
FILE_MODE = 0o600
SIDE_FILES = ("-wal", "-shm")


from crawler.times import utcnow  # noqa: E402,F401 - the one time format, re-exported


def _m001_initial(db: sqlite_utils.Database) -> None:
    db["items"].create(
        {
            "key": str,          # model:hf/<owner>/<name>, repo:github/…, paper:arxiv/…
            "kind": str,         # model | repo | release | paper | post
            "source": str,       # huggingface | github | arxiv | feed | hf_papers
            "watch": str,
            "unit": str,         # the watched unit (org, repo, feed, query) it was found under
            "org": str,
            "country": str,
            "name": str,
            "url": str,
            "license": str,      # normalised licence id
            "license_category": str,
            "gated": str,        # "false" | "auto" | "manual"
            "sha": str,
            "state": str,        # active | missing | removed
            "missing_count": int,
            "content_hash": str,
            "first_seen": str,
            "last_seen": str,
            "last_changed": str,
            "data": str,         # JSON: every observed field
        },
        pk="key",
    )
    db["items"].create_index(["org"])
    db["items"].create_index(["watch", "unit"])
    db["snapshots"].create(
        {
            "id": int,
            "key": str,
            "observed_at": str,
            "crawl_id": int,
            "content_hash": str,
            "data": str,         # JSON: the observed fields
            "changed": str,      # JSON list of field names changed since the previous snapshot
        },
        pk="id",
    )
    db["snapshots"].create_index(["key", "id"])
    db["license_texts"].create(
        {"sha256": str, "size": int, "first_seen": str, "text_zlib": bytes},
        pk="sha256",
    )
    db["events"].create(
        {
            "id": str,
            "seq": int,          # insertion order; `id` is opaque
            "dedupe_key": str,
            "type": str,
            "item": str,
            "watch": str,
            "org": str,
            "country": str,
            "detected_at": str,
            "summary": str,
            "url": str,
            "before": str,       # JSON object
            "after": str,        # JSON object
            "data": str,         # JSON object
            "crawl_id": int,
        },
        pk="id",
    )
    db["events"].create_index(["dedupe_key"], unique=True)
    db["events"].create_index(["detected_at"])
    db["events"].create_index(["item"])
    db["crawls"].create(
        {
            "id": int,
            "watch": str,
            "source": str,
            "started_at": str,
            "finished_at": str,
            "status": str,       # running | ok | partial | failed
            "requests": int,
            "items": int,
            "events": int,
            "errors": str,       # JSON list of one-line error strings
            "pid": int,
        },
        pk="id",
    )
    db["crawls"].create_index(["watch", "id"])
    db["units"].create(
        {
            "watch": str,
            "unit": str,          # an org, a repo, a feed URL, a query
            "baselined_at": str,  # first complete crawl of this unit: nothing alerted before it
            "last_complete_count": int,
            "last_complete_at": str,
        },
        pk=("watch", "unit"),
    )
    db["watch_state"].create(
        {
            "watch": str,
            "last_started_at": str,
            "last_finished_at": str,
            "last_status": str,
            "last_ok_at": str,
            "consecutive_failures": int,
            "failing": int,       # 1 while a source.failing event is open
            "last_error": str,
        },
        pk="watch",
    )
    # The outbox table that 001 also created until alerts took it over is alerts' own now
    # (alerts/schema.py); its steps there find it in place on a database made before.


def _m003_sources(db: sqlite_utils.Database) -> None:
    """Every source through one pipeline: fingerprints, counters, openness, renames, links,
    daily metrics, incremental watermarks."""
    items = db["items"]
    items.add_column("fingerprint", str)       # cheap hash of the raw observation: equal -> skip
    items.add_column("counters", str)          # JSON of volatile counters (downloads, likes, stars, upvotes)
    items.add_column("openness", str)          # restricted | open-weights | open-weights+code | fully-open | unknown
    items.add_column("openness_evidence", str) # JSON list of one-line reasons
    items.create_index(["unit"])
    items.create_index(["kind", "state"])
    db["item_aliases"].create(
        {"old_key": str, "new_key": str, "renamed_at": str, "event_id": str},
        pk="old_key",
    )
    db["item_aliases"].create_index(["new_key"])
    db["links"].create(
        {"id": int, "src": str, "dst": str, "relation": str, "evidence": str, "first_seen": str},
        pk="id",
    )
    db["links"].create_index(["src", "dst", "relation"], unique=True)
    db["links"].create_index(["dst"])
    db["metrics"].create(
        {"key": str, "day": str, "downloads": int, "likes": int, "counters": str},
        pk=("key", "day"),
    )
    db["metrics"].create_index(["day"])
    units = db["units"]
    units.add_column("watermark", str)          # newest lastModified / createdAt seen (incremental listings)
    units.add_column("last_reconciled_at", str) # last complete listing of an incremental watch


def _m004_unit_state(db: sqlite_utils.Database) -> None:
    """What a spider must remember of a unit between crawls (ETags of conditional requests)."""
    db["units"].add_column("state", str)  # JSON object


def _m005_budgets(db: sqlite_utils.Database) -> None:
    """The last known request quota of every server bucket a source uses (`openwatch status`)."""
    db["budgets"].create(
        {"source": str, "bucket": str, "remaining": int, "quota": int, "reset_at": str, "observed_at": str},
        pk=("source", "bucket"),
    )


def _m006_unit_source(db: sqlite_utils.Database) -> None:
    """A unit's name is only unique within its source: the org `Qwen` on Hugging Face and the
    owner `Qwen` on ModelScope are two units, each with its own baseline."""
    db["units"].add_column("source", str)
    db.execute("update units set source = (select c.source from crawls c where c.watch = units.watch"
               " order by c.id desc limit 1)")
    db.execute("update units set source = 'huggingface' where source is null")
    db["units"].create_index(["unit", "source"])
    db["items"].create_index(["unit", "source"])


def _m007_repo_orgs(db: sqlite_utils.Database) -> None:
    """GitHub repos (and their events) stored before repos had an org: the owner from the key
    (`repo:github/<owner>/<repo>`), the country the registry gives that owner. Only fills what
    is null; no event is made or sent again."""
    from crawler.orgs import default_orgs

    registry = default_orgs()
    owners = {row[0].split("/")[1] for row in db.execute(
        "select key from items where key like 'repo:github/%' and org is null "
        "union select item from events where item like 'repo:github/%' and org is null")}
    for owner in owners:
        prefix = f"repo:github/{owner}/"
        country = registry.country(owner)
        db.execute("update items set org = ?, country = coalesce(country, ?) where org is null and "
                   "substr(key, 1, ?) = ?", [owner, country, len(prefix), prefix])
        db.execute("update events set org = ?, country = coalesce(country, ?), data = json_set(coalesce(data, '{}'), "
                   "'$.org', ?, '$.country', coalesce(country, ?)) where org is null and substr(item, 1, ?) = ?",
                   [owner, country, owner, country, len(prefix), prefix])


def _m008_unknown_licences(db: sqlite_utils.Database) -> None:
    """Models first seen without any licence before a first sight read `unknown` (a model
    with no card, an answer without `cardData`): the same fields as a card that names none,
    so `license_category = 'unknown'` finds them. No event is made."""
    from crawler.licenses import normalize

    lic = normalize(None)
    db.execute(
        "update items set license = coalesce(license, ?), license_category = ?, data = json_set(coalesce(data, '{}'),"
        " '$.license', coalesce(json_extract(data, '$.license'), ?),"
        " '$.license_name', coalesce(json_extract(data, '$.license_name'), ?),"
        " '$.license_category', coalesce(json_extract(data, '$.license_category'), ?))"
        " where kind = 'model' and license_category is null",
        [lic.id, lic.category, lic.id, lic.name, lic.category])


Migrations = list[tuple[str, Callable[[sqlite_utils.Database], None]]]

MIGRATIONS: Migrations = [
    ("001_initial", _m001_initial),
    ("003_sources", _m003_sources),
    ("004_unit_state", _m004_unit_state),
    ("005_budgets", _m005_budgets),
    ("006_unit_source", _m006_unit_source),
    ("007_repo_orgs", _m007_repo_orgs),
    ("008_unknown_licences", _m008_unknown_licences),
]


def connect(path: str | Path, *, readonly: bool = False, also: Sequence[Migrations] = ()) -> sqlite_utils.Database:
    """Open the history database (creating and migrating it unless `readonly`).

    `also`: the migrations of the layers above that keep their tables in the same file (the
    alerts outbox, handed over by `jobs.database.connect`), applied after the history's own.

    A file that cannot be used, and every SQLite error while opening it, is a
    `DatabaseUnusable` naming the path, the problem and the fix.
    """
    path = Path(path)
    check_file(path, readonly=readonly)
    db = None
    try:
        db = _connect(path, readonly=readonly, also=also)
        if readonly and not db["_migrations"].exists():
            raise DatabaseUnusable(path, "an SQLite database, but not an openwatch history (no _migrations table)",
                                   POINT_ELSEWHERE)
        if readonly:  # read as it is, never migrated: a query that needs a newer table says so
            done = {row[0] for row in db.execute("select name from _migrations")}
            db.pending_migrations = [name for steps in (MIGRATIONS, *also) for name, _ in steps if name not in done]
        return db
    except (sqlite3.Error, DatabaseUnusable) as exc:
        if db is not None:
            db.close()
        if isinstance(exc, DatabaseUnusable):
            raise
        raise database_error(exc, path, readonly=readonly) from exc


def _connect(path: Path, *, readonly: bool, also: Sequence[Migrations] = ()) -> sqlite_utils.Database:
    if readonly:
        if not path.exists():
            raise FileNotFoundError(path)
        conn = sqlite3.connect(readonly_uri(path), uri=True, timeout=BUSY_TIMEOUT_MS / 1000)
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        _create_private(path)
        conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False)
    conn.isolation_level = None  # explicit transactions only: see `immediate`
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    db = sqlite_utils.Database(conn)
    if not readonly:
        db.execute("PRAGMA journal_mode = WAL")
        _match_side_files(path)
        db.execute("PRAGMA synchronous = NORMAL")
        db.execute("PRAGMA foreign_keys = ON")
        migrate(db, also=also)
    return db


def readonly_uri(path: str | Path) -> str:
    """The SQLite URI that reads `path` without writing anything, in a folder this process
    cannot write too (a backup, a shared copy: file 0444 in a folder 0555).

    `mode=ro` alone needs the WAL index (-shm): SQLite creates it beside the file, and cannot
    in such a folder. There, with no -wal file holding changes, `immutable=1` reads the file
    as it is (no -shm, no locks); with a -wal and its -shm both readable, `mode=ro` reads
    them; a -wal with changes and no -shm cannot be read honestly (immutable would skip the
    changes): refused in one line (sqlite.org/wal.html#readonly).
    """
    path = Path(path)
    uri = f"file:{quote(str(path.absolute()))}?mode=ro"
    if os.access(path.parent, os.W_OK | os.X_OK):
        return uri
    wal, shm = Path(f"{path}-wal"), Path(f"{path}-shm")
    if not wal.exists() or wal.stat().st_size == 0:
        return uri + "&immutable=1"
    if shm.exists() and os.access(shm, os.R_OK):
        return uri
    raise DatabaseUnusable(
        path, f"changes are waiting in {wal.name}, which cannot be read without {shm.name}, and the folder "
              f"{path.parent} is not writable to create it",
        f"copy the database with its -wal file to a writable folder and read it there, or have its owner "
        f"run: sqlite3 {path} 'PRAGMA wal_checkpoint'")


def _create_private(path: Path) -> None:
    """Create the database file with `FILE_MODE` before SQLite opens it (SQLite would create
    it 0644 under the usual umask); an existing file keeps the mode its owner gave it."""
    if path.exists():
        return
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        return
    os.close(fd)


def _match_side_files(path: Path) -> None:
    """-wal and -shm never readable by more people than the database itself (SQLite copies the
    database's mode when it creates them; this also narrows ones left by an older version)."""
    try:
        allowed = stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        return
    for suffix in SIDE_FILES:
        side = Path(f"{path}{suffix}")
        try:
            mode = stat.S_IMODE(os.stat(side).st_mode)
            if mode & ~allowed:
                os.chmod(side, mode & allowed)
        except OSError:  # not there (yet), or not ours: SQLite reports what matters
            continue


def migrate(db: sqlite_utils.Database, *, also: Sequence[Migrations] = ()) -> list[str]:
    """Apply the migrations not yet recorded in `_migrations` (the history's, then each list
    of `also` in order, in one transaction); returns their names."""
    applied_now = []
    with immediate(db):
        if not db["_migrations"].exists():
            db["_migrations"].create({"name": str, "applied_at": str}, pk="name")
        done = {row["name"] for row in db["_migrations"].rows}
        for name, step in [step for steps in (MIGRATIONS, *also) for step in steps]:
            if name in done:
                continue
            step(db)
            db["_migrations"].insert({"name": name, "applied_at": utcnow()})
            applied_now.append(name)
    return applied_now


@contextmanager
def immediate(db: sqlite_utils.Database) -> Iterator[sqlite_utils.Database]:
    """One write transaction taken with BEGIN IMMEDIATE (no lock upgrade deadlock for
    read-then-write); sqlite-utils calls inside it nest as savepoints."""
    db.conn.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        if db.conn.in_transaction:
            db.conn.execute("ROLLBACK")
        raise
    db.conn.execute("COMMIT")


# ---------------------------------------------------------------------------------------------
# Is the file usable? Each answer names the path, what is wrong and the fix, in one line.

POINT_ELSEWHERE = "point `database` in openwatch.toml at the history database"
FILL_IT = 'run "openwatch run --once" or "openwatch crawl WATCH" to fill it'


def check_file(path: Path, *, readonly: bool = False) -> None:
    """Refuse, before SQLite touches it, a file that `connect` could not use (`DatabaseUnusable`).

    A 0-byte file is a new, empty database to SQLite: writers create the tables in it, readers
    are told that there is no history yet. Only `stat` and `access`: opening and closing the
    file here would drop the POSIX locks this process's other connections hold on it
    (sqlite.org/howtocorrupt.html, 2.2); SQLite itself says when it is not a database.
    """
    if path.is_dir():
        raise DatabaseUnusable(path, "is a folder, not a database file", POINT_ELSEWHERE)
    if not path.exists():
        if readonly:
            raise DatabaseUnusable(path, "no history yet", FILL_IT.replace("to fill it", "first"))
        folder = _existing_parent(path)
        if not os.access(folder, os.W_OK | os.X_OK):
            raise _unwritable_folder(path, folder, "cannot be created")
        return
    if not os.access(path, os.R_OK):
        raise DatabaseUnusable(path, "cannot be read (permission denied)",
                               f"make it readable (chmod u+r {path}) or run openwatch as the user who owns it")
    if readonly and path.stat().st_size == 0:
        raise DatabaseUnusable(path, "empty file (0 bytes), no history in it yet", FILL_IT)
    if not readonly:
        if not os.access(path, os.W_OK):
            raise _read_only(path)
        if not os.access(path.parent, os.W_OK | os.X_OK):
            raise _unwritable_folder(path, path.parent, "cannot be written")


def verify(path: str | Path) -> None:
    """Refuse to write to a damaged database: `check_file`, then SQLite's `quick_check`.

    `quick_check` reads every page (about 0.7 s per GB), so it runs once per command that
    writes, before its first write, not on every `connect`. A missing or empty file passes.
    """
    path = Path(path)
    check_file(path, readonly=False)
    if not path.exists() or path.stat().st_size == 0:
        return
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_MS / 1000)
        try:
            rows = conn.execute("PRAGMA quick_check(1)").fetchall()
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise database_error(exc, path) from exc
    if rows != [("ok",)]:
        raise _damaged(path, " ".join(str(r[0]) for r in rows))


def database_error(exc: sqlite3.Error, path: str | Path, *, readonly: bool = False) -> DatabaseUnusable:
    """The one-line `DatabaseUnusable` for an SQLite error raised while using the file at `path`."""
    path = Path(path)
    text = str(exc)
    lowered = text.lower()
    if "malformed" in lowered or "corrupt" in lowered:
        return _damaged(path, text)
    if "file is not a database" in lowered:
        return DatabaseUnusable(path, "not an SQLite database (SQLite: file is not a database)",
                                f"move it away, or {POINT_ELSEWHERE}")
    if "readonly" in lowered or "read-only" in lowered:
        if not readonly and path.exists() and not os.access(path, os.W_OK):
            return _read_only(path)
        return _unwritable_folder(path, path.parent, "cannot be written")
    if "unable to open" in lowered:
        folder = path.parent if path.parent.exists() else _existing_parent(path)
        if not os.access(folder, os.W_OK | os.X_OK):
            return _unwritable_folder(path, folder, "cannot be opened")
        return DatabaseUnusable(path, f"cannot be opened ({text})", "check the path and its permissions")
    if "locked" in lowered or "busy" in lowered:
        return DatabaseUnusable(path, f"is locked by another process ({text})",
                                "wait for it, or stop the process that holds it (openwatch status shows the daemon)")
    if "full" in lowered:
        return DatabaseUnusable(path, f"cannot grow: {text}", "free space on its disk")
    if "i/o" in lowered:
        return DatabaseUnusable(path, f"cannot be read or written ({text})", "check the disk it is on")
    return DatabaseUnusable(path, f"SQLite error: {text}", "run with --debug for the traceback")


def _existing_parent(path: Path) -> Path:
    folder = path.absolute().parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return folder


def _damaged(path: Path, detail: str) -> DatabaseUnusable:
    detail = " ".join(detail.split())
    detail = detail if len(detail) <= 120 else detail[:119] + "…"
    return DatabaseUnusable(
        path, f"the database is damaged ({detail})",
        f"restore it from a backup, or salvage what is left: sqlite3 {path} .recover | sqlite3 recovered.db, "
        "then point `database` in openwatch.toml at recovered.db")


def _read_only(path: Path) -> DatabaseUnusable:
    return DatabaseUnusable(path, "read-only file, openwatch cannot write to it",
                            f"make it writable (chmod u+w {path}) or run openwatch as the user who owns it")


def _unwritable_folder(path: Path, folder: Path, what: str) -> DatabaseUnusable:
    return DatabaseUnusable(
        path, f"{what}: the folder {folder} is not writable (the database and its -wal and -shm files live there)",
        "make the folder writable, or point `database` in openwatch.toml at a writable place")
