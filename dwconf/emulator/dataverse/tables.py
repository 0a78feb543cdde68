"""The Dataverse tables the emulator serves, as rows derived from the live model (and the side
state for async operations and import jobs), with their keys, lookups and weak ETags.

Rows are rebuilt for every request; an ETag is a number derived from the row's content, so it
changes exactly when the row does (the real one is a row version: both are opaque).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from dwconf.emulator import mapping
from dwconf.emulator.dataverse import metadata, solution_zip
from dwconf.emulator.registry import EnvHandle, iso, stable_id
from dwconf.live import (
    DeploymentRecord,
    Environment,
    InstalledSolution,
    Lease,
    LiveMap,
    LiveState,
    RunState,
)

Row = dict[str, Any]
KNOWN_PREFIXES = {"microsoftdynamics": ("msdyn", 19235), "microsoft": ("msdyn", 19235)}
LEASE_NAME = "lock"
OWNER_ID = stable_id("systemuser", "Dual Write Service")


def etag(row: Row) -> str:
    """A weak ETag from the row's columns (annotations excluded)."""
    content = {k: v for k, v in row.items() if not k.startswith("@")}
    digest = hashlib.sha256(json.dumps(content, sort_keys=True, default=str).encode()).hexdigest()
    return f'W/"{int(digest[:12], 16)}"'


def publisher_info(handle: EnvHandle, unique_name: str) -> solution_zip.Publisher:
    """What the environment knows of a publisher: from an imported zip, or defaults."""
    known = handle.side["publishers"].get(unique_name)
    if known:
        return solution_zip.Publisher(
            unique_name,
            known.get("friendlyname") or unique_name,
            known.get("customizationprefix") or "",
            int(known.get("customizationoptionvalueprefix") or 10000),
        )
    prefix, option = KNOWN_PREFIXES.get(unique_name, ("", 10000))
    prefix = prefix or re.sub(r"[^a-z0-9]", "", unique_name.lower())[:8] or "new"
    return solution_zip.Publisher(unique_name, unique_name, prefix, option)


def solution_id(unique_name: str) -> str:
    return stable_id("solution", unique_name)


def publisher_id(unique_name: str) -> str:
    return stable_id("publisher", unique_name)


def _publishers(handle: EnvHandle, state: LiveState) -> list[Row]:
    names = {s.publisher for s in state.solutions} | set(handle.side["publishers"])
    rows = []
    for name in sorted(n for n in names if n):
        info = publisher_info(handle, name)
        rows.append(
            {
                "publisherid": publisher_id(name),
                "uniquename": name,
                "friendlyname": info.friendly_name,
                "customizationprefix": info.prefix,
                "customizationoptionvalueprefix": info.option_value_prefix,
            }
        )
    return rows


def _solution_row(handle: EnvHandle, solution: InstalledSolution) -> Row:
    details = handle.side["solutions"].get(solution.unique_name) or {}
    return {
        "solutionid": solution_id(solution.unique_name),
        "uniquename": solution.unique_name,
        "friendlyname": details.get("friendlyname") or solution.unique_name,
        "version": solution.version,
        "ismanaged": solution.managed,
        "isvisible": True,
        "_publisherid_value": publisher_id(solution.publisher) if solution.publisher else None,
        "description": details.get("description") or None,
    }


def _solutions(handle: EnvHandle, state: LiveState) -> list[Row]:
    return [_solution_row(handle, s) for s in state.solutions]


def map_rows(handle: EnvHandle, state: LiveState) -> dict[str, tuple[Row, InstalledSolution]]:
    """Every map definition the installed solutions carry, by row id, with its solution."""
    found: dict[str, tuple[Row, InstalledSolution]] = {}
    for solution in state.solutions:
        prefix = publisher_info(handle, solution.publisher).prefix
        for component in solution.maps:
            row_id = handle.template_id(component.name, component.version)
            row: Row = {"msdyn_dualwriteentitymapid": row_id}
            row.update(solution_zip.record_columns(component.definition, prefix))
            row.update(
                {
                    "solutionid": solution_id(solution.unique_name),
                    "ismanaged": solution.managed,
                    "_ownerid_value": OWNER_ID,
                    "createdon": None,
                    "modifiedon": None,
                }
            )
            found[row_id] = (row, solution)
    return found


def _maps(handle: EnvHandle, state: LiveState) -> list[Row]:
    return [row for row, _ in map_rows(handle, state).values()]


def _runtime_row(handle: EnvHandle, state: LiveState, live: LiveMap) -> Row:
    definition = state.active_definition(live.name) or {"name": live.name}
    finops, dataverse = mapping.entities(definition)
    version = [int(p) for p in (live.active_version or "0.0.0.0").split(".")]
    unsecure = {
        "ProjectId": live.project_id,
        "SourceEntityName": dataverse,
        "SourceEnvironmentType": 3,
        "DestinationEntityName": finops,
        "DestinationEnvironmentType": 1,
        "EntityMapVersion": dict(
            zip(("Major", "Minor", "Build", "Revision"), version, strict=False)
        ),
        "FieldMappings": mapping.leg(definition)["fieldMappings"],
    }
    return {
        "msdyn_dualwriteruntimeconfigid": stable_id("runtimeconfig", handle.name, live.name),
        "msdyn_name": live.project_id,
        "msdyn_internalentityname": dataverse,
        "msdyn_externalentityname": finops,
        "msdyn_unsecure": mapping.json_text(unsecure),
        "statecode": 0,
        "statuscode": 1,
    }


def _runtime_configs(handle: EnvHandle, state: LiveState) -> list[Row]:
    running = [m for m in state.maps if m.state is not RunState.NOT_RUNNING]
    return [_runtime_row(handle, state, m) for m in running]


def lease_row(lease: Lease | None) -> Row | None:
    if lease is None:
        return None
    return {
        "dwconf_leaseid": lease.id,
        "dwconf_name": LEASE_NAME,
        "dwconf_owner": lease.owner,
        "dwconf_operation": lease.operation,
        "dwconf_planid": lease.plan_id,
        "dwconf_expireson": iso(lease.expires),
        "createdon": iso(lease.created),
    }


def _leases(handle: EnvHandle, state: LiveState) -> list[Row]:
    row = lease_row(state.lock)
    return [row] if row else []


def record_rows(env: Environment, records: Sequence[DeploymentRecord]) -> list[Row]:
    """The rows of `records` as Dataverse holds them, each with its desired state."""
    return [
        {
            "dwconf_deploymentrecordid": r.id,
            "dwconf_who": r.who,
            "dwconf_planhash": r.plan_hash,
            "dwconf_gitcommit": r.git_commit,
            "dwconf_solutionversions": mapping.json_text(r.solution_versions),
            "dwconf_desired": mapping.json_text(env.record_desired(r.id)),
            "dwconf_status": r.status,
            "createdon": iso(r.created),
        }
        for r in records
    ]


def _records(handle: EnvHandle, state: LiveState) -> list[Row]:
    return record_rows(handle.env, state.records)


def _side(kind: str) -> Callable[[EnvHandle, LiveState], list[Row]]:
    def rows(handle: EnvHandle, state: LiveState) -> list[Row]:
        return [
            {k: v for k, v in op.items() if not k.startswith("_")}
            for op in handle.side[kind].values()
        ]

    return rows


@dataclass(frozen=True)
class EntitySet:
    """One table: its entity set name, logical name, primary key and rows."""

    name: str
    logical: str
    key: str
    rows: Callable[[EnvHandle, LiveState], list[Row]]
    lookups: dict[str, tuple[str, str]] = field(default_factory=dict)  # nav -> (set, column)
    alternate_keys: tuple[str, ...] = ()


def _definitions(handle: EnvHandle, state: LiveState) -> list[Row]:
    return [
        {
            "MetadataId": stable_id("entity", s.logical),
            "LogicalName": s.logical,
            "EntitySetName": s.name,
            "IsOptimisticConcurrencyEnabled": True,
        }
        for s in SETS.values()
        if s.name != "EntityDefinitions" and not metadata.hidden(handle, s.name)
    ]


SETS: dict[str, EntitySet] = {
    s.name: s
    for s in (
        EntitySet(
            "solutions",
            "solution",
            "solutionid",
            _solutions,
            {"publisherid": ("publishers", "_publisherid_value")},
            ("uniquename",),
        ),
        EntitySet("publishers", "publisher", "publisherid", _publishers, {}, ("uniquename",)),
        EntitySet(
            "msdyn_dualwriteentitymaps",
            "msdyn_dualwriteentitymap",
            "msdyn_dualwriteentitymapid",
            _maps,
            {"solutionid": ("solutions", "solutionid")},
        ),
        EntitySet(
            "msdyn_dualwriteruntimeconfigs",
            "msdyn_dualwriteruntimeconfig",
            "msdyn_dualwriteruntimeconfigid",
            _runtime_configs,
        ),
        EntitySet("asyncoperations", "asyncoperation", "asyncoperationid", _side("async_ops")),
        EntitySet("importjobs", "importjob", "importjobid", _side("import_jobs")),
        EntitySet("dwconf_leases", "dwconf_lease", "dwconf_leaseid", _leases, {}, ("dwconf_name",)),
        EntitySet(
            "dwconf_deploymentrecords",
            "dwconf_deploymentrecord",
            "dwconf_deploymentrecordid",
            _records,
        ),
        EntitySet(
            "EntityDefinitions", "EntityMetadata", "MetadataId", _definitions, {}, ("LogicalName",)
        ),
    )
}
