"""Every inferred shape of a dual-write solution zip, in one module so it can be corrected in
one place once a real export has been checked (live-api.md §5, §1.1-1.2).

Confidence, as the reference tags it:

- `msdyn_mapping` in the gateway's leg shape — one leg from F&O (`AX`) to Dataverse (`CRM`),
  `sourceFilter` = F&O filter, `reversedSourceFilter` = Dataverse filter — **[C-MSCODE]** for the
  leg fields, **[I]** for the top-level keys and for keeping a whole map in one leg.
- `syncDirection` 1 = F&O → Dataverse, 2 = Dataverse → F&O, 3 = both **[C-MSCODE]**; some
  records carry it as a string **[C-3P]**, so reading accepts both.
- `valueTransforms` of type `ValueMap` / `Default` **[C-MSCODE]**; their exact JSON (`$type`,
  value types) **[I]**.
- `msdyn_name` = `<prefix>_[<dataverse set> - <F&O entity>]` **[C-3P]**; the record id, the
  root-component type 500 **[C-3P, unverified]** and `msdyn_properties` **[I]**.
- `MissingDependency/Required/@solution` = `"<unique name> (<version>)"` **[K]**, the rest of the
  element **[I]**.

dwconf keeps what the leg shape has no place for (prerequisite maps, integration key, initial
sync master) and the exact JSON types of values in `msdyn_properties` under the key `dwconf`.
A record without that key came from somewhere else (a real export) and is read leniently:
string values that look like numbers or booleans become numbers or booleans, empty filters
become no filter, and the map's name is `<F&O entity> (<dataverse set>)`.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from dwconf.model import Direction, FieldMapping, TableMap
from dwconf.model.common import Scalar
from dwconf.package.errors import PackageError

# Environment types of the two sides of a map.
FINOPS_SIDE = "AX"
DATAVERSE_SIDE = "CRM"
LEG_ID = "001"

SYNC_DIRECTION: dict[Direction, int] = {
    Direction.TO_DATAVERSE: 1,
    Direction.TO_FINOPS: 2,
    Direction.BOTH: 3,
}
DIRECTION_OF: dict[int, Direction] = {code: d for d, code in SYNC_DIRECTION.items()}

VALUE_MAP = "ValueMap"
DEFAULT = "Default"

# The solution component: type code, record state and entity set.
MAP_COMPONENT_TYPE = 500
MAP_ENTITY = "msdyn_dualwriteentitymap"
MAP_COLLECTION = "msdyn_dualwriteentitymaps"
RECORD_STATE = (("statecode", "0"), ("statuscode", "1"))

NATIVE_KEY = "dwconf"
PROPERTIES_FORMAT = 1

_NAMESPACE = uuid.UUID("0b6f3c51-2f7e-4a55-8d0e-8a1c2b9e6d47")
_REQUIRED = re.compile(r"^(?P<name>[A-Za-z_][A-Za-z0-9_]*) \((?P<version>\d+(?:\.\d+){0,3})\)$")
_INTEGER = re.compile(r"^-?(?:0|[1-9][0-9]*)$")

Document = dict[str, Any]


# Names and ids --------------------------------------------------------------------------------


def record_name(prefix: str, model: TableMap) -> str:
    """`msdyn_name` of a map: `<prefix>_[<dataverse set> - <F&O entity>]`."""
    return f"{prefix}_[{model.dataverse_table} - {model.finops_entity}]"


def record_id(name: str, version: str) -> str:
    """A stable id for one map version (the same input always gives the same id)."""
    return str(uuid.uuid5(_NAMESPACE, f"{name}\n{version}"))


def foreign_map_name(entity: str, table: str) -> str:
    """The dwconf name of a map read from a zip dwconf did not write (config-format.md)."""
    return f"{entity} ({table})"


# Requirements (solution.xml MissingDependencies) ----------------------------------------------


def minimum_version(constraint: str) -> str:
    """The minimum version a requirement can carry in a zip: `>=2.0.227` and `2.0.227` give
    `2.0.227`; upper bounds are dwconf-side checks a solution can't express."""
    lowest = ""
    for part in constraint.split(","):
        text = part.strip()
        for op in (">=", "==", "="):
            if text.startswith(op):
                lowest = text[len(op) :].strip()
                break
        else:
            if text and text[0].isdigit():
                lowest = text
    if not lowest:
        raise PackageError(
            f"requirement '{constraint}' has no minimum version a solution zip can carry",
            "write it as '>=VERSION'",
        )
    return lowest


def required_attributes(name: str, constraint: str) -> dict[str, str]:
    """The attributes of a `<Required>` element for one requirement."""
    return {"solution": f"{name} ({minimum_version(constraint)})"}


def parse_required(attributes: Mapping[str, str]) -> tuple[str, str] | None:
    """(unique name, `>=version`) of a `<Required>` element that names a solution version."""
    found = _REQUIRED.match(attributes.get("solution", "").strip())
    return (found["name"], f">={found['version']}") if found else None


# A map as the gateway's leg shape -------------------------------------------------------------


def _transforms(field: FieldMapping) -> list[Document]:
    found: list[Document] = []
    if field.value_map is not None:
        found.append(
            {
                "transformType": VALUE_MAP,
                "valueMap": dict(field.value_map),
                "defaultValue": None,
                "createValuesOnDestination": False,
            }
        )
    if field.default is not None:
        found.append({"transformType": DEFAULT, "defaultValue": field.default, "valueMap": None})
    return found


def _field_mapping(field: FieldMapping) -> Document:
    return {
        "syncDirection": SYNC_DIRECTION[field.direction],
        "sourceField": field.finops,
        "destinationField": field.dataverse,
        "isSystemGenerated": False,
        "destinationLookupFieldRelatedEntity": None,
        "valueTransforms": _transforms(field),
    }


def mapping_document(model: TableMap) -> Document:
    """`msdyn_mapping`: the map as one leg from F&O to Dataverse."""
    leg = {
        "id": LEG_ID,
        "sourceSchema": model.finops_entity,
        "destinationSchema": model.dataverse_table,
        "sourceEnvironmentType": FINOPS_SIDE,
        "destinationEnvironmentType": DATAVERSE_SIDE,
        "sourceFilter": model.filters.finops,
        "reversedSourceFilter": model.filters.dataverse,
        "isSourceFilterEditable": True,
        "fieldMappings": [_field_mapping(f) for f in model.fields],
    }
    document: Document = {"name": model.name}
    if model.description is not None:
        document["description"] = model.description
    document.update(
        {
            "leftEnvironmentType": FINOPS_SIDE,
            "centerEnvironmentType": DATAVERSE_SIDE,
            "rightEnvironmentType": DATAVERSE_SIDE,
            "legs": [leg],
        }
    )
    return document


def properties_document(model: TableMap) -> Document:
    """`msdyn_properties`: what the leg shape has no place for."""
    return {
        NATIVE_KEY: {
            "format": PROPERTIES_FORMAT,
            "dependsOn": list(model.depends_on),
            "integrationKey": list(model.integration_key),
            "initialSyncMaster": model.initial_sync.master.value,
        }
    }


# Reading a record back ------------------------------------------------------------------------


def _lenient(value: Any) -> Scalar:
    """A value from a foreign record: JSON strings that look like numbers or booleans."""
    if isinstance(value, str):
        if value.lower() in ("true", "false"):
            return value.lower() == "true"
        if _INTEGER.match(value) and len(value) < 19:
            return int(value)
        return value
    if value is None or isinstance(value, bool | int | float):
        return value
    raise ValueError(f"a value map or default holds {type(value).__name__}, not a value")


def _exact(value: Any) -> Scalar:
    if value is None or isinstance(value, str | bool | int | float):
        return value
    raise ValueError(f"a value map or default holds {type(value).__name__}, not a value")


def _direction(raw: Any) -> Direction:
    try:
        return DIRECTION_OF[int(raw)]
    except (KeyError, TypeError, ValueError):
        raise ValueError(f"syncDirection {raw!r} is not 1, 2 or 3") from None


def _side(raw: Any, native: bool) -> str | None:
    if raw is None or (raw == "" and not native):
        return None
    if not isinstance(raw, str):
        raise ValueError(f"a field name is {type(raw).__name__}, not text")
    return raw


def _field(raw: Any, native: bool) -> Document:
    if not isinstance(raw, dict):
        raise ValueError("a field mapping is not an object")
    value = _exact if native else _lenient
    field: Document = {
        "finops": _side(raw.get("sourceField"), native),
        "dataverse": _side(raw.get("destinationField"), native),
        "direction": _direction(raw.get("syncDirection")).value,
    }
    for transform in raw.get("valueTransforms") or []:
        kind = str(transform.get("transformType", "")).lower()
        if kind == VALUE_MAP.lower():
            entries = transform.get("valueMap") or {}
            field["value_map"] = {str(k): value(v) for k, v in entries.items()}
        elif kind == DEFAULT.lower():
            field["default"] = value(transform.get("defaultValue"))
        else:
            raise ValueError(f"transform type {transform.get('transformType')!r} is not supported")
    return field


def _filter(raw: Any, native: bool) -> str | None:
    if raw is None or (not native and isinstance(raw, str) and not raw.strip()):
        return None
    if not isinstance(raw, str):
        raise ValueError("a filter is not text")
    return raw


def _leg(mapping: Document) -> Document:
    legs = mapping.get("legs")
    if not isinstance(legs, list) or not legs or not isinstance(legs[0], dict):
        raise ValueError("it has no legs")
    forward = [leg for leg in legs if leg.get("sourceEnvironmentType", FINOPS_SIDE) == FINOPS_SIDE]
    leg: Document = (forward or legs)[0]
    return leg


def _extras(properties: Document) -> Document | None:
    extras = properties.get(NATIVE_KEY)
    return extras if isinstance(extras, dict) else None


def map_document(mapping: Document, properties: Document, version: str) -> Document:
    """A record's `msdyn_mapping`/`msdyn_properties` as the data of a dwconf `TableMap`."""
    extras = _extras(properties)
    native = extras is not None
    leg = _leg(mapping)
    entity, table = leg.get("sourceSchema"), leg.get("destinationSchema")
    data: Document = {
        "name": mapping.get("name") if native else foreign_map_name(str(entity), str(table)),
        "version": version,
        "finops_entity": entity,
        "dataverse_table": table,
        "fields": [_field(f, native) for f in leg.get("fieldMappings") or []],
    }
    description = mapping.get("description")
    if description is not None and (native or description):
        data["description"] = description
    finops, dataverse = (
        _filter(leg.get("sourceFilter"), native),
        _filter(leg.get("reversedSourceFilter"), native),
    )
    if finops is not None or dataverse is not None:
        data["filters"] = {"finops": finops, "dataverse": dataverse}
    if extras is not None:
        data["depends_on"] = extras.get("dependsOn", [])
        data["integration_key"] = extras.get("integrationKey", [])
        data["initial_sync"] = {"master": extras.get("initialSyncMaster", "dataverse")}
    return data


def table_map(mapping: Any, properties: Any, version: str, where: str) -> TableMap:
    """The `TableMap` a record describes; `where` names the record in error messages."""
    if not isinstance(mapping, dict):
        raise PackageError(f"{where}: msdyn_mapping is not a JSON object")
    try:
        data = map_document(mapping, properties if isinstance(properties, dict) else {}, version)
        return TableMap.model_validate(data)
    except ValidationError as exc:
        problem = exc.errors()[0]
        path = ".".join(str(p) for p in problem["loc"])
        raise PackageError(f"{where}: {path}: {problem['msg']}") from None
    except (ValueError, TypeError, AttributeError) as exc:
        raise PackageError(f"{where}: msdyn_mapping can't be read: {exc}") from None
