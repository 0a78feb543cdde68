"""Table maps through the gateway: versions, lifecycle actions and waiting (live-api.md §1.1,
§6.5).

Maps are addressed by name; the gateway wants their project and template ids, which the last
read keeps in an index (read again when a name or version isn't in it). A lifecycle action is
checked against the map's state first, so repeating one sends nothing (the live model's no-op);
otherwise it is sent with `Start` and followed through `Status`, which `wait` polls too.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from dwconf.live import LiveMap, RunState
from dwconf.live.errors import InvalidRequest, MapNotFound, MapVersionNotFound
from dwconf.live.state import MasterSide
from dwconf.providers.base import WaitTimeout
from dwconf.providers.dynamics import shapes
from dwconf.providers.dynamics.dataverse import PollTimeout, poll
from dwconf.providers.dynamics.errors import ServiceError
from dwconf.providers.dynamics.gateway import Gateway
from dwconf.providers.dynamics.reader import MapEntry
from dwconf.providers.dynamics.settings import Tuning

Json = dict[str, Any]
Index = dict[str, MapEntry]
# A lifecycle action that would change nothing in these states is not sent.
NO_OPS = {
    "start": (RunState.RUNNING,),
    "initial_sync": (RunState.RUNNING, RunState.INITIALIZING),
    "stop": (RunState.NOT_RUNNING,),
    "pause": (RunState.PAUSED,),
    "resume": (RunState.RUNNING, RunState.RESUMING),
}


class Maps:
    """Map operations; `reread` reads the environment and returns a fresh index."""

    def __init__(self, gateway: Gateway, tuning: Tuning, reread: Callable[[], Index]) -> None:
        self.gateway, self.tuning, self._reread = gateway, tuning, reread
        self._index: Index = {}
        self._masters: dict[str, MasterSide] = {}  # the gateway doesn't show a map's master
        self._requests: dict[str, str] = {}  # map name -> its last lifecycle request id
        self._lock = threading.Lock()

    # The index -------------------------------------------------------------------------------

    def masters(self) -> dict[str, MasterSide]:
        with self._lock:
            return dict(self._masters)

    def known(self, index: Index) -> None:
        with self._lock:
            self._index = dict(index)

    def forget(self) -> None:
        """The maps changed wholesale (apply solution, reset link): read them again."""
        with self._lock:
            self._index, self._requests = {}, {}

    def entry(self, name: str) -> MapEntry:
        with self._lock:
            found = self._index.get(name)
        if found is None:
            found = self._reread().get(name)
        if found is None:
            raise MapNotFound(name)
        return found

    def _with_version(self, name: str, version: str) -> MapEntry:
        entry = self.entry(name)
        if version not in entry.tids:
            entry = self._reread().get(name) or entry
        if version not in entry.tids:
            raise MapVersionNotFound(name, version, entry.live.versions)
        return entry

    def _remember(self, live: LiveMap, entry: MapEntry, active_tid: str | None) -> LiveMap:
        with self._lock:
            self._index[live.name] = replace(entry, live=live, active_tid=active_tid)
        return live

    def _current(self, entry: MapEntry) -> LiveMap:
        """The map's state now (one project read), on top of what the index knows."""
        found = self.gateway.field_mappings(entry.pid)
        template = found.get("templateIdentifier") or {}
        version = shapes.version_text(template.get("version")) or entry.live.active_version
        return replace(entry.live, state=shapes.project_state(found), active_version=version)

    # Versions --------------------------------------------------------------------------------

    def switch(self, name: str, version: str) -> LiveMap:
        entry = self._with_version(name, version)
        tid = entry.tids[version]
        self.gateway.switch_active(f"switch map '{name}' to {version}", tid, entry.pid)
        return self._remember(self._current(entry), entry, tid)

    def prerequisites(self, names: Sequence[str]) -> list[list[str]]:
        entries = [self.entry(n) for n in names]
        tids = [e.active_tid or next(iter(e.tids.values()), "") for e in entries]
        with self._lock:
            by_tid = {t: n for n, e in self._index.items() for t in e.tids.values()}
        sequences = self.gateway.prerequisites(tids)
        return [[by_tid.get(t.lower(), t) for t in sequence] for sequence in sequences]

    # Lifecycle -------------------------------------------------------------------------------

    def _detail(self, entry: MapEntry, kind: str, master: MasterSide | None) -> Json:
        """The MapAction detail (live-api.md §1.1): initial sync is a run without the skip."""
        detail: Json = {"tid": entry.active_tid, "pid": entry.pid, "cid": self.gateway.link().cid}
        if kind == "start":
            detail["parameters"] = {"skipInitialSync": True}
        elif kind == "initial_sync":
            parameters: Json = {"skipInitialSync": False}
            if master is not None:
                parameters["conflictResolution"] = {"option": "1", "master": shapes.MASTERS[master]}
            detail["parameters"] = parameters
        return detail

    def act(self, name: str, kind: str, master: MasterSide | None = None) -> LiveMap:
        """start | initial_sync | stop | pause | resume, unless the map is already there."""
        if master is not None and master not in shapes.MASTERS:
            raise InvalidRequest(f"'{master}' is not a master; use dataverse or finops.")
        entry = self.entry(name)
        current = self._current(entry)
        if current.state in NO_OPS[kind]:
            return self._remember(current, entry, entry.active_tid)
        if kind == "initial_sync" and master is not None:
            with self._lock:
                self._masters[name] = master
        action = "1" if kind == "initial_sync" else shapes.ACTION_CODES[kind]
        detail = self._detail(entry, kind, master)
        request_id = self.gateway.start(f"{kind.replace('_', ' ')} map '{name}'", action, detail)
        with self._lock:
            self._requests[name] = request_id
        return self._status(name, entry, request_id) or current

    def _status(self, name: str, entry: MapEntry, request_id: str) -> LiveMap | None:
        """The map as the request's `Status` shows it (one poll); None if it isn't there."""
        for dwmap in self.gateway.status(f"check map '{name}'", request_id):
            live = shapes.live_map(dwmap, name, self.masters().get(name))
            if live.project_id.lower() == entry.pid.lower():
                return self._remember(live, entry, entry.active_tid)
        return None

    def _poll_once(self, name: str, entry: MapEntry, request_id: str | None) -> LiveMap:
        """One status check: the request's `Status` (which moves the map on), else the
        project's state when the gateway no longer knows the request."""
        if request_id:
            try:
                found = self._status(name, entry, request_id)
            except ServiceError as exc:
                if exc.status != 404:
                    raise
                found = None
            if found is not None:
                return found
        return self._remember(self._current(entry), entry, entry.active_tid)

    def wait(self, name: str, timeout_s: float) -> LiveMap:
        """Poll the map until it is neither Initializing nor Resuming."""
        if timeout_s < 0:
            raise InvalidRequest(f"A wait needs a timeout of at least 0 s, not {timeout_s:g} s.")
        entry = self.entry(name)
        with self._lock:
            request_id = self._requests.get(name)
        if request_id is None and entry.live.last_request is not None:
            request_id = entry.live.last_request.id
        latest = [entry.live]

        def settled() -> LiveMap | None:
            latest[0] = self._poll_once(name, entry, request_id)
            return None if latest[0].state.transitional else latest[0]

        try:
            return poll(
                settled,
                what=f"waiting for map '{name}'",
                timeout_s=timeout_s,
                interval_s=self.tuning.poll_interval_s,
                sleep=self.tuning.sleep,
            )
        except PollTimeout as exc:
            raise WaitTimeout(name, latest[0].state, timeout_s) from exc
