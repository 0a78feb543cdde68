"""The live model in the gateway's JSON shapes: DWMap, templates, lastRequests (DWMaps.cs),
DWFieldMapping (DWFieldMapping.cs) and DWConnectionSet (DWConnectionSet.cs) of Microsoft's
client; camelCase, states and actions as strings. Only fields those structs have are served
(docs/evidence.md); the values of fields whose vocabulary isn't public (alert error types,
units, actions) are the emulator's choice, marked *inferred* there.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from dwconf.emulator import mapping
from dwconf.emulator.dataverse.tables import publisher_info
from dwconf.emulator.gateway.views import MapView
from dwconf.emulator.registry import EnvHandle, iso, stable_id
from dwconf.live import LastRequest, LiveMap, LiveState, MapTemplate, RunState
from dwconf.live.state import LinkSettings

Json = dict[str, Any]
MAP_STATES = {
    RunState.INITIALIZING: "2",
    RunState.RESUMING: "3",
    RunState.RUNNING: "4",
    RunState.PAUSED: "5",
}
REQUEST_STATES = {"waiting": "1", "completed": "2", "error": "3"}
# DWEnums.StartStop: "8" initializes (gives a map its project); an initial sync is a "1".
ACTION_CODES = {"start": "1", "stop": "4", "pause": "5", "resume": "6", "initialize": "8"}
LIVE_ACTIONS = {"start": "1", "initial_sync": "1", "stop": "4", "pause": "5", "resume": "6"}
# inferred: the words of alert settings (DWConnectionSet.cs shows the fields, not the values)
ERROR_TYPES = {"application": ["Application"], "connection": ["Connection"]}
ALERT_ACTIONS = {"pause": "Pause", "stop": "Stop", "none": "None"}
AVAILABLE = {
    RunState.NOT_RUNNING: ["1", "8"],
    RunState.RUNNING: ["4", "5"],
    RunState.PAUSED: ["6", "4"],
}


def map_state(live: LiveMap) -> str:
    """0 None, 1 Stopped, 2 InitialSync, 3 CatchUp, 4 Running, 5 Paused, 6 NotRunning."""
    if live.state is RunState.NOT_RUNNING:
        return "1" if live.last_request is not None else "6"
    return MAP_STATES[live.state]


def version(text: str) -> Json:
    parts = [int(p) for p in text.split(".")] + [0, 0, 0, 0]
    return {
        "major": parts[0],
        "minor": parts[1],
        "build": parts[2],
        "revision": parts[3],
        "majorRevision": 0,
        "minorRevision": parts[3],
    }


def template(handle: EnvHandle, view: MapView, found: MapTemplate) -> Json:
    """One of the view's templates."""
    solution = view.solution(found.solution)
    author = solution.publisher if solution else ""
    prefix = publisher_info(handle, author).prefix if author else "new"
    return {
        "id": handle.template_id(found.name, found.version),
        "name": mapping.msdyn_name(found.definition, prefix),
        "displayName": found.name,
        "author": author,
        "readOnly": bool(solution and solution.managed),
        "tags": [],
        "description": found.definition.get("description") or "",
        "createdDateTime": None,
        "version": version(found.version),
    }


def initialized(handle: EnvHandle, live: LiveMap) -> bool:
    """A map has a project once initialized (action "8"), or once it ever ran."""
    if live.name in handle.side["projects"]:
        return True
    return live.last_request is not None or live.state is not RunState.NOT_RUNNING


def pid(handle: EnvHandle, live: LiveMap) -> str | None:
    """`detail.pid`: null until the map is initialized (DWMapEngine.checkAddInitMaps)."""
    return handle.pid_of(live.name) if initialized(handle, live) else None


def request_json(request: LastRequest, request_id: str | None = None) -> Json:
    return {
        "requestId": request_id or request.id,
        "action": LIVE_ACTIONS.get(request.action, request.action),
        "createdOn": iso(request.created),
        "modifiedOn": iso(request.modified),
        "state": REQUEST_STATES[request.state],
        "errorMessage": request.error,
        "errorUri": None,
        "rootActivityId": stable_id("activity", request.id),
    }


def _gateway_requests(handle: EnvHandle, live: LiveMap) -> list[Json]:
    """The gateway requests that named this map, with their state now."""
    found = []
    for request_id, entry in handle.side["map_requests"].items():
        mine = entry["maps"].get(live.name)
        if mine is None:
            continue
        state, error = "2", mine.get("error")
        current = live.last_request
        if entry.get("polls", 0) <= handle.config.request_polls:
            state, error = "1", None  # still waiting: requests are asynchronous
        elif error:
            state = "3"
        elif current is not None and mine.get("live") == current.id:
            state, error = REQUEST_STATES[current.state], current.error
        found.append(
            {
                "requestId": request_id,
                "action": entry["action"],
                "createdOn": entry["created"],
                "modifiedOn": entry["created"],
                "state": state,
                "errorMessage": error,
                "errorUri": None,
                "rootActivityId": stable_id("activity", request_id),
            }
        )
    return found


def _last_requests(handle: EnvHandle, live: LiveMap) -> list[Json]:
    requests = _gateway_requests(handle, live)
    current = live.last_request
    covered = {
        e["maps"][live.name].get("live")
        for e in handle.side["map_requests"].values()
        if live.name in e["maps"]
    }
    if current is not None and current.id not in covered:
        requests.append(request_json(current))
    return sorted(requests, key=lambda r: str(r["createdOn"]))


def dw_map(handle: EnvHandle, view: MapView) -> Json:
    live = view.live
    definition = view.definition
    finops, dataverse = mapping.entities(definition)
    active = view.active
    requests = _last_requests(handle, live)
    return {
        "leftEntity": {"targetType": "AX", "name": finops, "displayName": finops},
        "rightEntity": {"targetType": "CRM", "name": dataverse, "displayName": dataverse},
        "detail": {
            "tid": handle.template_id(active.name, active.version) if active else None,
            "tName": mapping.t_name(definition),
            "tags": [],
            "template": template(handle, view, active) if active else None,
            "templates": [template(handle, view, t) for t in view.templates],
            "pid": pid(handle, live),
            "state": map_state(live),
            "actions": AVAILABLE.get(live.state, []),
            "isProjectDeleted": False,
            "lastRequest": requests[-1] if requests else None,
            "lastRequests": requests,
        },
    }


def _schema(name: str, fields: list[str | None], keys: list[str]) -> Json:
    return {
        "name": name,
        "fields": [
            {
                "name": f,
                "displayName": f,
                "isRequired": False,
                "isReadonly": False,
                "typeDetails": {},
            }
            for f in fields
            if f
        ],
        "keys": [
            {"name": "UserKeys", "fields": keys, "isIntegrationKey": True, "isPrimaryKey": False}
        ]
        if keys
        else [],
        "companyContextFields": [],
    }


def field_mapping(handle: EnvHandle, view: MapView, key: Sequence[str]) -> Json:
    """A map's field mapping; `key` is the integration key of its Dataverse table."""
    live = view.live
    definition = view.definition
    finops, dataverse = mapping.entities(definition)
    fields = definition.get("fields") or []
    active = view.active
    return {
        "id": handle.pid_of(live.name),
        "name": live.project_id,  # the project's name, `DWM-<guid>-<guid>`: what Refresh takes
        "displayName": mapping.t_name(definition),
        "isDualWriteProject": True,
        "isDualWriteEnabled": live.state is not RunState.NOT_RUNNING,
        "skipInitialSync": live.master is None,
        "templateIdentifier": None
        if active is None
        else {
            "id": handle.template_id(active.name, active.version),
            "name": template(handle, view, active)["name"],
            "displayName": active.name,
            "version": version(active.version),
        },
        "environments": [
            {
                "name": handle.config.fo_host,
                "targetType": "AX",
                "schemas": [_schema(finops, [f.get("finops") for f in fields], [])],
            },
            {
                "name": handle.ce_name,
                "targetType": "CRM",
                "schemas": [_schema(dataverse, [f.get("dataverse") for f in fields], list(key))],
            },
        ],
        "entityMappingTasks": [
            {
                "name": mapping.t_name(definition),
                "order": 0,
                "leftEnvironmentType": "AX",
                "centerEnvironmentType": "CRM",
                "legs": [mapping.leg(definition)],
            }
        ],
    }


def alert_json(alert: Any) -> Json:
    """An AlertSetting struct; the recipients have no field in it, so they aren't served."""
    return {
        "name": alert.name,
        "state": "Enabled",
        "errorTypes": ERROR_TYPES.get(alert.error_type, ["Application", "Connection"]),
        "threshold": {
            "count": alert.threshold,
            "interval": alert.window_minutes,
            "unitOfTime": "Minutes",
        },
        "action": ALERT_ACTIONS.get(alert.action, "None"),
    }


def connection_set(handle: EnvHandle, state: LinkSettings | LiveState) -> Json:
    schemas = [
        {
            "name": table,
            "keys": [
                {
                    "name": "UserKeys",
                    "fields": list(columns),
                    "isIntegrationKey": True,
                    "isPrimaryKey": False,
                }
            ],
        }
        for table, columns in sorted(state.integration_keys.items())
    ]
    mappings = [
        {
            "left": {"name": code, "id": code},
            "right": {"name": code, "id": stable_id("company", code)},
        }
        for code in state.legal_entities
    ]
    return {
        "id": handle.cid,
        "name": handle.cname,
        "displayName": f"{handle.name} (emulated)",
        "forDualWrite": True,
        "environments": {
            handle.config.fo_host: {
                "name": handle.config.fo_host,
                "connectionSetName": handle.cname,
                "targetType": "AX",
                "schemas": [],
                "environmentDisplayName": f"{handle.name} finance and operations (emulated)",
                "directUrl": f"https://{handle.config.fo_host}",
                "isDevInstance": True,
            },
            handle.ce_name: {
                "name": handle.ce_name,
                "connectionSetName": handle.cname,
                "targetType": "CRM",
                "schemas": schemas,
                "environmentDisplayName": f"{handle.name} Dataverse (emulated)",
                "powerAppsEnvironment": handle.powerapps_env,
                "isDevInstance": True,
            },
        },
        "dualWriteDetail": {
            "legalEntityMappings": {"mappings": mappings},
            "conflictResolution": {"option": "1", "master": "CRM"},
            "alertSettings": [alert_json(a) for a in state.alerts],
            "isSolutionAware": True,
            "solutionAwareRequests": [],
            "scheduledRequests": [],
            "errorTableNames": [],
        },
    }
