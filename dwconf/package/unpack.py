"""A solution zip as configuration files: `solution.yaml` and one `maps/<slug>.yaml` per map."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from dwconf.model import Solution
from dwconf.model.common import slug
from dwconf.package.solution_zip import SolutionContent
from dwconf.package.yamlout import map_yaml, solution_yaml


def map_file_names(names: Iterable[str]) -> dict[str, str]:
    """`maps/<slug>.yaml` for each map name; a slug taken twice gets `-2`, `-3`, …"""
    taken: set[str] = set()
    found: dict[str, str] = {}
    for name in sorted(names):
        base = slug(name) or "map"
        candidate, n = base, 1
        while candidate in taken:
            n += 1
            candidate = f"{base}-{n}"
        taken.add(candidate)
        found[name] = f"maps/{candidate}.yaml"
    return found


def with_folders(solution: Solution, folders: Mapping[str, str]) -> Solution:
    """Requirements on solutions of the repository (unique name → folder) as `depends_on`:
    the reverse of what `dwconf package` does with `depends_on`."""
    local = {name: folders[name] for name in solution.requires if name in folders}
    if not local:
        return solution
    requires = {n: c for n, c in solution.requires.items() if n not in local}
    depends_on = sorted({*solution.depends_on, *local.values()})
    return solution.model_copy(update={"requires": requires, "depends_on": depends_on})


def unpack_files(
    content: SolutionContent, source: str, folders: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The files of one solution folder, by path relative to the folder; `folders` are the
    repository's solution folders by unique name."""
    managed = "managed" if content.managed else "unmanaged"
    header = [f"Unpacked by dwconf unpack from {source} ({managed} solution)."]
    solution = with_folders(content.solution, folders or {})
    files = {"solution.yaml": solution_yaml(solution, header)}
    names = map_file_names(m.name for m in content.maps)
    for model in content.maps:
        files[names[model.name]] = map_yaml(model, header)
    return files
