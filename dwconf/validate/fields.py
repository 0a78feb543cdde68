"""Field-mapping rules: names exist, each field has a source and a destination, no duplicates,
mandatory and read-only destination columns (DIPV1010/1011/1021/1022/1023/1024/1025/1026/1031)."""

from __future__ import annotations

import difflib
from collections.abc import Iterator

from dwconf.diagnostics import Diagnostic, error, warning
from dwconf.model import Direction, FieldMapping
from dwconf.validate.context import MapContext, Resolved, lookup_root


def _suggest(name: str, candidates: list[str]) -> str:
    close = difflib.get_close_matches(name, candidates, n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else ""


def _suggest_name(name: str, candidates: list[str]) -> str:
    """`did you mean 'Customers V3'?` for an entity or table name, compared case-insensitively
    (the catalog has hundreds of names: the closest one only, and only when it is close)."""
    by_folded = {c.casefold(): c for c in candidates}
    close = difflib.get_close_matches(name.casefold(), list(by_folded), n=1, cutoff=0.8)
    return f"did you mean '{by_folded[close[0]]}'?" if close else ""


def unknown_names(ctx: MapContext) -> Iterator[Diagnostic]:
    """DW2001/DW2002: every field and column named exists in the catalog."""
    entity, table = ctx.entity, ctx.table
    if entity is None:
        close = _suggest_name(ctx.map.finops_entity, list(ctx.catalog.entities))
        yield warning(
            "DW2003",
            f"F&O entity '{ctx.map.finops_entity}' is not in the catalog; "
            "its fields are not checked",
            ctx.span("finops_entity"),
            (f"{close}; " if close else "check the name, or ")
            + "describe the entity in solutions/<s>/schema/*.yaml",
        )
    if table is None:
        close = _suggest_name(ctx.map.dataverse_table.lower(), list(ctx.catalog.tables))
        yield warning(
            "DW2004",
            f"Dataverse table '{ctx.map.dataverse_table}' is not in the catalog; "
            "its columns are not checked",
            ctx.span("dataverse_table"),
            (f"{close}; " if close else "use the entity set name (e.g. accounts), or ")
            + "describe it in solutions/<s>/schema/",
        )
    for i, (f, columns) in enumerate(zip(ctx.map.fields, ctx.columns, strict=True)):
        if entity is not None and f.finops and columns.finops is None:
            yield error(
                "DW2001",
                f"'{f.finops}' is not a field of F&O entity '{entity.name}' "
                "(DIPV1022 in the Dual-write workspace)",
                ctx.field_span(i, "finops"),
                _suggest(f.finops.upper(), list(entity.fields)) or "check the entity's fields",
            )
        if table is not None and columns.dataverse is not None:
            yield from _unknown_column(ctx, i, columns.dataverse)


def _unknown_column(ctx: MapContext, index: int, resolved: Resolved) -> Iterator[Diagnostic]:
    if resolved.missing is None or resolved.missing_in is None:
        return
    where = resolved.missing_in
    yield error(
        "DW2002",
        f"'{resolved.missing}' is not a column of Dataverse table '{where.name}' "
        "(DIPV1025 in the Dual-write workspace)",
        ctx.field_span(index, "dataverse").shifted(resolved.offset),
        _suggest(resolved.missing.lower(), list(where.columns)) or "check the table's columns",
    )


def presence(ctx: MapContext) -> Iterator[Diagnostic]:
    """DW2103/DW2104: each field has a destination, and a source or a default (DIPV1021/1024)."""
    for i, f in enumerate(ctx.map.fields):
        if not f.finops and not f.dataverse:
            yield error(
                "DW2104",
                "a field needs 'finops', 'dataverse' or both "
                "(DIPV1024 in the Dual-write workspace)",
                ctx.field_span(i),
                "name the F&O field and/or the Dataverse column",
            )
            continue
        if f.direction is Direction.BOTH and not (f.finops and f.dataverse):
            side = "dataverse" if f.finops else "finops"
            yield error(
                "DW2103",
                f"a two-way field needs both sides; '{side}' is missing "
                "(DIPV1021 in the Dual-write workspace)",
                ctx.field_span(i),
                "add the other side, or make it one-way toward the named side with a default",
            )
            continue
        if f.direction is not Direction.BOTH:
            yield from _one_way_presence(ctx, i, f)


def _one_way_presence(ctx: MapContext, i: int, f: FieldMapping) -> Iterator[Diagnostic]:
    to_dv = f.direction is Direction.TO_DATAVERSE
    destination, source = (f.dataverse, f.finops) if to_dv else (f.finops, f.dataverse)
    dest_side, source_side = ("dataverse", "finops") if to_dv else ("finops", "dataverse")
    if not destination:
        yield error(
            "DW2104",
            f"the field writes to {'Dataverse' if to_dv else 'F&O'} but names no '{dest_side}' "
            "(DIPV1024 in the Dual-write workspace)",
            ctx.field_span(i),
            f"add '{dest_side}:', or change the direction",
        )
    elif not source and f.default is None:
        yield error(
            "DW2103",
            f"the field has no '{source_side}' source and no default "
            "(DIPV1021 in the Dual-write workspace)",
            ctx.field_span(i),
            f"add '{source_side}:' or a 'default:' value (the Default value transform)",
        )


def duplicates(ctx: MapContext) -> Iterator[Diagnostic]:
    """DW2106/DW2107: one F&O field in two-way fields fed by two plain columns; a destination
    written twice.

    A field may be a source twice: the standard Warehouses template maps WAREHOUSEID both ways
    and one way, and the service's own Fiscal calendar period, Fiscal calendar year and (older)
    CDS sales order lines templates map one F&O field two-way to two columns. So DIPV1023 is
    not applied to F&O fields in several two-way fields: where at least one of them goes
    through a lookup (the lookup and the column name the same record, as in the Fiscal calendar
    templates) nothing is said, and where all are plain columns a warning says that Dataverse
    then writes the field from two columns (docs/diagnostics.md). Two one-way fields writing
    one destination, or a one-way and a two-way one, stay errors (DIPV1026).
    """
    written_dv: dict[str, int] = {}
    written_fo: dict[str, int] = {}
    two_way: dict[str, list[int]] = {}
    pairs: set[tuple[str, str]] = set()
    fields = ctx.map.fields
    for i, f in enumerate(fields):
        fo = f.finops.upper() if f.finops else None
        dv = f.dataverse.lower() if f.dataverse else None
        if fo and dv:
            if (fo, dv) in pairs:
                continue  # the same pair twice is DW2205's to report
            pairs.add((fo, dv))
        if dv and f.direction.writes_dataverse:
            first = written_dv.setdefault(dv, i)
            if first != i:
                yield _twice(ctx, first, i, dv, side="dataverse")
        if fo and f.direction is Direction.BOTH:
            two_way.setdefault(fo, []).append(i)
        if fo and f.direction.writes_finops:
            first = written_fo.setdefault(fo, i)
            both = fields[first].direction is f.direction is Direction.BOTH
            if first != i and not both:
                yield _twice(ctx, first, i, fo, side="finops")
    for fo, uses in two_way.items():
        plain = all("." not in (fields[i].dataverse or "") for i in uses)
        if len(uses) > 1 and plain:
            yield _two_columns(ctx, uses, fo)


def _two_columns(ctx: MapContext, uses: list[int], name: str) -> Diagnostic:
    first_span = ctx.field_span(uses[0], "finops")
    columns = ", ".join(f"'{ctx.map.fields[i].dataverse}'" for i in uses)
    return warning(
        "DW2106",
        f"'{name}' is two-way with {len(uses)} plain columns ({columns}; first at line "
        f"{first_span.line}), so each of them writes it from Dataverse "
        "(DIPV1023 in the Dual-write workspace)",
        ctx.field_span(uses[1], "finops"),
        "make all but one of them one-way (to_dataverse), unless the columns always agree",
    )


def _twice(ctx: MapContext, first: int, i: int, name: str, *, side: str) -> Diagnostic:
    first_span = ctx.field_span(first, side)
    return error(
        "DW2107",
        f"'{name}' is used twice as destination (first at line {first_span.line}; "
        "DIPV1026 in the Dual-write workspace)",
        ctx.field_span(i, side),
        "keep one field mapping for it",
    )


def _mapped_dataverse(ctx: MapContext) -> set[str]:
    return {
        lookup_root(f.dataverse)
        for f in ctx.map.fields
        if f.dataverse and f.direction.writes_dataverse
    }


def mandatory(ctx: MapContext) -> Iterator[Diagnostic]:
    """DW2101: a required destination column is neither mapped nor defaulted (DIPV1010/1031)."""
    fields = ctx.map.fields
    required = ctx.table.columns.required() if ctx.table is not None else []
    if required and any(f.direction.writes_dataverse for f in fields):
        mapped = _mapped_dataverse(ctx)
        for column in required:
            implied = ctx.company_specific() and column.name in ("msdyn_company", "cdm_company")
            if column.name not in mapped and not implied:
                yield error(
                    "DW2101",
                    f"required Dataverse column '{column.name}' is neither mapped nor defaulted "
                    "(DIPV1010 in the Dual-write workspace)",
                    ctx.span("fields", key=True),
                    f"add a field for '{column.name}', or one with a default",
                )
    required = ctx.entity.fields.required() if ctx.entity is not None else []
    if required and any(f.direction.writes_finops for f in fields):
        mapped_fo = {f.finops.upper() for f in fields if f.finops and f.direction.writes_finops}
        for column in required:
            if column.name not in mapped_fo:
                yield error(
                    "DW2101",
                    f"required F&O field '{column.name}' is neither mapped nor defaulted "
                    "(DIPV1010 in the Dual-write workspace)",
                    ctx.span("fields", key=True),
                    f"add a field for '{column.name}', or one with a default",
                )


def read_only(ctx: MapContext) -> Iterator[Diagnostic]:
    """DW2102: a read-only destination column is written (DIPV1011)."""
    for i, (f, columns) in enumerate(zip(ctx.map.fields, ctx.columns, strict=True)):
        if f.dataverse and f.direction.writes_dataverse and "." not in f.dataverse:
            column = columns.dataverse.column if columns.dataverse is not None else None
            if column is not None and column.read_only:
                yield error(
                    "DW2102",
                    f"Dataverse column '{f.dataverse}' is read-only but the field writes to it "
                    "(DIPV1011 in the Dual-write workspace)",
                    ctx.field_span(i, "direction"),
                    "make the field one-way toward F&O (direction: to_finops)",
                )
        if f.finops and f.direction.writes_finops:
            field = columns.finops
            if field is not None and field.read_only:
                yield error(
                    "DW2102",
                    f"F&O field '{f.finops}' is read-only but the field writes to it "
                    "(DIPV1011 in the Dual-write workspace)",
                    ctx.field_span(i, "direction"),
                    "make the field one-way toward Dataverse (direction: to_dataverse)",
                )
