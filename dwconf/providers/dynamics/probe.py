"""`dwconf probe`: make each read the dynamics provider relies on, once, and check every answer
against the shapes dwconf expects (`wire`, and what `shapes` makes of them), without writing.

Each check is one call: its surface (gateway or Dataverse), what was asked, the status
(`ok`, `mismatch` when the answer has another shape, `error` when the call failed, `skipped`
when there was nothing to ask about) and a finding in words. The raw answers are kept, for
`--record`. A check that fails never stops the others, unless the others need what it read.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from dwconf.errors import ProviderError
from dwconf.providers.dynamics import shapes, wire
from dwconf.providers.dynamics.dataverse import Query
from dwconf.providers.dynamics.gateway import A
from dwconf.providers.dynamics.provider import DynamicsProvider
from dwconf.providers.dynamics.reader import LEASES, RECORDS, SOLUTIONS, map_query
from dwconf.recording import Recorded

GATEWAY, DATAVERSE = "gateway", "dataverse"
OK, MISMATCH, ERROR, SKIPPED = "ok", "mismatch", "error", "skipped"


@dataclass(frozen=True)
class Check:
    surface: str
    call: str
    status: str
    finding: str
    answer: Recorded | None = field(default=None, compare=False)

    def as_dict(self) -> dict[str, str]:
        return {
            "surface": self.surface,
            "call": self.call,
            "status": self.status,
            "finding": self.finding,
        }


class _Probe:
    def __init__(self, provider: DynamicsProvider) -> None:
        self.provider = provider
        self.gateway, self.dataverse = provider.gateway, provider.dataverse
        self.checks: list[Check] = []

    # Making calls ----------------------------------------------------------------------------

    def _gateway(self, method: str, path: str, params: dict[str, str], **options: Any) -> Recorded:
        response = self.gateway.call(f"{method} {path}", method, path, params=params, **options)
        return Recorded(GATEWAY, method, path, params, response.status_code, _json(response))

    def _dataverse(self, query: Query) -> Recorded:
        request = self.dataverse.request(
            f"read {query.entity_set}", "GET", query.entity_set, params=dict(query.params)
        )
        response = self.dataverse.transport.call(request, ok=(200,))
        path = f"/{query.entity_set}"
        return Recorded(
            DATAVERSE, "GET", path, dict(query.params), response.status_code, _json(response)
        )

    def check(
        self, surface: str, call: str, make: Callable[[], Recorded], judge: Callable[[Any], str]
    ) -> Any:
        """Make the call and judge its answer; the answer's body, or None when it failed."""
        try:
            answer = make()
        except ProviderError as exc:
            self.checks.append(Check(surface, call, ERROR, exc.message))
            return None
        try:
            finding = judge(answer.body)
        except wire.ShapeError as exc:
            self.checks.append(Check(surface, call, MISMATCH, _finding(exc), answer))
            return None
        self.checks.append(Check(surface, call, OK, finding, answer))
        return answer.body

    def skip(self, surface: str, call: str, why: str) -> None:
        self.checks.append(Check(surface, call, SKIPPED, why))

    # The calls -------------------------------------------------------------------------------

    def run(self) -> list[Check]:
        self._dataverse_reads()
        path, params = self.gateway.environments_path()
        found = self.check(
            GATEWAY, "GET Environments", lambda: self._gateway("GET", path, params), _links
        )
        if not found:
            for call in ("GET Entities", "GET ConnectionSet"):
                self.skip(GATEWAY, call, "the link wasn't found")
            return self.checks
        self._link_reads()
        return self.checks

    def _dataverse_reads(self) -> None:
        reads: list[tuple[str, Query, type[wire.Model]]] = [
            ("solutions", SOLUTIONS, wire.SolutionRow),
            ("msdyn_dualwriteentitymaps", map_query(True), wire.MapRow),
            ("dwconf_leases", LEASES, wire.LeaseRow),
            ("dwconf_deploymentrecords", RECORDS, wire.RecordRow),
        ]
        for name, query, row in reads:
            self.check(DATAVERSE, f"GET {name}", self._reading(query), _rows(name, row))

    def _reading(self, query: Query) -> Callable[[], Recorded]:
        return lambda: self._dataverse(query)

    def _link_reads(self) -> None:
        path, params = self.gateway.entities_path()
        maps = self.check(
            GATEWAY, "GET Entities", lambda: self._gateway("GET", path, params), _maps
        )
        link = self.gateway.connection_set_path()
        self.check(GATEWAY, "GET ConnectionSet", lambda: self._gateway("GET", link, {}), _link)
        parsed: list[wire.DWMap] = (
            wire.parse("read the table maps", list[wire.DWMap], maps) if maps else []
        )
        self._project(parsed)
        self._status(parsed)
        self._prerequisites(parsed)

    def _project(self, maps: list[wire.DWMap]) -> None:
        call = "GET {pid}/FieldMappings"
        pid = next((m.detail.pid for m in maps if m.detail.pid), None)
        if pid is None:
            self.skip(GATEWAY, call, "no map has a project yet")
            return
        path = f"{A}/{pid}/FieldMappings"
        self.check(GATEWAY, call, lambda: self._gateway("GET", path, {}), _project)

    def _status(self, maps: list[wire.DWMap]) -> None:
        call = "GET Status/{requestId}"
        last = next((m.detail.lastRequest for m in maps if m.detail.lastRequest), None)
        if last is None or not last.requestId:
            self.skip(GATEWAY, call, "no map has a request to look at")
            return
        path = f"{A}/Status/{last.requestId}"
        self.check(GATEWAY, call, lambda: self._gateway("GET", path, {}), _maps)

    def _prerequisites(self, maps: list[wire.DWMap]) -> None:
        call = "POST GetTemplatePrerequisiteSequences"
        tid = next((ref[0] for m in maps if (ref := shapes.active_ref(m))), None)
        if tid is None:
            self.skip(GATEWAY, call, "no map has an active template")
            return
        path = f"{A}/GetTemplatePrerequisiteSequences/{self.gateway.link().cid}"
        self.check(
            GATEWAY,
            call,
            lambda: self._gateway("POST", path, {}, json=[tid], idempotent=True),
            _sequences,
        )


def probe(provider: DynamicsProvider) -> list[Check]:
    """Every check, in the order made."""
    return _Probe(provider).run()


def failed(checks: list[Check]) -> bool:
    return any(c.status in (MISMATCH, ERROR) for c in checks)


# Judging answers -----------------------------------------------------------------------------


def _json(response: Any) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return response.text


def _finding(exc: wire.ShapeError) -> str:
    where = f"{exc.field}: " if exc.field else ""
    return f"{where}expected {exc.expected}, got {exc.found}"


def _count(items: list[Any], one: str, many: str = "") -> str:
    return f"{len(items)} {one if len(items) == 1 else many or one + 's'}"


def _links(body: Any) -> str:
    found: list[wire.LinkEntry] = wire.parse("find the dual-write link", list[wire.LinkEntry], body)
    if not found:
        raise wire.ShapeError("find the dual-write link", "", "the link of this F&O host", "[]")
    return f"link {found[0].cname or found[0].cid}"


def _maps(body: Any) -> str:
    call = "read the table maps"
    maps: list[wire.DWMap] = wire.parse(call, list[wire.DWMap], body)
    for index, dwmap in enumerate(maps):
        shapes.run_state(call, dwmap.detail.state, f"[{index}].detail.state")
    without = sum(1 for m in maps if not m.detail.pid)
    note = f", {without} without a project" if without else ""
    return _count(maps, "map") + note


def _link(body: Any) -> str:
    link: wire.ConnectionSet = wire.parse(shapes.LINK, wire.ConnectionSet, body)
    keys, alerts = shapes.integration_keys(link), shapes.alerts(link)
    entities = shapes.legal_entities(link)
    return (
        f"{_count(list(entities), 'legal entity', 'legal entities')}, "
        f"{_count(list(keys), 'integration key')}, {_count(list(alerts), 'alert setting')}"
    )


def _project(body: Any) -> str:
    call = "read the project of a map"
    project: wire.FieldMapping = wire.parse(call, wire.FieldMapping, body)
    if not project.name:
        raise wire.ShapeError(call, "name", "the project's name", wire.shown(project.name))
    return f"project {project.name}"


def _sequences(body: Any) -> str:
    found: list[list[str]] = wire.parse("read prerequisite maps", list[list[str]], body)
    return _count(found, "sequence")


def _rows(name: str, row: type[wire.Model]) -> Callable[[Any], str]:
    call = f"read {name}"

    def judge(body: Any) -> str:
        page: dict[str, Any] = wire.parse(call, dict[str, Any], body)
        rows = page.get("value")
        wire.parse(call, list[row], rows)  # type: ignore[valid-type]
        assert isinstance(rows, list)
        more = " (first page)" if page.get("@odata.nextLink") else ""
        return _count(rows, "row") + more

    return judge
