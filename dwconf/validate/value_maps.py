"""Value-map rules: keys are F&O enum values, values are valid on the Dataverse side, two-way
value maps are one-to-one, enum values are all mapped, no duplicate field pairs (DIPV1029)."""

from __future__ import annotations

from collections.abc import Iterator

from dwconf.catalog import Column, FieldType
from dwconf.diagnostics import Diagnostic, error, warning
from dwconf.model import Direction, FieldMapping
from dwconf.model.common import Scalar
from dwconf.validate.context import MapContext


def _valid_dataverse(column: Column, value: Scalar) -> bool:
    if column.type is FieldType.BOOLEAN:
        return isinstance(value, bool)
    if column.type is FieldType.OPTIONSET and column.values:
        return not isinstance(value, bool) and str(value) in column.values
    if column.type is FieldType.STRING:
        return isinstance(value, str) or value is None
    return True


def value_map_entries(ctx: MapContext) -> Iterator[Diagnostic]:
    """DW2201/DW2202/DW2204/DW2206: entries against both sides' metadata."""
    for i, f in enumerate(ctx.map.fields):
        if f.value_map is None:
            continue
        if not (f.finops and f.dataverse):
            yield error(
                "DW2206",
                "a value map needs both 'finops' and 'dataverse'",
                ctx.field_span(i, "value_map"),
                "use 'default:' for a constant, or name both sides",
            )
            continue
        yield from _enum_keys(ctx, i, f)
        yield from _dataverse_values(ctx, i, f)


def _enum_keys(ctx: MapContext, i: int, f: FieldMapping) -> Iterator[Diagnostic]:
    fo = ctx.finops_field(f.finops or "")
    assert f.value_map is not None
    if fo is None or fo.type is not FieldType.ENUM or not fo.values:
        return
    allowed = {v.lower(): v for v in fo.values}
    for key in f.value_map:
        if key.lower() not in allowed:
            yield error(
                "DW2201",
                f"'{key}' is not a value of F&O enum '{fo.name}'",
                ctx.spec.doc.span(("fields", i, "value_map", key), key=True),
                "values: " + ", ".join(fo.values),
            )
    mapped = {k.lower() for k in f.value_map}
    missing = [v for v in fo.values if v.lower() not in mapped]
    if missing and f.direction.writes_dataverse:
        yield warning(
            "DW2204",
            f"enum values of '{fo.name}' left unmapped: {', '.join(missing)}",
            ctx.field_span(i, "value_map"),
            "map every value, or records with those values fail to sync",
        )


def _dataverse_values(ctx: MapContext, i: int, f: FieldMapping) -> Iterator[Diagnostic]:
    dv = ctx.resolve(f.dataverse or "").column
    assert f.value_map is not None
    if dv is not None:
        for key, value in f.value_map.items():
            if not _valid_dataverse(dv, value):
                yield error(
                    "DW2202",
                    f"'{value}' is not a valid value of Dataverse {dv.type.value} '{dv.name}'",
                    ctx.spec.doc.span(("fields", i, "value_map", key)),
                    ("values: " + ", ".join(dv.values)) if dv.values else "use true or false",
                )
    if f.direction is Direction.BOTH:
        seen: dict[str, str] = {}
        for key, value in f.value_map.items():
            token = repr(value)
            if token in seen:
                yield error(
                    "DW2203",
                    f"'{key}' and '{seen[token]}' both map to {value}; a two-way value map "
                    "must be one-to-one",
                    ctx.spec.doc.span(("fields", i, "value_map", key)),
                    "make the field one-way (direction: to_dataverse), or map distinct values",
                )
            seen.setdefault(token, key)


def duplicate_pairs(ctx: MapContext) -> Iterator[Diagnostic]:
    """DW2205: the same F&O field and Dataverse column mapped by two fields (DIPV1029)."""
    seen: dict[tuple[str, str], int] = {}
    for i, f in enumerate(ctx.map.fields):
        if not (f.finops and f.dataverse):
            continue
        pair = (f.finops.upper(), f.dataverse.lower())
        if pair in seen:
            yield error(
                "DW2205",
                f"'{f.finops}' and '{f.dataverse}' are mapped twice (first at line "
                f"{ctx.field_span(seen[pair]).line}; DIPV1029 in the Dual-write workspace)",
                ctx.field_span(i),
                "merge the two fields into one",
            )
        else:
            seen[pair] = i
