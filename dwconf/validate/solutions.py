"""Solution rules: `requires` constraints well formed, `depends_on` known, no cycles, unique
Dataverse names."""

from __future__ import annotations

import re
from collections.abc import Iterator

from dwconf.diagnostics import Diagnostic, Span, error
from dwconf.load.project import Project
from dwconf.validate.graph import find_cycles

CONSTRAINT = re.compile(r"^\s*(>=|<=|==|!=|>|<|=)?\s*\d+(\.\d+){0,3}\s*$")


def _span(project: Project, folder: str, *path: str | int, key: bool = False) -> Span:
    doc = project.solutions[folder].doc
    return doc.span(path, key=key) if doc else Span(f"solutions/{folder}")


def requires(project: Project) -> Iterator[Diagnostic]:
    """DW2701: each requirement is a version constraint such as '>=1.0.23084.0'."""
    for folder, spec in project.solutions.items():
        if spec.model is None:
            continue
        for name, constraint in spec.model.requires.items():
            parts = constraint.split(",")
            if not all(CONSTRAINT.match(p) for p in parts):
                yield error(
                    "DW2701",
                    f"'{constraint}' is not a version constraint for '{name}'",
                    _span(project, folder, "requires", name),
                    "write e.g. '>=1.0.23084.0' (operators >=, >, ==, <=, <; comma for 'and')",
                )


def depends(project: Project) -> Iterator[Diagnostic]:
    """DW2702/DW2703/DW2704: known solution dependencies, no cycles, unique unique_names."""
    names: dict[str, str] = {}
    for folder, spec in project.solutions.items():
        if spec.model is None:
            continue
        for k, dep in enumerate(spec.model.depends_on):
            if dep not in project.solutions:
                known = ", ".join(sorted(project.solutions)) or "none"
                yield error(
                    "DW2702",
                    f"depends_on names an unknown solution '{dep}'",
                    _span(project, folder, "depends_on", k),
                    f"use a folder name under solutions/ ({known})",
                )
        unique = spec.model.unique_name.lower()
        if unique in names:
            yield error(
                "DW2704",
                f"unique_name '{spec.model.unique_name}' is also used by "
                f"solution '{names[unique]}'",
                _span(project, folder, "unique_name"),
                "every solution needs its own Dataverse unique name",
            )
        names.setdefault(unique, folder)
    edges = {f: list(s.model.depends_on) for f, s in project.solutions.items() if s.model}
    for cycle in find_cycles(edges):
        yield error(
            "DW2703",
            "solution dependency cycle: " + " -> ".join(cycle),
            _span(project, cycle[0], "depends_on", key=True),
            "remove one of these depends_on entries",
        )
