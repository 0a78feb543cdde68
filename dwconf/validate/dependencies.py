"""Project rules over maps: unique names, known `depends_on`, no cycles, dependencies that stay
inside the solution graph, and maps on the same entity and table kept apart by filters."""

from __future__ import annotations

import difflib
import itertools
from collections.abc import Iterator

from dwconf.diagnostics import Diagnostic, error, warning
from dwconf.load.project import MapSpec, Project
from dwconf.validate.graph import find_cycles


def solution_closure(project: Project, folder: str) -> set[str]:
    """`folder` and every solution it depends on, transitively."""
    found: set[str] = set()
    todo = [folder]
    while todo:
        current = todo.pop()
        if current in found:
            continue
        found.add(current)
        spec = project.solutions.get(current)
        if spec and spec.model:
            todo.extend(spec.model.depends_on)
    return found


def unique_maps(project: Project) -> Iterator[Diagnostic]:
    """DW2603: map names and addresses are unique across the repository."""
    seen: dict[str, MapSpec] = {}
    for spec in project.maps():
        first = seen.get(spec.address)
        if first is None:
            seen[spec.address] = spec
            continue
        yield error(
            "DW2603",
            f"map '{spec.model.name}' has the address {spec.address}, already used by "
            f"'{first.model.name}' in {first.doc.path}",
            spec.doc.span(("name",)),
            "give every map a distinct name",
        )


def map_dependencies(project: Project) -> Iterator[Diagnostic]:
    """DW2601/DW2602/DW2604: known names, no cycles, within the solution's dependencies."""
    by_name = {m.model.name: m for m in project.maps()}
    names = list(by_name)
    for spec in project.maps():
        allowed = solution_closure(project, spec.solution)
        # a solution.yaml that did not load hides its depends_on: its own error comes first
        known = all(project.solutions[f].model for f in allowed & set(project.solutions))
        for k, name in enumerate(spec.model.depends_on):
            target = by_name.get(name)
            if target is None and name in project.broken_maps:
                continue  # that map's own file reports why it did not load
            if target is None:
                close = difflib.get_close_matches(name, names, n=1, cutoff=0.6)
                yield error(
                    "DW2601",
                    f"depends_on names an unknown map '{name}'",
                    spec.doc.span(("depends_on", k)),
                    f"did you mean '{close[0]}'?" if close else "use the exact name of a map",
                )
            elif known and target.solution not in allowed:
                yield error(
                    "DW2604",
                    f"'{name}' is in solution '{target.solution}', which solution "
                    f"'{spec.solution}' does not depend on",
                    spec.doc.span(("depends_on", k)),
                    f"add '{target.solution}' to depends_on in "
                    f"solutions/{spec.solution}/solution.yaml",
                )
    edges = {m.model.name: list(m.model.depends_on) for m in project.maps()}
    for cycle in find_cycles(edges):
        first = by_name[cycle[0]]
        yield error(
            "DW2602",
            "map dependency cycle: " + " -> ".join(cycle),
            first.doc.span(("depends_on",), key=True),
            "remove one of these depends_on entries",
        )


def overlapping_maps(project: Project) -> Iterator[Diagnostic]:
    """DW2607: two maps on one entity and table pair need filters that keep them apart."""
    groups: dict[tuple[str, str], list[MapSpec]] = {}
    for spec in _active_maps(project):
        key = (spec.model.finops_entity.lower(), spec.model.dataverse_table.lower())
        groups.setdefault(key, []).append(spec)
    for specs in groups.values():
        for earlier, later in itertools.pairwise(specs):
            a, b = earlier.model.filters, later.model.filters
            if (a.finops, a.dataverse) == (b.finops, b.dataverse):
                yield warning(
                    "DW2607",
                    f"'{later.model.name}' and '{earlier.model.name}' map the same entity and "
                    "table without filters that keep them apart",
                    later.doc.span(("dataverse_table",)),
                    "add filters so each record belongs to one map, or pin only one of them",
                )


def _active_maps(project: Project) -> list[MapSpec]:
    env = project.environment
    if env is None:
        return project.maps()
    pinned = set(env.model.solutions)
    return [m for m in project.maps() if m.solution in pinned]
