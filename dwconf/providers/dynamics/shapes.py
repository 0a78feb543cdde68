"""The services' JSON as the live model's types, and back: gateway DWMaps as `LiveMap`s, map
rows as definitions, the connection set as keys, legal entities and alert settings, and dwconf's
lease and deployment-record rows.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from dwconf.desired import canonical_map
from dwconf.live import AlertSetting, DeploymentRecord, LastRequest, Lease, LiveMap, RunState
from dwconf.live.state import Definition, MasterSide, Provenance
from dwconf.live.versions import sort_versions
from dwconf.package import shapes
from dwconf.package.errors import PackageError

Json = dict[str, Any]
STATES = {
    "0": RunState.NOT_RUNNING,
    "1": RunState.NOT_RUNNING,
    "6": RunState.NOT_RUNNING,
    "2": RunState.INITIALIZING,
    "3": RunState.RESUMING,
    "4": RunState.RUNNING,
    "5": RunState.PAUSED,
}
ACTIONS = {"1": "start", "4": "stop", "5": "pause", "6": "resume", "8": "initial_sync"}
ACTION_CODES = {name: code for code, name in ACTIONS.items()}
REQUEST_STATES: dict[str, Any] = {"1": "waiting", "2": "completed", "3": "error"}
MASTERS: dict[MasterSide, str] = {"dataverse": "CRM", "finops": "AX"}
ORDER_KEY = "@dwconf.order"  # in dwconf_desired: orders records made in the same second
PROVENANCE_KEY = "@dwconf.provenance"  # in dwconf_desired: where the desired state came from
KEY_NAMES = ("userkeys", "userkey")


def when(text: Any) -> datetime | None:
    if not text:
        return None
    moment = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def version_text(value: Any) -> str | None:
    """`{major, minor, build, revision}` (or a string) as `a.b.c.d`."""
    if isinstance(value, str):
        return value
    if not isinstance(value, dict):
        return None
    get = value.get
    return (
        f"{int(get('major') or 0)}.{int(get('minor') or 0)}."
        f"{int(get('build') or 0)}.{int(get('revision') or 0)}"
    )


# Maps -----------------------------------------------------------------------------------------


def template_refs(dwmap: Json) -> list[tuple[str, str]]:
    """(template id, version) of every version the map has."""
    detail = dwmap.get("detail") or {}
    found = []
    for template in detail.get("templates") or []:
        version = version_text(template.get("version"))
        if template.get("id") and version:
            found.append((str(template["id"]).lower(), version))
    return found


def active_ref(dwmap: Json) -> tuple[str, str] | None:
    detail = dwmap.get("detail") or {}
    template = detail.get("template") or {}
    tid = detail.get("tid") or template.get("id")
    version = version_text(template.get("version"))
    return (str(tid).lower(), version) if tid and version else None


def fallback_name(dwmap: Json) -> str:
    """The map's name as the gateway shows it: dwconf's `<F&O entity> (<Dataverse set>)`."""
    detail = dwmap.get("detail") or {}
    if detail.get("displayName"):
        return str(detail["displayName"])
    left = (dwmap.get("leftEntity") or {}).get("name") or ""
    right = (dwmap.get("rightEntity") or {}).get("name") or ""
    return shapes.foreign_map_name(str(left), str(right))


def _request(raw: Any) -> LastRequest | None:
    if not isinstance(raw, dict) or not raw.get("requestId"):
        return None
    created = when(raw.get("createdOn")) or datetime.fromtimestamp(0, UTC)
    return LastRequest(
        id=str(raw["requestId"]),
        action=ACTIONS.get(str(raw.get("action")), str(raw.get("action"))),
        state=REQUEST_STATES.get(str(raw.get("state")), "waiting"),
        error=raw.get("errorMessage"),
        created=created,
        modified=when(raw.get("modifiedOn")) or created,
    )


def _paused_since(detail: Json) -> datetime | None:
    pauses = [r for r in detail.get("lastRequests") or [] if str(r.get("action")) == "5"]
    return when(pauses[-1].get("createdOn")) if pauses else None


def live_map(
    dwmap: Json, name: str, master: MasterSide | None, refs: list[tuple[str, str]] | None = None
) -> LiveMap:
    """The map a DWMap describes; `refs` are its `template_refs` when already known."""
    detail = dwmap.get("detail") or {}
    state = STATES.get(str(detail.get("state")), RunState.NOT_RUNNING)
    active = active_ref(dwmap)
    refs = template_refs(dwmap) if refs is None else refs
    return LiveMap(
        name=name,
        project_id=str(detail.get("pid") or ""),
        active_version=active[1] if active else None,
        state=state,
        versions=tuple(sort_versions(sorted({v for _, v in refs}))),
        queued=int(detail.get("queuedRecordCount") or 0),
        paused_since=_paused_since(detail) if state is RunState.PAUSED else None,
        master=master,
        last_request=_request(detail.get("lastRequest")),
        last_error=detail.get("errorMessage"),
    )


def project_state(field_mapping: Json) -> RunState:
    return STATES.get(str(field_mapping.get("projectState")), RunState.NOT_RUNNING)


# Definitions ----------------------------------------------------------------------------------


def _loads(text: Any) -> Any:
    if isinstance(text, dict):
        return text
    try:
        return json.loads(text) if text else {}
    except ValueError:
        return None


def definition(mapping: Any, properties: Any, version: str, name: str) -> Definition:
    """A map definition from its `msdyn_mapping` / `msdyn_properties` (or a gateway leg)."""
    try:
        model = shapes.table_map(_loads(mapping), _loads(properties), version, f"map '{name}'")
    except PackageError:
        return {"name": name, "version": version}
    return canonical_map(model)


def row_definition(row: Json) -> Definition:
    return definition(
        row.get("msdyn_mapping"),
        row.get("msdyn_properties"),
        str(row.get("msdyn_version") or ""),
        str(row.get("msdyn_displayname") or row.get("msdyn_name") or ""),
    )


def field_mapping_definition(found: Json, name: str, version: str) -> Definition:
    """What a DWFieldMapping tells of the active definition: its legs, not dwconf's extras."""
    tasks = found.get("entityMappingTasks") or []
    legs = [leg for task in tasks for leg in task.get("legs") or []]
    return definition({"name": name, "legs": legs}, {}, version, name)


# The link -------------------------------------------------------------------------------------


def integration_keys(connection_set: Json) -> dict[str, tuple[str, ...]]:
    found: dict[str, tuple[str, ...]] = {}
    for environment in (connection_set.get("environments") or {}).values():
        if str(environment.get("targetType")).upper() == "AX":
            continue
        for schema in environment.get("schemas") or []:
            for key in schema.get("keys") or []:
                if str(key.get("name", "")).lower() in KEY_NAMES and key.get("fields"):
                    found[str(schema["name"])] = tuple(str(f) for f in key["fields"])
    return dict(sorted(found.items()))


def dataset_name(connection_set: Json) -> str:
    """The Dataverse side's name, which `IntegrationKeys` takes as its dataset."""
    for name, environment in (connection_set.get("environments") or {}).items():
        if str(environment.get("targetType")).upper() != "AX":
            return str(environment.get("name") or name)
    return ""


def reset_body(connection_set: Json, codes: tuple[str, ...]) -> Json:
    """The Reset link body (live-api.md §1.1 #15), from the link as it is now."""
    environments = list((connection_set.get("environments") or {}).values())
    crm = [e for e in environments if str(e.get("targetType")).upper() != "AX"]
    return {
        "powerAppsEnvironmentName": (crm[0].get("powerAppsEnvironment") if crm else None),
        "environments": [
            {
                "targetType": e.get("targetType"),
                "name": e.get("name"),
                "displayName": e.get("displayName") or e.get("name"),
                "id": e.get("id") or e.get("powerAppsEnvironment"),
                "isDevInstance": bool(e.get("isDevInstance")),
                "directUrl": e.get("directUrl"),
            }
            for e in environments
        ],
        "legalEntities": list(codes),
    }


def _detail(connection_set: Json) -> Json:
    found: Json = connection_set.get("dualWriteDetail") or {}
    return found


def legal_entities(connection_set: Json) -> tuple[str, ...]:
    mappings = (_detail(connection_set).get("legalEntityMappings") or {}).get("mappings") or []
    return tuple(str((m.get("left") or {}).get("name", "")) for m in mappings)


def legal_entity_mappings(codes: tuple[str, ...]) -> Json:
    return {"mappings": [{"left": {"name": c, "id": c}, "right": {"name": c}} for c in codes]}


def alerts(connection_set: Json) -> tuple[AlertSetting, ...]:
    found = []
    for raw in _detail(connection_set).get("alertSettings") or []:
        recipients = raw.get("notificationRecipients") or ""
        notify = recipients if isinstance(recipients, list) else str(recipients).split(",")
        found.append(
            AlertSetting(
                name=str(raw.get("name")),
                error_type=str(raw.get("errorType") or "any"),
                threshold=int(raw.get("threshold") or 0),
                window_minutes=int(raw.get("timeWindowInMinutes") or 0),
                action=str(raw.get("action") or "none"),
                notify=tuple(str(n).strip() for n in notify if str(n).strip()),
            )
        )
    return tuple(found)


def alert_json(alert: AlertSetting) -> Json:
    return {
        "name": alert.name,
        "errorType": alert.error_type,
        "threshold": alert.threshold,
        "timeWindowInMinutes": alert.window_minutes,
        "action": alert.action,
        "notificationRecipients": ", ".join(alert.notify),
    }


# dwconf's rows --------------------------------------------------------------------------------


def lease(row: Json) -> Lease:
    created, expires = when(row.get("createdon")), when(row.get("dwconf_expireson"))
    assert created is not None and expires is not None
    plan = row.get("dwconf_planid")
    return Lease(
        id=str(row["dwconf_leaseid"]),
        owner=str(row.get("dwconf_owner") or ""),
        operation=str(row.get("dwconf_operation") or ""),
        plan_id=str(plan) if plan else None,
        created=created,
        expires=expires,
    )


def record(row: Json) -> tuple[DeploymentRecord, int]:
    """A deployment record, and the order stamp dwconf wrote with it (0 when none)."""
    desired = dict(_loads(row.get("dwconf_desired")) or {})
    order = desired.pop(ORDER_KEY, 0)
    provenance = Provenance.of(desired.pop(PROVENANCE_KEY, None))
    found = DeploymentRecord(
        id=str(row["dwconf_deploymentrecordid"]),
        created=when(row.get("createdon")) or datetime.fromtimestamp(0, UTC),
        who=str(row.get("dwconf_who") or ""),
        plan_hash=str(row.get("dwconf_planhash") or ""),
        git_commit=row.get("dwconf_gitcommit"),
        solution_versions=dict(_loads(row.get("dwconf_solutionversions")) or {}),
        stored=desired,
        status=str(row.get("dwconf_status") or ""),
        provenance=provenance,
    )
    return found, int(order) if isinstance(order, int | float) else 0
