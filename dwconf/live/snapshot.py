"""Reading the whole environment as one `LiveState`, and its fingerprint.

The fingerprint covers everything a plan depends on: installed solutions (with the maps they
carry), each map's available versions, active version, run state and active definition,
integration keys, legal entities and alert settings. dwconf's own rows (lock, deployment
records) and run-time details (queued counts, errors, requests) are left out, so taking the
lock or writing a record never makes a saved plan stale.

Each object is hashed on its own (`object_hashes`, by address) and the fingerprint is the
sha256 of the sorted (address, hash) pairs. A map definition enters its objects as its digest,
which a read of the local environment remembers with the stored text it came from (memo.py):
after a write, only what changed is hashed again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import asdict

from dwconf.canonical import digest
from dwconf.live import link, lock, maps, solutions
from dwconf.live.memo import Memo
from dwconf.live.state import (
    AlertSetting,
    DeploymentRecord,
    InstalledSolution,
    Lease,
    LiveMap,
    LiveState,
    MapComponent,
    MapTemplate,
)
from dwconf.live.store import Tx


def _definition(found: MapComponent | MapTemplate) -> str:
    return found.digest or digest(found.definition)


def _solution(solution: InstalledSolution) -> str:
    return digest(
        {
            "unique_name": solution.unique_name,
            "version": solution.version,
            "managed": solution.managed,
            "publisher": solution.publisher,
            "requires": solution.requires,
            "maps": [[m.name, m.version, _definition(m)] for m in solution.maps],
        }
    )


def _map(live: LiveMap, active: MapTemplate | None) -> str:
    return digest(
        {
            "name": live.name,
            "versions": list(live.versions),
            "active_version": live.active_version,
            "state": live.state.value,
            "definition": _definition(active) if active else None,
        }
    )


def object_hashes(
    *,
    solution_list: Sequence[InstalledSolution],
    templates: Sequence[MapTemplate],
    map_list: Sequence[LiveMap],
    keys: Mapping[str, Sequence[str]],
    legal_entities: Sequence[str],
    alerts: Sequence[AlertSetting],
) -> list[tuple[str, str]]:
    """(address, hash) of every object the fingerprint covers, sorted."""
    by_id = {(t.name, t.version): t for t in templates}
    found = [(f"solution.{s.unique_name}", _solution(s)) for s in solution_list]
    found += [
        (f"map.{m.name}", _map(m, by_id.get((m.name, m.active_version or "")))) for m in map_list
    ]
    found += [(f"key.{table}", digest(list(columns))) for table, columns in keys.items()]
    found.append(("link.legal_entities", digest(list(legal_entities))))
    found += [(f"alert.{a.name}", digest(asdict(a))) for a in alerts]
    return sorted(found)


def fingerprint(
    *,
    solution_list: Sequence[InstalledSolution],
    templates: Sequence[MapTemplate],
    map_list: Sequence[LiveMap],
    keys: Mapping[str, Sequence[str]],
    legal_entities: Sequence[str],
    alerts: Sequence[AlertSetting],
) -> str:
    """The sha256 of the sorted (address, hash) pairs of `object_hashes`, one per line."""
    pairs = object_hashes(
        solution_list=solution_list,
        templates=templates,
        map_list=map_list,
        keys=keys,
        legal_entities=legal_entities,
        alerts=alerts,
    )
    lines = "".join(f"{address}\t{found}\n" for address, found in pairs)
    return hashlib.sha256(lines.encode("utf-8")).hexdigest()


def snapshot(
    *,
    solution_list: tuple[InstalledSolution, ...],
    templates: tuple[MapTemplate, ...],
    map_list: tuple[LiveMap, ...],
    keys: Mapping[str, tuple[str, ...]],
    legal_entities: tuple[str, ...],
    alerts: tuple[AlertSetting, ...],
    records: tuple[DeploymentRecord, ...],
    lease: Lease | None,
) -> LiveState:
    """The `LiveState` of what a provider read, with its fingerprint (dwconf's own rows, the
    records and the lease, left out of it)."""
    return LiveState(
        solutions=solution_list,
        templates=templates,
        maps=map_list,
        integration_keys=keys,
        legal_entities=legal_entities,
        alerts=alerts,
        records=records,
        lock=lease,
        fingerprint=fingerprint(
            solution_list=solution_list,
            templates=templates,
            map_list=map_list,
            keys=keys,
            legal_entities=legal_entities,
            alerts=alerts,
        ),
    )


def read(tx: Tx, memo: Memo | None = None) -> LiveState:
    """The snapshot; with `memo`, what an earlier read decoded and hashed is used again."""
    if memo is None:
        return _read(tx, None)
    with memo.reading():
        return _read(tx, memo)


def _read(tx: Tx, memo: Memo | None) -> LiveState:
    return snapshot(
        solution_list=solutions.all_installed(tx, memo),
        templates=solutions.templates(tx, memo),
        map_list=maps.all_maps(tx, memo),
        keys=link.integration_keys(tx, memo),
        legal_entities=link.legal_entities(tx),
        alerts=link.alerts(tx),
        records=lock.records(tx, memo),
        lease=lock.current(tx),
    )
