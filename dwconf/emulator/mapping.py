"""A map definition (the live model's canonical dwconf `TableMap` JSON) in the service's own
shapes, and back: the `msdyn_mapping` / `msdyn_properties` columns of an
`msdyn_dualwriteentitymap` row and the gateway's legs (live-api.md §1.1, §1.2, §5).

The shapes are dwconf's own (`dwconf.package.shapes`), so rows, legs and solution zips agree
with what `dwconf package` writes. A definition that isn't a valid `TableMap` (a bare seed map)
still gets a best-effort leg so the gateway can show it.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError

from dwconf.desired import canonical_map
from dwconf.live.state import Definition
from dwconf.model import TableMap
from dwconf.package import shapes
from dwconf.package.errors import PackageError


def json_text(value: Any) -> str:
    """JSON for a string column: compact, in key order."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def model_of(definition: Definition) -> TableMap | None:
    try:
        return TableMap.model_validate(definition)
    except ValidationError:
        return None


def entities(definition: Definition) -> tuple[str, str]:
    """(F&O entity label, Dataverse entity set) of a definition, with fallbacks."""
    name = str(definition.get("name", ""))
    finops = definition.get("finops_entity") or name.partition(" (")[0]
    dataverse = definition.get("dataverse_table") or name.partition(" (")[2].rstrip(")")
    return str(finops), str(dataverse)


def t_name(definition: Definition) -> str:
    """The gateway's map name: `<dataverse entity set> - <F&O entity label>`."""
    finops, dataverse = entities(definition)
    return f"{dataverse} - {finops}"


def msdyn_name(definition: Definition, prefix: str) -> str:
    """The row name Dataverse shows: `<publisher prefix>_[<set> - <label>]`."""
    return f"{prefix}_[{t_name(definition)}]"


def _bare_mapping(definition: Definition) -> dict[str, Any]:
    finops, dataverse = entities(definition)
    only: dict[str, Any] = {
        "id": shapes.LEG_ID,
        "sourceSchema": finops,
        "destinationSchema": dataverse,
        "sourceEnvironmentType": shapes.FINOPS_SIDE,
        "destinationEnvironmentType": shapes.DATAVERSE_SIDE,
        "sourceFilter": None,
        "reversedSourceFilter": None,
        "isSourceFilterEditable": True,
        "fieldMappings": [],
    }
    return {"name": definition.get("name"), "legs": [only]}


def to_mapping(definition: Definition) -> dict[str, Any]:
    """The `msdyn_mapping` JSON of a definition."""
    model = model_of(definition)
    return shapes.mapping_document(model) if model else _bare_mapping(definition)


def to_properties(definition: Definition) -> dict[str, Any]:
    """The `msdyn_properties` JSON: what the legs can't carry, under the key `dwconf`."""
    model = model_of(definition)
    if model is not None:
        return shapes.properties_document(model)
    extras = {
        "format": shapes.PROPERTIES_FORMAT,
        "dependsOn": list(definition.get("depends_on") or []),
        "integrationKey": list(definition.get("integration_key") or []),
    }
    return {shapes.NATIVE_KEY: extras}


def leg(definition: Definition) -> dict[str, Any]:
    """The one leg of a map: F&O is the source, Dataverse the destination."""
    first: dict[str, Any] = to_mapping(definition)["legs"][0]
    return first


def from_columns(
    mapping_json: str, properties_json: str | None, version: str, display_name: str | None
) -> Definition:
    """A definition from the columns of an `msdyn_dualwriteentitymap` row (ValueError when
    they don't hold a dwconf map)."""
    try:
        mapping = json.loads(mapping_json)
        properties = json.loads(properties_json) if properties_json else {}
    except ValueError as exc:
        raise ValueError(f"not JSON: {exc}") from exc
    try:
        model = shapes.table_map(mapping, properties, version, f"map '{display_name or '?'}'")
    except PackageError as exc:
        raise ValueError(exc.message) from exc
    return canonical_map(model)
