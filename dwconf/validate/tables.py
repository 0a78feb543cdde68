"""Table-level rules: unsupported table kinds (DIPV1019), lookups in initial sync from Dataverse."""

from __future__ import annotations

from collections.abc import Iterator

from dwconf.diagnostics import Diagnostic, error, warning
from dwconf.model.tablemap import Master
from dwconf.validate.context import MapContext

MAX_INITIAL_SYNC_LOOKUPS = 10


def unsupported_table(ctx: MapContext) -> Iterator[Diagnostic]:
    """DW2606: virtual and elastic tables (no versionnumber) can't be dual-written."""
    table = ctx.table
    if table is None or (table.kind == "standard" and table.versionnumber):
        return
    what = f"a {table.kind} table" if table.kind != "standard" else "a table without versionnumber"
    yield error(
        "DW2606",
        f"'{table.name}' is {what}, which dual-write does not support "
        "(DIPV1019 in the Dual-write workspace)",
        ctx.span("dataverse_table"),
        "map a standard Dataverse table",
    )


def initial_sync_lookups(ctx: MapContext) -> Iterator[Diagnostic]:
    """DW2605: more than 10 lookups in a map whose initial sync reads Dataverse."""
    if ctx.map.initial_sync.master is not Master.DATAVERSE:
        return
    lookups = {
        f.dataverse.split(".", 1)[0].lower()
        for f in ctx.map.fields
        if f.dataverse and "." in f.dataverse and f.direction.writes_finops
    }
    if len(lookups) > MAX_INITIAL_SYNC_LOOKUPS:
        yield warning(
            "DW2605",
            f"{len(lookups)} lookups in a map that initial-syncs from Dataverse; "
            f"initial sync supports {MAX_INITIAL_SYNC_LOOKUPS} or fewer",
            ctx.span("initial_sync") if "initial_sync" in ctx.spec.doc.data else ctx.span("name"),
            "set initial_sync.master: finops, or split the map",
        )
