"""`solutions/<s>/schema/*.yaml`: custom fields and columns a solution adds (docs/catalog.md)."""

from __future__ import annotations

from typing import Annotated, Literal, NotRequired

from pydantic import ConfigDict, Field
from typing_extensions import TypedDict

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


class ColumnSpec(TypedDict):
    """A field or column. A typed dict rather than a model: a large solution schema holds a
    hundred thousand of them, validated in a third of the time; every key may be left out."""

    __pydantic_config__ = ConfigDict(extra="forbid")  # type: ignore[misc]
    type: NotRequired[ColumnType]
    max_length: NotRequired[Annotated[int, Field(ge=1)] | None]
    values: NotRequired[list[str | int | bool]]
    target: NotRequired[str | None]
    required: NotRequired[bool]
    read_only: NotRequired[bool]


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
