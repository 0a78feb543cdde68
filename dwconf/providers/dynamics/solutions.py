"""Importing a `SolutionPackage`: the solution zip dwconf's package code writes (one record per
map version, so an upgrade can carry the old version beside the new one), the publisher's prefix
as the environment knows it, and what the import did (`ImportResult`), judged by reading the
installed solution before: an identical solution is not imported again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from dwconf.desired import canonical_map
from dwconf.errors import ProviderError
from dwconf.live import ImportResult, SolutionPackage
from dwconf.live.versions import compare
from dwconf.model import Solution, TableMap
from dwconf.package import archive, shapes
from dwconf.package.customizations import MapRecord, customizations_xml
from dwconf.package.errors import PackageError
from dwconf.package.manifest import (
    CONTENT_TYPES,
    CUSTOMIZATIONS,
    SOLUTION,
    content_types,
    solution_xml,
)
from dwconf.providers.dynamics.dataverse import Dataverse, Query, Row
from dwconf.providers.dynamics.reader import FULL_COLUMNS
from dwconf.providers.dynamics.shapes import row_definition

DEFAULT_PREFIX = "new"
DEFAULT_OPTION_PREFIX = 10000
_PREFIX = re.compile(r"^[a-z][a-z0-9]{1,7}$")


@dataclass(frozen=True)
class Publisher:
    unique_name: str
    prefix: str
    option_value_prefix: int


@dataclass(frozen=True)
class Installed:
    """An installed solution as far as an import compares it."""

    version: str
    managed: bool
    publisher: str
    maps: list[tuple[str, str, Any]]


def _quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def publisher(dataverse: Dataverse, unique_name: str) -> Publisher:
    """The publisher's prefix as the environment has it; derived from its name when new."""
    query = Query(
        "publishers",
        {
            "$select": "uniquename,customizationprefix,customizationoptionvalueprefix",
            "$filter": f"uniquename eq {_quoted(unique_name)}",
        },
    )
    found = dataverse.rows(f"read publisher '{unique_name}'", query)
    if found:
        row = found[0]
        prefix = str(row.get("customizationprefix") or "")
        option = int(row.get("customizationoptionvalueprefix") or DEFAULT_OPTION_PREFIX)
        if _PREFIX.match(prefix):
            return Publisher(unique_name, prefix, option)
    letters = re.sub(r"[^a-z0-9]", "", unique_name.lower())[:8]
    return Publisher(
        unique_name, letters if _PREFIX.match(letters) else DEFAULT_PREFIX, DEFAULT_OPTION_PREFIX
    )


def installed(dataverse: Dataverse, unique_name: str) -> Installed | None:
    operation = f"read solution '{unique_name}'"
    query = Query(
        "solutions",
        {
            "$select": "solutionid,uniquename,version,ismanaged",
            "$filter": f"uniquename eq {_quoted(unique_name)}",
            "$expand": "publisherid($select=uniquename)",
        },
    )
    found = dataverse.rows(operation, query)
    if not found:
        return None
    row = found[0]
    maps_query = Query(
        "msdyn_dualwriteentitymaps",
        {"$select": FULL_COLUMNS, "$filter": f"solutionid eq {row['solutionid']}"},
    )
    maps = [_component(r) for r in dataverse.rows(operation, maps_query)]
    return Installed(
        version=str(row.get("version") or ""),
        managed=bool(row.get("ismanaged")),
        publisher=str((row.get("publisherid") or {}).get("uniquename") or ""),
        maps=sorted(maps, key=lambda m: (m[0], m[1])),
    )


def _component(row: Row) -> tuple[str, str, Any]:
    definition = row_definition(row)
    return str(definition.get("name")), str(definition.get("version")), definition


def _models(package: SolutionPackage) -> list[TableMap]:
    try:
        return [TableMap.model_validate(d) for d in package.maps]
    except ValidationError as exc:
        raise ProviderError(
            f"solution '{package.unique_name}' carries a map that is not a dwconf map: "
            f"{exc.errors()[0]['msg']}"
        ) from None


def wanted(package: SolutionPackage) -> Installed:
    maps = [(m.name, m.version, canonical_map(m)) for m in _models(package)]
    return Installed(package.version, package.managed, package.publisher, sorted(maps, key=_key))


def _key(item: tuple[str, str, Any]) -> tuple[str, str]:
    return item[0], item[1]


def outcome(before: Installed | None, after: Installed) -> ImportResult | None:
    """What the import will do; None when it would change nothing (so it isn't sent)."""
    if before is None:
        return ImportResult.INSTALLED
    order = compare(after.version, before.version)
    if order > 0:
        return ImportResult.UPGRADED
    if order == 0 and before == after:
        return None
    return ImportResult.UPDATED  # a downgrade is refused by the service with its own message


def solution_zip(package: SolutionPackage, owner: Publisher) -> bytes:
    """The solution zip for `package`: one record per map version it carries."""
    try:
        solution = Solution.model_validate(
            {
                "unique_name": package.unique_name,
                "version": package.version,
                "publisher": {
                    "unique_name": owner.unique_name,
                    "prefix": owner.prefix,
                    "option_value_prefix": owner.option_value_prefix,
                },
                "requires": dict(package.requires),
            }
        )
        records = []
        for model in sorted(_models(package), key=lambda m: (m.name, m.version)):
            name = shapes.record_name(owner.prefix, model)
            records.append(
                MapRecord(shapes.record_id(name, model.version), name, model.version, model)
            )
        parts = {
            CONTENT_TYPES: content_types(),
            CUSTOMIZATIONS: customizations_xml(records),
            SOLUTION: solution_xml(solution, package.managed, [r.id for r in records]),
        }
        return archive.write_zip(parts)
    except ValidationError as exc:
        raise ProviderError(
            f"solution '{package.unique_name}' can't be packaged: {exc.errors()[0]['msg']}"
        ) from None
    except PackageError as exc:
        raise ProviderError(
            f"solution '{package.unique_name}' can't be packaged: {exc.message}", exc.hint
        ) from None
