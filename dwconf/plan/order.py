"""The steps that carry out a diff, as a dependency graph (ARCHITECTURE §5).

Order: required solutions checked; dwconf solutions imported in dependency order, then applied;
integration keys; maps whose definition changes stopped; versions switched; maps started in
prerequisite order (initial sync for new maps where the environment asks); alerts. A change of
legal entities is Reset link (`dwconf.plan.reset`): the maps that run stop, the link resets,
and everything after it is built as for a new environment. Independent steps may run in
parallel.
"""

from __future__ import annotations

import enum
import graphlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from dwconf.model.common import slug
from dwconf.objects import Definition, MapObject, Object, as_map, as_solution
from dwconf.plan import bulk
from dwconf.plan.actions import Action
from dwconf.plan.diff import Change
from dwconf.plan.reset import ADDRESS, Reset


class Operation(enum.StrEnum):
    """What one step does to the environment: the closed list apply knows how to run."""

    CHECK_REQUIREMENTS = "check_requirements"
    IMPORT_SOLUTION = "import_solution"
    APPLY_SOLUTION = "apply_solution"
    SET_KEYS = "set_keys"
    STOP_MAP = "stop_map"
    SWITCH_VERSION = "switch_version"
    RESET_LINK = "reset_link"
    START_MAP = "start_map"
    PAUSE_MAP = "pause_map"
    RESUME_MAP = "resume_map"
    PAUSE_MAPS = "pause_maps"
    RESUME_MAPS = "resume_maps"
    SET_ALERTS = "set_alerts"


# The step that sets every alert setting at once (the service takes the whole list in one call).
ALERTS = "alerts"


@dataclass(frozen=True)
class Step:
    id: str
    operation: Operation
    address: str
    depends_on: tuple[str, ...] = ()
    args: Mapping[str, Any] = field(default_factory=dict)

    def carries_out(self, address: str) -> bool:
        """Whether this step makes the change at `address`: the change of its own address;
        for the alerts step, that of every alert; for a step over many maps (`pause_maps`,
        `resume_maps`), that of each of its maps."""
        if address == self.address:
            return True
        if self.address == ALERTS:
            return address.startswith("alert.")
        if self.address == bulk.ADDRESS:
            return address in {f"map.{slug(str(n))}" for n in self.args.get("names", ())}
        return False

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "operation": self.operation,
            "address": self.address,
            "depends_on": list(self.depends_on),
            "args": dict(self.args),
        }


@dataclass
class _Builder:
    desired: Mapping[str, Object]
    live: Mapping[str, Object]
    initial_sync: bool
    steps: dict[str, Step] = field(default_factory=dict)

    def add(
        self, operation: Operation, address: str, after: Iterable[str] = (), **args: Any
    ) -> str:
        step_id = f"{operation}:{address}"
        deps = tuple(sorted({d for d in after if d in self.steps}))
        self.steps[step_id] = Step(step_id, operation, address, deps, args)
        return step_id

    def requires_check(self, solutions: list[Change]) -> str:
        """One step checking the Microsoft solutions that the imported solutions require (read
        from the desired objects: a change holds only what the environment compares)."""
        needed: dict[str, list[str]] = {}
        for change in solutions:
            solution = as_solution(self.desired[change.address])
            for name, constraint in solution.get("requires", {}).items():
                needed.setdefault(name, []).append(constraint)
        return self.add(Operation.CHECK_REQUIREMENTS, "solutions", requires=needed)

    def solution(self, change: Change, check: str, reset: str) -> None:
        after = as_solution(self.desired[change.address])
        deps = [f"import_solution:solution.{d}" for d in after.get("depends_on", [])]
        imported = self.add(
            Operation.IMPORT_SOLUTION,
            change.address,
            [check, *deps],
            unique_name=after["unique_name"],
            version=after["version"],
        )
        self.apply(change.address, [imported, reset])

    def apply(self, address: str, after: Iterable[str]) -> str:
        name = as_solution(self.desired[address])["unique_name"]
        return self.add(Operation.APPLY_SOLUTION, address, after, unique_name=name)

    def reset(self, reset: Reset) -> str:
        """Stop what runs, then Reset link; refused at once when the plan says so."""
        stops = [self.add(Operation.STOP_MAP, a, name=n) for a, n in reset.running.items()]
        args: dict[str, Any] = {"legal_entities": reset.legal_entities}
        if reset.refused:
            args["refused"] = reset.refused
        return self.add(Operation.RESET_LINK, ADDRESS, stops, **args)


def _definition(obj: MapObject) -> Definition:
    if obj["definition"] is None:
        raise TypeError("a map with a definition was expected")
    return obj["definition"]


def _map_name(obj: Object | None) -> str:
    found = as_map(obj)
    if found is None:
        raise TypeError("a map was expected")
    return str(_definition(found)["name"])


def _definition_moved(change: Change) -> bool:
    return change.action is Action.CREATE or any(
        not d.path.startswith("state") for d in change.details
    )


def build_steps(
    changes: Iterable[Change],
    desired: Mapping[str, Object],
    live: Mapping[str, Object],
    *,
    initial_sync: bool,
    reset: Reset | None = None,
) -> tuple[Step, ...]:
    """The ordered steps for `changes`, each knowing the steps it waits for; with `reset`,
    `changes` are those from the environment as Reset link leaves it."""
    changes = list(changes)
    if not changes and reset is None:
        return ()
    b = _Builder(desired, live, initial_sync)
    solutions = [c for c in changes if c.kind == "solution" and c.action is not Action.DELETE]
    check = b.requires_check([c for c in solutions if c.after]) if solutions else ""
    reset_step = b.reset(reset) if reset else ""
    for change in _solution_order(solutions, desired):
        b.solution(change, check, reset_step)
    for address in reset.solutions if reset else ():
        if f"{Operation.APPLY_SOLUTION}:{address}" not in b.steps:
            b.apply(address, [reset_step])
    maps = [c for c in changes if c.kind == "map"]
    stops = _stops(b, maps)
    stops_by_key: dict[str, list[str]] = {}  # the stops of the maps on each key's table
    for m in maps:
        if m.address in stops:
            stops_by_key.setdefault(_key_of(m), []).append(stops[m.address])
    keys = {
        c.address: b.add(
            Operation.SET_KEYS,
            c.address,
            [check, reset_step, *stops_by_key.get(c.address, [])],
            columns=c.after["columns"] if c.after and c.after["kind"] == "key" else [],
        )
        for c in changes
        if c.kind == "key"
    }
    switches = _switches(b, maps, stops)
    _starts(b, maps, switches, _Shared(keys, [reset_step] if reset_step else []), stops)
    if any(c.kind == "alert" for c in changes):
        alerts = [o for a, o in sorted(desired.items()) if o["kind"] == "alert"]
        b.add(Operation.SET_ALERTS, ALERTS, [check, reset_step], alerts=alerts)
    return topological(bulk.grouped(b.steps))


def _key_of(change: Change) -> str:
    """The address of the integration key of a map's Dataverse table."""
    side = as_map(change.after or change.before)
    definition = (side["definition"] if side else None) or {}
    return f"key.{str(definition.get('dataverse_table', '')).lower()}"


@dataclass(frozen=True)
class _Shared:
    """Link-wide steps a map's start waits for: its own table's key, and the legal entities."""

    keys: Mapping[str, str]
    link: list[str]

    def waits(self, change: Change) -> list[str]:
        key = self.keys.get(_key_of(change))
        return [*([key] if key else []), *self.link]


def _solution_order(solutions: list[Change], desired: Mapping[str, Object]) -> list[Change]:
    graph = {
        c.address: {f"solution.{d}" for d in as_solution(desired[c.address]).get("depends_on", [])}
        for c in solutions
    }
    by_address = {c.address: c for c in solutions}
    ordered = graphlib.TopologicalSorter(graph).static_order()
    return [by_address[a] for a in ordered if a in by_address]


def _stops(b: _Builder, maps: list[Change]) -> dict[str, str]:
    """Maps that must stop: running (or paused) maps whose definition changes, that are
    deleted, or whose desired state is stopped."""
    stops: dict[str, str] = {}
    for change in maps:
        before, after = as_map(change.before), as_map(change.after)
        if before is None or before["state"] not in ("running", "paused"):
            continue
        moved = after is not None and _definition_moved(change)
        if after is None or moved or after["state"] == "stopped":
            stops[change.address] = b.add(
                Operation.STOP_MAP, change.address, name=_map_name(before)
            )
    return stops


def _switches(b: _Builder, maps: list[Change], stops: Mapping[str, str]) -> dict[str, str]:
    switches: dict[str, str] = {}
    for change in maps:
        after = as_map(change.after)
        if after is None or not _definition_moved(change):
            continue
        solution = f"apply_solution:solution.{after['solution']}"
        switches[change.address] = b.add(
            Operation.SWITCH_VERSION,
            change.address,
            [solution, stops.get(change.address, "")],
            name=_map_name(after),
            version=_definition(after)["version"],
        )
    return switches


def _starts(
    b: _Builder,
    maps: list[Change],
    switches: Mapping[str, str],
    shared: _Shared,
    stops: Mapping[str, str],
) -> dict[str, str]:
    """Start (resume) steps in prerequisite order: a map waits for the maps it depends on.
    Pauses come last: a map pauses only after the maps that depend on it have started, since
    a map can't start while a prerequisite is not running."""
    by_name = {_map_name(c.after): c for c in maps if c.after is not None}
    starts: dict[str, str] = {}
    pauses: list[tuple[Change, str]] = []
    for name in _prerequisite_order(by_name):
        change = by_name[name]
        after = _wanted(change)
        before = as_map(change.before)
        before_state = before["state"] if before else None
        running_now = before_state in ("running", "paused") and change.address not in stops
        if after["state"] == "stopped" or (running_now and before_state == after["state"]):
            continue
        deps = [starts[d] for d in _depends_on(change) if d in starts]
        waits = [switches.get(change.address, ""), *shared.waits(change), *deps]
        if running_now and after["state"] == "paused":
            pauses.append((change, ""))
        elif running_now:  # paused now, running wanted
            starts[name] = b.add(Operation.RESUME_MAP, change.address, waits, name=name)
        else:
            starts[name] = _start(b, change, waits)
            if after["state"] == "paused":
                pauses.append((change, starts[name]))
    for change, started in pauses:
        name = _map_name(change.after)
        dependents = [
            starts[n] for n, c in by_name.items() if n in starts and name in _depends_on(c)
        ]
        b.add(Operation.PAUSE_MAP, change.address, [started, *dependents], name=name)
    return starts


def _wanted(change: Change) -> MapObject:
    """The map a change of a map makes (one that stays)."""
    after = as_map(change.after)
    if after is None:
        raise TypeError(f"{change.address}: a map that stays was expected")
    return after


def _depends_on(change: Change) -> list[str]:
    after = as_map(change.after)
    return list(((after["definition"] if after else None) or {}).get("depends_on") or [])


def _prerequisite_order(by_name: Mapping[str, Change]) -> list[str]:
    graph = {n: set(_depends_on(c)) & set(by_name) for n, c in by_name.items()}
    return list(graphlib.TopologicalSorter(graph).static_order())


def _start(b: _Builder, change: Change, waits: list[str]) -> str:
    after = _wanted(change)
    master = _definition(after).get("initial_sync", {}).get("master", "dataverse")
    new = change.action is Action.CREATE
    return b.add(
        Operation.START_MAP,
        change.address,
        waits,
        name=_map_name(after),
        initial_sync=bool(new and b.initial_sync),
        master=master,
    )


def topological(steps: Mapping[str, Step]) -> tuple[Step, ...]:
    """Steps in a deterministic dependency order: by depth, then by id."""
    depth: dict[str, int] = {}
    for step_id in graphlib.TopologicalSorter(
        {s.id: set(s.depends_on) for s in steps.values()}
    ).static_order():
        step = steps[step_id]
        depth[step_id] = 1 + max((depth[d] for d in step.depends_on), default=-1)
    return tuple(sorted(steps.values(), key=lambda s: (depth[s.id], s.id)))
