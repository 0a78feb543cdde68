"""The run-time life of table maps: versions, start/stop/pause/resume and polling.

States follow the Dual-write workspace (dual-write-domain §1.3): Not running → Initializing →
Running with initial sync, Running → Paused → Resuming → Running. The two transitional states
end only when the map is polled (`poll`, what the gateway's Status call does) as many times as
the environment's `polls` setting says, so callers see them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from dwconf.live import versions
from dwconf.live.errors import (
    MAX_INITIAL_SYNC_LEGAL_ENTITIES,
    DependencyNotRunning,
    InvalidRequest,
    MapBusy,
    MapNotFound,
    MapNotStopped,
    MapStateConflict,
    MapVersionNotFound,
    MasterRequired,
    NoActiveVersion,
    partition_failure,
)
from dwconf.live.memo import Memo
from dwconf.live.state import MASTERS, LastRequest, LiveMap, MasterSide, RunState
from dwconf.live.store import Tx, dumps, loads, stamp, unstamp


def _request(raw: str | None) -> LastRequest | None:
    data = loads(raw)
    if data is None:
        return None
    created, modified = unstamp(data["created"]), unstamp(data["modified"])
    assert created is not None and modified is not None
    return LastRequest(data["id"], data["action"], data["state"], data["error"], created, modified)


_COLUMNS = (
    "name, project_id, active_version, state, queued, paused_since, master, last_request,"
    " last_error"
)


def _versions(tx: Tx, name: str) -> tuple[str, ...]:
    return _sorted([r[0] for r in tx.all("SELECT version FROM templates WHERE map_name = ?", name)])


def _live(row: Any, available: tuple[str, ...]) -> LiveMap:
    return LiveMap(
        name=row[0],
        project_id=row[1],
        active_version=row[2],
        state=RunState(row[3]),
        versions=available,
        queued=row[4],
        paused_since=unstamp(row[5]),
        master=row[6],
        last_request=_request(row[7]),
        last_error=row[8],
    )


def get(tx: Tx, name: str) -> LiveMap:
    row = tx.one(f"SELECT {_COLUMNS} FROM maps WHERE name = ?", name)
    if row is None:
        raise MapNotFound(name)
    return _live(row, _versions(tx, name))


def find(tx: Tx, project_id: str) -> LiveMap | None:
    """The map of a project id (in any letter case), or None."""
    # Project ids are ASCII (`solutions.project_id`), which SQLite's lower() folds as Python's.
    row = tx.one(
        f"SELECT {_COLUMNS} FROM maps WHERE lower(project_id) = ? ORDER BY name LIMIT 1",
        project_id.lower(),
    )
    return None if row is None else _live(row, _versions(tx, row[0]))


def all_maps(tx: Tx, memo: Memo | None = None) -> tuple[LiveMap, ...]:
    available: dict[str, list[str]] = {}
    for name, version in tx.all("SELECT map_name, version FROM templates ORDER BY 1, 2"):
        available.setdefault(name, []).append(version)
    rows = tx.all(f"SELECT {_COLUMNS} FROM maps ORDER BY name")
    if memo is None:
        return tuple(_live(r, _sorted(available.get(r[0], []))) for r in rows)
    return tuple(_remembered(memo, r, tuple(available.get(r[0], []))) for r in rows)


def _sorted(listed: Sequence[str]) -> tuple[str, ...]:
    return tuple(versions.sort_versions(list(listed)))


def _remembered(memo: Memo, row: Any, listed: tuple[str, ...]) -> LiveMap:
    return memo.get(("map", tuple(row), listed), lambda: _live(row, _sorted(listed)))


def _save(tx: Tx, live: LiveMap, pending: int = 0) -> LiveMap:
    request = live.last_request
    raw = None
    if request is not None:
        raw = dumps(
            {
                "id": request.id,
                "action": request.action,
                "state": request.state,
                "error": request.error,
                "created": stamp(request.created),
                "modified": stamp(request.modified),
            }
        )
    tx.run(
        "UPDATE maps SET active_version = ?, state = ?, pending_polls = ?, queued = ?,"
        " paused_since = ?, master = ?, last_request = ?, last_error = ? WHERE name = ?",
        live.active_version,
        live.state.value,
        pending,
        live.queued,
        stamp(live.paused_since),
        live.master,
        raw,
        live.last_error,
        live.name,
    )
    return live


def _new_request(tx: Tx, action: str, waiting: bool) -> LastRequest:
    if waiting:
        return LastRequest(tx.new_id(), action, "waiting", None, tx.now, tx.now)
    return LastRequest(tx.new_id(), action, "completed", None, tx.now, tx.now)


def switch_version(tx: Tx, name: str, version: str) -> LiveMap:
    live = get(tx, name)
    if version not in live.versions:
        raise MapVersionNotFound(name, version, live.versions)
    if live.active_version == version:
        return live
    if live.state is not RunState.NOT_RUNNING:
        raise MapNotStopped(name, live.state)
    return _save(tx, replace(live, active_version=version))


def _dependencies(tx: Tx, live: LiveMap) -> list[str]:
    row = tx.one(
        "SELECT definition FROM templates WHERE map_name = ? AND version = ?",
        live.name,
        live.active_version,
    )
    depends_on = (loads(row[0]) if row else {}).get("depends_on") or []
    return [str(d) for d in depends_on]


def _check_dependencies(tx: Tx, live: LiveMap) -> None:
    for dependency in _dependencies(tx, live):
        state = tx.one("SELECT state FROM maps WHERE name = ?", dependency)
        if state is None or state[0] != RunState.RUNNING.value:
            raise DependencyNotRunning(live.name, dependency)


def start_map(tx: Tx, name: str, initial_sync: bool, master: MasterSide | None) -> LiveMap:
    live = get(tx, name)
    if live.state is RunState.RUNNING or (live.state is RunState.INITIALIZING and initial_sync):
        return live
    if live.state.transitional:
        raise MapBusy(name, live.state)
    if live.state is RunState.PAUSED:
        raise MapStateConflict(name, live.state, "run", hint="Resume the table map instead.")
    if live.active_version is None:
        raise NoActiveVersion(name)
    if master is not None and master not in MASTERS:
        raise InvalidRequest(f"'{master}' is not a master; use dataverse or finops.")
    if initial_sync and master is None:
        raise MasterRequired(name)
    _check_dependencies(tx, live)
    if not initial_sync:
        started = replace(live, state=RunState.RUNNING, last_error=None)
        return _save(tx, replace(started, last_request=_new_request(tx, "start", False)))
    syncing = replace(live, state=RunState.INITIALIZING, master=master, last_error=None)
    request = _new_request(tx, "initial_sync", True)
    return _save(tx, replace(syncing, last_request=request), pending=tx.polls)


def stop_map(tx: Tx, name: str) -> LiveMap:
    live = get(tx, name)
    if live.state is RunState.NOT_RUNNING:
        return live
    if live.state.transitional:
        raise MapBusy(name, live.state)
    stopped = replace(live, state=RunState.NOT_RUNNING, queued=0, paused_since=None)
    return _save(tx, replace(stopped, last_request=_new_request(tx, "stop", False)))


def pause_map(tx: Tx, name: str) -> LiveMap:
    live = get(tx, name)
    if live.state is RunState.PAUSED:
        return live
    if live.state.transitional:
        raise MapBusy(name, live.state)
    if live.state is RunState.NOT_RUNNING:
        raise MapStateConflict(name, live.state, "pause", hint="Only a running map can pause.")
    paused = replace(live, state=RunState.PAUSED, paused_since=tx.now)
    return _save(tx, replace(paused, last_request=_new_request(tx, "pause", False)))


def resume_map(tx: Tx, name: str) -> LiveMap:
    live = get(tx, name)
    if live.state in (RunState.RUNNING, RunState.RESUMING):
        return live
    if live.state is RunState.INITIALIZING:
        raise MapBusy(name, live.state)
    if live.state is RunState.NOT_RUNNING:
        raise MapStateConflict(name, live.state, "resume", hint="Run the table map instead.")
    resuming = replace(live, state=RunState.RESUMING, last_request=_new_request(tx, "resume", True))
    return _save(tx, resuming, pending=tx.polls)


def _finish(tx: Tx, live: LiveMap) -> LiveMap:
    request = live.last_request
    assert request is not None
    done = replace(request, state="completed", modified=tx.now)
    if live.state is RunState.RESUMING:
        return replace(live, state=RunState.RUNNING, queued=0, paused_since=None, last_request=done)
    linked = tx.one("SELECT count(*) FROM legal_entities")
    if linked is not None and linked[0] > MAX_INITIAL_SYNC_LEGAL_ENTITIES:
        error = partition_failure(live.project_id)
        failed = replace(request, state="error", error=error, modified=tx.now)
        return replace(live, state=RunState.NOT_RUNNING, last_request=failed, last_error=error)
    return replace(live, state=RunState.RUNNING, last_request=done)


def poll(tx: Tx, name: str) -> LiveMap:
    """One status check: a transitional map moves on when its polls are used up."""
    live = get(tx, name)
    if not live.state.transitional:
        return live
    row = tx.one("SELECT pending_polls FROM maps WHERE name = ?", name)
    pending = (row[0] if row else 0) - 1
    if pending > 0:
        return _save(tx, live, pending=pending)
    return _save(tx, _finish(tx, live))


def transitional_names(tx: Tx) -> list[str]:
    states = (RunState.INITIALIZING.value, RunState.RESUMING.value)
    rows = tx.all("SELECT name FROM maps WHERE state IN (?, ?) ORDER BY name", *states)
    return [r[0] for r in rows]


def set_map_error(tx: Tx, name: str, message: str | None) -> LiveMap:
    return _save(tx, replace(get(tx, name), last_error=message), pending=_pending(tx, name))


def set_queued(tx: Tx, name: str, count: int, paused_since: datetime | None) -> LiveMap:
    if count < 0:
        raise InvalidRequest(f"A queued record count can't be negative ({count}).")
    live = replace(get(tx, name), queued=count, paused_since=paused_since)
    return _save(tx, live, pending=_pending(tx, name))


def _pending(tx: Tx, name: str) -> int:
    row = tx.one("SELECT pending_polls FROM maps WHERE name = ?", name)
    return int(row[0]) if row else 0
