"""Reading the whole environment as one `LiveState`, and its fingerprint.

The fingerprint is the sha256 of the canonical JSON of everything a plan depends on: installed
solutions (with the maps they carry), each map's available versions, active version, run state
and active definition, integration keys, legal entities and alert settings. dwconf's own rows
(lock, deployment records) and run-time details (queued counts, errors, requests) are left out,
so taking the lock or writing a record never makes a saved plan stale.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict
from typing import Any

from dwconf.canonical import canonical_bytes, joined_bytes
from dwconf.live import link, lock, maps, solutions
from dwconf.live.memo import Memo
from dwconf.live.state import (
    AlertSetting,
    Definition,
    InstalledSolution,
    LiveMap,
    LiveState,
    MapTemplate,
)
from dwconf.live.store import Tx

Place = Callable[[Definition], Any]


def _plain(definition: Definition) -> Any:
    return definition


def _solution(solution: InstalledSolution, place: Place) -> dict[str, Any]:
    return {
        "unique_name": solution.unique_name,
        "version": solution.version,
        "managed": solution.managed,
        "publisher": solution.publisher,
        "requires": solution.requires,
        "maps": [[m.name, m.version, place(m.definition)] for m in solution.maps],
    }


def _map(
    live: LiveMap, templates: Mapping[tuple[str, str], MapTemplate], place: Place
) -> dict[str, Any]:
    active = templates.get((live.name, live.active_version or ""))
    return {
        "name": live.name,
        "versions": list(live.versions),
        "active_version": live.active_version,
        "state": live.state.value,
        "definition": place(active.definition) if active else None,
    }


def fingerprint(
    *,
    solution_list: Sequence[InstalledSolution],
    templates: Sequence[MapTemplate],
    map_list: Sequence[LiveMap],
    keys: Mapping[str, Sequence[str]],
    legal_entities: Sequence[str],
    alerts: Sequence[AlertSetting],
    parts: Callable[[Definition], object | None] | None = None,
) -> str:
    """The sha256 of the canonical JSON of the document below. `parts` (see `Memo.part`)
    gives definitions already written, which are spliced in instead of written again; the
    bytes hashed are the same either way (`dwconf.canonical.joined_bytes`)."""

    def document(place: Place) -> dict[str, Any]:
        by_id = {(t.name, t.version): t for t in templates}
        return {
            "solutions": [_solution(s, place) for s in solution_list],
            "maps": [_map(m, by_id, place) for m in map_list],
            "integration_keys": {table: list(columns) for table, columns in keys.items()},
            "legal_entities": list(legal_entities),
            "alerts": [asdict(a) for a in alerts],
        }

    found = None if parts is None else joined_bytes(document(_spliced(parts)))
    if found is None:
        found = canonical_bytes(document(_plain))
    return hashlib.sha256(found).hexdigest()


def _spliced(parts: Callable[[Definition], object | None]) -> Place:
    def place(definition: Definition) -> Any:
        part = parts(definition)
        return definition if part is None else part

    return place


def read(tx: Tx, records: lock.RecordReader, memo: Memo | None = None) -> LiveState:
    """The snapshot; with `memo`, what an earlier read decoded and wrote is used again.
    Deployment records read their desired states with `records` when asked."""
    if memo is None:
        return _read(tx, records, None)
    with memo.reading():
        return _read(tx, records, memo)


def _read(tx: Tx, records: lock.RecordReader, memo: Memo | None) -> LiveState:
    solution_list = solutions.all_installed(tx, memo)
    templates = solutions.templates(tx, memo)
    map_list = maps.all_maps(tx, memo)
    keys = link.integration_keys(tx, memo)
    legal_entities = link.legal_entities(tx)
    alerts = link.alerts(tx)
    return LiveState(
        solutions=solution_list,
        templates=templates,
        maps=map_list,
        integration_keys=keys,
        legal_entities=legal_entities,
        alerts=alerts,
        records=lock.records(tx, records, memo),
        lock=lock.current(tx),
        fingerprint=fingerprint(
            solution_list=solution_list,
            templates=templates,
            map_list=map_list,
            keys=keys,
            legal_entities=legal_entities,
            alerts=alerts,
            parts=None if memo is None else memo.part,
        ),
    )
