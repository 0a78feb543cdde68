"""The live state seen as objects by address, in the same shape as the desired state's.

Only what both sides can express is compared: a solution's version and the content of the map
definitions it carries, a map's active definition, solution and run state, keys, legal
entities and alerts. Microsoft's own solutions are not dwconf objects and are left out.

The service has no "delete map": dwconf removes a map by stopping it and re-importing its
solution without it. A stopped map that no installed solution carries any more is therefore
gone as far as a plan is concerned.
"""

from __future__ import annotations

from dwconf.desired import content_hash
from dwconf.live import LiveState, RecordReader
from dwconf.live.state import DeploymentRecord, LiveMap, RunState
from dwconf.model.common import slug
from dwconf.objects import Object, alert_object, objects_of

_STATE = {
    RunState.NOT_RUNNING: "stopped",
    RunState.INITIALIZING: "running",
    RunState.RUNNING: "running",
    RunState.PAUSED: "paused",
    RunState.RESUMING: "running",
}


def map_state(live: LiveMap) -> str:
    """The run state in the configuration's words (running | stopped | paused)."""
    return _STATE[live.state]


def _removed(live: LiveMap, carried: set[str]) -> bool:
    return live.state is RunState.NOT_RUNNING and live.name not in carried


def _maps(state: LiveState) -> dict[str, Object]:
    templates = {(t.name, t.version): t for t in state.templates}
    carried = {m.name for s in state.solutions for m in s.maps}
    found: dict[str, Object] = {}
    for live in state.maps:
        if _removed(live, carried):
            continue
        template = templates.get((live.name, live.active_version or ""))
        found[f"map.{slug(live.name)}"] = {
            "kind": "map",
            "solution": template.solution if template else None,
            "state": map_state(live),
            "definition": template.definition if template else None,
        }
    return found


# The content of a solution that was imported and not applied (an apply stopped between the
# two): its maps are not available to the service yet, so it differs from any desired content
# and a plan applies it again, instead of switching maps to versions that don't exist.
NOT_APPLIED = "imported, not applied"


def _solutions(state: LiveState, names: set[str]) -> dict[str, Object]:
    available = {(t.name, t.version) for t in state.templates}
    found: dict[str, Object] = {}
    for solution in state.solutions:
        if solution.unique_name not in names:
            continue
        applied = all((m.name, m.version) in available for m in solution.maps)
        found[f"solution.{solution.unique_name}"] = {
            "kind": "solution",
            "unique_name": solution.unique_name,
            "version": solution.version,
            "maps": sorted(m.name for m in solution.maps),
            "content": (
                content_hash([dict(m.definition) for m in solution.maps])
                if applied
                else NOT_APPLIED
            ),
        }
    return found


def last_succeeded(records: tuple[DeploymentRecord, ...]) -> DeploymentRecord | None:
    return next((r for r in reversed(records) if r.status == "succeeded"), None)


def recorded_objects(records: RecordReader, record: DeploymentRecord) -> dict[str, Object]:
    """The desired state a deployment record holds, by address, read with `records`."""
    return objects_of(records.record_desired(record.id), f"deployment record {record.id}")


def recorded_state(state: LiveState, records: RecordReader) -> dict[str, Object]:
    """The desired state of the last successful apply in `state` (empty when there is none),
    read with `records`."""
    last = last_succeeded(state.records)
    return {} if last is None else recorded_objects(records, last)


def live_objects(state: LiveState, solution_names: set[str]) -> dict[str, Object]:
    """Live objects by address; `solution_names` are the solutions dwconf manages."""
    objects: dict[str, Object] = {}
    objects.update(_solutions(state, solution_names))
    objects.update(_maps(state))
    for table, columns in state.integration_keys.items():
        objects[f"key.{table}"] = {"kind": "key", "table": table, "columns": list(columns)}
    objects["link.legal_entities"] = {
        "kind": "link",
        "legal_entities": sorted(state.legal_entities),
    }
    for alert in state.alerts:
        objects[f"alert.{alert.name}"] = alert_object(alert)
    return dict(sorted(objects.items()))
