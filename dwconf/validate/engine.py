"""Run every rule over a configuration repository and gather the diagnostics."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from dwconf.diagnostics import Diagnostic, Severity, count, sort_unique
from dwconf.errors import ConfigError
from dwconf.load.project import EnvSpec, Loader, MapSpec, Project, settled
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


def check_project(project: Project, checked: set[str] | None = None) -> list[Diagnostic]:
    """Rules over one rendered project. A map the same in every environment (`MapSpec.shared`)
    is checked once: its file's path goes into `checked`, and maps found there are skipped."""
    checked = set() if checked is None else checked
    specs = [spec for spec in project.maps() if spec.doc.path not in checked]
    checked.update(spec.doc.path for spec in specs if spec.shared)
    found = [d for spec in specs for d in check_map(project, spec)]
    for project_rule in PROJECT_RULES:
        found.extend(project_rule(project))
    if project.environment is not None:
        for env_rule in ENVIRONMENT_RULES:
            found.extend(env_rule(project, project.environment))
    if project.broken_schemas:
        found = [d for d in found if d.code not in NEEDS_EVERY_SCHEMA]
    return found


def check_map(project: Project, spec: MapSpec) -> list[Diagnostic]:
    ctx = MapContext(project, spec)
    return [d for rule in MAP_RULES for d in rule(ctx)]


def validate(root: Path, only: Sequence[str] = ()) -> Report:
    """Validate the repository at `root`, rendered for each environment (or those in `only`)."""
    return settled(lambda careful: _validate(Loader.at(root, careful=careful), only))


def _validate(loader: Loader, only: Sequence[str]) -> Report:
    environments = loader.environments()
    unknown = [name for name in only if name not in environments]
    selected: list[EnvSpec | None] = [e for n, e in environments.items() if not only or n in only]
    if not environments:
        selected = [None]
    found: list[Diagnostic] = []
    checked: set[str] = set()
    for env in selected:
        found.extend(check_project(loader.project(env), checked))
    found.extend(loader.diagnostics)
    if unknown:
        # A name no file defines is refused; one whose own file has errors is not, as those
        # errors are in this report already.
        absent = loader.absence(unknown)
        if absent is not None and not isinstance(absent, ConfigError):
            raise absent
    return Report(sort_unique(found), [e.name for e in selected if e is not None])
