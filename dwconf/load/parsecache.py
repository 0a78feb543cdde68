"""Remembered parses: the data of every file the fast path has read, by the file's content.

Reading YAML is half of `dwconf validate` on a large configuration, and between two runs most
files have not changed. The cache maps the sha256 of a file's bytes (salted with the versions
of dwconf, of the compiled parser and of the loader's own source) to the data the fast path
read from them, in one SQLite file. Only data is remembered: positions and diagnostics are
worked out as before, and a file the fast path leaves to the careful loader is never cached.

It lives in the user's cache folder, never in the repository: a cache committed to a
repository could make dwconf read something other than what reviewers see. The folder is
`$DWCONF_CACHE_DIR`, else `$XDG_CACHE_HOME/dwconf`, else `~/.cache/dwconf`;
`DWCONF_CACHE=off` turns the cache off. Any problem with the file (unwritable folder, locked
or damaged database) turns it off for the run: it only ever saves time.
"""

from __future__ import annotations

import hashlib
import marshal
import os
import sqlite3
import sys
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

FILE_NAME = "parse-v1.sqlite"
MAX_ENTRIES = 50_000  # about 350 MB of data at 7 KB per file; the oldest entries go first

_SCHEMA = "CREATE TABLE IF NOT EXISTS parsed (key BLOB PRIMARY KEY, data BLOB NOT NULL)"


def folder() -> Path | None:
    """Where the cache lives, or None when it is turned off."""
    if os.environ.get("DWCONF_CACHE", "").lower() in ("off", "0", "false", "no"):
        return None
    if os.environ.get("DWCONF_CACHE_DIR"):
        return Path(os.environ["DWCONF_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "dwconf"


@cache
def _salt() -> bytes:
    """What the cached data depends on besides the file: the code that read it."""
    parts = [sys.version, _version("dwconf"), _version("yaml-rs"), _version("PyYAML")]
    here = Path(__file__).parent
    sources = [(here / name).read_bytes() for name in ("fastyaml.py", "yaml12.py")]
    return hashlib.sha256("\0".join(parts).encode() + b"\0".join(sources)).digest()


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "none"


class ParseCache:
    """One run's view of the cache: lookups as files are read, new entries written at the end."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn: sqlite3.Connection | None = conn
        self._new: dict[bytes, bytes] = {}

    @classmethod
    def open(cls) -> ParseCache | None:
        where = folder()
        if where is None:
            return None
        try:
            _salt()  # the loader's source must be readable (not a bytecode-only install)
            where.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(where / FILE_NAME, timeout=1.0, isolation_level=None)
            conn.execute(_SCHEMA)
        except (OSError, sqlite3.Error):
            return None
        return cls(conn)

    @staticmethod
    def key(raw: bytes) -> bytes:
        return hashlib.sha256(_salt() + raw).digest()

    def get(self, key: bytes) -> Any | None:
        """The remembered data, or None (never cached, or the cache failed)."""
        if self._conn is None:
            return None
        try:
            row = self._conn.execute("SELECT data FROM parsed WHERE key = ?", (key,)).fetchone()
            found = None if row is None else marshal.loads(row[0])
        except (sqlite3.Error, EOFError, ValueError, TypeError):
            self._off()
            return None
        if found is not None and type(found) not in (dict, list):  # what the fast path gives
            self._off()  # a damaged or foreign entry: trust none of the cache this run
            return None
        return found

    def put(self, key: bytes, data: Any) -> None:
        """Remember `data` (written by `close`); None, the careful loader's files, is not."""
        if self._conn is not None and data is not None:
            self._new[key] = marshal.dumps(data)

    def close(self) -> None:
        """Write what is new and prune the oldest entries beyond MAX_ENTRIES."""
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            if self._new:
                with conn:
                    conn.execute("BEGIN IMMEDIATE")
                    conn.executemany(
                        "INSERT OR REPLACE INTO parsed (key, data) VALUES (?, ?)",
                        self._new.items(),
                    )
                    conn.execute(
                        "DELETE FROM parsed WHERE rowid <= (SELECT MAX(rowid) FROM parsed) - ?",
                        (MAX_ENTRIES,),
                    )
        except sqlite3.Error:
            pass
        finally:
            conn.close()

    def _off(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
