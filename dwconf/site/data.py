"""What the site shows, as plain data: read from the configuration and, where reachable, the
environments (pins, last deployment, drift). No HTML here (dwconf/site/pages.py does that)."""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dwconf import planning
from dwconf.errors import DwconfError
from dwconf.graph.model import Graph, dependency_graph
from dwconf.load.project import EnvSpec, Loader, settled
from dwconf.model import Settings
from dwconf.model.common import slug
from dwconf.objects import MapObject, maps, solutions
from dwconf.providers import open_reader


@dataclass(frozen=True)
class EnvironmentPage:
    name: str
    stage: str
    provider: str
    pins: Mapping[str, str]
    last_deployment: Mapping[str, Any] | None = None
    drift: tuple[str, ...] = ()
    reachable: bool = False
    problem: str = ""


@dataclass(frozen=True)
class Site:
    project: str
    environment: str  # the environment the maps are rendered for
    solutions: tuple[Mapping[str, Any], ...]
    maps: tuple[Mapping[str, Any], ...]
    graph: Graph
    environments: tuple[EnvironmentPage, ...] = field(default_factory=tuple)


def _map_page(address: str, obj: MapObject) -> dict[str, Any]:
    return {
        "address": address,
        "slug": address.removeprefix("map."),
        "solution": obj["solution"],
        "state": obj["state"],
        **(obj["definition"] or {}),
    }


def _environment_page(root: Path, spec: Any, read_live: bool) -> EnvironmentPage:
    env = spec.model
    page = EnvironmentPage(env.name, env.stage, env.provider.type, dict(env.solutions))
    if not read_live:
        return page
    try:
        with closing(open_reader(root, env)) as reader:
            records = sorted(reader.read().records, key=lambda r: r.created)
            drift = planning.drift_against(env.name, reader) if records else None
    except DwconfError as exc:
        return EnvironmentPage(**{**page.__dict__, "problem": exc.message})
    last = planning.record_summary(records[-1]) if records else None
    found = tuple(sorted({c.address for c in drift.changes})) if drift else ()
    return EnvironmentPage(
        **{**page.__dict__, "last_deployment": last, "drift": found, "reachable": True}
    )


def _configured(root: Path, careful: frozenset[str]) -> tuple[dict[str, EnvSpec], Settings]:
    loader = Loader.at(root, careful=careful)
    return loader.environments(), loader.settings()


def collect(root: Path, env_name: str | None, read_live: bool) -> Site:
    """The site's data for `env_name` (default: the first environment in stage order)."""
    specs, settings = settled(lambda careful: _configured(root, careful))
    stages = list(settings.stages)
    ordered = sorted(
        specs.values(),
        key=lambda s: (stages.index(s.model.stage) if s.model.stage in stages else 99, s.name),
    )
    if not ordered:
        raise DwconfError("the configuration has no environment", "add environments/dev.yaml")
    name = env_name or ordered[0].name
    desired = planning.load_desired(root, name).state.objects
    map_pages = tuple(_map_page(a, o) for a, o in sorted(maps(desired).items()))
    solution_pages = tuple(
        {**o, "maps": [f"map.{slug(m)}" for m in o["maps"]]}
        for _, o in sorted(solutions(desired).items())
    )
    envs = tuple(_environment_page(root, spec, read_live) for spec in ordered)
    return Site(
        settings.project,
        name,
        solution_pages,
        map_pages,
        dependency_graph(name, desired),
        envs,
    )
