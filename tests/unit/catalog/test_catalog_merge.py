"""Merging solution schema files: a validated `SchemaFile` extends the catalog exactly as its
plain data would, with later files extending earlier ones and the first spelling of a name kept."""

from __future__ import annotations

from typing import Any

import pytest

from dwconf.catalog import Catalog, Column, Columns, FieldType, standard
from dwconf.model.schema import SchemaFile

FIRST: dict[str, Any] = {
    "finops_entities": {
        "Customers V3": {"fields": {"ZZ_NOTE": {"type": "string", "max_length": 40}}},
        "Fleet cars": {
            "company": "cross",
            "fields": {
                "plate": {"type": "string", "max_length": 10, "required": True},
                "PLATE": {"type": "int32"},
                "Kind": {"type": "enum", "values": ["van", "car"]},
            },
        },
    },
    "dataverse_tables": {
        "zz_cars": {
            "logical_name": "zz_car",
            "company": "shared",
            "alternate_keys": [["zz_plate"]],
            "columns": {
                "ZZ_Plate": {"type": "string", "max_length": 12, "read_only": True},
                "zz_plate": {"type": "guid"},
                "zz_kind": {"type": "optionset", "values": [1, 2, True]},
                "zz_ownerid": {"type": "lookup", "target": "accounts"},
            },
        },
    },
}
SECOND: dict[str, Any] = {
    "finops_entities": {"fleet CARS": {"fields": {"PLATE": {"type": "guid"}, "SEATS": {}}}},
    "dataverse_tables": {
        "ZZ_cars": {
            "kind": "virtual",
            "alternate_keys": [["zz_plate"], ["zz_kind"]],
            "columns": {"zz_seats": {"type": "int32"}},
        },
    },
}


def from_models(*docs: dict[str, Any]) -> Catalog:
    return standard().extended([SchemaFile.model_validate(doc) for doc in docs])


def from_plain_data(*docs: dict[str, Any]) -> Catalog:
    catalog = Catalog(dict(standard().entities), dict(standard().tables))
    catalog._entity_index.update(standard()._entity_index)
    for doc in docs:
        catalog.add(SchemaFile.model_validate(doc).model_dump(exclude_none=True))
    return catalog


def test_a_schema_model_merges_as_its_plain_data_does() -> None:
    assert from_models(FIRST, SECOND) == from_plain_data(FIRST, SECOND)


def test_later_files_extend_and_the_first_spelling_wins() -> None:
    catalog = from_models(FIRST, SECOND)
    cars = catalog.entity("FLEET CARS")
    assert cars is not None and cars.name == "Fleet cars" and cars.company == "cross"
    assert cars.field("plate") == Column("PLATE", FieldType.STRING, 10, required=True)
    assert cars.field("seats") == Column("SEATS")
    table = catalog.table("zz_cars")
    assert table is not None and table.kind == "virtual" and table.logical_name == "zz_car"
    assert table.alternate_keys == (("zz_plate",), ("zz_kind",))
    assert table.column("zz_plate") == Column("zz_plate", FieldType.STRING, 12, read_only=True)
    assert table.column("zz_kind") == Column(
        "zz_kind", FieldType.OPTIONSET, None, ("1", "2", "True")
    )


def test_extending_leaves_the_standard_catalog_alone() -> None:
    before = standard().entity("Customers V3")
    extended = from_models(FIRST).entity("Customers V3")
    assert before is not None and extended is not None
    assert extended.field("ZZ_NOTE") is not None and before.field("ZZ_NOTE") is None
    assert standard().entity("Customers V3") is before


def test_schema_columns_are_made_once_and_only_when_asked_for(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    made: list[str] = []
    real = Column.of

    def spy(name: str, spec: Any) -> Column:
        made.append(name)
        return real(name, spec)

    monkeypatch.setattr(Column, "of", spy)
    catalog = from_models(FIRST, SECOND)
    assert made == []
    table = catalog.table("zz_cars")
    assert table is not None
    seats = table.column("ZZ_SEATS")
    assert seats == Column("zz_seats", FieldType.INT32)
    assert table.column("zz_seats") is seats and made == ["zz_seats"]
    assert table.column("zz_nothing") is None and "zz_nothing" not in table.columns
    cars = catalog.entity("fleet cars")
    assert cars is not None
    assert cars.fields.required() == [Column("PLATE", FieldType.STRING, 10, required=True)]
    assert made == ["zz_seats", "PLATE"]  # the other fields are not made to find it
    assert sorted(c.name for c in table.columns.values()) == sorted(table.columns)
    assert sorted(made) == sorted(["PLATE", *table.columns])
    with pytest.raises(KeyError):
        table.columns["zz_nothing"]


def test_a_column_made_from_a_schema_spec_is_the_one_parsed_from_its_data() -> None:
    spec: dict[str, Any] = {
        "type": "lookup",
        "max_length": 9,
        "values": [1, "b"],
        "target": "accounts",
        "required": True,
        "read_only": True,
    }
    validated = SchemaFile.model_validate({"dataverse_tables": {"t": {"columns": {"c": spec}}}})
    made = Column.of("c", validated.dataverse_tables["t"].columns["c"])
    assert made == Column.parse("c", spec)
    assert made._fields == Column._fields and len(made) == len(Column._fields)
    assert repr(Columns({"c": made})) == "Columns(['c'])"
