"""The SQLite file behind one environment: schema, connections and transactions.

Every operation runs in one `BEGIN IMMEDIATE` transaction, so two processes that share a file
take turns instead of interleaving (the write lock is taken before the first read). WAL mode
lets readers continue while a writer works.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dwconf.canonical import canonical_text, parse_json
from dwconf.live.errors import (
    SchemaTooNew,
    StoreDamaged,
    StoreFull,
    StoreReadOnly,
    StoreUnavailable,
)

SCHEMA_VERSION = 1
BUSY_TIMEOUT_SECONDS = 30.0
SIDE_FILES = ("-wal", "-shm", "-journal")  # SQLite's files beside the database

SCHEMA = """
CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS solutions (
    unique_name TEXT PRIMARY KEY,
    version TEXT NOT NULL,
    managed INTEGER NOT NULL,
    publisher TEXT NOT NULL,
    requires TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS solution_maps (
    solution TEXT NOT NULL REFERENCES solutions(unique_name) ON DELETE CASCADE,
    map_name TEXT NOT NULL,
    version TEXT NOT NULL,
    definition TEXT NOT NULL,
    PRIMARY KEY (solution, map_name, version)
);
CREATE TABLE IF NOT EXISTS maps (
    name TEXT PRIMARY KEY,
    project_id TEXT NOT NULL,
    active_version TEXT,
    state TEXT NOT NULL,
    pending_polls INTEGER NOT NULL DEFAULT 0,
    queued INTEGER NOT NULL DEFAULT 0,
    paused_since TEXT,
    master TEXT,
    last_request TEXT,
    last_error TEXT
);
CREATE TABLE IF NOT EXISTS templates (
    map_name TEXT NOT NULL REFERENCES maps(name) ON DELETE CASCADE,
    version TEXT NOT NULL,
    solution TEXT NOT NULL,
    definition TEXT NOT NULL,
    PRIMARY KEY (map_name, version)
);
CREATE TABLE IF NOT EXISTS integration_keys (
    table_name TEXT PRIMARY KEY,
    columns TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS legal_entities (
    position INTEGER PRIMARY KEY,
    code TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS alerts (
    position INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    error_type TEXT NOT NULL,
    threshold INTEGER NOT NULL,
    window_minutes INTEGER NOT NULL,
    action TEXT NOT NULL,
    notify TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS records (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    created TEXT NOT NULL,
    who TEXT NOT NULL,
    plan_hash TEXT NOT NULL,
    git_commit TEXT,
    solution_versions TEXT NOT NULL,
    desired TEXT NOT NULL,
    status TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS record_provenance (
    record_id TEXT PRIMARY KEY REFERENCES records(id) ON DELETE CASCADE,
    data TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS lock (
    singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
    id TEXT NOT NULL,
    owner TEXT NOT NULL,
    operation TEXT NOT NULL,
    plan_id TEXT,
    created TEXT NOT NULL,
    expires TEXT NOT NULL
);
"""


@dataclass(frozen=True)
class Tx:
    """What an operation gets: the connection inside its transaction, the time, an id source."""

    conn: sqlite3.Connection
    now: datetime
    new_id: Callable[[], str]
    polls: int = 1

    def one(self, sql: str, *args: Any) -> sqlite3.Row | None:
        row: sqlite3.Row | None = self.conn.execute(sql, args).fetchone()
        return row

    def all(self, sql: str, *args: Any) -> list[sqlite3.Row]:
        return list(self.conn.execute(sql, args).fetchall())

    def run(self, sql: str, *args: Any) -> None:
        self.conn.execute(sql, args)


def connect(path: str) -> sqlite3.Connection:
    """A connection that may write (and create the file)."""
    try:
        conn = sqlite3.connect(
            path, isolation_level=None, timeout=BUSY_TIMEOUT_SECONDS, check_same_thread=False
        )
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
    except sqlite3.Error as exc:
        raise failure(exc, path) from exc
    return conn


def connect_existing(path: str) -> sqlite3.Connection:
    """A connection to read a file that exists, never creating one: a StoreUnavailable when
    there is none (an in-memory environment is gone once closed). It is opened as a writer
    would open it when the folder allows (so that closing it tidies the WAL's side files away),
    else read-only; on a read-only folder without the WAL's side files, SQLite reads only a
    file it takes to be immutable, which it is there, unless a WAL with changes is beside it."""
    if not Path(path).is_file():
        raise StoreUnavailable(f"can't open {path}: there is no such file")
    modes = ["mode=rw", "mode=ro"] + ([] if _has_wal(path) else ["mode=ro&immutable=1"])
    for n, mode in enumerate(modes):
        conn = _connect_uri(path, mode)
        try:
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.Error as exc:  # no WAL index to be made: a read-only folder, full disk
            conn.close()
            if _primary(exc) not in _NO_SIDE_FILES or n == len(modes) - 1:
                raise failure(exc, path) from exc
            continue
        return conn
    raise AssertionError("unreachable: the last mode returns or raises")


def _connect_uri(path: str, mode: str) -> sqlite3.Connection:
    try:
        conn = sqlite3.connect(
            f"{Path(path).absolute().as_uri()}?{mode}",
            uri=True,
            isolation_level=None,
            timeout=BUSY_TIMEOUT_SECONDS,
            check_same_thread=False,
        )
    except (sqlite3.Error, ValueError) as exc:
        raise StoreUnavailable(f"can't open {path}: {exc}") from exc
    conn.row_factory = sqlite3.Row
    return conn


def _has_wal(path: str) -> bool:
    wal = Path(path + "-wal")
    return wal.is_file() and wal.stat().st_size > 0


def is_empty(path: str | Path) -> bool:
    """A file of 0 bytes: what is left of a database that was truncated. SQLite would take it
    for a new, empty database; dwconf never leaves one behind (new files are made whole, then
    moved in; even a WAL database's first write puts its header in the file)."""
    file = Path(path)
    return file.is_file() and file.stat().st_size == 0


_DAMAGED = {sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB}
_READ_ONLY = {sqlite3.SQLITE_READONLY, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_PERM}
_UNAVAILABLE = {sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_IOERR}
_NO_SIDE_FILES = _READ_ONLY | {sqlite3.SQLITE_IOERR, sqlite3.SQLITE_FULL}
MIN_FREE_BYTES = 1 << 20  # below this, an I/O error writing is taken for a full disk


def _primary(exc: sqlite3.Error) -> int:
    return (getattr(exc, "sqlite_errorcode", None) or 0) & 0xFF


def failure(exc: sqlite3.Error, path: str) -> Exception:
    """The environment problem behind a SQLite error (damaged file, full disk, read-only
    folder, busy, I/O error), as a LiveError; any other error (a bug) as it is. SQLite
    reports a full disk as an I/O error when it is its WAL index that has no room."""
    code, detail = _primary(exc), str(exc)
    if code in _DAMAGED:
        return StoreDamaged(path, detail)
    if code == sqlite3.SQLITE_FULL or (code == sqlite3.SQLITE_IOERR and _disk_full(path)):
        return StoreFull(path)
    if code in _READ_ONLY and not _writable(path):
        return StoreReadOnly(path, f"{detail} (the file or its folder is read-only)")
    if code in _READ_ONLY | _UNAVAILABLE:
        return StoreUnavailable(f"{path}: {detail}")
    return exc


def _writable(path: str) -> bool:
    file = Path(path)
    folder_ok = os.access(file.parent, os.W_OK | os.X_OK)
    return folder_ok and (not file.exists() or os.access(file, os.W_OK))


def _disk_full(path: str) -> bool:
    try:
        return shutil.disk_usage(Path(path).parent).free < MIN_FREE_BYTES
    except OSError:
        return False


@contextmanager
def transaction(
    conn: sqlite3.Connection,
    mode: str = "IMMEDIATE",
    *,
    savepoint: bool = False,
    path: str = "the environment file",
) -> Iterator[None]:
    """One transaction; SQLite's own failures (busy after the timeout, a damaged file, a full
    disk, a read-only folder, I/O) become a LiveError (`failure`). With `savepoint`, a
    savepoint inside the transaction `conn` is in (`Environment.batch`): undone alone on an
    exception, kept or undone with that transaction."""
    undo: tuple[str, ...]
    begin, commit, undo = f"BEGIN {mode}", "COMMIT", ("ROLLBACK",)
    if savepoint:
        begin, commit, undo = "SAVEPOINT step", "RELEASE step", ("ROLLBACK TO step", "RELEASE step")
    try:
        conn.execute(begin)
    except sqlite3.Error as exc:
        raise failure(exc, path) from exc
    committed = False
    try:
        try:
            yield
            conn.execute(commit)
            committed = True
        finally:
            if not committed:  # whatever stopped the block, Ctrl-C included
                _undo(conn, undo)
    except sqlite3.Error as exc:
        raise failure(exc, path) from exc


def _undo(conn: sqlite3.Connection, statements: tuple[str, ...]) -> None:
    """Roll back after a failure. On a damaged file or a full disk the rollback can fail too;
    what is raised then is the failure that made it necessary (SQLite has undone the
    transaction already, or does so when the connection closes)."""
    if conn.in_transaction:
        with suppress(sqlite3.Error):
            for statement in statements:
                conn.execute(statement)


def create_schema(conn: sqlite3.Connection) -> bool:
    """Create the tables if needed (inside the caller's transaction); True for a new file."""
    for statement in SCHEMA.split(";"):
        if statement.strip():
            conn.execute(statement)
    row = conn.execute("SELECT version FROM schema_version").fetchone()
    if row is None:
        conn.execute("INSERT INTO schema_version (version) VALUES (?)", (SCHEMA_VERSION,))
        return True
    check_schema(conn)
    return False


def check_schema(conn: sqlite3.Connection) -> None:
    """Refuse a file written by a newer dwconf (reads only)."""
    try:
        row = conn.execute("SELECT version FROM schema_version").fetchone()
    except sqlite3.OperationalError as exc:  # not an environment file
        if "no such table" not in str(exc):
            raise
        raise StoreUnavailable(f"not an environment file ({exc})") from exc
    if row is not None and row[0] > SCHEMA_VERSION:
        raise SchemaTooNew(row[0], SCHEMA_VERSION)


def dumps(value: Any) -> str:
    """Canonical JSON: sorted keys, no spaces, so equal values give equal text."""
    return canonical_text(value)


def loads(text: str | None) -> Any:
    return None if text is None else parse_json(text)


def utc(moment: datetime) -> datetime:
    """An aware UTC datetime; a naive one is taken to be UTC already."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def stamp(moment: datetime | None) -> str | None:
    return None if moment is None else utc(moment).isoformat()


def unstamp(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)
