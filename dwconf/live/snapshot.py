"""Reading the whole environment as one `LiveState`, and its fingerprint.

The fingerprint is the sha256 of the canonical JSON of everything a plan depends on: installed
solutions (with the maps they carry), each map's available versions, active version, run state
and active definition, integration keys, legal entities and alert settings. dwconf's own rows
(lock, deployment records) and run-time details (queued counts, errors, requests) are left out,
so taking the lock or writing a record never makes a saved plan stale.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from typing import Any

from dwconf.canonical import canonical_bytes
from dwconf.live import link, lock, maps, solutions
from dwconf.live.state import (
    AlertSetting,
    InstalledSolution,
    LiveMap,
    LiveState,
    MapTemplate,
)
from dwconf.live.store import Tx


def _solution(solution: InstalledSolution) -> dict[str, Any]:
    return {
        "unique_name": solution.unique_name,
        "version": solution.version,
        "managed": solution.managed,
        "publisher": solution.publisher,
        "requires": solution.requires,
        "maps": [[m.name, m.version, m.definition] for m in solution.maps],
    }


def _map(live: LiveMap, templates: Mapping[tuple[str, str], MapTemplate]) -> dict[str, Any]:
    active = templates.get((live.name, live.active_version or ""))
    return {
        "name": live.name,
        "versions": list(live.versions),
        "active_version": live.active_version,
        "state": live.state.value,
        "definition": active.definition if active else None,
    }


def fingerprint(
    *,
    solution_list: Sequence[InstalledSolution],
    templates: Sequence[MapTemplate],
    map_list: Sequence[LiveMap],
    keys: Mapping[str, Sequence[str]],
    legal_entities: Sequence[str],
    alerts: Sequence[AlertSetting],
) -> str:
    by_id = {(t.name, t.version): t for t in templates}
    document = {
        "solutions": [_solution(s) for s in solution_list],
        "maps": [_map(m, by_id) for m in map_list],
        "integration_keys": {table: list(columns) for table, columns in keys.items()},
        "legal_entities": list(legal_entities),
        "alerts": [asdict(a) for a in alerts],
    }
    return hashlib.sha256(canonical_bytes(document)).hexdigest()


def read(tx: Tx) -> LiveState:
    solution_list = solutions.all_installed(tx)
    templates = solutions.templates(tx)
    map_list = maps.all_maps(tx)
    keys = link.integration_keys(tx)
    legal_entities = link.legal_entities(tx)
    alerts = link.alerts(tx)
    return LiveState(
        solutions=solution_list,
        templates=templates,
        maps=map_list,
        integration_keys=keys,
        legal_entities=legal_entities,
        alerts=alerts,
        records=lock.records(tx),
        lock=lock.current(tx),
        fingerprint=fingerprint(
            solution_list=solution_list,
            templates=templates,
            map_list=map_list,
            keys=keys,
            legal_entities=legal_entities,
            alerts=alerts,
        ),
    )
