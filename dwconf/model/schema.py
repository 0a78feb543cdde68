"""`solutions/<s>/schema/*.yaml`: custom fields and columns a solution adds (docs/catalog.md)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from dwconf.model.common import Strict

ColumnType = Literal[
    "string",
    "int32",
    "int64",
    "real",
    "decimal",
    "date",
    "datetime",
    "enum",
    "optionset",
    "boolean",
    "lookup",
    "guid",
    "unknown",
]


class ColumnSpec(Strict):
    type: ColumnType = "unknown"
    max_length: int | None = Field(default=None, ge=1)
    values: list[str | int | bool] = Field(default_factory=list)
    target: str | None = None
    required: bool = False
    read_only: bool = False


class EntitySpec(Strict):
    company: Literal["specific", "cross"] | None = None
    fields: dict[str, ColumnSpec] = Field(default_factory=dict)


class TableSpec(Strict):
    logical_name: str | None = None
    company: Literal["specific", "shared"] | None = None
    kind: Literal["standard", "virtual", "elastic"] | None = None
    versionnumber: bool | None = None
    alternate_keys: list[list[str]] = Field(default_factory=list)
    columns: dict[str, ColumnSpec] = Field(default_factory=dict)


class SchemaFile(Strict):
    finops_entities: dict[str, EntitySpec] = Field(default_factory=dict)
    dataverse_tables: dict[str, TableSpec] = Field(default_factory=dict)
