"""`Environment`: one linked dual-write environment pair, persisted in one SQLite file.

Each public method is one operation and one transaction; a refusal raises a `LiveError` and
changes nothing. The same object serves the embedded provider, the HTTP emulator and tests,
which can also use `set_map_error`/`set_queued` to simulate what people do in the Dual-write UI.
"""

from __future__ import annotations

import errno
import os
import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Self

from dwconf.live import link, lock, maps, snapshot, solutions, store
from dwconf.live import seed as seeding
from dwconf.live.errors import InvalidRequest, StoreDamaged, StoreFull, StoreReadOnly
from dwconf.live.memo import Memo
from dwconf.live.state import (
    AlertSetting,
    DeploymentRecord,
    ImportResult,
    InstalledSolution,
    Lease,
    LinkSettings,
    LiveMap,
    LiveState,
    MapTemplate,
    MasterSide,
    Provenance,
    SolutionManifest,
    SolutionPackage,
)

Clock = Callable[[], datetime]


def _system_clock() -> datetime:
    return datetime.now(UTC)


def _new_id() -> str:
    return str(uuid.uuid4())


@contextmanager
def _closed_unless_done(env: Environment) -> Iterator[None]:
    """Closes `env` when the block inside does not finish (whatever stops it)."""
    done = False
    try:
        yield
        done = True
    finally:
        if not done:
            env.close()


class Environment:
    """The executable model of one environment pair. Build it with `open` or `memory`."""

    def __init__(
        self,
        conn: sqlite3.Connection,
        path: str,
        *,
        now: Clock | None = None,
        new_id: Callable[[], str] | None = None,
        polls: int = 1,
    ) -> None:
        if polls < 1:
            raise InvalidRequest("A transition takes at least one poll.")
        self._conn = conn
        self._path = path if path == ":memory:" else str(Path(path).absolute())
        self._now = now or _system_clock
        self._new_id = new_id or _new_id
        self._polls = polls
        self._mutex = threading.RLock()
        self._snapshot: tuple[tuple[int, int], LiveState] | None = None
        self._memo = Memo()
        self._batching = False
        self._fence: str | None = None

    @classmethod
    def open(
        cls,
        path: str | Path,
        seed: seeding.SeedSource = None,
        *,
        now: Clock | None = None,
        new_id: Callable[[], str] | None = None,
        polls: int = 1,
    ) -> Self:
        """Open the environment file at `path`; a new file (and its folder) is created and
        seeded from `seed` (the packaged default when None); an existing file ignores `seed`.
        An empty file is refused: it is a damaged one, never a new environment."""
        if str(path) == ":memory:":
            return cls._opened(":memory:", seed, now=now, new_id=new_id, polls=polls)
        target = Path(path).absolute()
        _make_folder(target.parent)
        if store.is_empty(target):
            raise StoreDamaged(str(target), "it is empty (0 bytes)")
        if not target.exists():
            cls._create(target, seed, now=now, new_id=new_id, polls=polls)
        return cls._opened(str(target), seed, now=now, new_id=new_id, polls=polls)

    @classmethod
    def _opened(
        cls,
        path: str,
        seed: seeding.SeedSource,
        *,
        now: Clock | None,
        new_id: Callable[[], str] | None,
        polls: int,
    ) -> Self:
        env = cls(store.connect(path), path, now=now, new_id=new_id, polls=polls)
        with _closed_unless_done(env):
            env._initialize(seed)
        return env

    @classmethod
    def _create(
        cls,
        target: Path,
        seed: seeding.SeedSource,
        *,
        now: Clock | None,
        new_id: Callable[[], str] | None,
        polls: int,
    ) -> None:
        """Make a new environment file whole under another name, then put it in place only if
        no file is there yet (a hard link is create-only): an interrupted first open leaves no
        half-made file, and two first opens don't replace each other's file."""
        temporary = target.with_name(f".{target.name}.{uuid.uuid4().hex}.new")
        try:
            cls._opened(str(temporary), seed, now=now, new_id=new_id, polls=polls).close()
            try:
                os.link(temporary, target)
            except FileExistsError:
                pass  # another process made it first: that one is used
            except OSError:  # a file system without hard links
                if not target.exists():
                    os.replace(temporary, target)
        except OSError as exc:
            raise _os_failure(exc, str(target)) from exc
        finally:
            for leftover in (temporary, *(Path(f"{temporary}{s}") for s in store.SIDE_FILES)):
                leftover.unlink(missing_ok=True)

    @classmethod
    def open_existing(cls, path: str | Path) -> Self:
        """Open an environment file that exists, to read it: nothing is created, written or
        locked (a StoreUnavailable when there is no file, a SchemaTooNew for a newer one)."""
        if store.is_empty(path):
            raise StoreDamaged(str(Path(path).absolute()), "it is empty (0 bytes)")
        env = cls(store.connect_existing(str(path)), str(path))
        with _closed_unless_done(env), env._tx("DEFERRED") as tx:
            store.check_schema(tx.conn)
        return env

    @classmethod
    def memory(
        cls,
        seed: seeding.SeedSource = None,
        *,
        now: Clock | None = None,
        new_id: Callable[[], str] | None = None,
        polls: int = 1,
    ) -> Self:
        """A private in-memory environment, for tests."""
        return cls.open(":memory:", seed, now=now, new_id=new_id, polls=polls)

    def _initialize(self, source: seeding.SeedSource) -> None:
        with self._tx() as tx:
            if store.create_schema(tx.conn):
                seeding.apply_seed(tx, seeding.load(source))

    @property
    def path(self) -> str:
        return self._path

    def now(self) -> datetime:
        """The environment's clock (injectable for tests), in UTC."""
        return store.utc(self._now())

    def close(self) -> None:
        with self._mutex:
            self._conn.close()
            self._snapshot, self._memo = None, Memo()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _tx(self, mode: str = "IMMEDIATE") -> Iterator[store.Tx]:
        transaction = store.transaction(self._conn, mode, savepoint=self._batching, path=self._path)
        with self._mutex, transaction:
            yield store.Tx(self._conn, self.now(), self._new_id, self._polls)

    @contextmanager
    def _change(self) -> Iterator[store.Tx]:
        """The transaction of one change to the environment: refused (`LeaseLost`) while a
        fence is set and its lease no longer holds the lock, checked inside the transaction
        so that no other holder can take the lock between the check and the change."""
        with self._tx() as tx:
            if self._fence is not None:
                lock.check_holder(tx, self._fence)
            yield tx

    def fence(self, lease_id: str | None) -> None:
        """From now on, make every change through this object under the lease `lease_id`
        (None: under none). The lock's own operations and out-of-band changes are not fenced."""
        self._fence = lease_id

    @contextmanager
    def batch(self) -> Iterator[None]:
        """All the operations inside are one transaction: on an exception, none of them stays
        (an operation refused inside undoes only itself). Other threads wait meanwhile; a
        batch inside a batch is part of the outer one."""
        with self._mutex:
            if self._batching:
                yield
                return
            done = False
            try:
                with store.transaction(self._conn, path=self._path):
                    self._batching = True
                    try:
                        yield
                    finally:
                        self._batching = False
                done = True
            finally:
                if not done:
                    self._snapshot = None  # it may hold what was rolled back

    # Reading ---------------------------------------------------------------------------------

    def read(self) -> LiveState:
        """A consistent snapshot of everything, with its fingerprint.

        The snapshot is reused while the file is unchanged: SQLite's `data_version` moves when
        another connection commits and `total_changes` when this one writes. After a change,
        what the change left as it was is taken from the previous snapshot (`memo`), so the
        two share those values; snapshots are read-only.
        """
        with self._tx("DEFERRED") as tx:
            version = (
                self._conn.execute("PRAGMA data_version").fetchone()[0],
                self._conn.total_changes,
            )
            if self._snapshot is not None and self._snapshot[0] == version:
                return self._snapshot[1]
            state = snapshot.read(tx, self._memo)
            self._snapshot = (version, state)
            return state

    # Reading parts, without a whole snapshot (definitions are shared with the latest one).

    def get_map(self, name: str) -> LiveMap:
        with self._tx("DEFERRED") as tx:
            return maps.get(tx, name)

    def find_map(self, project_id: str) -> LiveMap | None:
        """The map of a project id (in any letter case), or None."""
        with self._tx("DEFERRED") as tx:
            return maps.find(tx, project_id)

    def map_templates(self, name: str) -> tuple[MapTemplate, ...]:
        """One map's templates, oldest version first."""
        with self._tx("DEFERRED") as tx:
            return solutions.templates_of(tx, name, self._memo)

    def template_versions(self) -> tuple[tuple[str, str], ...]:
        """(map, version) of every template, in the order of `read().templates`."""
        with self._tx("DEFERRED") as tx:
            return solutions.template_versions(tx)

    def solution(self, unique_name: str) -> InstalledSolution | None:
        with self._tx("DEFERRED") as tx:
            return solutions.installed(tx, unique_name, self._memo)

    def solution_manifest(self, unique_name: str) -> SolutionManifest | None:
        """An installed solution without reading the maps it carries."""
        with self._tx("DEFERRED") as tx:
            return solutions.manifest(tx, unique_name, self._memo)

    def integration_key(self, table: str) -> tuple[str, ...]:
        """A Dataverse table's integration key; () when it has none."""
        with self._tx("DEFERRED") as tx:
            return link.integration_key(tx, table)

    def link(self) -> LinkSettings:
        """Integration keys, legal entities and alert settings."""
        with self._tx("DEFERRED") as tx:
            keys = link.integration_keys(tx, self._memo)
            return LinkSettings(keys, link.legal_entities(tx), link.alerts(tx))

    # Solutions -------------------------------------------------------------------------------

    def import_solution(self, package: SolutionPackage) -> ImportResult:
        with self._change() as tx:
            return solutions.import_solution(tx, package)

    def apply_solution(self, unique_name: str) -> tuple[MapTemplate, ...]:
        with self._change() as tx:
            return solutions.apply_solution(tx, unique_name)

    # Maps ------------------------------------------------------------------------------------

    def switch_version(self, map_name: str, version: str) -> LiveMap:
        with self._change() as tx:
            return maps.switch_version(tx, map_name, version)

    def start_map(
        self, name: str, initial_sync: bool = False, master: MasterSide | None = None
    ) -> LiveMap:
        with self._change() as tx:
            return maps.start_map(tx, name, initial_sync, master)

    def stop_map(self, name: str) -> LiveMap:
        with self._change() as tx:
            return maps.stop_map(tx, name)

    def pause_map(self, name: str) -> LiveMap:
        with self._change() as tx:
            return maps.pause_map(tx, name)

    def resume_map(self, name: str) -> LiveMap:
        with self._change() as tx:
            return maps.resume_map(tx, name)

    def poll(self, name: str) -> LiveMap:
        """One status check of a map; moves Initializing/Resuming on (see `maps`)."""
        with self._tx() as tx:
            return maps.poll(tx, name)

    def advance(self) -> tuple[LiveMap, ...]:
        """Poll every map in a transitional state once; returns them after the poll."""
        with self._tx() as tx:
            return tuple(maps.poll(tx, name) for name in maps.transitional_names(tx))

    def set_map_error(self, name: str, message: str | None) -> LiveMap:
        """Out of band: the error the map shows (None clears it)."""
        with self._tx() as tx:
            return maps.set_map_error(tx, name, message)

    def set_queued(self, name: str, count: int, paused_since: datetime | None = None) -> LiveMap:
        """Out of band: records queued for a paused map, and since when it is paused."""
        with self._tx() as tx:
            return maps.set_queued(tx, name, count, paused_since)

    # Link ------------------------------------------------------------------------------------

    def set_integration_keys(self, table: str, columns: Sequence[str]) -> bool:
        """Set a Dataverse table's integration key ([] removes it); False if unchanged."""
        with self._change() as tx:
            return link.set_integration_keys(tx, table, columns)

    def set_legal_entities(self, codes: Sequence[str]) -> bool:
        with self._change() as tx:
            return link.set_legal_entities(tx, codes)

    def set_alerts(self, alerts: Sequence[AlertSetting]) -> bool:
        with self._change() as tx:
            return link.set_alerts(tx, alerts)

    def reset_link(self, force: bool = False, legal_entities: Sequence[str] = ()) -> None:
        """Reset link (dual-write-domain §3.5); refused while maps run unless forced."""
        with self._change() as tx:
            link.reset_link(tx, force, legal_entities)

    # Lock and deployment records -------------------------------------------------------------

    def acquire_lock(
        self, owner: str, operation: str, plan_id: str | None, ttl_seconds: float
    ) -> Lease:
        with self._tx() as tx:
            return lock.acquire(tx, owner, operation, plan_id, ttl_seconds)

    def renew_lock(self, lease_id: str, ttl_seconds: float) -> Lease:
        with self._tx() as tx:
            return lock.renew(tx, lease_id, ttl_seconds)

    def release_lock(self, lease_id: str) -> bool:
        with self._tx() as tx:
            return lock.release(tx, lease_id)

    def force_unlock(self, lease_id: str) -> Lease:
        with self._tx() as tx:
            return lock.force_unlock(tx, lease_id)

    def lock_status(self) -> Lease | None:
        with self._tx("DEFERRED") as tx:
            return lock.current(tx)

    def add_record(
        self,
        *,
        who: str,
        plan_hash: str,
        git_commit: str | None,
        solution_versions: dict[str, str],
        desired: dict[str, Any],
        status: str = "succeeded",
        provenance: Provenance | None = None,
    ) -> DeploymentRecord:
        with self._change() as tx:
            return lock.add_record(
                tx,
                who=who,
                plan_hash=plan_hash,
                git_commit=git_commit,
                solution_versions=solution_versions,
                desired=desired,
                status=status,
                provenance=provenance,
            )

    def set_record_status(self, record_id: str, status: str) -> DeploymentRecord:
        with self._change() as tx:
            return lock.set_record_status(tx, record_id, status)

    def records(self) -> tuple[DeploymentRecord, ...]:
        with self._tx("DEFERRED") as tx:
            return lock.records(tx, self._memo)

    def record_desired(self, record_id: str) -> dict[str, Any]:
        """The desired state deployment record `record_id` holds (an `InvalidRequest` for an
        unknown id)."""
        with self._tx("DEFERRED") as tx:
            return lock.desired_of(tx, record_id)


def _make_folder(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _os_failure(exc, str(folder)) from exc


def _os_failure(exc: OSError, path: str) -> Exception:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return StoreFull(path)
    if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return StoreReadOnly(path, exc.strerror or str(exc))
    return exc
