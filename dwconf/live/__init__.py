"""The executable model of one linked dual-write environment pair (ARCHITECTURE §4).

Installed solutions, map templates and run states, integration keys, legal entities, alert
settings, dwconf's deployment records and its lock, persisted in SQLite, with the rules and
messages of the real service. Shared by the embedded provider and the HTTP emulator.
"""

from dwconf.live.environment import Environment
from dwconf.live.errors import LiveError
from dwconf.live.state import (
    AlertSetting,
    DeploymentRecord,
    ImportResult,
    InstalledSolution,
    LastRequest,
    Lease,
    LiveMap,
    LiveState,
    MapComponent,
    MapTemplate,
    Provenance,
    RecordReader,
    RunState,
    SolutionPackage,
)

__all__ = [
    "AlertSetting",
    "DeploymentRecord",
    "Environment",
    "ImportResult",
    "InstalledSolution",
    "LastRequest",
    "Lease",
    "LiveError",
    "LiveMap",
    "LiveState",
    "MapComponent",
    "MapTemplate",
    "Provenance",
    "RecordReader",
    "RunState",
    "SolutionPackage",
]
