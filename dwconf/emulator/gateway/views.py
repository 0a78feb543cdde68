"""One map with what the gateway's shapes of it need: its templates and the solutions they
come from. Built from a whole snapshot (`views`), or read for just that map (`read_view`): a
status poll or a field mapping needs nothing of the environment's other maps, and reading
those too made every request cost as much as the whole environment.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from dwconf.live import Environment, LiveMap, LiveState, MapTemplate
from dwconf.live.errors import MapNotFound
from dwconf.live.state import Definition, SolutionManifest


@dataclass(frozen=True)
class MapView:
    live: LiveMap
    templates: tuple[MapTemplate, ...]  # the map's, oldest version first
    solutions: Mapping[str, SolutionManifest]  # those its templates come from, by unique name

    def template(self, version: str | None) -> MapTemplate | None:
        return next((t for t in self.templates if t.version == version), None)

    @property
    def active(self) -> MapTemplate | None:
        return self.template(self.live.active_version) if self.live.active_version else None

    @property
    def definition(self) -> Definition:
        """The active definition, else the newest version's, else just the name."""
        active = self.active
        if active is not None:
            return active.definition
        if self.live.versions:
            newest = self.template(self.live.versions[-1])
            if newest is not None:
                return newest.definition
        return {"name": self.live.name}

    def solution(self, unique_name: str) -> SolutionManifest | None:
        return self.solutions.get(unique_name)


def views(state: LiveState) -> dict[str, MapView]:
    """Every map of a snapshot, by name."""
    solutions = {s.unique_name: SolutionManifest.of(s) for s in state.solutions}
    templates: dict[str, list[MapTemplate]] = {}
    for found in state.templates:
        templates.setdefault(found.name, []).append(found)
    return {m.name: MapView(m, tuple(templates.get(m.name, ())), solutions) for m in state.maps}


def read_view(env: Environment, live: LiveMap) -> MapView:
    """`live`'s view, read without the rest of the environment."""
    templates = env.map_templates(live.name)
    solutions: dict[str, SolutionManifest] = {}
    for name in {t.solution for t in templates}:
        found = env.solution_manifest(name)
        if found is not None:
            solutions[name] = found
    return MapView(live, templates, solutions)


def map_named(env: Environment, name: str) -> LiveMap | None:
    try:
        return env.get_map(name)
    except MapNotFound:
        return None
