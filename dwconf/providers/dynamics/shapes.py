"""The services' answers as the live model's types, and back: DWMaps as `LiveMap`s, map rows as
definitions, the connection set as keys, legal entities and alert settings, the Reset link body,
and dwconf's lease and deployment-record rows.

Every answer is checked against `wire` first; values the structs allow but dwconf can't
interpret (a map state outside `DWEnums.MapStatus`, an alert's unit of time) raise a
`ShapeError` naming the field, rather than being guessed.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from typing import Any

from dwconf.desired import canonical_map
from dwconf.live import AlertSetting, DeploymentRecord, LastRequest, Lease, LiveMap, RunState
from dwconf.live.state import Definition, MasterSide, Provenance
from dwconf.live.versions import sort_versions
from dwconf.package import shapes
from dwconf.package.errors import PackageError
from dwconf.providers.dynamics import wire
from dwconf.providers.dynamics.wire import ShapeError

Json = dict[str, Any]
# DWEnums.MapStatus: 0 None, 1 Stopped, 2 InitialSync, 3 CatchUp, 4 Running, 5 Paused, 6 NotRunning
STATES = {
    "0": RunState.NOT_RUNNING,
    "1": RunState.NOT_RUNNING,
    "6": RunState.NOT_RUNNING,
    "2": RunState.INITIALIZING,
    "3": RunState.RESUMING,
    "4": RunState.RUNNING,
    "5": RunState.PAUSED,
}
# DWEnums.StartStop and DWMapEngine.startStopMap: "8" initializes a map that has no project.
ACTION_CODES = {"start": "1", "stop": "4", "pause": "5", "resume": "6", "initialize": "8"}
ACTIONS = {code: name for name, code in ACTION_CODES.items()}
# DWEnums.RequestStatus
WAITING, COMPLETED, FAILED = "1", "2", "3"
REQUEST_STATES: dict[str, Any] = {WAITING: "waiting", COMPLETED: "completed", FAILED: "error"}
# DWEnums.DataMaster descriptions, sent as conflictResolution.master
MASTERS: dict[MasterSide, str] = {"dataverse": "CRM", "finops": "AX"}
ORDER_KEY = "@dwconf.order"  # in dwconf_desired: orders records made in the same second
PROVENANCE_KEY = "@dwconf.provenance"  # in dwconf_desired: where the desired state came from
KEY_NAMES = ("userkeys", "userkey")  # DWCommonEngine.getIntegrationKey
ENTITIES = "read the table maps"
LINK = "read the link"


# Maps -----------------------------------------------------------------------------------------


def template_refs(dwmap: wire.DWMap) -> list[tuple[str, str]]:
    """(template id, version) of every version the map has."""
    found = []
    for template in dwmap.detail.templates or []:
        if template.id and template.version:
            found.append((template.id.lower(), template.version.text))
    return found


def template_authors(dwmap: wire.DWMap) -> list[tuple[str, str, str]]:
    """(template id, version, author) of every version the map has."""
    found = []
    for template in dwmap.detail.templates or []:
        if template.id and template.version:
            found.append((template.id.lower(), template.version.text, template.author or ""))
    return found


def active_ref(dwmap: wire.DWMap) -> tuple[str, str] | None:
    detail = dwmap.detail
    template = detail.template
    tid = detail.tid or (template.id if template else None)
    version = template.version.text if template and template.version else None
    return (tid.lower(), version) if tid and version else None


def fallback_name(dwmap: wire.DWMap) -> str:
    """A map no Dataverse row names: dwconf's `<F&O entity> (<Dataverse set>)`."""
    left = dwmap.leftEntity.name if dwmap.leftEntity else None
    right = dwmap.rightEntity.name if dwmap.rightEntity else None
    return shapes.foreign_map_name(left or "", right or "")


def run_state(call: str, code: str | None, field: str = "detail.state") -> RunState:
    found = STATES.get(code or "0")
    if found is None:
        raise ShapeError(
            call, field, "a map status of DWEnums.MapStatus (0 to 6)", wire.shown(code)
        )
    return found


def last_request(raw: wire.LastRequest | None) -> LastRequest | None:
    if raw is None or not raw.requestId:
        return None
    created = wire.utc(raw.createdOn) or datetime.fromtimestamp(0, UTC)
    return LastRequest(
        id=raw.requestId,
        action=ACTIONS.get(raw.action or "", raw.action or ""),
        state=REQUEST_STATES.get(raw.state or "", "waiting"),
        error=raw.errorMessage,
        created=created,
        modified=wire.utc(raw.modifiedOn) or created,
    )


def _paused_since(detail: wire.MapDetail) -> datetime | None:
    pauses = [r for r in detail.lastRequests or [] if r.action == ACTION_CODES["pause"]]
    return wire.utc(pauses[-1].createdOn) if pauses else None


def live_map(
    call: str,
    dwmap: wire.DWMap,
    name: str,
    master: MasterSide | None,
    refs: list[tuple[str, str]] | None = None,
) -> LiveMap:
    """The map a DWMap describes; `refs` are its `template_refs` when already known. The
    struct has no error of its own: a map shows the error of its last request, if it failed."""
    detail = dwmap.detail
    state = run_state(call, detail.state)
    active = active_ref(dwmap)
    refs = template_refs(dwmap) if refs is None else refs
    request = last_request(detail.lastRequest)
    return LiveMap(
        name=name,
        project_id=detail.pid or "",
        active_version=active[1] if active else None,
        state=state,
        versions=tuple(sort_versions(sorted({v for _, v in refs}))),
        paused_since=_paused_since(detail) if state is RunState.PAUSED else None,
        master=master,
        last_request=request,
        last_error=request.error if request and request.state == "error" else None,
    )


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


def field_mapping_definition(found: wire.FieldMapping, name: str, version: str) -> Definition:
    """What a DWFieldMapping tells of the active definition: its legs, not dwconf's extras."""
    legs = [leg for task in found.entityMappingTasks or [] for leg in task.legs or []]
    return definition({"name": name, "legs": legs}, {}, version, name)


# The link -------------------------------------------------------------------------------------


def _dataverse_side(link: wire.ConnectionSet) -> wire.LinkEnvironment | None:
    """DWCommonEngine.getConnectionSetEnvironment: targetType CRM, or one containing CDS."""
    for side in link.sides():
        kind = (side.targetType or "").upper()
        if kind == "CRM" or "CDS" in kind:
            return side
    return None


def _finops_side(link: wire.ConnectionSet) -> wire.LinkEnvironment | None:
    return next((s for s in link.sides() if (s.targetType or "").upper() == "AX"), None)


def integration_keys(link: wire.ConnectionSet) -> dict[str, tuple[str, ...]]:
    found: dict[str, tuple[str, ...]] = {}
    side = _dataverse_side(link)
    for schema in (side.schemas or []) if side else []:
        for key in schema.keys or []:
            if (key.name or "").lower() in KEY_NAMES and key.fields and schema.name:
                found[schema.name] = tuple(key.fields)
    return dict(sorted(found.items()))


def dataset_name(link: wire.ConnectionSet) -> str:
    """The Dataverse side's name, which `IntegrationKeys` takes as its dataset."""
    side = _dataverse_side(link)
    return (side.name or "") if side else ""


def reset_body(link: wire.ConnectionSet, codes: tuple[str, ...]) -> Json:
    """The Reset link body as ResetLinkEngine builds it: the Dataverse side, then F&O, each as
    the connection set has it now, and the legal entities to link."""
    sides = [s for s in (_dataverse_side(link), _finops_side(link)) if s is not None]
    dataverse = _dataverse_side(link)
    return {
        "powerAppsEnvironmentName": dataverse.powerAppsEnvironment if dataverse else None,
        "environments": [
            {
                "targetType": s.targetType,
                "name": s.name,
                "displayName": s.environmentDisplayName,
                "id": s.powerAppsEnvironment,
                "isDevInstance": s.isDevInstance,
                "directUrl": s.directUrl,
            }
            for s in sides
        ],
        "legalEntities": list(codes),
    }


def legal_entities(link: wire.ConnectionSet) -> tuple[str, ...]:
    """The left (F&O) names of the legal-entity mappings, once each, in their order."""
    detail = link.dualWriteDetail
    mappings = detail.legalEntityMappings if detail else None
    found: list[str] = []
    for pair in (mappings.mappings if mappings else None) or []:
        code = pair.left.name if pair.left else None
        if code and code not in found:
            found.append(code)
    return tuple(found)


# Alert settings: the struct (name, state, errorTypes, threshold {count, interval, unitOfTime},
# action) read as dwconf's (name, error_type, threshold, window_minutes, action). The words the
# service uses in errorTypes, unitOfTime and action aren't public: these readings are inferred.
MINUTES = {"second": 1 / 60, "minute": 1, "min": 1, "hour": 60, "day": 1440}
NO_ACTION = ("", "none", "noaction")


def _error_type(types: list[str] | None) -> str:
    kinds = set()
    for value in types or []:
        word = value.lower()
        kinds.add("application" if "app" in word else "connection" if "conn" in word else "any")
    return kinds.pop() if len(kinds) == 1 else "any"


def _window(index: int, threshold: wire.Threshold) -> int:
    unit = (threshold.unitOfTime or "minute").lower().rstrip("s").replace(" ", "")
    factor = MINUTES.get(unit)
    if factor is None:
        field = f"dualWriteDetail.alertSettings[{index}].threshold.unitOfTime"
        raise ShapeError(LINK, field, "seconds, minutes, hours or days", wire.shown(unit))
    return max(1, math.ceil(threshold.interval * factor))


def _action(index: int, raw: str | None) -> str:
    word = (raw or "").lower().replace(" ", "")
    for action in ("pause", "stop"):
        if action in word:
            return action
    if word in NO_ACTION:
        return "none"
    field = f"dualWriteDetail.alertSettings[{index}].action"
    raise ShapeError(LINK, field, "pause, stop or none", wire.shown(raw))


def alerts(link: wire.ConnectionSet) -> tuple[AlertSetting, ...]:
    """The link's alert settings. Their recipients are not part of the struct: `notify` is
    None (unknown), which plans and drift leave out of the comparison."""
    found = []
    detail = link.dualWriteDetail
    for index, raw in enumerate((detail.alertSettings if detail else None) or []):
        threshold = raw.threshold or wire.Threshold()
        found.append(
            AlertSetting(
                name=raw.name or "",
                error_type=_error_type(raw.errorTypes),
                threshold=threshold.count,
                window_minutes=_window(index, threshold),
                action=_action(index, raw.action),
                notify=None,
            )
        )
    return tuple(found)


def same_alerts(live: tuple[AlertSetting, ...], wanted: tuple[AlertSetting, ...]) -> bool:
    """Equal as far as the gateway shows them (recipients unknown there)."""
    return tuple(a.without_notify() for a in live) == tuple(a.without_notify() for a in wanted)


# dwconf's rows --------------------------------------------------------------------------------


def lease(row: Json) -> Lease:
    found: wire.LeaseRow = wire.parse("read the lock", wire.LeaseRow, row)
    created, expires = wire.utc(found.createdon), wire.utc(found.dwconf_expireson)
    assert created is not None and expires is not None  # required by the row's model
    return Lease(
        id=found.dwconf_leaseid,
        owner=found.dwconf_owner or "",
        operation=found.dwconf_operation or "",
        plan_id=found.dwconf_planid or None,
        created=created,
        expires=expires,
    )


def record(row: Json) -> tuple[DeploymentRecord, int]:
    """A deployment record, and the order stamp dwconf wrote with it (0 when none)."""
    found: wire.RecordRow = wire.parse("read the deployment records", wire.RecordRow, row)
    stored = dict(_loads(found.dwconf_desired) or {})
    order = stored.get(ORDER_KEY, 0)
    provenance = Provenance.of(stored.get(PROVENANCE_KEY))
    made = DeploymentRecord(
        id=found.dwconf_deploymentrecordid,
        created=wire.utc(found.createdon) or datetime.fromtimestamp(0, UTC),
        who=found.dwconf_who or "",
        plan_hash=found.dwconf_planhash or "",
        git_commit=found.dwconf_gitcommit,
        solution_versions=dict(_loads(found.dwconf_solutionversions) or {}),
        status=found.dwconf_status or "",
        provenance=provenance,
    )
    return made, int(order) if isinstance(order, int | float) else 0


def record_desired(row: Json) -> dict[str, Any]:
    """The desired state a deployment record's row holds, without the order stamp and the
    provenance dwconf keeps in it."""
    stored = dict(_loads(row.get("dwconf_desired")) or {})
    stored.pop(ORDER_KEY, None)
    stored.pop(PROVENANCE_KEY, None)
    return stored
