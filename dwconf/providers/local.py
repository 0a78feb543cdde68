"""The embedded default provider: the live model in-process, one SQLite file per environment at
`<repo>/.dwconf/<env>.sqlite` (git-ignored), so `dwconf plan dev` works on a fresh clone with
no server and no account (ARCHITECTURE §4).

A missing file is created and seeded as a freshly linked environment pair when apply first
opens it; a read of one that was never made sees that seed in memory and writes nothing.
`reset` deletes it so the next open starts over.
"""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Self

from dwconf.errors import ProviderError
from dwconf.live import (
    AlertSetting,
    DeploymentRecord,
    Environment,
    ImportResult,
    Lease,
    LiveMap,
    LiveState,
    MapTemplate,
    Provenance,
    SolutionPackage,
    store,
)
from dwconf.live.environment import Clock
from dwconf.live.errors import InvalidRequest, LockHeld
from dwconf.live.seed import SeedSource
from dwconf.live.state import MasterSide
from dwconf.model.environment import DEFAULT_WAIT, seconds
from dwconf.providers.base import WaitTimeout

STATE_DIR = ".dwconf"
SIDE_FILES = store.SIDE_FILES
_ENV_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


def state_path(root: Path, env_name: str) -> Path:
    """Where the environment's file lives; refuses names that would leave `.dwconf/`."""
    if not _ENV_NAME.match(env_name):
        raise ProviderError(f"'{env_name}' is not an environment name.")
    return root / STATE_DIR / f"{env_name}.sqlite"


def reset(root: Path, env_name: str) -> tuple[Path, ...]:
    """Delete the environment's file and its WAL/SHM side files; returns what was deleted.

    The next `LocalProvider.open` seeds a fresh, newly linked environment.
    """
    main = state_path(root, env_name)
    removed = []
    for path in (main, *(main.with_name(main.name + s) for s in SIDE_FILES)):
        if path.exists():
            path.unlink()
            removed.append(path)
    return tuple(removed)


class LocalProvider:
    """A `LiveWriter` over one `dwconf.live.Environment` file."""

    def __init__(self, environment: Environment) -> None:
        self._env = environment

    @classmethod
    def open(
        cls,
        root: Path,
        env_name: str,
        *,
        seed: SeedSource = None,
        now: Clock | None = None,
        new_id: Callable[[], str] | None = None,
        polls: int = 1,
    ) -> Self:
        """Open (creating and seeding on first use) `<root>/.dwconf/<env_name>.sqlite`.

        `seed`, `now`, `new_id` and `polls` are the live model's knobs for tests and demos.
        """
        path = state_path(root, env_name)
        return cls(Environment.open(path, seed, now=now, new_id=new_id, polls=polls))

    @classmethod
    def unborn(cls, root: Path, env_name: str) -> Self:
        """The environment a first `open` of `env_name` would make, in memory: what a read of
        an environment that was never applied sees, with no file made (its fingerprint is the
        one the first apply finds)."""
        state_path(root, env_name)  # the same names are refused
        return cls(Environment.memory())

    @classmethod
    def open_existing(cls, root: Path, env_name: str) -> Self:
        """Open the environment's file to read it, if it exists: nothing made or locked."""
        return cls(Environment.open_existing(state_path(root, env_name)))

    @property
    def path(self) -> Path:
        return Path(self._env.path)

    @property
    def environment(self) -> Environment:
        """The live model itself, for tests that act out changes made in the Dual-write UI."""
        return self._env

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # LiveReader ------------------------------------------------------------------------------

    def read(self) -> LiveState:
        return self._env.read()

    def lock_status(self) -> Lease | None:
        return self._env.lock_status()

    def records(self) -> tuple[DeploymentRecord, ...]:
        return self._env.records()

    def read_only(self) -> dict[str, str]:
        return {}  # the embedded model is the whole environment: everything is writable

    def record_desired(self, record_id: str) -> dict[str, Any]:
        return self._env.record_desired(record_id)

    def close(self) -> None:
        self._env.close()

    # Solutions -------------------------------------------------------------------------------

    def import_solution(self, package: SolutionPackage) -> ImportResult:
        return self._env.import_solution(package)

    def apply_solution(self, unique_name: str) -> tuple[MapTemplate, ...]:
        return self._env.apply_solution(unique_name)

    # Maps ------------------------------------------------------------------------------------

    def switch_version(self, map_name: str, version: str, author: str | None = None) -> LiveMap:
        """The live model keeps one template per version: `author` has nothing to choose."""
        return self._env.switch_version(map_name, version)

    def start_map(
        self, name: str, initial_sync: bool = False, master: MasterSide | None = None
    ) -> LiveMap:
        return self._env.start_map(name, initial_sync, master)

    def stop_map(self, name: str) -> LiveMap:
        return self._env.stop_map(name)

    def pause_map(self, name: str) -> LiveMap:
        return self._env.pause_map(name)

    def resume_map(self, name: str) -> LiveMap:
        return self._env.resume_map(name)

    def pause_maps(self, names: Sequence[str]) -> dict[str, LiveMap]:
        with self._env.batch():  # all or nothing, as one request to the service is
            return {n: self._env.pause_map(n) for n in names}

    def resume_maps(self, names: Sequence[str]) -> dict[str, LiveMap]:
        with self._env.batch():
            return {n: self._env.resume_map(n) for n in names}

    def wait(self, name: str, timeout_s: float | None = None) -> LiveMap:
        """Poll until the map settles. In-process every poll is a status check that moves a
        transition on, so there is nothing to sleep for between polls."""
        timeout_s = seconds(DEFAULT_WAIT) if timeout_s is None else timeout_s
        if timeout_s < 0:
            raise InvalidRequest(f"A wait needs a timeout of at least 0 s, not {timeout_s:g} s.")
        deadline = time.monotonic() + timeout_s
        live = self._env.poll(name)
        while live.state.transitional:
            if time.monotonic() >= deadline:
                raise WaitTimeout(name, live.state, timeout_s)
            live = self._env.poll(name)
        return live

    # Link ------------------------------------------------------------------------------------

    def set_integration_keys(self, table: str, columns: Sequence[str]) -> bool:
        return self._env.set_integration_keys(table, columns)

    def set_alerts(self, alerts: Sequence[AlertSetting]) -> bool:
        return self._env.set_alerts(alerts)

    def reset_link(self, force: bool = False, legal_entities: Sequence[str] = ()) -> None:
        self._env.reset_link(force, legal_entities)

    # Lock and deployment records -------------------------------------------------------------

    def acquire_lock(
        self, owner: str, operation: str, plan_id: str | None, ttl_seconds: float
    ) -> Lease:
        return self._env.acquire_lock(owner, operation, plan_id, ttl_seconds)

    def renew_lock(self, lease_id: str, ttl_seconds: float) -> Lease:
        return self._env.renew_lock(lease_id, ttl_seconds)

    def fence(self, lease_id: str | None) -> bool:
        """The live model checks the lease in each write's own transaction."""
        self._env.fence(lease_id)
        return True

    def release_lock(self, lease_id: str) -> bool:
        return self._env.release_lock(lease_id)

    def force_unlock(self, lease_id: str) -> Lease:
        return self._env.force_unlock(lease_id)

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
        return self._env.add_record(
            who=who,
            plan_hash=plan_hash,
            git_commit=git_commit,
            solution_versions=solution_versions,
            desired=desired,
            status=status,
            provenance=provenance,
        )

    def set_record_status(self, record_id: str, status: str) -> DeploymentRecord:
        return self._env.set_record_status(record_id, status)


def _held_lease(path: Path) -> Lease | None:
    """The lease of an existing file, if one is held now; an unreadable file holds none."""
    if not path.exists():
        return None
    try:
        with Environment.open(path) as env:
            lease = env.lock_status()
            return lease if lease is not None and not lease.is_expired(env.now()) else None
    except (ProviderError, sqlite3.DatabaseError):  # damaged: what reset is for
        return None


def recreate(root: Path, env_name: str) -> LiveState:
    """`reset`, then open the fresh seed and return its state.

    Refused while a lease that has not expired is held: an apply may be running on the file.
    """
    lease = _held_lease(state_path(root, env_name))
    if lease is not None:
        raise LockHeld(lease)
    reset(root, env_name)
    with LocalProvider.open(root, env_name) as provider:
        return provider.read()
