"""The emulated environments: one live model (SQLite file) per environment, plus the little
the HTTP surfaces remember that the live model doesn't (async operations, gateway requests,
publisher details, row ids from imported zips), kept in a JSON file next to it.

Every request handler runs on the event loop thread without awaiting while it touches an
environment, so operations never interleave; `EnvHandle.atomic` adds all-or-nothing for
multi-step requests ($batch change sets, multi-map gateway actions): one transaction of the
live model, and a copy of the side state to go back to.
"""

from __future__ import annotations

import copy
import json
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import orjson

from dwconf.canonical import canonical_bytes
from dwconf.emulator.config import ENV_NAME, EmulatorConfig, EnvConfig
from dwconf.live import Environment
from dwconf.live.errors import InvalidRequest
from dwconf.live.seed import SeedSource

NAMESPACE = uuid.UUID("8d3f4c52-1f0e-4f53-9a43-0b5e4f2d7c61")
SIDE_KEYS = (
    "publishers",
    "solutions",
    "map_ids",
    "async_ops",
    "import_jobs",
    "map_requests",
    "solution_requests",
    "dwconf_tables",  # dwconf's tables created through EntityDefinitions: columns and keys
    "projects",  # maps initialized (action "8") since they were applied: name -> pid
    "failures",  # gateway requests a test made fail: map name -> [message, times left]
)


@lru_cache(maxsize=16384)  # a template's id is worked out for each request that names one
def stable_id(*parts: str) -> str:
    """A GUID derived from names, so ids survive restarts and re-seeding."""
    return str(uuid.uuid5(NAMESPACE, "/".join(parts)))


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Clock:
    """Wall-clock time plus an offset that the test API can move forward; the test API can also
    hold it still (at a whole second), so a test judging a lease to the second isn't raced by
    the time its own requests take."""

    def __init__(self) -> None:
        self.offset = 0.0
        self.held: float | None = None

    def time(self) -> float:
        return (time.time() if self.held is None else self.held) + self.offset

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.time(), UTC)

    def hold(self, still: bool) -> None:
        self.held = float(int(time.time())) if still else None


class UnknownEnvironment(KeyError):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


class EnvHandle:
    """One emulated environment: the live model, its side state and its fixed identifiers."""

    def __init__(self, config: EnvConfig, folder: Path, seed: SeedSource, clock: Clock) -> None:
        self.config = config
        self.name = config.name
        self._db = folder / f"{config.name}.sqlite"
        self._side_path = folder / f"{config.name}.emulator.json"
        self.env = Environment.open(self._db, seed, now=clock.now, polls=config.polls)
        self.side = self._load_side()
        self.pending: dict[str, bytes] = {}  # async imports waiting to run, by operation id
        self.cid = stable_id("connectionset", self.name)
        self.cname = f"dwconf-emulator-{self.name}"
        self.ce_name = f"{self.name}-dataverse"
        self.powerapps_env = stable_id("powerapps", self.name)
        self.org_id = stable_id("organization", self.name)

    def _load_side(self) -> dict[str, dict[str, Any]]:
        data: dict[str, Any] = {}
        if self._side_path.exists():
            data = json.loads(self._side_path.read_text(encoding="utf-8"))
        return {key: dict(data.get(key) or {}) for key in SIDE_KEYS}

    def save(self) -> None:
        temporary = self._side_path.with_suffix(".tmp")
        temporary.write_bytes(canonical_bytes(self.side))
        temporary.replace(self._side_path)

    def pid_of(self, map_name: str) -> str:
        """A map's project id, once it has a project (the gateway's `detail.pid`)."""
        return stable_id("project", self.name, map_name)

    def template_id(self, name: str, version: str) -> str:
        """A map version's id: the `msdyn_dualwriteentitymapid` an imported zip gave it, or
        a stable one (the gateway's template id is the same value)."""
        known: str | None = self.side["map_ids"].get(f"{name}|{version}")
        return known or stable_id("template", self.name, name, version)

    @contextmanager
    def atomic(self) -> Iterator[None]:
        """All or nothing: on an exception, the live model's changes are rolled back (one
        transaction) and the side state goes back to how it was."""
        saved_side = _copied(self.side)
        done = False
        try:
            with self.env.batch():
                yield
            done = True
        finally:
            if not done:  # whatever stopped the block
                self.side = saved_side
                self.save()

    def close(self) -> None:
        self.env.close()


def _copied(side: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """A deep copy of the side state. It holds JSON values (it is saved as JSON), which a round
    trip through orjson copies many times faster than `copy.deepcopy`."""
    try:
        copied: dict[str, dict[str, Any]] = orjson.loads(orjson.dumps(side))
    except TypeError:
        return copy.deepcopy(side)
    return copied


def remove_files(folder: Path, name: str) -> None:
    """Delete an environment's files (SQLite with its WAL, and the side state)."""
    for base in (folder / f"{name}.sqlite", folder / f"{name}.emulator.json"):
        for candidate in (base, Path(f"{base}-wal"), Path(f"{base}-shm")):
            candidate.unlink(missing_ok=True)


class Registry:
    """Every emulated environment, by name."""

    def __init__(self, config: EmulatorConfig, folder: Path, clock: Clock) -> None:
        self.config = config
        self.folder = folder
        self.clock = clock
        self._handles: dict[str, EnvHandle] = {}
        self._extra: dict[str, EnvConfig] = {}
        for env_config in config.environments:
            self._handles[env_config.name] = self._open(env_config, None)

    def _default_seed(self, env_config: EnvConfig) -> SeedSource:
        return env_config.seed or self.config.default_seed

    def _open(self, env_config: EnvConfig, seed: SeedSource) -> EnvHandle:
        chosen = seed if seed is not None else self._default_seed(env_config)
        return EnvHandle(env_config, self.folder, chosen, self.clock)

    def names(self) -> list[str]:
        return sorted(self._handles)

    def get(self, name: str) -> EnvHandle:
        handle = self._handles.get(name)
        if handle is None:
            raise UnknownEnvironment(name)
        return handle

    def find(self, name: str) -> EnvHandle | None:
        return self._handles.get(name)

    def _config_for(self, name: str) -> EnvConfig:
        if not ENV_NAME.match(name):
            raise InvalidRequest(f"'{name}' is not a valid environment name.")
        return self.config.environment(name) or self._extra.setdefault(name, EnvConfig(name))

    def seed(self, name: str, document: Mapping[str, Any] | None) -> EnvHandle:
        """(Re)create an environment from a seed document (None: its configured seed)."""
        env_config = self._config_for(name)
        if document is not None:
            Environment.memory(document).close()  # a bad seed fails here, before anything goes
        old = self._handles.pop(name, None)
        if old is not None:
            old.close()
        remove_files(self.folder, name)
        handle = self._open(env_config, document)
        self._handles[name] = handle
        return handle

    def reset(self) -> None:
        """Every configured environment back to its seed; environments added later go away."""
        for name in list(self._handles):
            handle = self._handles.pop(name)
            handle.close()
            remove_files(self.folder, name)
        self._extra.clear()
        for env_config in self.config.environments:
            self._handles[env_config.name] = self._open(env_config, None)

    def close(self) -> None:
        for handle in self._handles.values():
            handle.close()
