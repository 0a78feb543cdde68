"""`dwconf add map`: one of Microsoft's standard map templates as a new map of a solution."""

from __future__ import annotations

from pathlib import Path

from dwconf.errors import DwconfError
from dwconf.load.project import Loader, settled
from dwconf.scaffold import templates
from dwconf.scaffold.project import MAP_MODELINE
from dwconf.validate.dependencies import solution_closure


def add_map(*, root: Path, template_name: str, solution: str) -> Path:
    """Write the template's map file into solutions/SOLUTION/maps/; refuses to overwrite."""
    template = templates.find(template_name)
    project = settled(lambda careful: Loader.at(root, careful=careful).project())
    if solution not in project.solutions:
        known = ", ".join(sorted(project.solutions)) or "none"
        raise DwconfError(f"no solution folder '{solution}'", f"known solutions: {known}")
    taken = {m.model.name: m.doc.path for m in project.maps()}
    if template.name in taken:
        raise DwconfError(
            f"a map called '{template.name}' exists already", f"edit {taken[template.name]}"
        )
    folder = root / "solutions" / solution / "maps"
    path = folder / template.file_name
    if path.exists():
        raise DwconfError(f"{path} exists", "remove or rename it first")
    visible = solution_closure(project, solution)
    tables = {
        m.model.name: m.model.dataverse_table.lower()
        for m in project.maps()
        if m.solution in visible
    }
    text = templates.map_text(template, templates.dependencies(template, tables))
    if (root / "schemas" / "map.schema.json").exists():
        text = MAP_MODELINE + text
    folder.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path
