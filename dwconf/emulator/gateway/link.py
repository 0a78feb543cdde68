"""Gateway routes about solutions and the link: apply solution (`RestoreTemplates` + its
`Status`), the solutions list, prerequisite sequences, the connection set (read only: no public
client writes it), Reset link (the only way legal entities change, ResetLinkEngine.cs),
integration keys, table refresh and initial-sync executions.
"""

from __future__ import annotations

import uuid
from typing import Any

from dwconf.emulator.dataverse.tables import solution_id
from dwconf.emulator.gateway import shapes
from dwconf.emulator.gateway.request import GatewayError, GwRequest, check_cid, reply
from dwconf.emulator.gateway.views import MapView, views
from dwconf.emulator.registry import EnvHandle, iso, stable_id
from dwconf.emulator.reply import Reply
from dwconf.live import LiveError, RunState


def solutions(handle: EnvHandle) -> list[dict[str, Any]]:
    """Installed solutions that carry maps."""
    found = []
    for solution in handle.env.read().solutions:
        if not solution.maps:
            continue
        details = handle.side["solutions"].get(solution.unique_name) or {}
        found.append(
            {
                "solutionid": solution_id(solution.unique_name),
                "id": solution_id(solution.unique_name),
                "uniquename": solution.unique_name,
                "friendlyname": details.get("friendlyname") or solution.unique_name,
                "version": solution.version,
                "ismanaged": solution.managed,
                "description": details.get("description") or "",
            }
        )
    return found


def _solution_names(body: Any) -> list[str]:
    if not isinstance(body, dict) or not isinstance(body.get("solutions"), list):
        raise GatewayError(400, "request.invalid", 'Expected {"action": "2", "solutions": [...]}.')
    names = []
    for entry in body["solutions"]:
        name = ((entry or {}).get("criteria") or {}).get("uniquename")
        if not isinstance(name, str) or not name:
            raise GatewayError(400, "request.invalid", "Each solution needs criteria.uniquename.")
        names.append(name)
    return names


def restore_templates(handle: EnvHandle, request: GwRequest) -> Reply:
    """Apply solution: the maps of the named solutions become templates (all or none)."""
    check_cid(handle, request.args["cid"])
    names = _solution_names(request.json())
    error = None
    try:
        with handle.atomic():
            for name in names:
                handle.env.apply_solution(name)
    except LiveError as exc:
        error = exc.message
    request_id = str(uuid.uuid4())
    now = iso(handle.env.now())
    handle.side["solution_requests"][request_id] = {
        "requestId": request_id,
        "action": "2",
        "createdOn": now,
        "modifiedOn": now,
        "state": "1",
        "result": {"message": "", "status": "InProgress"},
        "rootActivityId": stable_id("activity", request_id),
        "_remaining": handle.config.polls,
        "_error": error,
    }
    handle.save()
    return reply(200, {"requestId": request_id})


def solution_status(handle: EnvHandle, request: GwRequest) -> Reply:
    check_cid(handle, request.args["cid"])
    entry = handle.side["solution_requests"].get(request.args["request_id"])
    if entry is None:
        raise GatewayError(
            404, "request.not_found", f"Request '{request.args['request_id']}' was not found."
        )
    if entry["state"] == "1":
        entry["_remaining"] -= 1
        if entry["_remaining"] <= 0:
            error = entry["_error"]
            entry["state"] = "3" if error else "2"
            entry["result"] = {
                "message": error or "Success",
                "status": "Failed" if error else "Succeeded",
            }
            entry["modifiedOn"] = iso(handle.env.now())
        handle.save()
    return reply(200, {k: v for k, v in entry.items() if not k.startswith("_")})


def _order(found: dict[str, MapView], name: str, seen: list[str], visiting: set[str]) -> None:
    if name in seen or name in visiting:
        return
    visiting.add(name)
    view = found.get(name)
    depends_on = (view.definition.get("depends_on") or []) if view else []
    for dependency in depends_on:
        _order(found, str(dependency), seen, visiting)
    seen.append(name)


def _tid_of(handle: EnvHandle, found: dict[str, MapView], name: str) -> str | None:
    view = found.get(name)
    if view is None:
        return None
    live = view.live
    version = live.active_version or (live.versions[-1] if live.versions else None)
    return handle.template_id(name, version) if version else None


def prerequisite_sequences(handle: EnvHandle, tids: list[str]) -> list[list[str]]:
    """For each template: its prerequisite maps' templates, dependencies first, then itself."""
    state = handle.env.read()
    found = views(state)
    by_id = {handle.template_id(t.name, t.version): t for t in state.templates}
    sequences = []
    for tid in tids:
        template = by_id.get(tid.lower())
        if template is None:
            raise GatewayError(400, "request.invalid", f"Template '{tid}' was not found.")
        names: list[str] = []
        _order(found, template.name, names, set())
        ids = [_tid_of(handle, found, n) for n in names[:-1]]
        sequences.append([i for i in ids if i] + [tid.lower()])
    return sequences


def get_connection_set(handle: EnvHandle, request: GwRequest) -> Reply:
    check_cid(handle, request.args["cname"])
    return reply(200, shapes.connection_set(handle, handle.env.link()))


def reset(handle: EnvHandle, request: GwRequest) -> Reply:
    check_cid(handle, request.args["cid"])
    body = request.json() or {}
    force = request.params.get("forceReset", "false").lower() == "true"
    if not isinstance(body, dict):
        raise GatewayError(400, "request.invalid", "Expected a ResetLinkPayload object.")
    known = {handle.ce_name.lower(), handle.config.fo_host.lower()}
    for side in body.get("environments") or []:
        name = str((side or {}).get("name") or "").lower() if isinstance(side, dict) else ""
        if name not in known:  # inferred: the link is reset between the two it links
            raise GatewayError(
                400, "request.invalid", f"'{name}' is not an environment of the link."
            )
    codes = body.get("legalEntities") or []
    handle.env.reset_link(force, [str(c) for c in codes])
    handle.side["projects"].clear()  # the maps went with their projects
    handle.save()
    return reply(200)


def refresh(handle: EnvHandle, request: GwRequest) -> Reply:
    """Refresh tables: the project is named by its name (`DWM-…`, the `name` of its field
    mapping), as DWMapEngine.refreshTable names it; the body is `{"tokens": [""]}`."""
    live = handle.env.find_map(request.args["project"])
    if live is None or not shapes.initialized(handle, live):
        raise GatewayError(
            404, "map.not_found", f"Project '{request.args['project']}' was not found."
        )
    return reply(200)


def integration_keys(handle: EnvHandle, request: GwRequest) -> Reply:
    if request.args["dataset"].lower() not in (handle.ce_name.lower(), handle.powerapps_env):
        raise GatewayError(
            404, "dataset.not_found", f"Dataset '{request.args['dataset']}' was not found."
        )
    body = request.json()
    keys = body.get("integrationKeys") if isinstance(body, dict) else None
    if not isinstance(keys, dict):
        raise GatewayError(
            400, "request.invalid", 'Expected {"integrationKeys": {"<set>": [...]}}.'
        )
    with handle.atomic():
        for table, columns in keys.items():
            if not isinstance(columns, list):
                raise GatewayError(400, "request.invalid", f"The key of '{table}' must be a list.")
            handle.env.set_integration_keys(str(table), [str(c) for c in columns])
    return reply(200)


def executions(handle: EnvHandle, request: GwRequest) -> Reply:
    live = next(
        (
            m
            for m in handle.env.read().maps
            if handle.pid_of(m.name) == request.args["pid"].lower()
            and shapes.initialized(handle, m)
        ),
        None,
    )
    if live is None:
        raise GatewayError(404, "map.not_found", f"Project '{request.args['pid']}' was not found.")
    status = {RunState.INITIALIZING: "Running", RunState.NOT_RUNNING: "NotStarted"}.get(
        live.state, "Completed"
    )
    if live.last_error:
        status = "Failed"
    leg = {
        "status": status,
        "exportRecordCount": 0,
        "importRecordsInsertedCount": 0,
        "exportErrors": [],
        "importErrors": [live.last_error] if live.last_error else [],
    }
    execution = {
        "executionStatus": status,
        "companies": list(handle.env.link().legal_entities),
        "taskExecutionStatuses": [{"legs": [leg]}],
    }
    return reply(200, {"projectName": live.project_id, "projectExecutionResponses": [execution]})
