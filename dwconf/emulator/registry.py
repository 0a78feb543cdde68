"""The emulated environments: one live model (SQLite file) per environment, plus the little
the HTTP surfaces remember that the live model doesn't (async operations, gateway requests,
publisher details, row ids from imported zips), kept in a JSON file next to it.

Every request handler runs on the event loop thread without awaiting while it touches an
environment, so operations never interleave; `EnvHandle.atomic` adds all-or-nothing for
multi-step requests ($batch change sets, multi-map gateway actions) by snapshotting both files.
"""

from __future__ import annotations

import copy
import json
import sqlite3
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

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
)


def stable_id(*parts: str) -> str:
    """A GUID derived from names, so ids survive restarts and re-seeding."""
    return str(uuid.uuid5(NAMESPACE, "/".join(parts)))


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Clock:
    """Wall-clock time plus an offset that the test API can move forward."""

    def __init__(self) -> None:
        self.offset = 0.0

    def time(self) -> float:
        return time.time() + self.offset

    def now(self) -> datetime:
        return datetime.now(UTC) + timedelta(seconds=self.offset)


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
        temporary.write_text(json.dumps(self.side, sort_keys=True), encoding="utf-8")
        temporary.replace(self._side_path)

    def template_id(self, name: str, version: str) -> str:
        """A map version's id: the `msdyn_dualwriteentitymapid` an imported zip gave it, or
        a stable one (the gateway's template id is the same value)."""
        known: str | None = self.side["map_ids"].get(f"{name}|{version}")
        return known or stable_id("template", self.name, name, version)

    @contextmanager
    def atomic(self) -> Iterator[None]:
        """All or nothing: on an exception, both files go back to how they were."""
        saved_side = copy.deepcopy(self.side)
        memory = sqlite3.connect(":memory:")
        try:
            self._copy(self._db, memory, into_file=False)
            try:
                yield
            except BaseException:
                self._copy(self._db, memory, into_file=True)
                self.side = saved_side
                self.save()
                raise
        finally:
            memory.close()

    @staticmethod
    def _copy(path: Path, memory: sqlite3.Connection, *, into_file: bool) -> None:
        connection = sqlite3.connect(path)
        try:
            if into_file:
                memory.backup(connection)
            else:
                connection.backup(memory)
        finally:
            connection.close()

    def close(self) -> None:
        self.env.close()


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
