"""The dependency graph of the maps of one desired state, and the step graph of a plan.

Edges point the way things happen: from a map to the maps that wait for it. A `depends_on`
edge is an explicit wait; a `lookup` edge says a map's Dataverse lookup reads the table another
map fills (through that table's integration key), which `depends_on` usually, but not always,
states too. Maps are grouped by the Dataverse solution that ships them.

A drawn graph leaves out what it implies (`reduce`): a wait that a longer chain of waits already
makes (A → B → C draws no A → C), and a lookup between maps that a chain of waits joins. At the
size of a real configuration (tens of maps, most waiting for Currencies and Legal entities)
the full graph is a tangle; the reduced one keeps the same order of things.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from graphlib import CycleError, TopologicalSorter

from dwconf.catalog import standard
from dwconf.model.common import slug
from dwconf.objects import Object, as_map, map_name, maps
from dwconf.plan.actions import Category
from dwconf.plan.definition import Plan
from dwconf.plan.order import Step
from dwconf.scaffold.templates import lookup_targets


@dataclass(frozen=True)
class Node:
    id: str
    label: str
    group: str = ""
    category: Category | None = None  # a plan's side effect; None: unchanged


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    kind: str = "depends_on"  # depends_on | lookup | step


@dataclass(frozen=True)
class Graph:
    title: str
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]
    left_out: int = 0  # nodes not shown (kept small)
    notes: tuple[str, ...] = field(default_factory=tuple)
    implied: int = 0  # edges not drawn because other edges imply them (`reduce`)


def _name(address: str, obj: Object | None) -> str:
    """A map's name, or its address when the object does not say."""
    return map_name(obj) or address


def _solution(obj: Object | None) -> str:
    found = as_map(obj)
    return str(found["solution"]) if found else ""


def map_edges(objects: Mapping[str, Object]) -> list[Edge]:
    """depends_on and lookup edges between the maps of a desired state, sorted."""
    found = maps(objects)
    by_table: dict[str, list[str]] = {}
    for address, obj in found.items():
        table = str((obj["definition"] or {}).get("dataverse_table", ""))
        by_table.setdefault(table.lower(), []).append(address)
    catalog = standard()
    edges: set[Edge] = set()
    for address, obj in found.items():
        definition = obj["definition"] or {}
        for name in definition.get("depends_on") or []:
            other = f"map.{slug(name)}"
            if other in found:
                edges.add(Edge(other, address, "depends_on"))
        fields = definition.get("fields") or []
        targets = lookup_targets(fields, str(definition.get("dataverse_table", "")), catalog)
        for table in targets:
            for other in by_table.get(table, []):
                if other != address and Edge(other, address) not in edges:
                    edges.add(Edge(other, address, "lookup"))
    # a lookup that depends_on states too is shown once, as the explicit wait
    return sorted(
        (e for e in edges if e.kind == "depends_on" or Edge(e.source, e.target) not in edges),
        key=lambda e: (e.source, e.target, e.kind),
    )


def _descendants(waits: Mapping[str, set[str]]) -> dict[str, set[str]] | None:
    """Every map each map's waiters lead to, through waits; None when the waits form a cycle
    (validation reports it, DW2602; nothing is implied then)."""
    order = TopologicalSorter(waits)
    try:
        ordered = list(order.static_order())  # waiters first: targets are its predecessors
    except CycleError:
        return None
    found: dict[str, set[str]] = {}
    for node in ordered:
        found[node] = set()
        for target in waits.get(node, ()):
            found[node] |= {target} | found[target]
    return found


def reduce(edges: Sequence[Edge]) -> tuple[list[Edge], int]:
    """The edges to draw and how many were left out: a `depends_on` edge that a longer chain
    of `depends_on` edges implies, and a lookup whose maps a chain of them joins (the
    transitive reduction of the waits). Step and other edges are kept as they are."""
    waits: dict[str, set[str]] = {}
    for e in edges:
        if e.kind == "depends_on":
            waits.setdefault(e.source, set()).add(e.target)
    below = _descendants(waits)
    if below is None:
        return list(edges), 0

    def implied(e: Edge) -> bool:
        if e.kind == "lookup":
            return e.target in below.get(e.source, set())
        if e.kind != "depends_on":
            return False
        others = waits[e.source] - {e.target}
        return any(e.target in below[other] for other in others)

    kept = [e for e in edges if not implied(e)]
    return kept, len(edges) - len(kept)


def dependency_graph(title: str, objects: Mapping[str, Object]) -> Graph:
    """Every map of the desired state, grouped by solution, with the edges that are not
    implied by others."""
    nodes = tuple(
        Node(address, _name(address, obj), str(obj["solution"]))
        for address, obj in sorted(maps(objects).items())
    )
    edges, implied = reduce(map_edges(objects))
    return Graph(title, nodes, tuple(edges), implied=implied)


def _dependents(start: Iterable[str], edges: list[Edge]) -> list[str]:
    """Every map reachable from `start` along edges (what waits for them), breadth first."""
    seen = dict.fromkeys(start)
    queue = list(seen)
    while queue:
        current = queue.pop(0)
        for edge in edges:
            if edge.source == current and edge.target not in seen:
                seen[edge.target] = None
                queue.append(edge.target)
    return list(seen)


def changed_maps_graph(plan: Plan, limit: int = 25) -> Graph | None:
    """The plan's changed maps and the maps that wait for them, at most `limit` nodes (the
    most severe changes first); None when no map changes."""
    changed = sorted(
        (c for c in plan.changes if c.address.startswith("map.")),
        key=lambda c: (-list(Category).index(c.category), c.address),
    )
    if not changed:
        return None
    objects = {**plan.live, **plan.desired}
    edges = map_edges(objects)
    category = {c.address: c.category for c in changed}
    wanted = _dependents([c.address for c in changed], edges)
    shown = wanted[:limit]
    keep = set(shown)

    nodes = tuple(
        Node(
            a,
            _name(a, objects.get(a)),
            _solution(objects.get(a)),
            category.get(a),
        )
        for a in shown
    )
    # reduced among the maps shown: a chain through a map left out implies nothing drawn
    kept, implied = reduce([e for e in edges if e.source in keep and e.target in keep])
    title = f"changed maps in {plan.environment}"
    return Graph(title, nodes, tuple(kept), len(wanted) - len(shown), implied=implied)


def _category(plan: Plan, step: Step) -> Category | None:
    found = [c.category for c in plan.changes if step.carries_out(c.address)]
    return max(found) if found else None


def step_graph(plan: Plan, limit: int = 200) -> Graph:
    """The plan's steps in apply order, numbered, coloured by the most severe category of the
    changes each carries out (a check changes nothing: uncoloured)."""
    steps = plan.steps[:limit]
    ids = {s.id for s in steps}
    nodes = tuple(
        Node(s.id, f"{i}. {s.operation} {s.address}", "", _category(plan, s))
        for i, s in enumerate(steps, 1)
    )
    edges = tuple(Edge(dep, s.id, "step") for s in steps for dep in s.depends_on if dep in ids)
    return Graph(f"plan for {plan.environment}", nodes, edges, len(plan.steps) - len(steps))
