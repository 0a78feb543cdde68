"""A map definition (the live model's canonical dwconf `TableMap` JSON) in the service's own
shapes, and back: the `msdyn_mapping` / `msdyn_properties` columns of an
`msdyn_dualwriteentitymap` row and the gateway's legs (live-api.md §1.1, §1.2, §5).

The leg shape carries the entities, filters and field mappings. What it has no place for —
dependencies, the integration key and the initial-sync master — travels in `msdyn_properties`
under a `dwconf` key (an emulator convention, documented in docs/emulator.md).
"""

from __future__ import annotations

import json
from typing import Any

from dwconf.live.state import Definition

DIRECTION_CODES = {"both": 3, "to_dataverse": 1, "to_finops": 2}
DIRECTIONS = {code: name for name, code in DIRECTION_CODES.items()}
_EXTRAS = ("depends_on", "integration_key", "initial_sync")


def json_text(value: Any) -> str:
    """JSON for a string column: compact, in key order."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


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


def _transforms(field: dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    if field.get("value_map"):
        found.append(
            {
                "$type": "ValueMapTransform",
                "transformType": "ValueMap",
                "valueMap": dict(field["value_map"]),
                "defaultValue": None,
                "createValuesOnDestination": False,
            }
        )
    if field.get("default") is not None:
        found.append(
            {
                "$type": "DefaultTransform",
                "transformType": "Default",
                "defaultValue": field["default"],
            }
        )
    return found


def _field_mapping(field: dict[str, Any]) -> dict[str, Any]:
    return {
        "syncDirection": DIRECTION_CODES.get(str(field.get("direction", "both")), 3),
        "sourceField": field.get("finops"),
        "destinationField": field.get("dataverse"),
        "isSystemGenerated": False,
        "destinationLookupFieldRelatedEntity": None,
        "valueTransforms": _transforms(field),
    }


def leg(definition: Definition) -> dict[str, Any]:
    """The one leg of a map: F&O is the source, Dataverse the destination."""
    finops, dataverse = entities(definition)
    filters = definition.get("filters") or {}
    return {
        "id": "001",
        "sourceSchema": finops,
        "destinationSchema": dataverse,
        "sourceEnvironmentType": "AX",
        "destinationEnvironmentType": "CRM",
        "sourceFilter": filters.get("finops") or "",
        "reversedSourceFilter": filters.get("dataverse") or "",
        "isSourceFilterEditable": True,
        "fieldMappings": [_field_mapping(f) for f in definition.get("fields") or []],
    }


def to_mapping(definition: Definition) -> dict[str, Any]:
    """The `msdyn_mapping` JSON of a definition."""
    return {
        "name": definition.get("name"),
        "description": definition.get("description"),
        "leftEnvironmentType": "AX",
        "centerEnvironmentType": "CRM",
        "rightEnvironmentType": "CRM",
        "legs": [leg(definition)],
    }


def to_properties(definition: Definition) -> dict[str, Any]:
    """The `msdyn_properties` JSON: the dwconf extras the legs can't carry."""
    return {"dwconf": {key: definition[key] for key in _EXTRAS if key in definition}}


def _transform_values(transforms: list[Any]) -> tuple[Any, Any]:
    default: Any = None
    value_map: Any = None
    for transform in transforms or []:
        if not isinstance(transform, dict):
            continue
        if transform.get("transformType") == "ValueMap":
            value_map = dict(transform.get("valueMap") or {}) or None
        elif transform.get("transformType") == "Default":
            default = transform.get("defaultValue")
    return default, value_map


def _field(raw: dict[str, Any], reversed_leg: bool) -> dict[str, Any]:
    source, destination = raw.get("sourceField"), raw.get("destinationField")
    finops, dataverse = (destination, source) if reversed_leg else (source, destination)
    default, value_map = _transform_values(raw.get("valueTransforms") or [])
    try:
        code = int(raw.get("syncDirection", 3))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"syncDirection {raw.get('syncDirection')!r} is not 1, 2 or 3") from exc
    if code not in DIRECTIONS:
        raise ValueError(f"syncDirection {code} is not 1, 2 or 3")
    return {
        "finops": finops or None,
        "dataverse": dataverse or None,
        "direction": DIRECTIONS[code],
        "default": default,
        "value_map": value_map,
    }


def _first_leg(mapping: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    legs = mapping.get("legs")
    if not isinstance(legs, list) or not legs or not isinstance(legs[0], dict):
        raise ValueError("msdyn_mapping has no legs")
    first = legs[0]
    return first, first.get("sourceEnvironmentType") == "CRM"


def from_columns(
    mapping_json: str, properties_json: str | None, version: str, display_name: str | None
) -> Definition:
    """A definition from the columns of an `msdyn_dualwriteentitymap` row (ValueError when
    they don't hold one)."""
    mapping = json.loads(mapping_json)
    if not isinstance(mapping, dict):
        raise ValueError("msdyn_mapping is not a JSON object")
    properties = json.loads(properties_json) if properties_json else {}
    extras = properties.get("dwconf") if isinstance(properties, dict) else None
    extras = extras if isinstance(extras, dict) else {}
    first, reversed_leg = _first_leg(mapping)
    finops = first.get("destinationSchema" if reversed_leg else "sourceSchema")
    dataverse = first.get("sourceSchema" if reversed_leg else "destinationSchema")
    filters = {
        "finops": first.get("reversedSourceFilter" if reversed_leg else "sourceFilter") or None,
        "dataverse": first.get("sourceFilter" if reversed_leg else "reversedSourceFilter") or None,
    }
    raw_fields = first.get("fieldMappings") or []
    return {
        "name": mapping.get("name") or display_name or f"{finops} ({dataverse})",
        "version": version,
        "finops_entity": finops,
        "dataverse_table": dataverse,
        "description": mapping.get("description"),
        "depends_on": list(extras.get("depends_on") or []),
        "integration_key": list(extras.get("integration_key") or []),
        "filters": filters,
        "initial_sync": dict(extras.get("initial_sync") or {"master": "dataverse"}),
        "fields": [_field(f, reversed_leg) for f in raw_fields if isinstance(f, dict)],
    }
