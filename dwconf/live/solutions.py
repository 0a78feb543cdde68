"""Dataverse solutions: import (with the platform's dependency and version rules) and the
gateway's "apply solution", which turns the maps a solution carries into map templates.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

from dwconf.live import versions
from dwconf.live.errors import (
    Downgrade,
    InvalidRequest,
    MissingDependency,
    PublisherMismatch,
    SolutionNotFound,
    VersionMismatch,
)
from dwconf.live.memo import Memo, definition_of, json_of
from dwconf.live.state import (
    Definition,
    ImportResult,
    InstalledSolution,
    MapComponent,
    MapTemplate,
    RunState,
    SolutionManifest,
    SolutionPackage,
)
from dwconf.live.store import Tx, dumps

_UNIQUE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_PROJECT_NAMESPACE = uuid.UUID("5f0c7e2a-6a4b-4f0e-9d59-2b8f3c1d7a10")


def project_id(map_name: str) -> str:
    """A stable project name in the service's `DWM-<guid>-<guid>` form."""
    left = uuid.uuid5(_PROJECT_NAMESPACE, f"finops/{map_name}")
    right = uuid.uuid5(_PROJECT_NAMESPACE, f"dataverse/{map_name}")
    return f"DWM-{left}-{right}"


def _canonical(definition: Any, solution: str) -> Definition:
    if not isinstance(definition, dict):
        raise InvalidRequest(f"Solution '{solution}' carries a map that is not an object.")
    try:
        copied: Definition = json.loads(dumps(definition))
    except (TypeError, ValueError) as exc:
        raise InvalidRequest(f"Solution '{solution}' carries a map that is not JSON.") from exc
    name = copied.get("name")
    if not isinstance(name, str) or not name:
        raise InvalidRequest(f"Solution '{solution}' carries a map without a name.")
    versions.check_four_part(copied.get("version", ""), f"Map '{name}'")
    return copied


def _components(package: SolutionPackage) -> list[MapComponent]:
    found: dict[tuple[str, str], MapComponent] = {}
    for raw in package.maps:
        definition = _canonical(raw, package.unique_name)
        ident = (definition["name"], definition["version"])
        if ident in found:
            raise InvalidRequest(
                f"Solution '{package.unique_name}' carries map '{ident[0]}' version "
                f"'{ident[1]}' twice."
            )
        found[ident] = MapComponent(ident[0], ident[1], definition)
    return [found[k] for k in sorted(found)]


def _check_manifest(package: SolutionPackage) -> None:
    if not _UNIQUE_NAME.match(package.unique_name):
        raise InvalidRequest(f"'{package.unique_name}' is not a solution unique name.")
    versions.check_four_part(package.version, f"Solution '{package.unique_name}'")


_SOLUTION_MAPS = "SELECT solution, map_name, version, definition FROM solution_maps"


def _solution(row: Any, maps: list[Any], memo: Memo | None) -> InstalledSolution:
    return InstalledSolution(
        unique_name=row["unique_name"],
        version=row["version"],
        managed=bool(row["managed"]),
        publisher=row["publisher"],
        requires=json_of(memo, row["requires"]),
        maps=tuple(MapComponent(m[1], m[2], *definition_of(memo, m[3])) for m in maps),
    )


def installed(tx: Tx, unique_name: str, memo: Memo | None = None) -> InstalledSolution | None:
    row = tx.one("SELECT * FROM solutions WHERE unique_name = ?", unique_name)
    if row is None:
        return None
    maps = tx.all(f"{_SOLUTION_MAPS} WHERE solution = ? ORDER BY map_name, version", unique_name)
    return _solution(row, maps, memo)


def manifest(tx: Tx, unique_name: str, memo: Memo | None = None) -> SolutionManifest | None:
    row = tx.one("SELECT * FROM solutions WHERE unique_name = ?", unique_name)
    if row is None:
        return None
    return SolutionManifest(
        row["unique_name"],
        row["version"],
        bool(row["managed"]),
        row["publisher"],
        json_of(memo, row["requires"]),
    )


def all_installed(tx: Tx, memo: Memo | None = None) -> tuple[InstalledSolution, ...]:
    carried: dict[str, list[Any]] = {}
    for m in tx.all(f"{_SOLUTION_MAPS} ORDER BY solution, map_name, version"):
        carried.setdefault(m[0], []).append(m)
    rows = tx.all("SELECT * FROM solutions ORDER BY unique_name")
    return tuple(_solution(r, carried.get(r["unique_name"], []), memo) for r in rows)


def _check_requirements(tx: Tx, package: SolutionPackage) -> None:
    for name, constraint in sorted(package.requires.items()):
        minimum = versions.minimum(constraint)
        found = installed(tx, name)
        if found is None:
            raise MissingDependency(package.unique_name, name, minimum)
        if versions.compare(found.version, minimum) < 0:
            raise VersionMismatch(name, found.version, minimum)


def _compare_installed(
    existing: InstalledSolution, package: SolutionPackage, maps: list[MapComponent]
) -> ImportResult:
    order = versions.compare(package.version, existing.version)
    if order < 0:
        raise Downgrade(package.unique_name, existing.version, package.version)
    if existing.publisher != package.publisher:
        raise PublisherMismatch(package.unique_name, existing.publisher, package.publisher)
    if order > 0:
        return ImportResult.UPGRADED
    same = (
        existing.managed == package.managed
        and existing.requires == dict(package.requires)
        and existing.maps == tuple(maps)
    )
    return ImportResult.UNCHANGED if same else ImportResult.UPDATED


def import_solution(tx: Tx, package: SolutionPackage) -> ImportResult:
    _check_manifest(package)
    maps = _components(package)
    existing = installed(tx, package.unique_name)
    result = ImportResult.INSTALLED
    if existing is not None:
        result = _compare_installed(existing, package, maps)
        if result is ImportResult.UNCHANGED:
            return result
    _check_requirements(tx, package)
    tx.run(
        "INSERT OR REPLACE INTO solutions (unique_name, version, managed, publisher, requires)"
        " VALUES (?, ?, ?, ?, ?)",
        package.unique_name,
        package.version,
        int(package.managed),
        package.publisher,
        dumps(dict(package.requires)),
    )
    tx.run("DELETE FROM solution_maps WHERE solution = ?", package.unique_name)
    for component in maps:
        tx.run(
            "INSERT INTO solution_maps (solution, map_name, version, definition)"
            " VALUES (?, ?, ?, ?)",
            package.unique_name,
            component.name,
            component.version,
            dumps(component.definition),
        )
    return result


def apply_solution(tx: Tx, unique_name: str) -> tuple[MapTemplate, ...]:
    """Make the solution's maps available as templates; creates maps that are new."""
    solution = installed(tx, unique_name)
    if solution is None:
        raise SolutionNotFound(unique_name)
    for component in solution.maps:
        tx.run(
            "INSERT OR IGNORE INTO maps (name, project_id, state) VALUES (?, ?, ?)",
            component.name,
            project_id(component.name),
            RunState.NOT_RUNNING.value,
        )
        tx.run(
            "INSERT OR REPLACE INTO templates (map_name, version, solution, definition)"
            " VALUES (?, ?, ?, ?)",
            component.name,
            component.version,
            unique_name,
            dumps(component.definition),
        )
    return tuple(
        MapTemplate(c.name, c.version, unique_name, c.definition, c.digest) for c in solution.maps
    )


# Templates in the order they were stored, then sorted by version: versions that sort as equal
# ("1.0.0.0", "01.0.0.0") keep one order whichever way they are read.
_TEMPLATES = "SELECT map_name, version, solution, definition FROM templates"


def templates(tx: Tx, memo: Memo | None = None) -> tuple[MapTemplate, ...]:
    rows = tx.all(f"{_TEMPLATES} ORDER BY rowid")
    found = [MapTemplate(r[0], r[1], r[2], *definition_of(memo, r[3])) for r in rows]
    return tuple(sorted(found, key=lambda t: (t.name, versions.key(t.version))))


def template_versions(tx: Tx) -> tuple[tuple[str, str], ...]:
    """(map, version) of every template, without their definitions, in the order of
    `templates`."""
    rows = tx.all("SELECT map_name, version FROM templates ORDER BY rowid")
    return tuple(sorted(((r[0], r[1]) for r in rows), key=lambda t: (t[0], versions.key(t[1]))))


def templates_of(tx: Tx, name: str, memo: Memo | None = None) -> tuple[MapTemplate, ...]:
    """One map's templates, oldest version first."""
    rows = tx.all(f"{_TEMPLATES} WHERE map_name = ? ORDER BY rowid", name)
    found = [MapTemplate(r[0], r[1], r[2], *definition_of(memo, r[3])) for r in rows]
    return tuple(sorted(found, key=lambda t: versions.key(t.version)))
