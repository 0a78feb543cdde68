"""Run every rule over a configuration repository and gather the diagnostics."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from dwconf.collector import collector_paused
from dwconf.diagnostics import Diagnostic, Severity, count, sort_unique
from dwconf.errors import ConfigError
from dwconf.load import twocore
from dwconf.load.project import EnvSpec, Loader, MapSpec, Project
from dwconf.validate.context import MapContext
from dwconf.validate.rules import ENVIRONMENT_RULES, MAP_RULES, PROJECT_RULES

# What a schema file describes: with one that did not load, a field it adds would be reported
# unknown in every map that uses it. Its own error says what to fix; these wait until it loads.
NEEDS_EVERY_SCHEMA = frozenset({"DW2001", "DW2002", "DW2003", "DW2004", "DW2503", "DW2504"})


@dataclass(frozen=True)
class Report:
    diagnostics: list[Diagnostic]
    environments: list[str]

    @property
    def errors(self) -> int:
        return count(self.diagnostics, Severity.ERROR)

    @property
    def warnings(self) -> int:
        return count(self.diagnostics, Severity.WARNING)


def check_project(
    project: Project,
    checked: set[int] | None = None,
    meanwhile: Callable[[], object] | None = None,
) -> list[Diagnostic]:
    """Rules over one rendered project; maps already in `checked` (by id) are skipped.
    `meanwhile` is work ahead, run while a child checks maps (see `check_maps`)."""
    checked = set() if checked is None else checked
    specs = [spec for spec in project.maps() if id(spec) not in checked]
    checked.update(id(spec) for spec in specs)
    found = check_maps(project, specs, meanwhile)
    for project_rule in PROJECT_RULES:
        found.extend(project_rule(project))
    if project.environment is not None:
        for env_rule in ENVIRONMENT_RULES:
            found.extend(env_rule(project, project.environment))
    if project.broken_schemas:
        found = [d for d in found if d.code not in NEEDS_EVERY_SCHEMA]
    return found


def check_maps(
    project: Project, specs: list[MapSpec], meanwhile: Callable[[], object] | None = None
) -> list[Diagnostic]:
    """The map rules over `specs`, in order; many maps are checked on two cores (twocore.py),
    and this process runs `meanwhile` before it takes its share (not at all on one core:
    twocore.shared)."""
    return twocore.shared(
        len(specs), lambda start, stop: _check_all(project, specs[start:stop]), meanwhile
    )


def _check_all(project: Project, specs: list[MapSpec]) -> list[Diagnostic]:
    return [d for spec in specs for d in check_map(project, spec)]


def check_map(project: Project, spec: MapSpec) -> list[Diagnostic]:
    ctx = MapContext(project, spec)
    return [d for rule in MAP_RULES for d in rule(ctx)]


def validate(root: Path, only: Sequence[str] = ()) -> Report:
    """Validate the repository at `root`, rendered for each environment (or those in `only`)."""
    with collector_paused():
        return _validate(root, only)


def _validate(root: Path, only: Sequence[str]) -> Report:
    loader = Loader.at(root)
    environments = loader.environments()
    unknown = [name for name in only if name not in environments]
    selected: list[EnvSpec | None] = [e for n, e in environments.items() if not only or n in only]
    if not environments:
        selected = [None]
    found: list[Diagnostic] = []
    checked: set[int] = set()
    keep: list[Project] = []  # keeps map specs alive so their ids stay unique while checking
    for env in selected:
        project = loader.project(env)
        keep.append(project)
        found.extend(check_project(project, checked))
    found.extend(loader.diagnostics)
    if unknown:
        # Raises for a name no file defines; a named environment whose own file has errors is
        # refused with those errors, which are in this report already.
        with contextlib.suppress(ConfigError):
            loader.environments_named(unknown)
    return Report(sort_unique(found), [e.name for e in selected if e is not None])
