"""Type compatibility between the two sides of a field (DIPV1030), and string lengths."""

from __future__ import annotations

from collections.abc import Iterator

from dwconf.catalog import Column, FieldType
from dwconf.diagnostics import Diagnostic, error, info, warning
from dwconf.validate.context import MapContext

T = FieldType
NUMBERS = frozenset({T.INT32, T.INT64, T.REAL, T.DECIMAL})
CHOICES = frozenset({T.OPTIONSET, T.BOOLEAN})

# Pairs (F&O type, Dataverse type) that map without a value map.
COMPATIBLE = frozenset(
    {
        (T.STRING, T.STRING),
        (T.STRING, T.GUID),
        (T.GUID, T.GUID),
        (T.GUID, T.STRING),
        (T.INT32, T.INT32),
        (T.INT64, T.INT64),
        (T.INT32, T.DECIMAL),
        (T.REAL, T.DECIMAL),
        (T.DECIMAL, T.DECIMAL),
        (T.DATE, T.DATE),
        (T.DATE, T.DATETIME),
        (T.DATETIME, T.DATETIME),
        (T.DATETIME, T.DATE),
        (T.BOOLEAN, T.BOOLEAN),
        (T.ENUM, T.STRING),
    }
)


def _mismatch(fo: Column, dv: Column) -> tuple[str, str] | None:
    """(message, hint) when the pair is not compatible without a value map."""
    pair = (fo.type, dv.type)
    if pair in COMPATIBLE:
        return None
    if fo.type is T.ENUM and dv.type in CHOICES:
        return (
            f"F&O enum '{fo.name}' and Dataverse {dv.type.value} '{dv.name}' need a value map",
            "add value_map: {<enum value>: <Dataverse value>, ...}",
        )
    if {fo.type, dv.type} == {T.INT32, T.INT64}:
        return (
            f"{fo.type.value} '{fo.name}' and {dv.type.value} '{dv.name}' differ in size",
            "map int64 to int64 and int32 to int32",
        )
    if dv.type is T.REAL and fo.type in NUMBERS:
        return (
            f"Dataverse '{dv.name}' is a float column; F&O {fo.type.value} '{fo.name}' "
            "needs a decimal column",
            "use a decimal (or money) column on the Dataverse side",
        )
    if T.STRING in pair and (fo.type in NUMBERS or dv.type in NUMBERS):
        return (
            f"text and number meet: F&O {fo.type.value} '{fo.name}' and Dataverse "
            f"{dv.type.value} '{dv.name}'",
            "map text to text and numbers to numbers",
        )
    return (
        f"F&O {fo.type.value} '{fo.name}' and Dataverse {dv.type.value} '{dv.name}' "
        "are not compatible",
        "map fields of matching types, or add a value map",
    )


def type_mismatch(ctx: MapContext) -> Iterator[Diagnostic]:
    """DW2010: the two sides of a field without a value map must have compatible types."""
    for i, (f, columns) in enumerate(zip(ctx.map.fields, ctx.columns, strict=True)):
        both = columns.both
        if both is None or f.value_map is not None:
            continue
        fo, dv = both
        if (fo.type, dv.type) in COMPATIBLE:
            continue  # the usual case, settled before the checks that say what is wrong
        if T.UNKNOWN in (fo.type, dv.type):
            unknown = fo.name if fo.type is T.UNKNOWN else dv.name
            yield info(
                "DW2014",
                f"the type of '{unknown}' is not in the catalog; type checks skipped",
                ctx.field_span(i),
                "describe its type in solutions/<s>/schema/*.yaml to have it checked",
            )
            continue
        if dv.type is T.LOOKUP:
            yield error(
                "DW2015",
                f"'{f.dataverse}' is a lookup; map it through the target's key column",
                ctx.field_span(i, "dataverse"),
                f"write '{f.dataverse}.<key column of {dv.target or 'the target table'}>'",
            )
            continue
        found = _mismatch(fo, dv)
        if found:
            yield error(
                "DW2010",
                f"{found[0]} (DIPV1030 in the Dual-write workspace)",
                ctx.field_span(i),
                found[1],
            )


def string_length(ctx: MapContext) -> Iterator[Diagnostic]:
    """DW2013: a source string longer than the destination allows is truncated at runtime."""
    for i, (f, columns) in enumerate(zip(ctx.map.fields, ctx.columns, strict=True)):
        both = columns.both
        if both is None or f.value_map is not None:
            continue
        fo, dv = both
        if fo.max_length is None or dv.max_length is None:
            continue
        if f.direction.writes_dataverse and fo.max_length > dv.max_length:
            yield _length(ctx, i, fo, dv)
        elif f.direction.writes_finops and dv.max_length > fo.max_length:
            yield _length(ctx, i, dv, fo)


def _length(ctx: MapContext, i: int, source: Column, dest: Column) -> Diagnostic:
    return warning(
        "DW2013",
        f"'{source.name}' holds up to {source.max_length} characters but '{dest.name}' only "
        f"{dest.max_length}; longer values are truncated",
        ctx.field_span(i),
        "widen the destination column, or accept the truncation",
    )
