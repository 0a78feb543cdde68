"""Solution zips as the emulator needs them (live-api.md §5), through dwconf's own package
reader and writer (`dwconf/package/`): `read` gives what the live model imports plus the details
Dataverse shows (publisher prefix, friendly name, record ids); `write` builds the zip
`ExportSolution` returns.

Unlike `dwconf.package.solution_zip.read`, which keeps the newest version of each map for dwconf,
every map version a zip carries is kept: a Dataverse solution can carry several.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from dwconf.desired import canonical_map
from dwconf.emulator import mapping
from dwconf.live.state import Definition, InstalledSolution, SolutionPackage
from dwconf.model import Solution, TableMap
from dwconf.package import archive, shapes
from dwconf.package.customizations import MapRecord, customizations_xml, read_customizations
from dwconf.package.errors import PackageError
from dwconf.package.manifest import (
    CONTENT_TYPES,
    CUSTOMIZATIONS,
    SOLUTION,
    check_content_types,
    content_types,
    read_solution_xml,
    solution_xml,
)


class SolutionZipError(ValueError):
    """The file is not a solution zip the emulator can read, or can't be written as one."""


@dataclass(frozen=True)
class Publisher:
    unique_name: str
    friendly_name: str = ""
    prefix: str = ""
    option_value_prefix: int = 10000


@dataclass(frozen=True)
class SolutionFile:
    """What a solution zip says: the package to import plus the details Dataverse shows."""

    package: SolutionPackage
    friendly_name: str
    description: str
    publisher: Publisher
    map_ids: dict[tuple[str, str], str] = field(default_factory=dict)


def _part(parts: Mapping[str, bytes], name: str) -> bytes | None:
    return next((data for key, data in parts.items() if key.casefold() == name.casefold()), None)


def _required(parts: Mapping[str, bytes], name: str) -> bytes:
    found = _part(parts, name)
    if found is None:
        raise SolutionZipError(f"The solution file has no {name}.")
    return found


def _file(solution: Solution, managed: bool, records: list[MapRecord]) -> SolutionFile:
    publisher = solution.publisher
    package = SolutionPackage(
        unique_name=solution.unique_name,
        version=solution.version,
        managed=managed,
        publisher=publisher.unique_name,
        requires={n: shapes.minimum_version(c) for n, c in solution.requires.items()},
        maps=[canonical_map(r.model) for r in records],
    )
    return SolutionFile(
        package,
        solution.display_name or solution.unique_name,
        solution.description or "",
        Publisher(
            publisher.unique_name,
            publisher.display_name or publisher.unique_name,
            publisher.prefix,
            publisher.option_value_prefix,
        ),
        {(r.model.name, r.model.version): r.id.strip("{}").lower() for r in records},
    )


def read(data: bytes) -> SolutionFile:
    """The solution a zip carries; SolutionZipError when it isn't one."""
    try:
        parts = archive.read_zip(data)
        check_content_types(_part(parts, CONTENT_TYPES))
        manifest = read_solution_xml(_required(parts, SOLUTION))
        records = read_customizations(_required(parts, CUSTOMIZATIONS))
    except PackageError as exc:
        raise SolutionZipError(exc.message) from exc
    return _file(manifest.solution, manifest.managed, records)


def _validated(kind: type[Any], data: Any, what: str) -> Any:
    try:
        return kind.model_validate(data)
    except ValidationError as exc:
        raise SolutionZipError(f"{what} can't be exported: {exc.errors()[0]['msg']}") from exc


def _solution_model(solution: SolutionFile) -> Solution:
    package, publisher = solution.package, solution.publisher
    data = {
        "unique_name": package.unique_name,
        "display_name": solution.friendly_name,
        "description": solution.description or None,
        "version": package.version,
        "publisher": {
            "unique_name": publisher.unique_name,
            "prefix": publisher.prefix,
            "option_value_prefix": publisher.option_value_prefix,
            "display_name": publisher.friendly_name or None,
        },
        "requires": {n: f">={shapes.minimum_version(v)}" for n, v in package.requires.items()},
    }
    model: Solution = _validated(Solution, data, f"Solution '{package.unique_name}'")
    return model


def _records(solution: SolutionFile) -> list[MapRecord]:
    records = []
    for definition in solution.package.maps:
        table_map: TableMap = _validated(TableMap, definition, f"Map '{definition.get('name')}'")
        row_id = solution.map_ids[(table_map.name, table_map.version)]
        name = shapes.record_name(solution.publisher.prefix, table_map)
        records.append(MapRecord(row_id, name, table_map.version, table_map))
    return records


def write(solution: SolutionFile) -> bytes:
    """A solution zip for `solution`; every map needs its id in `map_ids`."""
    try:
        model, records = _solution_model(solution), _records(solution)
        parts = {
            CONTENT_TYPES: content_types(),
            CUSTOMIZATIONS: customizations_xml(records),
            SOLUTION: solution_xml(model, solution.package.managed, [r.id for r in records]),
        }
        return archive.write_zip(parts)
    except PackageError as exc:
        raise SolutionZipError(exc.message) from exc


def record_columns(definition: Definition, prefix: str) -> dict[str, Any]:
    """The columns of one `msdyn_dualwriteentitymap` record (also the Dataverse row)."""
    return {
        "msdyn_name": mapping.msdyn_name(definition, prefix),
        "msdyn_displayname": str(definition.get("name", "")),
        "msdyn_mapping": mapping.json_text(mapping.to_mapping(definition)),
        "msdyn_properties": mapping.json_text(mapping.to_properties(definition)),
        "msdyn_version": str(definition.get("version", "")),
        "iscustomizable": True,
        "statecode": 0,
        "statuscode": 1,
    }


def from_installed(
    installed: InstalledSolution,
    *,
    friendly_name: str,
    description: str,
    publisher: Publisher,
    map_ids: dict[tuple[str, str], str],
    managed: bool,
) -> SolutionFile:
    """An installed solution as a `SolutionFile` (for ExportSolution)."""
    package = SolutionPackage(
        unique_name=installed.unique_name,
        version=installed.version,
        managed=managed,
        publisher=installed.publisher,
        requires=dict(installed.requires),
        maps=[dict(m.definition) for m in installed.maps],
    )
    return SolutionFile(package, friendly_name, description, publisher, dict(map_ids))
