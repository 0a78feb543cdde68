"""Reading a whole environment as one `LiveState` (live-api.md §1.4 "Read path").

Three requests in parallel: the gateway's maps (`Entities`), its connection set (keys, legal
entities, alert settings) and one Dataverse `$batch` with the solutions, the map rows, the lease
and the deployment records. Map definitions come from the map rows (the row id is the gateway's
template id), decoded once and cached: a warm read asks only for the rows' ids and ETags and
downloads nothing else. A template whose row is gone (a solution no longer carries that
version) comes from the cache, or for the active version from the gateway's `FieldMappings`.

The fingerprint is the live model's (`dwconf.live.snapshot.fingerprint`) over what was read.
A solution's `requires` can't be read through this API subset and is left empty.
"""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from dwconf.live import (
    DeploymentRecord,
    InstalledSolution,
    Lease,
    LiveMap,
    LiveState,
    MapComponent,
    MapTemplate,
)
from dwconf.live.snapshot import snapshot
from dwconf.live.state import Definition, MasterSide
from dwconf.live.versions import key as version_key
from dwconf.providers.dynamics import shapes, wire
from dwconf.providers.dynamics.cache import DefinitionCache, Known
from dwconf.providers.dynamics.dataverse import Dataverse, Query, Row
from dwconf.providers.dynamics.gateway import Gateway

Json = dict[str, Any]
MAP_SET = "msdyn_dualwriteentitymaps"
MAP_KEY = "msdyn_dualwriteentitymapid"
ROW_COLUMNS = f"{MAP_KEY},msdyn_displayname,msdyn_version,solutionid"
FULL_COLUMNS = f"{ROW_COLUMNS},msdyn_mapping,msdyn_properties,msdyn_name"
IDS_PER_QUERY = 20
FULL_READ_ABOVE = 60
SOLUTIONS = Query(
    "solutions",
    {
        "$select": "solutionid,uniquename,version,ismanaged",
        "$filter": "isvisible eq true",
        "$expand": "publisherid($select=uniquename)",
    },
)
LEASES = Query("dwconf_leases", {})
READ_SOLUTIONS = "read the installed solutions"
READ_MAP_ROWS = "read the map definitions"
RECORDS = Query("dwconf_deploymentrecords", {"$orderby": "createdon asc"})


@dataclass(frozen=True)
class MapEntry:
    """What lifecycle calls need to know of a map: its project, its templates by version."""

    live: LiveMap
    pid: str
    tids: dict[str, str]  # version -> template id
    active_tid: str | None
    templates: tuple[tuple[str, str, str], ...] = ()  # (template id, version, author)


@dataclass
class Snapshot:
    state: LiveState
    index: dict[str, MapEntry] = field(default_factory=dict)
    record_rows: list[Row] = field(default_factory=list)


@dataclass(frozen=True)
class _Row:
    id: str
    name: str
    version: str
    solution: str
    definition: Definition
    sha: str  # of the definition, in the cache


def map_query(full: bool, ids: Iterable[str] = ()) -> Query:
    params = {"$select": FULL_COLUMNS if full else ROW_COLUMNS}
    chosen = list(ids)
    if chosen:
        params["$filter"] = " or ".join(f"{MAP_KEY} eq {i}" for i in chosen)
    return Query(MAP_SET, params)


def _chunks(items: list[str], size: int) -> list[list[str]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


class Reader:
    def __init__(
        self,
        dataverse: Dataverse,
        gateway: Gateway,
        cache: DefinitionCache,
        pool: ThreadPoolExecutor,
    ) -> None:
        self.dataverse, self.gateway, self.cache, self.pool = dataverse, gateway, cache, pool

    # Fetching --------------------------------------------------------------------------------

    def _dataverse(self, full: bool) -> list[list[Row]]:
        queries = [SOLUTIONS, map_query(full), LEASES, RECORDS]
        found = self.dataverse.rows_batch("read the environment", queries)
        checked(READ_SOLUTIONS, wire.SolutionRow, found[0])
        checked(READ_MAP_ROWS, wire.MapRow, found[1])
        return found

    def read(self, masters: dict[str, MasterSide]) -> Snapshot:
        full = self.cache.empty
        entities: Future[list[wire.DWMap]] = self.pool.submit(self.gateway.entities)
        link: Future[wire.ConnectionSet] = self.pool.submit(self.gateway.connection_set)
        solutions, map_rows, leases, records = self._dataverse(full)
        names = {str(s["solutionid"]).lower(): str(s["uniquename"]) for s in solutions}
        rows = self._rows(map_rows, names, full)
        found = entities.result()
        extra = self._missing_active(found, rows)
        raw = Raw(found, link.result(), solutions, rows, leases, records, extra)
        snapshot = assemble(raw, self.cache, masters)
        self.cache.keep(set(rows), {r for m in found for r in shapes.template_refs(m)})
        self.cache.save()
        return snapshot

    def _rows(self, listed: list[Row], names: dict[str, str], full: bool) -> dict[str, _Row]:
        """Every map row with its definition: from the cache, else downloaded and decoded."""
        found: dict[str, _Row] = {}
        missing: list[Row] = []
        for row in listed:
            row_id, etag = str(row[MAP_KEY]).lower(), str(row.get("@odata.etag") or "")
            known = None if full else self.cache.row(row_id, etag)
            if known is None:
                missing.append(row)
                continue
            found[row_id] = _row(row, names, known)
        for row in listed if full else self._full_rows([str(r[MAP_KEY]) for r in missing]):
            checked(READ_MAP_ROWS, wire.MapRow, [row])
            row_id, etag = str(row[MAP_KEY]).lower(), str(row.get("@odata.etag") or "")
            solution = names.get(str(row.get("solutionid") or "").lower(), "")
            known = self.cache.put_row(row_id, etag, Known(shapes.row_definition(row), solution))
            found[row_id] = _row(row, names, known)
        return found

    def _full_rows(self, ids: list[str]) -> list[Row]:
        if not ids:
            return []
        if len(ids) > FULL_READ_ABOVE:
            wanted = {i.lower() for i in ids}
            rows = self.dataverse.rows("read map definitions", map_query(True))
            return [r for r in rows if str(r[MAP_KEY]).lower() in wanted]
        jobs = [
            self.pool.submit(self.dataverse.rows, "read map definitions", map_query(True, c))
            for c in _chunks(ids, IDS_PER_QUERY)
        ]
        return [row for job in jobs for row in job.result()]

    def _missing_active(
        self, entities: list[wire.DWMap], rows: dict[str, _Row]
    ) -> dict[str, Known]:
        """Active templates known neither by a row nor by the cache: from `FieldMappings`,
        for maps that have a project (one without can't be asked)."""
        wanted = []
        for dwmap in entities:
            active = shapes.active_ref(dwmap)
            if not dwmap.detail.pid or not active:
                continue
            if active[0] not in rows and self.cache.template(*active) is None:
                wanted.append((dwmap, active))
        jobs = [(a, self.pool.submit(self._from_project, m, a)) for m, a in wanted]
        return {a[0]: job.result() for a, job in jobs}

    def _from_project(self, dwmap: wire.DWMap, active: tuple[str, str]) -> Known:
        name = shapes.fallback_name(dwmap)
        call = f"read the project of map '{name}'"
        found = self.gateway.field_mappings(call, dwmap.detail.pid or "")
        return Known(shapes.field_mapping_definition(found, name, active[1]), "")


def checked(call: str, shape: type[wire.Model], rows: list[Row]) -> None:
    """Every row has the columns the reader takes (a `ShapeError` names the first that
    doesn't), so reading them further in can't fail."""
    wire.parse(call, list[shape], rows)  # type: ignore[valid-type]


def _row(row: Row, names: dict[str, str], known: Known) -> _Row:
    definition = known.definition
    name = str(row.get("msdyn_displayname") or definition.get("name") or "")
    return _Row(
        id=str(row[MAP_KEY]).lower(),
        name=name,
        version=str(row.get("msdyn_version") or definition.get("version") or ""),
        solution=names.get(str(row.get("solutionid") or "").lower(), ""),
        definition=definition,
        sha=known.sha,
    )


# Assembling ----------------------------------------------------------------------------------


def _solutions(solutions: list[Row], rows: dict[str, _Row]) -> tuple[InstalledSolution, ...]:
    carried: dict[str, list[_Row]] = {}
    for row in rows.values():
        carried.setdefault(row.solution, []).append(row)
    found = []
    for solution in solutions:
        name = str(solution["uniquename"])
        maps = sorted(carried.get(name, []), key=lambda r: (r.name, r.version))
        publisher = solution.get("publisherid") or {}
        found.append(
            InstalledSolution(
                unique_name=name,
                version=str(solution.get("version") or ""),
                managed=bool(solution.get("ismanaged")),
                publisher=str(publisher.get("uniquename") or ""),
                requires={},
                maps=tuple(MapComponent(r.name, r.version, r.definition) for r in maps),
            )
        )
    return tuple(sorted(found, key=lambda s: s.unique_name))


@dataclass(frozen=True)
class Raw:
    """What one read fetched, before it becomes a `LiveState`."""

    entities: list[wire.DWMap]
    connection_set: wire.ConnectionSet
    solutions: list[Row]
    rows: dict[str, _Row]
    leases: list[Row]
    records: list[Row]
    extra: dict[str, Known]  # active definitions read from FieldMappings, by template id


def _template(raw: Raw, cache: DefinitionCache, ref: tuple[str, str], name: str) -> MapTemplate:
    tid, version = ref
    row = raw.rows.get(tid)
    known = Known(row.definition, row.solution, row.sha) if row else cache.template(tid, version)
    if known is None and tid in raw.extra:
        known = raw.extra[tid]
    if known is None:
        known = Known({"name": name, "version": version}, "")
    elif row is not None or tid in raw.extra:
        cache.put_template(tid, version, known)
    return MapTemplate(name, version, known.solution, known.definition)


def _name(dwmap: wire.DWMap, refs: list[tuple[str, str]], rows: dict[str, _Row]) -> str:
    """The map's name: the Dataverse row of one of its templates names it (`DWMap` has no
    name of its own beyond `tName`), else dwconf's name for a map of those two entities."""
    named = [rows[t].name for t, _ in refs if t in rows and rows[t].name]
    return named[0] if named else shapes.fallback_name(dwmap)


def _maps(
    raw: Raw, cache: DefinitionCache, masters: dict[str, MasterSide]
) -> tuple[list[MapTemplate], dict[str, MapEntry]]:
    templates: list[MapTemplate] = []
    index: dict[str, MapEntry] = {}
    for dwmap in raw.entities:
        refs = shapes.template_refs(dwmap)
        name = _name(dwmap, refs, raw.rows)
        templates += [_template(raw, cache, ref, name) for ref in refs]
        active = shapes.active_ref(dwmap)
        live = shapes.live_map(shapes.ENTITIES, dwmap, name, masters.get(name), refs)
        tids = {v: t for t, v in refs}
        authored = tuple(shapes.template_authors(dwmap))
        index[name] = MapEntry(live, live.project_id, tids, active[0] if active else None, authored)
    return templates, index


def _lock(leases: list[Row]) -> Lease | None:
    return shapes.lease(leases[0]) if leases else None


def records_of(rows: list[Row]) -> tuple[DeploymentRecord, ...]:
    """Deployment records, oldest first (by creation, then by dwconf's order stamp)."""
    pairs = [shapes.record(r) for r in rows]
    pairs.sort(key=lambda p: (p[0].created, p[1]))
    return tuple(r for r, _ in pairs)


def assemble(raw: Raw, cache: DefinitionCache, masters: dict[str, MasterSide]) -> Snapshot:
    """The `LiveState` (with its fingerprint) and the map index of what was read."""
    solution_list = _solutions(raw.solutions, raw.rows)
    templates, index = _maps(raw, cache, masters)
    templates.sort(key=lambda t: (t.name, version_key(t.version)))
    map_list = tuple(sorted((e.live for e in index.values()), key=lambda m: m.name))
    keys = shapes.integration_keys(raw.connection_set)
    legal_entities = shapes.legal_entities(raw.connection_set)
    alerts = shapes.alerts(raw.connection_set)
    state = snapshot(
        solution_list=solution_list,
        templates=tuple(templates),
        map_list=map_list,
        keys=keys,
        legal_entities=legal_entities,
        alerts=alerts,
        records=records_of(raw.records),
        lease=_lock(raw.leases),
    )
    return Snapshot(state, index, raw.records)
