"""Writes to the Dataverse tables that take them: map definitions (`msdyn_dualwriteentitymaps`,
through a re-import of the solution that carries them), dwconf's lease (`dwconf_leases`, one
per environment, alternate key `dwconf_name='lock'`) and deployment records
(`dwconf_deploymentrecords`, append-only but for `dwconf_status`).

Preconditions follow Dataverse: `If-None-Match: *` creates only (412 when the row exists),
`If-Match: <etag>` updates only that version (412 otherwise), `If-Match: *` updates only.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from dwconf.emulator import mapping
from dwconf.emulator.dataverse import odata
from dwconf.emulator.dataverse.request import (
    NOT_FOUND,
    VALIDATION,
    DvError,
    DvRequest,
    Target,
    check_preconditions,
    live_error,
)
from dwconf.emulator.dataverse.tables import (
    LEASE_NAME,
    EntitySet,
    Row,
    etag,
    lease_row,
    map_rows,
    record_rows,
)
from dwconf.emulator.registry import EnvHandle
from dwconf.emulator.reply import Reply
from dwconf.live import InstalledSolution, LiveError, SolutionPackage
from dwconf.live.state import Definition

Writer = Callable[[EnvHandle, DvRequest, EntitySet, Target], Reply]
MAP_COLUMNS = ("msdyn_mapping", "msdyn_properties", "msdyn_version", "msdyn_displayname")
RECORD_COLUMNS = {
    "dwconf_who",
    "dwconf_planhash",
    "dwconf_gitcommit",
    "dwconf_solutionversions",
    "dwconf_desired",
    "dwconf_status",
}


def write(handle: EnvHandle, request: DvRequest, entity: EntitySet, where: Target) -> Reply:
    writer = WRITERS.get(entity.name)
    if writer is None or request.method not in ("POST", "PATCH", "DELETE"):
        raise DvError(405, "", f"The emulator serves {entity.name} read-only for {request.method}.")
    if (request.method == "POST") == where.is_record:
        raise DvError(405, "", f"{request.method} is not allowed on this resource.")
    try:
        return writer(handle, request, entity, where)
    except LiveError as exc:
        raise live_error(exc) from exc


def _entity_url(request: DvRequest, entity: EntitySet, row_id: str) -> str:
    return f"{request.root}/{entity.name}({row_id})"


def _written(request: DvRequest, entity: EntitySet, row: Row, created: bool) -> Reply:
    url = _entity_url(request, entity, str(row[entity.key]))
    headers = {"OData-EntityId": url, "ETag": etag(row)}
    if request.wants_representation():
        body = {"@odata.context": f"{request.root}/$metadata#{entity.name}/$entity"}
        body.update({"@odata.etag": etag(row), **row})
        return odata.json_reply(201 if created else 200, body, headers)
    return odata.empty(204, headers)


def _find(rows: list[Row], entity: EntitySet, where: Target) -> Row | None:
    return next((r for r in rows if where.matches(r, entity.key)), None)


def _missing(entity: EntitySet, where: Target) -> DvError:
    message = f"Entity '{entity.logical}' With Id = {where.describe()} Does Not Exist"
    return DvError(404, NOT_FOUND, message)


def _require(row: Row | None, entity: EntitySet, where: Target) -> Row:
    if row is None:
        raise _missing(entity, where)
    return row


def _unknown_columns(body: dict[str, Any], allowed: set[str], entity: EntitySet) -> None:
    for column in body:
        if column not in allowed and not column.startswith("@"):
            raise DvError(
                400,
                "0x80060888",
                f"Invalid property '{column}' was found in entity "
                f"'Microsoft.Dynamics.CRM.{entity.logical}'.",
            )


# Leases ---------------------------------------------------------------------------------------


def _ttl(handle: EnvHandle, body: dict[str, Any]) -> float:
    """The lease's time to live, from the expiry written when there is one: a plain table
    stores the time it is sent, whatever its clock says (`dwconf_ttlseconds` alone: from now)."""
    if "dwconf_expireson" in body:
        try:
            expires = datetime.fromisoformat(str(body["dwconf_expireson"]).replace("Z", "+00:00"))
        except ValueError as exc:
            raise DvError(400, VALIDATION, "dwconf_expireson is not a date and time.") from exc
        return (expires - handle.env.now()).total_seconds()
    if "dwconf_ttlseconds" in body:
        value = body["dwconf_ttlseconds"]
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise DvError(400, VALIDATION, "dwconf_ttlseconds must be a number.")
        return float(value)
    raise DvError(400, VALIDATION, "A lease needs dwconf_ttlseconds or dwconf_expireson.")


def _lease_target(where: Target, current: Row | None) -> Row | None:
    names = dict(where.alternate)
    if where.alternate and set(names) != {"dwconf_name"}:
        raise DvError(400, VALIDATION, "A lease is addressed by its id or dwconf_name.")
    if names and names["dwconf_name"] != LEASE_NAME:
        raise DvError(400, VALIDATION, f"An environment has one lease: dwconf_name='{LEASE_NAME}'.")
    if current is None or (where.is_record and not where.matches(current, "dwconf_leaseid")):
        return None
    return current


def _acquire(handle: EnvHandle, body: dict[str, Any], replacing: Row | None) -> None:
    """A new lease, overwriting `replacing` (a plain table's upsert, held or not) once the body
    is known to be good: a refused write leaves the row as it was."""
    owner = body.get("dwconf_owner")
    if not isinstance(owner, str) or not owner:
        raise DvError(400, VALIDATION, "A lease needs dwconf_owner.")
    operation = str(body.get("dwconf_operation") or "apply")
    plan = body.get("dwconf_planid")
    ttl = _ttl(handle, body)
    if ttl <= 0:  # the emulator's own refusal (docs/emulator.md): Dataverse would store it
        raise DvError(400, VALIDATION, "A lease's expiry must be in the future.")
    if replacing is not None:
        handle.env.force_unlock(str(replacing["dwconf_leaseid"]))
    handle.env.acquire_lock(owner, operation, str(plan) if plan else None, ttl)


def _lease(handle: EnvHandle, request: DvRequest, entity: EntitySet, where: Target) -> Reply:
    current = lease_row(handle.env.lock_status())
    row = _lease_target(where, current) if where.is_record else current
    if request.method == "POST" and current is not None:
        raise DvError(412, "", "A record with matching key values already exists.")
    check_preconditions(request, row, etag(row) if row else None)
    if request.method == "DELETE":
        held = _require(row, entity, where)
        handle.env.release_lock(str(held["dwconf_leaseid"]))
        return odata.empty(204)
    body = request.json()
    allowed = {"dwconf_owner", "dwconf_operation", "dwconf_planid", "dwconf_ttlseconds"}
    _unknown_columns(body, allowed | {"dwconf_expireson", "dwconf_name"}, entity)
    if row is None and where.key_id is not None:
        raise DvError(404, NOT_FOUND, f"Create the lease with dwconf_name='{LEASE_NAME}'.")
    if row is not None and body.get("dwconf_owner", row["dwconf_owner"]) == row["dwconf_owner"]:
        handle.env.renew_lock(str(row["dwconf_leaseid"]), _ttl(handle, body))
    else:
        _acquire(handle, body, row)
    after = lease_row(handle.env.lock_status())
    assert after is not None
    return _written(request, entity, after, created=row is None)


# Deployment records ---------------------------------------------------------------------------


def _json_column(body: dict[str, Any], column: str) -> dict[str, Any]:
    value = body.get(column) or {}
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError as exc:
            raise DvError(400, VALIDATION, f"{column} is not JSON.") from exc
    if not isinstance(value, dict):
        raise DvError(400, VALIDATION, f"{column} must be a JSON object.")
    return value


def _record(handle: EnvHandle, request: DvRequest, entity: EntitySet, where: Target) -> Reply:
    if request.method == "DELETE":
        raise DvError(405, "", "Deployment records are append-only.")
    body = request.json()
    _unknown_columns(body, RECORD_COLUMNS, entity)
    if request.method == "POST":
        record = handle.env.add_record(
            who=str(body.get("dwconf_who") or "unknown"),
            plan_hash=str(body.get("dwconf_planhash") or ""),
            git_commit=body.get("dwconf_gitcommit"),
            solution_versions=_json_column(body, "dwconf_solutionversions"),
            desired=_json_column(body, "dwconf_desired"),
            status=str(body.get("dwconf_status") or "succeeded"),
        )
        return _written(request, entity, _record_row(handle, entity, record.id), created=True)
    row = _find(record_rows(handle.env, handle.env.records()), entity, where)
    check_preconditions(request, row, etag(row) if row else None)
    row = _require(row, entity, where)
    if set(body) - {"dwconf_status"} or "dwconf_status" not in body:
        raise DvError(400, VALIDATION, "Only dwconf_status of a deployment record can change.")
    handle.env.set_record_status(str(row[entity.key]), str(body["dwconf_status"]))
    return _written(request, entity, _record_row(handle, entity, str(row[entity.key])), False)


def _record_row(handle: EnvHandle, entity: EntitySet, record_id: str) -> Row:
    return next(
        r for r in record_rows(handle.env, handle.env.records()) if r[entity.key] == record_id
    )


# Map definitions ------------------------------------------------------------------------------


def _definition(columns: dict[str, Any]) -> Definition:
    try:
        return mapping.from_columns(
            str(columns.get("msdyn_mapping") or ""),
            columns.get("msdyn_properties"),
            str(columns.get("msdyn_version") or ""),
            columns.get("msdyn_displayname"),
        )
    except ValueError as exc:
        raise DvError(400, VALIDATION, f"msdyn_mapping can't be read: {exc}") from exc


def _reimport(
    handle: EnvHandle, solution: InstalledSolution, drop: str | None, add: Definition | None
) -> None:
    maps = [
        dict(m.definition) for m in solution.maps if handle.template_id(m.name, m.version) != drop
    ]
    if add is not None:
        maps.append(add)
    package = SolutionPackage(
        solution.unique_name,
        solution.version,
        solution.managed,
        solution.publisher,
        dict(solution.requires),
        maps,
    )
    handle.env.import_solution(package)


def _map_create(
    handle: EnvHandle, request: DvRequest, entity: EntitySet, row_id: str | None
) -> Reply:
    unique_name = request.header("mscrm.solutionuniquename")
    state = handle.env.read()
    solution = state.solution(unique_name or "")
    if solution is None:
        raise DvError(
            400,
            VALIDATION,
            "The emulator creates map rows only in a named solution: send the "
            "MSCRM.SolutionUniqueName header with an installed solution.",
        )
    body = request.json()
    _unknown_columns(body, {*MAP_COLUMNS, entity.key, "msdyn_name"}, entity)
    definition = _definition(body)
    key = f"{definition['name']}|{definition['version']}"
    chosen = row_id or str(body.get(entity.key) or "") or None
    if chosen:
        handle.side["map_ids"][key] = chosen.lower()
    _reimport(handle, solution, None, definition)
    handle.save()
    new_id = handle.template_id(str(definition["name"]), str(definition["version"]))
    row, _ = map_rows(handle, handle.env.read())[new_id]
    return _written(request, entity, row, created=True)


def _map(handle: EnvHandle, request: DvRequest, entity: EntitySet, where: Target) -> Reply:
    if request.method == "POST":
        return _map_create(handle, request, entity, None)
    rows = map_rows(handle, handle.env.read())
    found = next(((r, s) for r, s in rows.values() if where.matches(r, entity.key)), None)
    row = found[0] if found else None
    check_preconditions(request, row, etag(row) if row else None)
    if found is None:
        if request.method == "PATCH" and where.key_id:
            return _map_create(handle, request, entity, where.key_id)
        raise _missing(entity, where)
    row, solution = found
    row_id = str(row[entity.key])
    if request.method == "DELETE":
        _reimport(handle, solution, row_id, None)
        return odata.empty(204)
    body = request.json()
    _unknown_columns(body, set(row), entity)
    merged = {**row, **{k: v for k, v in body.items() if k in MAP_COLUMNS}}
    definition = _definition(merged)
    if handle.template_id(str(definition["name"]), str(definition["version"])) != row_id:
        raise DvError(
            400,
            VALIDATION,
            "The emulator keys a map row by msdyn_displayname and msdyn_version; create a new "
            "row for a new version.",
        )
    _reimport(handle, solution, row_id, definition)
    after, _ = map_rows(handle, handle.env.read())[row_id]
    return _written(request, entity, after, created=False)


WRITERS: dict[str, Writer] = {
    "dwconf_leases": _lease,
    "dwconf_deploymentrecords": _record,
    "msdyn_dualwriteentitymaps": _map,
}
