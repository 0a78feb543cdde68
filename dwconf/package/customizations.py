"""`customizations.xml`: the `<msdyn_dualwriteentitymaps>` records, one per map version.

Each record carries `msdyn_name`, `msdyn_displayname`, `msdyn_mapping` (the map in the gateway's
leg shape, as JSON text), `msdyn_properties`, `msdyn_version` and its state; see `shapes` for
which parts of that are inferred.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from dwconf.model import TableMap
from dwconf.package import shapes
from dwconf.package.errors import PackageError
from dwconf.package.manifest import CUSTOMIZATIONS, LANGUAGE, XSI
from dwconf.package.xmlparts import check_text, child, parse, serialize

# The empty collections a real export carries before the dual-write maps.
_EMPTY = (
    "Entities",
    "Roles",
    "Workflows",
    "FieldSecurityProfiles",
    "Templates",
    "EntityMaps",
    "EntityRelationships",
    "OrganizationSettings",
    "optionsets",
    "CustomControls",
    "EntityDataProviders",
)


@dataclass(frozen=True)
class MapRecord:
    """One `msdyn_dualwriteentitymap` record, as built or as found in a zip."""

    id: str
    name: str
    version: str
    model: TableMap


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=True, separators=(",", ":"))


def records_for(prefix: str, maps: Sequence[TableMap]) -> list[MapRecord]:
    """The records of a solution's maps, ordered by map name; names must be unique."""
    records: dict[str, MapRecord] = {}
    ids: dict[str, str] = {}
    for model in sorted(maps, key=lambda m: m.name):
        if model.name in records:
            raise PackageError(f"the solution has two maps named '{model.name}'")
        name = shapes.record_name(prefix, model)
        ident = shapes.record_id(name, model.version)
        if ident in ids:
            raise PackageError(
                f"maps '{ids[ident]}' and '{model.name}' are the same table map "
                f"({name}) at the same version {model.version}",
                "a solution carries one record per map version",
            )
        ids[ident] = model.name
        records[model.name] = MapRecord(ident, name, model.version, model)
    return list(records.values())


def _record(parent: ET.Element, record: MapRecord) -> None:
    element = child(parent, shapes.MAP_ENTITY, **{f"{shapes.MAP_ENTITY}id": record.id})
    child(element, "iscustomizable", "1")
    child(element, "msdyn_name", check_text(record.name, f"map '{record.model.name}'"))
    child(element, "msdyn_displayname", check_text(record.model.name, "a map name"))
    child(element, "msdyn_mapping", _json(shapes.mapping_document(record.model)))
    child(element, "msdyn_properties", _json(shapes.properties_document(record.model)))
    child(element, "msdyn_version", record.version)
    for tag, value in shapes.RECORD_STATE:
        child(element, tag, value)


def customizations_xml(records: Sequence[MapRecord]) -> bytes:
    root = ET.Element("ImportExportXml", {"xmlns:xsi": XSI})
    for tag in _EMPTY:
        child(root, tag)
    maps = child(root, shapes.MAP_COLLECTION)
    for record in records:
        _record(maps, record)
    languages = child(root, "Languages")
    child(languages, "Language", LANGUAGE)
    return serialize(root)


def _text(element: ET.Element, tag: str) -> str | None:
    found = element.find(tag)
    return None if found is None or found.text is None else found.text


def _json_column(element: ET.Element, tag: str, where: str) -> Any:
    text = _text(element, tag)
    if text is None or not text.strip():
        return None
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise PackageError(f"{where}: {tag} is not JSON ({exc})") from None


def _read_record(element: ET.Element, position: int) -> MapRecord:
    name = (_text(element, "msdyn_name") or "").strip()
    where = f"{CUSTOMIZATIONS}: map record {position}" + (f" '{name}'" if name else "")
    version = (_text(element, "msdyn_version") or "").strip()
    if not version:
        raise PackageError(f"{where} has no msdyn_version")
    mapping = _json_column(element, "msdyn_mapping", where)
    if mapping is None:
        raise PackageError(f"{where} has no msdyn_mapping")
    properties = _json_column(element, "msdyn_properties", where)
    model = shapes.table_map(mapping, properties, version, where)
    ident = element.get(f"{shapes.MAP_ENTITY}id", "").strip("{}")
    return MapRecord(ident, name, version, model)


def read_customizations(data: bytes | None) -> list[MapRecord]:
    """Every map record of `customizations.xml` (none when the part is missing)."""
    if data is None:
        return []
    root = parse(data, CUSTOMIZATIONS)
    if root.tag != "ImportExportXml":
        raise PackageError(f"{CUSTOMIZATIONS} has no <ImportExportXml> root")
    collection = root.find(shapes.MAP_COLLECTION)
    if collection is None:
        return []
    found = collection.findall(shapes.MAP_ENTITY)
    return [_read_record(element, i + 1) for i, element in enumerate(found)]
