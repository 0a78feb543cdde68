"""The parse cache: the data the fast reader read from a file, by the file's content.

Reading YAML is half of `dwconf validate` on a large configuration, and between two runs most
files have not changed. The cache maps the sha256 of a file's bytes (salted with the versions
of dwconf, of the compiled parser and of the readers' own source) to the data the fast reader
read from them, in one SQLite file. Only data is remembered: positions and diagnostics are
worked out as before, and a file left to the careful reader is never cached. The loader offers
only map and schema files to it: environment files, which name secrets' variables and could
hold a pasted secret, are never cached.

It trusts nothing it did not write itself: every entry carries an HMAC of its key and data made
with a random key kept beside the cache (`key`, 0600), so an entry rewritten under the same key
is ignored, parsed again and replaced. The folder is 0700 and the files 0600. Restoring the
folder from elsewhere (a CI cache shared between jobs of different trust) restores that key
too: share it only where the cache's writer is trusted.

It lives in the user's cache folder, never in the repository: a cache committed to a
repository could make dwconf read something other than what reviewers see. The folder is
`$DWCONF_CACHE_DIR`, else `$XDG_CACHE_HOME/dwconf`, else `~/.cache/dwconf`;
`DWCONF_CACHE=off` turns the cache off. Any problem with the file (unwritable folder, locked
or damaged database) turns it off for the run: it only ever saves time.
"""

from __future__ import annotations

import hashlib
import hmac
import marshal
import os
import secrets
import sqlite3
import stat
import sys
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

from dwconf.speedups import switched_off

FILE_NAME = "parse-v2.sqlite"
KEY_NAME = "key"
OLD_FILES = ("parse-v1.sqlite",)  # earlier versions cached environment files: removed
MAX_ENTRIES = 50_000  # about 350 MB of data at 7 KB per file; the oldest entries go first

_OWN_NAMES = frozenset(
    name + side
    for name in (KEY_NAME, FILE_NAME, *OLD_FILES)
    for side in ("", "-journal", "-wal", "-shm")
)

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS parsed"
    " (key BLOB PRIMARY KEY, data BLOB NOT NULL, mac BLOB NOT NULL)"
)


def folder() -> Path | None:
    """Where the cache lives, or None when it is turned off."""
    if switched_off("DWCONF_CACHE"):
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
    sources = [(here / name).read_bytes() for name in ("fast.py", "careful.py")]
    return hashlib.sha256("\0".join(parts).encode() + b"\0".join(sources)).digest()


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "none"


def _private_folder(where: Path) -> None:
    """The folder, made or made private (0700); refused when someone else owns it, or when it
    is open to others and holds files that are not the cache's (`DWCONF_CACHE_DIR=/tmp`: a
    shared folder is never closed to the others using it)."""
    where.mkdir(mode=0o700, parents=True, exist_ok=True)
    found = where.stat()
    if found.st_uid != os.getuid() or not stat.S_ISDIR(found.st_mode):
        raise PermissionError(f"{where} is not a folder of this user")
    if stat.S_IMODE(found.st_mode) != 0o700:
        others = [p.name for p in where.iterdir() if p.name not in _OWN_NAMES]
        if others:
            raise PermissionError(f"{where} is open to others and holds {others[0]}")
        where.chmod(0o700)
    for name in OLD_FILES:
        (where / name).unlink(missing_ok=True)


def _private_file(path: Path) -> None:
    """The file, made empty or kept, readable and writable by this user only (0600)."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    try:
        found = os.fstat(fd)
        if found.st_uid != os.getuid() or not stat.S_ISREG(found.st_mode):
            raise PermissionError(f"{path} is not a file of this user")
        if stat.S_IMODE(found.st_mode) != 0o600:
            os.fchmod(fd, 0o600)
    finally:
        os.close(fd)


def _secret(where: Path) -> bytes:
    """The cache's own key, made on first use."""
    path = where / KEY_NAME
    _private_file(path)
    key = path.read_bytes()
    if len(key) != 32:
        key = secrets.token_bytes(32)
        path.write_bytes(key)
    return key


class ParseCache:
    """One run's view of the cache: lookups as files are read, new entries written at the end."""

    def __init__(self, conn: sqlite3.Connection, secret: bytes) -> None:
        self._conn: sqlite3.Connection | None = conn
        self._secret = secret
        self._new: dict[bytes, bytes] = {}

    @classmethod
    def open(cls) -> ParseCache | None:
        """The cache, or None when it is turned off or can't be used."""
        where = folder()
        if where is None:
            return None
        try:
            _salt()  # the readers' source must be readable (not a bytecode-only install)
            _private_folder(where)
            secret = _secret(where)
            _private_file(where / FILE_NAME)
            conn = sqlite3.connect(where / FILE_NAME, timeout=1.0, isolation_level=None)
            conn.execute(_SCHEMA)
        except (OSError, sqlite3.Error):
            return None
        return cls(conn, secret)

    @staticmethod
    def key(raw: bytes) -> bytes:
        return hashlib.sha256(_salt() + raw).digest()

    def _mac(self, key: bytes, data: bytes) -> bytes:
        return hmac.digest(self._secret, key + data, "sha256")

    def get(self, key: bytes) -> Any | None:
        """The remembered data, or None (never cached, not trusted, or the cache failed)."""
        if self._conn is None:
            return None
        try:
            query = "SELECT data, mac FROM parsed WHERE key = ?"
            row = self._conn.execute(query, (key,)).fetchone()
        except sqlite3.Error:
            self._off()
            return None
        if row is None or type(row[0]) is not bytes or type(row[1]) is not bytes:
            return None  # SQLite keeps any type in any column: not written by this cache
        if not hmac.compare_digest(row[1], self._mac(key, row[0])):
            return None  # not written by this cache: parsed again, and replaced at the end
        try:
            found = marshal.loads(row[0])
        except (EOFError, ValueError, TypeError):
            return None
        return found if type(found) in (dict, list) else None  # what the fast reader gives

    def put(self, key: bytes, data: Any) -> None:
        """Remember `data` (written by `close`)."""
        if self._conn is not None:
            self._new[key] = marshal.dumps(data)

    def close(self) -> None:
        """Write what is new and prune the oldest entries beyond MAX_ENTRIES."""
        conn, self._conn = self._conn, None
        if conn is None:
            return
        rows = [(key, data, self._mac(key, data)) for key, data in self._new.items()]
        try:
            if rows:
                with conn:
                    conn.execute("BEGIN IMMEDIATE")
                    conn.executemany(
                        "INSERT OR REPLACE INTO parsed (key, data, mac) VALUES (?, ?, ?)", rows
                    )
                    conn.execute(
                        "DELETE FROM parsed WHERE rowid <= (SELECT MAX(rowid) FROM parsed) - ?",
                        (MAX_ENTRIES,),
                    )
        except sqlite3.Error:
            pass  # the cache only saves time: a run that could not write it is no worse
        finally:
            conn.close()

    def _off(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
