"""A dwconf solution as a Dataverse solution zip, and back.

`build` gives the same bytes for the same solution and maps; `read` gives back the same models
(for `requires` written as `>=VERSION`, the only form a zip carries; `depends_on` between dwconf
solutions becomes requirements on those solutions' unique names, see `build`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from pydantic import ValidationError

from dwconf.live.versions import key as version_key
from dwconf.model import Solution, TableMap
from dwconf.package import archive
from dwconf.package.customizations import MapRecord, customizations_xml, read_customizations
from dwconf.package.customizations import records_for as _records_for
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


@dataclass(frozen=True)
class SolutionContent:
    """What a solution zip holds, as dwconf models."""

    solution: Solution
    maps: tuple[TableMap, ...]
    managed: bool
    notes: tuple[str, ...] = ()


def with_version(solution: Solution, version: str | None) -> Solution:
    """The solution at another version (`dwconf package --version`)."""
    if version is None or version == solution.version:
        return solution
    try:
        return Solution.model_validate({**solution.model_dump(), "version": version})
    except ValidationError:
        raise PackageError(f"'{version}' is not a four-part version such as 1.0.0.0") from None


def _with_dependencies(solution: Solution, dependencies: Mapping[str, str]) -> Solution:
    requires = dict(solution.requires)
    for name, version in sorted(dependencies.items()):
        requires.setdefault(name, f">={version}")
    if requires == solution.requires:
        return solution
    return solution.model_copy(update={"requires": requires})


def build(
    solution: Solution,
    maps: Sequence[TableMap],
    *,
    managed: bool = True,
    dependencies: Mapping[str, str] | None = None,
) -> bytes:
    """The solution zip; `dependencies` are other solutions it needs (unique name → version)."""
    solution = _with_dependencies(solution, dependencies or {})
    records = _records_for(solution.publisher.prefix, maps)
    parts = {
        CONTENT_TYPES: content_types(),
        CUSTOMIZATIONS: customizations_xml(records),
        SOLUTION: solution_xml(solution, managed, [r.id for r in records]),
    }
    return archive.write_zip(parts)


def file_name(solution: Solution) -> str:
    """`<UniqueName>_<version with _>.zip`, as Dataverse names an export."""
    return f"{solution.unique_name}_{solution.version.replace('.', '_')}.zip"


def _part(parts: Mapping[str, bytes], name: str) -> bytes | None:
    if name in parts:
        return parts[name]
    return next((data for key, data in parts.items() if key.casefold() == name.casefold()), None)


def _latest(records: Sequence[MapRecord]) -> tuple[tuple[TableMap, ...], tuple[str, ...]]:
    """One model per map name, the highest version; notes name the versions left out."""
    by_name: dict[str, list[MapRecord]] = {}
    for record in records:
        by_name.setdefault(record.model.name, []).append(record)
    maps: list[TableMap] = []
    notes: list[str] = []
    for name in sorted(by_name):
        found = sorted(by_name[name], key=lambda r: version_key(r.version))
        versions = [r.version for r in found]
        if len(set(versions)) != len(versions):
            raise PackageError(f"{CUSTOMIZATIONS} holds map '{name}' twice at the same version")
        maps.append(found[-1].model)
        if len(found) > 1:
            older = ", ".join(versions[:-1])
            notes.append(f"map '{name}': kept version {versions[-1]}, left out {older}")
    return tuple(maps), tuple(notes)


def read(data: bytes, limits: archive.ZipLimits | None = None) -> SolutionContent:
    """The models a solution zip holds; hostile or malformed zips raise a `PackageError`."""
    parts = archive.read_zip(data, limits)
    check_content_types(_part(parts, CONTENT_TYPES))
    manifest_data = _part(parts, SOLUTION)
    if manifest_data is None:
        raise PackageError(f"the zip has no {SOLUTION}; it is not a Dataverse solution")
    manifest = read_solution_xml(manifest_data)
    customizations = _part(parts, CUSTOMIZATIONS)
    if customizations is None:
        raise PackageError(f"the zip has no {CUSTOMIZATIONS}; it is not a Dataverse solution")
    maps, notes = _latest(read_customizations(customizations))
    return SolutionContent(manifest.solution, maps, manifest.managed, notes)
