"""What a map rule sees: the map, its document, and the catalog metadata of both sides."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import NamedTuple

from dwconf.catalog import Catalog, Column, Entity, FieldType, Table
from dwconf.diagnostics import Span
from dwconf.load.project import MapSpec, Project
from dwconf.model import TableMap

COMPANY_COLUMNS = frozenset({"msdyn_company", "cdm_company", "msdyn_associatedcompanyid"})
COMPANY_FIELDS = frozenset({"DATAAREAID", "DATAAREA", "COMPANY"})


class Resolved(NamedTuple):
    """A Dataverse column path resolved through lookups: the final column, if known."""

    column: Column | None
    known: bool  # False when a table on the way is not in the catalog (checks are skipped)
    missing: str | None = None  # the first segment that does not exist
    missing_in: Table | None = None
    offset: int = 0  # character offset of the missing segment in the path


class FieldColumns(NamedTuple):
    """One field mapping's catalog metadata, looked up once per map for every rule."""

    finops: Column | None  # None: no F&O side, an unknown entity, or not one of its fields
    dataverse: Resolved | None  # None: no Dataverse side

    @property
    def both(self) -> tuple[Column, Column] | None:
        """The F&O field and the final Dataverse column, when the catalog knows both."""
        dataverse = self.dataverse.column if self.dataverse is not None else None
        if self.finops is None or dataverse is None:
            return None
        return self.finops, dataverse


@dataclass(frozen=True)
class MapContext:
    project: Project
    spec: MapSpec

    @property
    def map(self) -> TableMap:
        return self.spec.model

    @property
    def catalog(self) -> Catalog:
        return self.project.catalog

    @cached_property
    def entity(self) -> Entity | None:
        return self.catalog.entity(self.map.finops_entity)

    @cached_property
    def table(self) -> Table | None:
        return self.catalog.table(self.map.dataverse_table)

    def span(self, *path: str | int, key: bool = False) -> Span:
        return self.spec.doc.span(path, key=key)

    def field_span(self, index: int, side: str | None = None) -> Span:
        if side is not None:
            return self.spec.doc.span(("fields", index, side))
        return self.spec.doc.span(("fields", index))

    def finops_field(self, name: str) -> Column | None:
        return self.entity.field(name) if self.entity else None

    @cached_property
    def columns(self) -> tuple[FieldColumns, ...]:
        """Each field's `FieldColumns`, in field order."""
        entity = self.entity
        return tuple(
            FieldColumns(
                entity.field(f.finops) if entity is not None and f.finops else None,
                self.resolve(f.dataverse) if f.dataverse else None,
            )
            for f in self.map.fields
        )

    def resolve(self, path: str) -> Resolved:
        """Follow `lookup.key` segments from the map's table to the final column."""
        table = self.table
        if table is not None and "." not in path and "(" not in path:  # the usual case
            found = table.column(path)
            return Resolved(found, True) if found is not None else Resolved(None, True, path, table)
        offset = 0
        column: Column | None = None
        for segment in path.split("."):
            if table is None:
                return Resolved(None, known=False)
            if "(" in segment:  # polymorphic lookup syntax: not modelled, skip checks
                return Resolved(None, known=False)
            column = table.column(segment)
            if column is None:
                return Resolved(None, True, segment, table, offset)
            offset += len(segment) + 1
            if column.type is FieldType.LOOKUP:
                table = self.catalog.table(column.target) if column.target else None
            else:
                table = None
        return Resolved(column, known=True)

    @cached_property
    def is_two_way(self) -> bool:
        from dwconf.model import Direction

        return any(f.direction is Direction.BOTH for f in self.map.fields)

    def company_specific(self) -> bool:
        return bool(self.table and self.table.company == "specific")


def lookup_root(path: str) -> str:
    return path.split(".", 1)[0].lower()
