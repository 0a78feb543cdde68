"""Table maps through the gateway, as Microsoft's client runs them (DWMapEngine.cs):

- a map without a project (`detail.pid` null) is initialized first: `Start` with action "8",
  its template and the link, and nothing else;
- a start or an initial sync refreshes the project's tables first (`Project/{name}/Refresh`,
  the name from its `FieldMappings`), then sends `Start` "1" with `skipInitialSync` and
  `conflictResolution {option "1", master CRM|AX}`;
- every request is followed through `Status/{requestId}` until the map's
  `lastRequests[requestId].state` is 2 (completed) or 3 (error); a 3 is raised with the
  request's `errorMessage` and the map's address;
- several maps pause or resume in one request, as the tool's bulk pause/resume does.

Maps are addressed by name; the gateway wants their project and template ids, which the last
read keeps in an index (read again when a name or version isn't in it).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from dwconf.errors import ProviderError
from dwconf.live import LiveMap, RunState
from dwconf.live.errors import InvalidRequest, MapNotFound, MapVersionNotFound, NoActiveVersion
from dwconf.live.state import MasterSide
from dwconf.model.common import slug
from dwconf.providers.base import WaitTimeout
from dwconf.providers.dynamics import shapes, wire
from dwconf.providers.dynamics.dataverse import poll
from dwconf.providers.dynamics.errors import ServiceError
from dwconf.providers.dynamics.gateway import Gateway
from dwconf.providers.dynamics.reader import MapEntry
from dwconf.providers.dynamics.settings import Tuning

Json = dict[str, Any]
Index = dict[str, MapEntry]
progress = logging.getLogger("dwconf.progress")
# A lifecycle action that would change nothing in these states is not sent.
NO_OPS = {
    "start": (RunState.RUNNING,),
    "initial_sync": (RunState.RUNNING, RunState.INITIALIZING),
    "stop": (RunState.NOT_RUNNING,),
    "pause": (RunState.PAUSED,),
    "resume": (RunState.RUNNING, RunState.RESUMING),
}
# Requests that start something long (an initial sync, a catch-up) are followed until the map
# is on its way; `wait` follows the rest.
ACCEPTED_WHEN_TRANSITIONAL = ("initial_sync", "resume")
FIRST_PAUSE_S = 0.2


class RequestFailed(ProviderError):
    """A lifecycle request ended in state 3 (error)."""


def _address(name: str) -> str:
    return f"map.{slug(name)}"


class Maps:
    """Map operations; `reread` reads the environment and returns a fresh index."""

    def __init__(self, gateway: Gateway, tuning: Tuning, reread: Callable[[], Index]) -> None:
        self.gateway, self.tuning, self._reread = gateway, tuning, reread
        self._index: Index = {}
        self._masters: dict[str, MasterSide] = {}  # the gateway doesn't show a map's master
        self._requests: dict[str, str] = {}  # map name -> its last lifecycle request id
        self._lock = threading.Lock()
        self._reading = threading.Lock()  # one whole read at a time (see `_read_once`)
        self._reads = 0

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

    def _read_once(self, seen: int) -> Index:
        """A fresh index: read now, unless another thread finished a read since `seen` (the
        count of reads when the caller looked): parallel steps after an apply solution share
        one read instead of each making its own."""
        with self._reading:
            with self._lock:
                if self._reads != seen:
                    return dict(self._index)
            index = self._reread()
            with self._lock:
                self._reads += 1
            return index

    def entry(self, name: str) -> MapEntry:
        with self._lock:
            found, seen = self._index.get(name), self._reads
        if found is None:
            found = self._read_once(seen).get(name)
        if found is None:
            raise MapNotFound(name)
        return found

    def _with_version(self, name: str, version: str) -> MapEntry:
        with self._lock:
            seen = self._reads
        entry = self.entry(name)
        if version not in entry.tids:
            entry = self._read_once(seen).get(name) or entry
        if version not in entry.tids:
            raise MapVersionNotFound(name, version, entry.live.versions)
        return entry

    def _remember(self, entry: MapEntry, live: LiveMap, **changes: Any) -> MapEntry:
        kept = replace(entry, live=live, **changes)
        with self._lock:
            self._index[live.name] = kept
        return kept

    def _live(self, call: str, name: str, dwmap: wire.DWMap) -> LiveMap:
        return shapes.live_map(call, dwmap, name, self.masters().get(name))

    def _find(self, maps: Sequence[wire.DWMap], entry: MapEntry) -> wire.DWMap | None:
        """The map of `entry` in a list of DWMaps: by project, else by its templates."""
        pid = entry.pid.lower()
        tids = {t.lower() for t in entry.tids.values()} | {(entry.active_tid or "").lower()}
        for dwmap in maps:
            if pid and (dwmap.detail.pid or "").lower() == pid:
                return dwmap
            if not pid and {t for t, _ in shapes.template_refs(dwmap)} & tids:
                return dwmap
        return None

    def _now(
        self, name: str, entry: MapEntry, answer: Sequence[wire.DWMap] | None = None
    ) -> tuple[MapEntry, LiveMap]:
        """The map as the gateway shows it now (`Entities`, as the tool reloads a map); from
        `answer` when one `Entities` answer serves several maps."""
        call = f"check map '{name}'"
        found = self._find(self.gateway.entities(call) if answer is None else answer, entry)
        if found is None:
            raise MapNotFound(name)
        live = self._live(call, name, found)
        return self._remember(entry, live, pid=found.detail.pid or ""), live

    # Requests --------------------------------------------------------------------------------

    def _send(self, names: Sequence[str], kind: str, action: str, details: list[Json]) -> str:
        what = kind.replace("_", " ")
        operation = f"{what} map '{names[0]}'" if len(names) == 1 else f"{what} maps"
        request_id = self.gateway.start(operation, action, details)
        with self._lock:
            self._requests.update(dict.fromkeys(names, request_id))
        return request_id

    def _follow(
        self, entries: dict[str, MapEntry], request_id: str, kind: str, timeout_s: float
    ) -> dict[str, LiveMap]:
        """Poll `Status` until the request has ended for every map (state 2 or 3), or, for a
        request that starts something long, until each map is on its way; a 3 is raised."""
        call = f"check the request to {kind.replace('_', ' ')} {', '.join(entries)}"

        def ended() -> dict[str, LiveMap] | None:
            answer = self.gateway.status(call, request_id)
            return self._outcome(call, answer, entries, request_id, kind)

        return poll(
            ended,
            what=f"{call} (request {request_id})",
            timeout_s=timeout_s,
            interval_s=self.tuning.poll_interval_s,
            sleep=self.tuning.sleep,
        )

    def _outcome(
        self,
        call: str,
        answer: list[wire.DWMap],
        entries: dict[str, MapEntry],
        request_id: str,
        kind: str,
    ) -> dict[str, LiveMap] | None:
        found: dict[str, LiveMap] = {}
        failures: list[str] = []
        for name, entry in entries.items():
            dwmap = self._find(answer, entry)
            request = dwmap.request(request_id) if dwmap else None
            if dwmap is None or request is None:
                return None  # not listed yet: the request hasn't reached the map
            live = self._live(call, name, dwmap)
            self._remember(entry, live, pid=dwmap.detail.pid or entry.pid)
            if request.state == shapes.FAILED:
                failures.append(f"{_address(name)}: {request.errorMessage or 'no message'}")
            elif request.state != shapes.COMPLETED:
                on_its_way = kind in ACCEPTED_WHEN_TRANSITIONAL and live.state.transitional
                if not on_its_way:
                    return None
            found[name] = live
        if failures:
            raise RequestFailed(
                f"The request to {kind.replace('_', ' ')} failed: " + "; ".join(failures),
                hint=f"Request {request_id}; see the map's activity log in the Dual-write "
                "workspace. `dwconf apply ENV --resume` tries again.",
            )
        return found

    # Initializing ------------------------------------------------------------------------------

    def _initialized(self, name: str, entry: MapEntry, tid: str | None) -> MapEntry:
        """`entry` with a project: a map without one is initialized (action "8": its
        template and the link, no project, no parameters) and followed to the end."""
        if entry.pid:
            return entry
        template = entry.active_tid or tid
        if not template:
            raise InvalidRequest(f"Table map '{name}' has no template to initialize it with.")
        detail = {"tid": template, "cid": self.gateway.link().cid}
        request_id = self._send([name], "initialize", shapes.ACTION_CODES["initialize"], [detail])
        self._follow({name: entry}, request_id, "initialize", self.tuning.request_timeout_s)
        with self._lock:
            entry = self._index[name]
        if not entry.pid:
            entry, _ = self._now(name, entry)
        if not entry.pid:
            raise ProviderError(f"Table map '{name}' was initialized but shows no project.")
        return entry

    # Versions --------------------------------------------------------------------------------

    def switch(self, name: str, version: str, author: str | None = None) -> LiveMap:
        entry = self._with_version(name, version)
        tid = chosen_template(name, entry, version, author)
        if entry.active_tid == tid and entry.pid:
            return entry.live
        entry = self._initialized(name, entry, tid)
        self.gateway.switch_active(f"switch map '{name}' to {version}", tid, entry.pid)
        live = replace(entry.live, active_version=version)
        return self._remember(entry, live, active_tid=tid).live

    def prerequisites(self, names: Sequence[str]) -> list[list[str]]:
        entries = [self.entry(n) for n in names]
        tids = [e.active_tid or next(iter(e.tids.values()), "") for e in entries]
        with self._lock:
            by_tid = {t: n for n, e in self._index.items() for t in e.tids.values()}
        sequences = self.gateway.prerequisites(tids)
        return [[by_tid.get(t.lower(), t) for t in sequence] for sequence in sequences]

    # Lifecycle -------------------------------------------------------------------------------

    def _parameters(self, kind: str, master: MasterSide | None) -> Json:
        """A start's parameters (MapStartStopActionParameters): the tool sends them with every
        single-map action but "8"; the master defaults to Dataverse (DataMaster.CE)."""
        return {
            "skipInitialSync": kind != "initial_sync",
            "conflictResolution": {"option": "1", "master": shapes.MASTERS[master or "dataverse"]},
        }

    def _refresh(self, name: str, entry: MapEntry) -> None:
        """Refresh tables before a start, as the tool always does (DWMapEngine.refreshTable)."""
        project = self.gateway.field_mappings(f"read the project of map '{name}'", entry.pid)
        if not project.name:
            raise wire.ShapeError(
                f"read the project of map '{name}'", "name", "the project's name", "nothing"
            )
        self.gateway.refresh(f"refresh the tables of map '{name}'", project.name)

    def act(self, name: str, kind: str, master: MasterSide | None = None) -> LiveMap:
        """start | initial_sync | stop | pause | resume, unless the map is already there."""
        if master is not None and master not in shapes.MASTERS:
            raise InvalidRequest(f"'{master}' is not a master; use dataverse or finops.")
        entry, current = self._now(name, self.entry(name))
        if current.state in NO_OPS[kind]:
            return current
        if not entry.active_tid:
            raise NoActiveVersion(name)
        if kind in ("start", "initial_sync"):
            entry = self._initialized(name, entry, None)
            self._refresh(name, entry)
        if kind == "initial_sync" and master is not None:
            with self._lock:
                self._masters[name] = master
        detail: Json = {"tid": entry.active_tid, "pid": entry.pid, "cid": self.gateway.link().cid}
        if kind in ("start", "initial_sync", "stop"):
            detail["parameters"] = self._parameters(kind, master)
        code = shapes.ACTION_CODES["start" if kind == "initial_sync" else kind]
        request_id = self._send([name], kind, code, [detail])
        found = self._follow({name: entry}, request_id, kind, self.tuning.request_timeout_s)
        return found[name]

    def act_many(self, names: Sequence[str], kind: str) -> dict[str, LiveMap]:
        """Pause or resume several maps in one request (the tool's bulk pause/resume)."""
        entries = {}
        found: dict[str, LiveMap] = {}
        answer = self.gateway.entities(f"check maps {', '.join(repr(n) for n in names)}")
        for name in names:
            entry, current = self._now(name, self.entry(name), answer)
            if current.state in NO_OPS[kind]:
                found[name] = current
            else:
                entries[name] = entry
        if not entries:
            return found
        cid = self.gateway.link().cid
        details = [{"tid": e.active_tid, "pid": e.pid, "cid": cid} for e in entries.values()]
        request_id = self._send(list(entries), kind, shapes.ACTION_CODES[kind], details)
        found.update(self._follow(entries, request_id, kind, self.tuning.request_timeout_s))
        return found

    # Waiting ---------------------------------------------------------------------------------

    def _poll_once(
        self, name: str, entry: MapEntry, request_id: str | None
    ) -> tuple[LiveMap, str | None]:
        """One status check: the map and its request's state, from the request's `Status`;
        from `Entities` when there is no request or the gateway no longer knows it."""
        call = f"check map '{name}'"
        if request_id:
            try:
                dwmap = self._find(self.gateway.status(call, request_id), entry)
            except ServiceError as exc:
                if exc.status != 404:
                    raise
                dwmap = None
            request = dwmap.request(request_id) if dwmap else None
            if dwmap is not None and request is not None:
                live = self._live(call, name, dwmap)
                self._remember(entry, live)
                if request.state == shapes.FAILED:
                    raise RequestFailed(
                        f"{_address(name)}: {request.errorMessage or 'the request failed'}",
                        hint=f"Request {request_id}; `dwconf apply ENV --resume` tries again.",
                    )
                return live, request.state
        return self._now(name, entry)[1], None

    def _pace(self, waited: float) -> float:
        """The pause before the next status check: an eighth of the time waited so far, from
        0.2 s up to `poll_interval_s`. A short sync is seen ending soon after it does, a long
        one is asked about every couple of seconds (the Microsoft tool polls every 2 s)."""
        return min(self.tuning.poll_interval_s, max(FIRST_PAUSE_S, waited / 8))

    def wait(self, name: str, timeout_s: float) -> LiveMap:
        """Poll the map until it is neither Initializing nor Resuming and its last request has
        ended, saying every `progress_every_s` how long it has been."""
        if timeout_s < 0:
            raise InvalidRequest(f"A wait needs a timeout of at least 0 s, not {timeout_s:g} s.")
        entry = self.entry(name)
        with self._lock:
            request_id = self._requests.get(name)
        if request_id is None and entry.live.last_request is not None:
            request_id = entry.live.last_request.id
        started = said = time.monotonic()
        while True:
            live, request = self._poll_once(name, entry, request_id)
            if not live.state.transitional and request != shapes.WAITING:
                return live
            now = time.monotonic()
            if now - started >= timeout_s:
                raise WaitTimeout(name, live.state, timeout_s)
            if now - said >= self.tuning.progress_every_s:
                said = now
                elapsed = _elapsed(now - started)
                progress.info(
                    "waiting for %s: %s for %s", _address(name), live.state.label, elapsed
                )
            self.tuning.sleep(min(self._pace(now - started), max(0.0, started + timeout_s - now)))


def chosen_template(name: str, entry: MapEntry, version: str, author: str | None) -> str:
    """The template of `version` by `author`, as the Microsoft tool picks one (by version and
    author, DWMapEngine.getLatestTemplate); the only one of that version when none is by
    `author` (or none was asked for); refused when that leaves a choice."""
    found = [(t, a) for t, v, a in entry.templates if v == version]
    if not found:
        return entry.tids[version]
    mine = [t for t, a in found if author and a.casefold() == author.casefold()]
    if mine:
        return mine[0]
    if len(found) == 1:
        return found[0][0]
    authors = ", ".join(sorted(a or "(none)" for _, a in found))
    raise InvalidRequest(
        f"Table map '{name}' has {len(found)} templates of version {version} (by {authors}) "
        f"and none by '{author}'.",
        hint="Give the map a version no other author uses, or choose it in the workspace.",
    )


def _elapsed(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m{secs:02d}s" if hours else f"{minutes}m{secs:02d}s"
