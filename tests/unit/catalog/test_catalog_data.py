"""The packaged catalog data: every standard map template validates against the merged catalog."""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

import pytest

from dwconf.catalog import Catalog, Column, FieldType, data_files, standard
from dwconf.yaml import load_plain

INCLUDES = "articles/fin-ops-core/dev-itpro/data-entities/dual-write/includes/"
DIRECTIONS = {"both", "to_dataverse", "to_finops"}
ROW_KEYS = {"finops", "dataverse", "direction", "value_map", "default"}
TOP_KEYS = {"source", "template", "finops_entities", "dataverse_tables"}
COLUMN_KEYS = {"type", "values", "target", "max_length", "required", "read_only"}
TABLE_KEYS = {"logical_name", "company", "kind", "versionnumber", "alternate_keys", "columns"}
TYPES = {t.value for t in FieldType}
# plain (no value map) mappings that hold without a transform: (F&O type, Dataverse type)
COMPATIBLE = {
    ("string", "string"),
    ("real", "decimal"),
    ("int32", "int32"),
    ("int64", "int64"),
    ("date", "date"),
    ("date", "datetime"),
    ("datetime", "datetime"),
    ("guid", "guid"),
}
POLYMORPHIC = re.compile(r"^(\w+)\((\w+)\)$")

FILES = data_files()
DOCS = {name: load_plain(text) for name, text in FILES}


def templates() -> list[Any]:
    return [pytest.param(name, doc["template"], id=name) for name, doc in DOCS.items()]


def rows() -> list[Any]:
    return [
        pytest.param(
            name, doc["template"], row, id=f"{name}:{i}:{row.get('finops', row.get('dataverse'))}"
        )
        for name, doc in DOCS.items()
        for i, row in enumerate(doc["template"]["fields"], 1)
    ]


def resolve(catalog: Catalog, table: str, path: str) -> Column | None:
    """The column a Dataverse path ends at; None when the path passes an untyped lookup."""
    segments = path.split(".")
    current = catalog.table(table)
    assert current is not None, f"table {table} is not in the catalog"
    column = current.column(segments[0])
    assert column is not None, f"{table}.{segments[0]} is not in the catalog"
    for segment in segments[1:]:
        poly = POLYMORPHIC.match(segment)
        if poly:
            (target,) = [t for t in catalog.tables.values() if t.logical_name == poly[1].lower()]
            assert target.column(poly[2]) is not None, f"{target.name}.{poly[2]} missing"
            continue
        if column.type is FieldType.UNKNOWN:
            return None
        assert column.type is FieldType.LOOKUP, f"{path}: {column.name} is not a lookup"
        assert column.target, f"{path}: lookup {column.name} has no target"
        current = catalog.table(column.target)
        assert current is not None, f"{path}: target table {column.target} is not in the catalog"
        column = current.column(segment)
        assert column is not None, f"{path}: {current.name}.{segment} is not in the catalog"
    return column


def test_covers_at_least_100_templates() -> None:
    assert len(FILES) >= 100
    assert len({doc["template"]["name"] for doc in DOCS.values()}) >= 100


@pytest.mark.parametrize("name", [name for name, _ in FILES])
def test_data_file_shape(name: str) -> None:
    doc = DOCS[name]
    assert isinstance(doc, dict) and set(doc) == TOP_KEYS
    assert doc["source"].startswith(INCLUDES) and doc["source"].endswith(".md")
    stem = doc["source"].removeprefix(INCLUDES).removesuffix(".md").lower()
    assert name == f"{stem}.yaml" or name.startswith(f"{stem}-")
    template = doc["template"]
    assert set(template) == {"name", "finops_entity", "dataverse_table", "fields"}
    assert template["name"] == f"{template['finops_entity']} ({template['dataverse_table']})"
    assert template["finops_entity"] in doc["finops_entities"]
    assert template["dataverse_table"] in doc["dataverse_tables"]
    assert template["fields"], "a template has at least one field"
    for row in template["fields"]:
        assert set(row) <= ROW_KEYS and row["direction"] in DIRECTIONS, row
        assert "finops" in row or "dataverse" in row, row
        if "finops" not in row or "dataverse" not in row:
            assert "default" in row, f"a one-sided row needs a default: {row}"
        if "dataverse" in row:
            assert row["dataverse"].split(".")[0] == row["dataverse"].split(".")[0].lower()


@pytest.mark.parametrize("name", [name for name, _ in FILES])
def test_types_are_field_types(name: str) -> None:
    doc = DOCS[name]
    specs = [spec for e in doc["finops_entities"].values() for spec in e["fields"].values()]
    specs += [spec for t in doc["dataverse_tables"].values() for spec in t["columns"].values()]
    for entity in doc["finops_entities"].values():
        assert entity["company"] in {"specific", "cross"}
    for table in doc["dataverse_tables"].values():
        assert set(table) == TABLE_KEYS
        assert table["company"] in {"specific", "shared"}
        assert table["kind"] == "standard" and table["versionnumber"] is True
    for spec in specs:
        assert set(spec) <= COLUMN_KEYS and spec["type"] in TYPES, spec
        if spec["type"] == "enum":
            assert spec["values"] and all(isinstance(v, str) for v in spec["values"]), spec
        if spec["type"] == "optionset":
            assert all(type(v) is int for v in spec["values"]), spec
        assert ("target" in spec) == (spec["type"] == "lookup"), spec


def test_same_field_or_column_is_described_the_same_everywhere() -> None:
    seen: dict[tuple[str, ...], set[str]] = defaultdict(set)
    for doc in DOCS.values():
        for entity, spec in doc["finops_entities"].items():
            seen[("entity", entity.lower())].add(spec["company"])
            for field, fspec in spec["fields"].items():
                seen[("field", entity.lower(), field.upper())].add(repr(sorted(fspec.items())))
        for table, spec in doc["dataverse_tables"].items():
            attrs = {k: v for k, v in spec.items() if k != "columns"}
            seen[("table", table)].add(repr(sorted(attrs.items())))
            for column, cspec in spec["columns"].items():
                seen[("column", table, column)].add(repr(sorted(cspec.items())))
    differing = {key: specs for key, specs in seen.items() if len(specs) > 1}
    assert not differing


@pytest.mark.parametrize(("name", "template", "row"), rows())
def test_template_row_validates(name: str, template: dict[str, Any], row: dict[str, Any]) -> None:
    catalog = standard()
    entity = catalog.entity(template["finops_entity"])
    table = catalog.table(template["dataverse_table"])
    assert entity is not None and table is not None
    field = entity.field(row["finops"]) if "finops" in row else None
    if "finops" in row:
        assert field is not None, f"{entity.name}.{row['finops']} is not in the catalog"
    column = resolve(catalog, table.name, row["dataverse"]) if "dataverse" in row else None
    ftype = field.type.value if field else None
    dtype = column.type.value if column else None
    if "value_map" in row:
        vmap = row["value_map"]
        if field and field.type is FieldType.ENUM:
            assert set(vmap) <= set(field.values), f"{sorted(set(vmap) - set(field.values))}"
        if column and column.type is FieldType.OPTIONSET:
            assert {str(v) for v in vmap.values()} <= set(column.values)
            assert all(type(v) is int for v in vmap.values())
        if column and column.type is FieldType.BOOLEAN:
            assert all(isinstance(v, bool) for v in vmap.values())
    elif ftype and dtype and "unknown" not in (ftype, dtype):
        assert (ftype, dtype) in COMPATIBLE, f"{row}: {ftype} -> {dtype} needs a value map"
    if "default" in row:
        default = row["default"]
        side = column if "finops" not in row else field
        if side is not None and side.type is FieldType.OPTIONSET:
            assert type(default) is int and str(default) in side.values
        elif side is not None and side.type is FieldType.BOOLEAN:
            assert isinstance(default, bool)
        elif side is not None and side.type in {FieldType.STRING, FieldType.ENUM}:
            assert isinstance(default, str)
            assert side.type is FieldType.STRING or default in side.values
        elif side is not None and side.type in {FieldType.DECIMAL, FieldType.INT32}:
            assert isinstance(default, int | float) and not isinstance(default, bool)


@pytest.mark.parametrize(("name", "template"), templates())
def test_template_pairs_matching_companies_and_keyed_table(
    name: str, template: dict[str, Any]
) -> None:
    catalog = standard()
    entity = catalog.entity(template["finops_entity"])
    table = catalog.table(template["dataverse_table"])
    assert entity is not None and table is not None
    expected = {"specific": "specific", "cross": "shared"}[entity.company]
    assert table.company == expected, (
        f"{entity.name} is {entity.company}, {table.name} is {table.company}"
    )
    assert table.alternate_keys, f"{table.name} has no alternate key"
    assert table.versionnumber and table.kind == "standard"


def test_alternate_key_columns_exist() -> None:
    for table in standard().tables.values():
        for key in table.alternate_keys:
            missing = [c for c in key if table.column(c) is None]
            assert not missing, f"{table.name}: key columns {missing} are not columns"
        if table.company == "specific":
            companies = [c for c in table.columns.values() if c.target == "cdm_companies"]
            assert companies, f"{table.name} is company-specific without a company lookup"


def test_lookup_targets_are_tables_with_their_key_columns() -> None:
    catalog = standard()
    for table in catalog.tables.values():
        for column in table.columns.values():
            if column.type is FieldType.LOOKUP:
                target = catalog.table(column.target or "")
                assert target is not None, f"{table.name}.{column.name} -> {column.target}"
                assert target.alternate_keys, f"{target.name} has no alternate key"


def test_resolve_rejects_a_path_through_a_missing_column() -> None:
    with pytest.raises(AssertionError):
        resolve(standard(), "accounts", "transactioncurrencyid.no_such_column")
    with pytest.raises(AssertionError):
        resolve(standard(), "accounts", "accountnumber.isocurrencycode")
