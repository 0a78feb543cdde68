"""Integration-key rules (DIPV1003/1004/1014/1015) and company partitioning (DIPV1002)."""

from __future__ import annotations

from collections.abc import Iterator

from dwconf.catalog import FieldType
from dwconf.diagnostics import Diagnostic, error, warning
from dwconf.model import Direction
from dwconf.validate.context import COMPANY_COLUMNS, COMPANY_FIELDS, MapContext, lookup_root


def _is_company(column: str) -> bool:
    return lookup_root(column) in COMPANY_COLUMNS


def key_present(ctx: MapContext) -> Iterator[Diagnostic]:
    """DW2301: the Dataverse table needs an integration key (DIPV1003)."""
    table = ctx.table
    if table is None or ctx.map.integration_key or table.alternate_keys:
        return
    yield error(
        "DW2301",
        f"Dataverse table '{table.name}' has no alternate key and the map sets no "
        "integration_key (DIPV1003 in the Dual-write workspace)",
        ctx.span("dataverse_table"),
        "add integration_key: [<column>, ...] naming the table's natural key",
    )


def key_mapped(ctx: MapContext) -> Iterator[Diagnostic]:
    """DW2302/DW2303/DW2304/DW2305: every key column mapped, two-way where needed."""
    fields = [f for f in ctx.map.fields if f.dataverse]
    for k, column in enumerate(ctx.map.integration_key):
        if _is_company(column) and ctx.company_specific():
            continue  # supplied by legal-entity partitioning
        root = lookup_root(column)
        if ctx.table is not None and ctx.table.column(root) is None:
            yield error(
                "DW2305",
                f"integration key column '{root}' is not a column of '{ctx.table.name}'",
                ctx.span("integration_key", k),
                "name columns of the map's Dataverse table",
            )
            continue
        wanted = column.lower()
        exact = [f for f in fields if (f.dataverse or "").lower() == wanted]
        expanded = [
            f
            for f in fields
            if "." in (f.dataverse or "") and lookup_root(f.dataverse or "") == root
        ]
        resolved = ctx.resolve(root).column
        is_lookup = "." in column or (resolved is not None and resolved.type is FieldType.LOOKUP)
        matching = (exact or expanded) if is_lookup else exact
        if is_lookup and not matching:
            yield error(
                "DW2304",
                f"key column '{column}' is a lookup; its expanded key field must be mapped "
                "(DIPV1015 in the Dual-write workspace)",
                ctx.span("integration_key", k),
                f"map '{root}.<target key column>' in fields",
            )
        elif not matching:
            yield error(
                "DW2302",
                f"integration key column '{column}' is not mapped "
                "(DIPV1014 in the Dual-write workspace)",
                ctx.span("integration_key", k),
                f"add a field mapping for '{column}'",
            )
        elif ctx.is_two_way and all(f.direction is not Direction.BOTH for f in matching):
            yield error(
                "DW2303",
                f"key column '{column}' must be mapped two-way because other fields are "
                "(DIPV1004 in the Dual-write workspace)",
                ctx.span("integration_key", k),
                "set direction: both on the key's field mapping",
            )


def company_partitioning(ctx: MapContext) -> Iterator[Diagnostic]:
    """DW2401 (DIPV1002) and DW2402: company-specific on both sides; company not mapped."""
    entity, table = ctx.entity, ctx.table
    if entity is not None and table is not None:
        fo_specific = entity.company == "specific"
        dv_specific = table.company == "specific"
        if fo_specific != dv_specific:
            fo_kind = "company-specific" if fo_specific else "cross-company"
            dv_kind = "company-specific" if dv_specific else "shared"
            yield error(
                "DW2401",
                f"{fo_kind} entity '{entity.name}' is mapped to {dv_kind} table '{table.name}' "
                "(DIPV1002 in the Dual-write workspace)",
                ctx.span("dataverse_table"),
                "map company-specific to company-specific and cross-company to shared tables",
            )
    if not ctx.company_specific():
        return
    for i, f in enumerate(ctx.map.fields):
        dv = f.dataverse and _is_company(f.dataverse)
        fo = f.finops and f.finops.upper() in COMPANY_FIELDS
        if dv or fo:
            yield warning(
                "DW2402",
                "the company column is mapped on a company-specific map; legal-entity "
                "partitioning already supplies it",
                ctx.field_span(i),
                "remove this field mapping",
            )
