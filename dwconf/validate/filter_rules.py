"""Filter rules: both filters parse, and name only fields of their own side (DIPV1012)."""

from __future__ import annotations

import difflib
from collections.abc import Iterator

from dwconf.diagnostics import Diagnostic, error
from dwconf.filters import FilterError, parse_odata, parse_xpp
from dwconf.validate.context import MapContext


def _close(name: str, names: list[str]) -> str:
    found = difflib.get_close_matches(name, names, n=1, cutoff=0.6)
    return f"did you mean '{found[0]}'?" if found else ""


def finops_filter(ctx: MapContext) -> Iterator[Diagnostic]:
    """DW2501/DW2503: the F&O query-range filter parses and names fields of the entity."""
    text = ctx.map.filters.finops
    if text is None:
        return
    path = ("filters", "finops")
    parsed = parse_xpp(text)
    if isinstance(parsed, FilterError):
        yield error(
            "DW2501",
            f"F&O filter: {parsed.message}",
            ctx.spec.doc.text_span(path, parsed.offset),
            'write an X++ query range such as ((PartyType == "Organization"))',
        )
        return
    entity = ctx.entity
    if entity is None:
        return
    for ref in parsed.fields:
        if entity.field(ref.name) is None:
            yield error(
                "DW2503",
                f"F&O filter names '{ref.name}', which is not a field of '{entity.name}'",
                ctx.spec.doc.text_span(path, ref.offset),
                _close(ref.name.upper(), list(entity.fields)) or "filter on the entity's fields",
            )


def dataverse_filter(ctx: MapContext) -> Iterator[Diagnostic]:
    """DW2502/DW2504: the OData filter parses and names columns of the table (DIPV1012)."""
    text = ctx.map.filters.dataverse
    if text is None:
        return
    path = ("filters", "dataverse")
    parsed = parse_odata(text)
    if isinstance(parsed, FilterError):
        yield error(
            "DW2502",
            f"Dataverse filter: {parsed.message} "
            "(DIPV1012 in the Dual-write workspace: error occurred while parsing Dataverse "
            "entity source filter)",
            ctx.spec.doc.text_span(path, parsed.offset),
            "write an OData $filter such as customertypecode eq 3",
        )
        return
    table = ctx.table
    if table is None:
        return
    for ref in parsed.fields:
        if table.column(ref.name) is None:
            yield error(
                "DW2504",
                f"Dataverse filter names '{ref.name}', which is not a column of '{table.name}' "
                "(DIPV1012 in the Dual-write workspace)",
                ctx.spec.doc.text_span(path, ref.offset),
                _close(ref.name.lower(), list(table.columns)) or "filter on the table's columns",
            )
