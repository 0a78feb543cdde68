"""The values the live model reads and writes: plain frozen dataclasses, no I/O.

`LiveState` is one consistent snapshot of an environment pair (what `Environment.read()`
returns); the other classes are its parts and the arguments of the operations.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

MasterSide = Literal["dataverse", "finops"]
MASTERS: tuple[MasterSide, ...] = ("dataverse", "finops")

Definition = dict[str, Any]
"""A map definition: the canonical JSON form of a dwconf `TableMap`."""


class RunState(enum.Enum):
    """The documented run states of a table map (dual-write-domain §1.3)."""

    NOT_RUNNING = "not_running"
    INITIALIZING = "initializing"
    RUNNING = "running"
    PAUSED = "paused"
    RESUMING = "resuming"

    @property
    def label(self) -> str:
        """The status as the Dual-write workspace shows it."""
        return self.value.replace("_", " ").capitalize()

    @property
    def transitional(self) -> bool:
        return self in (RunState.INITIALIZING, RunState.RESUMING)


class ImportResult(enum.Enum):
    """What `import_solution` did."""

    INSTALLED = "installed"
    UPGRADED = "upgraded"
    UPDATED = "updated"  # same version, different content (an overwrite, as Dataverse does)
    UNCHANGED = "unchanged"


@dataclass(frozen=True)
class SolutionPackage:
    """A Dataverse solution to import: its manifest and the map definitions it carries."""

    unique_name: str
    version: str
    managed: bool = True
    publisher: str = ""
    requires: dict[str, str] = field(default_factory=dict)
    maps: list[Definition] = field(default_factory=list)


@dataclass(frozen=True)
class MapComponent:
    """One map definition carried by an installed solution. `digest`, when the reader had it,
    is `dwconf.canonical.digest(definition)`, remembered with the text it was read from."""

    name: str
    version: str
    definition: Definition
    digest: str = field(default="", compare=False, repr=False)


@dataclass(frozen=True)
class InstalledSolution:
    unique_name: str
    version: str
    managed: bool
    publisher: str
    requires: dict[str, str]
    maps: tuple[MapComponent, ...]


@dataclass(frozen=True)
class SolutionManifest:
    """An installed solution without the maps it carries."""

    unique_name: str
    version: str
    managed: bool
    publisher: str
    requires: dict[str, str]

    @classmethod
    def of(cls, solution: InstalledSolution) -> SolutionManifest:
        return cls(
            solution.unique_name,
            solution.version,
            solution.managed,
            solution.publisher,
            solution.requires,
        )


@dataclass(frozen=True)
class MapTemplate:
    """A map version made available by "apply solution" (`digest`: as `MapComponent`'s)."""

    name: str
    version: str
    solution: str
    definition: Definition
    digest: str = field(default="", compare=False, repr=False)


@dataclass(frozen=True)
class LastRequest:
    """The last lifecycle request on a map, as the gateway's `lastRequest` reports it."""

    id: str
    action: str  # start | initial_sync | stop | pause | resume
    state: Literal["waiting", "completed", "error"]
    error: str | None
    created: datetime
    modified: datetime


@dataclass(frozen=True)
class LiveMap:
    """One table map of the link: its active version and run state."""

    name: str
    project_id: str
    active_version: str | None
    state: RunState
    versions: tuple[str, ...]
    queued: int = 0
    paused_since: datetime | None = None
    master: MasterSide | None = None
    last_request: LastRequest | None = None
    last_error: str | None = None


@dataclass(frozen=True)
class AlertSetting:
    name: str
    error_type: str
    threshold: int
    window_minutes: int
    action: str  # pause | stop | none
    notify: tuple[str, ...] | None = ()  # None: the provider can't read the recipients

    def without_notify(self) -> AlertSetting:
        return AlertSetting(
            self.name, self.error_type, self.threshold, self.window_minutes, self.action, None
        )


@dataclass(frozen=True)
class Provenance:
    """Where the desired state a deployment record holds came from, beyond its commit."""

    dirty: bool = False  # the working tree had changes the commit does not hold
    sources: Mapping[str, str] = field(default_factory=dict)  # solution -> workspace | tag:<tag>
    applied_hash: str = ""  # the hash of the desired state applied, worked out when applying

    def as_dict(self) -> dict[str, Any]:
        return {
            "dirty": self.dirty,
            "sources": dict(sorted(self.sources.items())),
            "applied_hash": self.applied_hash,
        }

    @classmethod
    def of(cls, data: Mapping[str, Any] | None) -> Provenance:
        if not data:
            return cls()
        return cls(
            bool(data.get("dirty", False)),
            {str(k): str(v) for k, v in (data.get("sources") or {}).items()},
            str(data.get("applied_hash") or ""),
        )


@dataclass(frozen=True)
class DeploymentRecord:
    """What dwconf wrote at an apply (ARCHITECTURE §1 "record"), as a summary.

    The desired state it holds (every map's definition; a history has a record per apply, and
    a plan needs one of them) is read on its own, by id: `RecordReader.record_desired`.
    """

    id: str
    created: datetime
    who: str
    plan_hash: str
    git_commit: str | None
    solution_versions: dict[str, str]
    status: str
    provenance: Provenance = field(default_factory=Provenance)


class RecordReader(Protocol):
    """Reads the desired state a deployment record holds (environments and providers)."""

    def record_desired(self, record_id: str) -> dict[str, Any]:
        """The record's desired state by address; an `InvalidRequest` for an unknown id."""
        ...


@dataclass(frozen=True)
class Lease:
    """The environment's lock: held until `expires` unless renewed."""

    id: str
    owner: str
    operation: str
    plan_id: str | None
    created: datetime
    expires: datetime

    def is_expired(self, at: datetime) -> bool:
        return at >= self.expires


@dataclass(frozen=True)
class LinkSettings:
    """The link's own settings: what a `LiveState` holds besides solutions, maps and dwconf's
    rows."""

    integration_keys: Mapping[str, tuple[str, ...]]
    legal_entities: tuple[str, ...]
    alerts: tuple[AlertSetting, ...]


@dataclass(frozen=True)
class LiveState:
    """A consistent snapshot of one environment pair."""

    solutions: tuple[InstalledSolution, ...]
    templates: tuple[MapTemplate, ...]
    maps: tuple[LiveMap, ...]
    integration_keys: Mapping[str, tuple[str, ...]]
    legal_entities: tuple[str, ...]
    alerts: tuple[AlertSetting, ...]
    records: tuple[DeploymentRecord, ...]
    lock: Lease | None
    fingerprint: str

    def solution(self, unique_name: str) -> InstalledSolution | None:
        return next((s for s in self.solutions if s.unique_name == unique_name), None)

    def map(self, name: str) -> LiveMap | None:
        return next((m for m in self.maps if m.name == name), None)

    def template(self, name: str, version: str) -> MapTemplate | None:
        return next((t for t in self.templates if (t.name, t.version) == (name, version)), None)

    def active_definition(self, name: str) -> Definition | None:
        found = self.map(name)
        if found is None or found.active_version is None:
            return None
        template = self.template(name, found.active_version)
        return template.definition if template else None
