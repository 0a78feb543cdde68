"""Metadata of standard F&O data entities and Dataverse tables (package data).

The data files under `catalog/data/` are YAML, one per Microsoft standard map template; a
solution extends the catalog with `solutions/<s>/schema/*.yaml` in the same format. See
docs/catalog.md for the format.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Iterator, Mapping, ValuesView
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any, NamedTuple, cast

from dwconf.model.schema import ColumnSpec, SchemaFile
from dwconf.yaml import load_plain


class FieldType(enum.Enum):
    STRING = "string"
    INT32 = "int32"
    INT64 = "int64"
    REAL = "real"
    DECIMAL = "decimal"
    DATE = "date"
    DATETIME = "datetime"
    ENUM = "enum"
    OPTIONSET = "optionset"
    BOOLEAN = "boolean"
    LOOKUP = "lookup"
    GUID = "guid"
    UNKNOWN = "unknown"

    # Members are singletons compared by identity; the type rules look pairs of them up in sets
    # a hundred thousand times, and an enum's own hash is a Python call.
    __hash__ = object.__hash__


# FieldType(value) goes through the enum machinery; a large schema has 100,000 columns to type.
TYPES_BY_VALUE = {t.value: t for t in FieldType}


class Column(NamedTuple):
    """A field of an F&O entity or a column of a Dataverse table.

    A named tuple rather than a frozen dataclass: a large solution schema makes a hundred
    thousand of them, and a tuple is built in a third of the time.
    """

    name: str
    type: FieldType = FieldType.UNKNOWN
    max_length: int | None = None
    values: tuple[str, ...] = ()
    target: str | None = None
    required: bool = False
    read_only: bool = False

    @classmethod
    def parse(cls, name: str, raw: Mapping[str, Any]) -> Column:
        return cls(
            name=name,
            type=FieldType(raw.get("type", "unknown")),
            max_length=raw.get("max_length"),
            values=tuple(str(v) for v in raw.get("values", ())),
            target=raw.get("target"),
            required=bool(raw.get("required", False)),
            read_only=bool(raw.get("read_only", False)),
        )

    @classmethod
    def of(cls, name: str, spec: ColumnSpec) -> Column:
        """A column from a validated schema-file spec (what `parse` makes of its dump). Made
        with tuple.__new__: the generated constructor, with its defaults, takes half as long
        again, and a large schema has a hundred thousand columns."""
        values = spec.get("values")
        return tuple.__new__(
            cls,
            (
                name,
                TYPES_BY_VALUE[spec.get("type", "unknown")],
                spec.get("max_length"),
                tuple(map(str, values)) if values else (),
                spec.get("target"),
                spec.get("required", False),
                spec.get("read_only", False),
            ),
        )


_Spec = tuple[str, ColumnSpec]  # a column not made yet: its name and schema spec
_Keyed = tuple[str, Column | _Spec]  # a column by key, made or still a spec


class Columns(Mapping[str, Column]):
    """Columns (or an entity's fields) by key, each made from its schema spec when first asked
    for: a large solution schema has a hundred thousand, and only those the map rules ask for
    are made."""

    __slots__ = ("_items", "_made")

    def __init__(self, items: dict[str, Column | _Spec] | None = None) -> None:
        self._items = {} if items is None else items
        self._made = False  # every column made

    def __getitem__(self, key: str) -> Column:
        found = self.find(key)
        if found is None:
            raise KeyError(key)
        return found

    def find(self, key: str) -> Column | None:
        found = self._items.get(key)
        if found is None or isinstance(found, Column):
            return found
        made = self._items[key] = Column.of(*found)
        return made

    def values(self) -> ValuesView[Column]:
        if not self._made:
            items = self._items
            for key, item in items.items():
                if not isinstance(item, Column):
                    items[key] = Column.of(*item)
            self._made = True
        return cast(ValuesView[Column], self._items.values())

    def required(self) -> list[Column]:
        """The required columns, by name; the others are not made for it."""
        found = [
            self[key]
            for key, item in self._items.items()
            if (item.required if isinstance(item, Column) else item[1].get("required"))
        ]
        return sorted(found, key=lambda c: c.name)

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"Columns({list(self._items)})"

    def united(self, new: Iterable[_Keyed]) -> Columns:
        """A copy with `new` columns added; a key already here keeps its column."""
        items = dict(self._items)
        for key, item in new:
            items.setdefault(key, item)
        return Columns(items)


@dataclass(frozen=True)
class Entity:
    """An F&O data entity; field names are keyed upper-case (F&O compares case-insensitively)."""

    name: str
    company: str = "specific"
    fields: Columns = field(default_factory=Columns)

    def field(self, name: str) -> Column | None:
        return self.fields.find(name.upper())


@dataclass(frozen=True)
class Table:
    """A Dataverse table by entity set name."""

    name: str
    logical_name: str | None = None
    company: str = "specific"
    kind: str = "standard"
    versionnumber: bool = True
    alternate_keys: tuple[tuple[str, ...], ...] = ()
    columns: Columns = field(default_factory=Columns)

    def column(self, name: str) -> Column | None:
        return self.columns.find(name.lower())


@dataclass
class Catalog:
    entities: dict[str, Entity] = field(default_factory=dict)
    tables: dict[str, Table] = field(default_factory=dict)
    _entity_index: dict[str, str] = field(default_factory=dict)

    def entity(self, name: str) -> Entity | None:
        key = self._entity_index.get(name.lower())
        return self.entities.get(key) if key else None

    def table(self, name: str) -> Table | None:
        return self.tables.get(name.lower())

    def add(self, raw: Mapping[str, Any]) -> None:
        """Merge one data file: fields and columns are united, later files extend earlier ones."""
        for name, spec in (raw.get("finops_entities") or {}).items():
            fields = ((spec or {}).get("fields") or {}).items()
            parsed = ((f.upper(), Column.parse(f.upper(), fspec or {})) for f, fspec in fields)
            self._add_entity(name, spec or {}, parsed)
        for name, spec in (raw.get("dataverse_tables") or {}).items():
            columns = ((spec or {}).get("columns") or {}).items()
            parsed = ((c.lower(), Column.parse(c.lower(), cspec or {})) for c, cspec in columns)
            self._add_table(name, spec or {}, parsed)

    def add_schema(self, schema: SchemaFile) -> None:
        """Merge one validated solution schema file, as `add` merges a data file; its columns
        are made when first asked for (`Columns`)."""
        for name, entity in schema.finops_entities.items():
            spec = {"company": entity.company} if entity.company is not None else {}
            keyed = ((f.upper(), (f.upper(), fspec)) for f, fspec in entity.fields.items())
            self._add_entity(name, spec, keyed)
        for name, table in schema.dataverse_tables.items():
            spec = table.model_dump(exclude_none=True, exclude={"columns"})
            keyed = ((c.lower(), (c.lower(), cspec)) for c, cspec in table.columns.items())
            self._add_table(name, spec, keyed)

    def _add_entity(self, name: str, spec: Mapping[str, Any], new: Iterable[_Keyed]) -> None:
        old = self.entity(name)
        fields = (old.fields if old else Columns()).united(new)
        company = spec.get("company", old.company if old else "specific")
        canonical = old.name if old else name
        self.entities[canonical] = Entity(canonical, company, fields)
        self._entity_index[name.lower()] = canonical

    def _add_table(self, name: str, spec: Mapping[str, Any], new: Iterable[_Keyed]) -> None:
        key = name.lower()
        old = self.tables.get(key)
        columns = (old.columns if old else Columns()).united(new)
        keys = tuple(tuple(k) for k in spec.get("alternate_keys", ()))
        self.tables[key] = Table(
            name=key,
            logical_name=spec.get("logical_name", old.logical_name if old else None),
            company=spec.get("company", old.company if old else "specific"),
            kind=spec.get("kind", old.kind if old else "standard"),
            versionnumber=spec.get("versionnumber", old.versionnumber if old else True),
            alternate_keys=(old.alternate_keys if old else ())
            + tuple(k for k in keys if not old or k not in old.alternate_keys),
            columns=columns,
        )

    def extended(self, extra: Iterable[SchemaFile]) -> Catalog:
        """A copy with validated solution schema files merged in."""
        copy = Catalog(dict(self.entities), dict(self.tables), dict(self._entity_index))
        for schema in extra:
            copy.add_schema(schema)
        return copy


def data_files() -> list[tuple[str, str]]:
    """(name, text) of every packaged catalog data file, sorted by name."""
    folder = resources.files("dwconf.catalog") / "data"
    return sorted(
        (entry.name, entry.read_text(encoding="utf-8"))
        for entry in folder.iterdir()
        if entry.name.endswith(".yaml")
    )


@cache
def standard() -> Catalog:
    """The packaged catalog of standard entities and tables (read once per process)."""
    catalog = Catalog()
    for _name, text in data_files():
        catalog.add(load_plain(text) or {})
    return catalog
