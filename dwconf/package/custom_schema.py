"""The custom fields and columns of imported maps, as `solutions/<s>/schema/*.yaml`.

A map an environment runs may use fields the standard catalog doesn't know (a Contoso
extension such as CNTLOYALTYTIER on Customers V3). Written as the solution's schema file, they
let the imported configuration validate. Their types come from the catalog of the repository
`dwconf import` runs in when it describes them, and are `unknown` otherwise: the live API shows
no types, and an unknown type only skips the type checks (docs/catalog.md). An entity or table
the standard catalog doesn't know is written only when that catalog describes it (its company
and keys matter); otherwise it is left out with a note, and validation warns about it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from dwconf import catalog as catalog_module
from dwconf.catalog import Catalog, Column, Entity, FieldType, Table
from dwconf.filters import ParsedFilter, parse_odata, parse_xpp
from dwconf.model import TableMap
from dwconf.package.yamlout import Flow, document

FILE = "schema/custom-fields.yaml"
HEADER = [
    "Custom fields and columns that the imported maps use and the standard catalog lacks.",
    "Types dwconf could not learn are `unknown` (their type checks are skipped): replace them",
    "with the real types (docs/catalog.md).",
]


_DESCRIBE = "its fields are not checked until a schema file describes it (docs/catalog.md)"


@dataclass
class _Found:
    entities: dict[str, dict[str, Any]] = field(default_factory=dict)
    tables: dict[str, dict[str, Any]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def _spec(column: Column | None) -> Flow:
    """A column as a schema file writes it: only what is known."""
    if column is None:
        return Flow({"type": "unknown"})
    spec: dict[str, Any] = {"type": column.type.value}
    if column.max_length is not None:
        spec["max_length"] = column.max_length
    if column.values:
        numbers = column.type is FieldType.OPTIONSET and all(v.isdigit() for v in column.values)
        spec["values"] = Flow([int(v) for v in column.values] if numbers else list(column.values))
    if column.target:
        spec["target"] = column.target
    for flag in ("required", "read_only"):
        if getattr(column, flag):
            spec[flag] = True
    return Flow(spec)


def _place(
    into: dict[str, dict[str, Any]],
    name: str,
    *,
    standard: bool,
    described: dict[str, Any] | None,
    what: str,
    notes: list[str],
) -> dict[str, Any] | None:
    """Where the custom fields of entity (or table) `name` go: a standard one needs only its
    new fields; another one its attributes as `described` (None: it can't be described)."""
    if name not in into:
        if standard:
            into[name] = {}
        elif described is None:
            notes.append(f"{what} '{name}' is not in the catalog: {_DESCRIBE}")
            return None
        else:
            into[name] = dict(described)
    return into[name]


def _entity(found: _Found, model: TableMap, known: Catalog) -> dict[str, Any] | None:
    name = model.finops_entity
    described = known.entity(name)
    held = _place(
        found.entities,
        name,
        standard=catalog_module.standard().entity(name) is not None,
        described={"company": described.company} if described else None,
        what="F&O entity",
        notes=found.notes,
    )
    return None if held is None else held.setdefault("fields", {})


def _table(found: _Found, model: TableMap, known: Catalog) -> dict[str, Any] | None:
    name = model.dataverse_table.lower()
    described = known.table(name)
    held = _place(
        found.tables,
        name,
        standard=catalog_module.standard().table(name) is not None,
        described=_table_attributes(described) if described else None,
        what="Dataverse table",
        notes=found.notes,
    )
    return None if held is None else held.setdefault("columns", {})


def _table_attributes(table: Table) -> dict[str, Any]:
    attributes: dict[str, Any] = {}
    if table.logical_name:
        attributes["logical_name"] = table.logical_name
    attributes["company"] = table.company
    attributes["kind"] = table.kind
    attributes["versionnumber"] = table.versionnumber
    if table.alternate_keys:
        attributes["alternate_keys"] = Flow([list(k) for k in table.alternate_keys])
    return attributes


def _standard_field(entity: Entity | None, name: str) -> bool:
    return entity is not None and entity.field(name) is not None


def _standard_column(table: Table | None, name: str) -> bool:
    return table is not None and table.column(name) is not None


def _names(model: TableMap) -> tuple[list[str], list[str]]:
    """The F&O fields and Dataverse columns (the first segment of a lookup path) a map names:
    in its fields, its filters and its integration key."""
    finops = [f.finops for f in model.fields if f.finops]
    dataverse = [f.dataverse for f in model.fields if f.dataverse]
    for text, parse, names in (
        (model.filters.finops, parse_xpp, finops),
        (model.filters.dataverse, parse_odata, dataverse),
    ):
        parsed = parse(text) if text else None
        if isinstance(parsed, ParsedFilter):
            names.extend(ref.name for ref in parsed.fields)
    dataverse.extend(model.integration_key)
    roots = [re.split(r"[./]", n, maxsplit=1)[0].lower() for n in dataverse]
    return finops, [r for r in roots if r and "(" not in r]


def _add_map(found: _Found, model: TableMap, known: Catalog) -> None:
    standard = catalog_module.standard()
    std_entity = standard.entity(model.finops_entity)
    std_table = standard.table(model.dataverse_table)
    have_entity = known.entity(model.finops_entity)
    have_table = known.table(model.dataverse_table)
    finops, dataverse = _names(model)
    for name in finops:
        if not _standard_field(std_entity, name):
            fields = _entity(found, model, known)
            if fields is not None:
                column = have_entity.field(name) if have_entity else None
                fields[name.upper()] = _spec(column)
    for root in dataverse:
        if not _standard_column(std_table, root):
            columns = _table(found, model, known)
            if columns is not None:
                column = have_table.column(root) if have_table else None
                columns[root] = _spec(column)


def _sorted(items: dict[str, dict[str, Any]], key: str) -> dict[str, dict[str, Any]]:
    return {
        name: {**spec, key: dict(sorted(spec[key].items()))} for name, spec in sorted(items.items())
    }


def custom_schema(
    folder: str, maps: Iterable[TableMap], known: Catalog, header: list[str]
) -> tuple[dict[str, str], list[str]]:
    """The schema file of solution `folder` for the custom fields of its `maps` (none when they
    use none), and notes on what could not be described. `known`: the catalog of the
    repository dwconf runs in, with its own schema files."""
    found = _Found()
    for model in maps:
        _add_map(found, model, known)
    data: dict[str, Any] = {}
    entities = {n: e for n, e in found.entities.items() if e.get("fields")}
    tables = {n: t for n, t in found.tables.items() if t.get("columns")}
    if entities:
        data["finops_entities"] = _sorted(entities, "fields")
    if tables:
        data["dataverse_tables"] = _sorted(tables, "columns")
    files = {f"solutions/{folder}/{FILE}": document(data, [*header, *HEADER], rendered=False)}
    return (files if data else {}), sorted(set(found.notes))
