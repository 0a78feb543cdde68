"""The dual-write management gateway client (live-api.md §1.1; docs/evidence.md names the file
of Microsoft's client each call comes from): the link, maps and their templates, lifecycle
requests and their status, projects (field mappings, table refresh), versions, apply solution,
prerequisite order, the connection set, integration keys and Reset link.

Every answer is checked against its `wire` model before it is used. `raw` makes a read and
returns the decoded answer unchecked: what `dwconf probe` records. The gateway has no ETags:
callers read before they write. The link (`cid`, `cname`) is resolved once per provider from
the F&O host, as the Microsoft tool does.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from dwconf.errors import ProviderError
from dwconf.providers.dynamics import wire
from dwconf.providers.dynamics.dataverse import poll
from dwconf.providers.dynamics.settings import Tuning
from dwconf.providers.dynamics.transport import Request, TokenSource, Transport

A = "/api/DualWriteManagement/1.0"
ORIGIN = "https://dataintegrator.trafficmanager.net/"
JSON_TYPE = "application/json; charset=utf-8"
Json = dict[str, Any]
FIND_LINK = "find the dual-write link"
REFRESH_BODY = b'{"tokens":[""]}'  # DWMapEngine.refreshTable sends exactly this


@dataclass(frozen=True)
class Link:
    cid: str
    cname: str


class Gateway:
    def __init__(
        self,
        transport: Transport,
        auth: TokenSource,
        base_url: str,
        finops_host: str,
        tuning: Tuning,
    ) -> None:
        self.transport, self.auth, self.tuning = transport, auth, tuning
        self.base_url, self.finops_host = base_url, finops_host
        self._link: Link | None = None
        self._lock = threading.Lock()

    def _request(self, operation: str, method: str, path: str, **options: Any) -> Request:
        headers = {"Accept": "application/json", **options.pop("headers", {})}
        if method != "GET":
            headers["Origin"] = ORIGIN
        return Request(
            operation, method, f"{self.base_url}{path}", self.auth, headers=headers, **options
        )

    def call(self, operation: str, method: str, path: str, **options: Any) -> httpx.Response:
        """One call's answer, any status in 200-204 (else a `ServiceError`)."""
        return self.transport.call(self._request(operation, method, path, **options))

    def raw(self, operation: str, method: str, path: str, **options: Any) -> Any:
        """One call's decoded answer (None when empty), unchecked."""
        return _body(operation, self.call(operation, method, path, **options))

    def _checked(self, operation: str, shape: Any, method: str, path: str, **options: Any) -> Any:
        return wire.parse(operation, shape, self.raw(operation, method, path, **options))

    # The link ---------------------------------------------------------------------------------

    def link(self) -> Link:
        with self._lock:
            if self._link is None:
                self._link = self._resolve()
            return self._link

    def environments_path(self) -> tuple[str, dict[str, str]]:
        return f"{A}/Environments", {"targetType": "AX", "identifier": self.finops_host}

    def _resolve(self) -> Link:
        path, params = self.environments_path()
        found: list[wire.LinkEntry] = self._checked(
            FIND_LINK, list[wire.LinkEntry], "GET", path, params=params
        )
        if not found:
            raise ProviderError(
                f"the dual-write gateway at {self.base_url} has no link for the finance and "
                f"operations environment '{self.finops_host}'.",
                hint="Check provider.finops_url and provider.gateway_url.",
            )
        return Link(found[0].cid, found[0].cname or found[0].cid)

    # Maps -------------------------------------------------------------------------------------

    def entities_path(self) -> tuple[str, dict[str, str]]:
        return f"{A}/Entities", {"targetType": "AX", "cid": self.link().cid}

    def entities(self, operation: str = "read the table maps") -> list[wire.DWMap]:
        path, params = self.entities_path()
        found: list[wire.DWMap] = self._checked(
            operation, list[wire.DWMap], "GET", path, params=params
        )
        return found

    def field_mappings(self, operation: str, pid: str) -> wire.FieldMapping:
        if not pid:  # the call would name no project; a map without one is initialized first
            raise ProviderError(f"{operation}: the map has no project yet.")
        found: wire.FieldMapping = self._checked(
            operation, wire.FieldMapping, "GET", f"{A}/{pid}/FieldMappings"
        )
        return found

    def start(self, operation: str, action: str, details: Sequence[Json]) -> str:
        """A lifecycle request (`Start`) on one or more maps; returns its request id."""
        body = {"action": action, "details": list(details)}
        found: wire.RequestId = self._checked(
            operation, wire.RequestId, "POST", f"{A}/Start", json=body
        )
        return found.requestId

    def status(self, operation: str, request_id: str) -> list[wire.DWMap]:
        found: list[wire.DWMap] = self._checked(
            operation, list[wire.DWMap], "GET", f"{A}/Status/{request_id}"
        )
        return found

    def refresh(self, operation: str, project_name: str) -> None:
        """Refresh tables of a project, named as its field mapping names it."""
        headers = {"Content-Type": JSON_TYPE}
        path = f"/api/Project/{project_name}/Refresh"
        self.raw(operation, "POST", path, content=REFRESH_BODY, headers=headers, idempotent=True)

    def switch_active(self, operation: str, tid: str, pid: str) -> None:
        """Make a template the map's active one; the body is the bare template id, as the
        Microsoft tool sends it (`StringContent(id, UTF8, "application/json")`)."""
        path = f"{A}/SolutionAware/{self.link().cid}/SwitchActive/{tid}"
        headers = {"Content-Type": JSON_TYPE}
        options = {"params": {"pid": pid}, "content": tid.encode(), "headers": headers}
        self.raw(operation, "POST", path, idempotent=True, **options)

    def prerequisites(self, tids: Sequence[str]) -> list[list[str]]:
        path = f"{A}/GetTemplatePrerequisiteSequences/{self.link().cid}"
        found: list[list[str]] = self._checked(
            "read prerequisite maps",
            list[list[str]],
            "POST",
            path,
            json=list(tids),
            idempotent=True,
        )
        return found

    # Solutions --------------------------------------------------------------------------------

    def apply_solution(self, unique_name: str) -> None:
        """Apply solution (`RestoreTemplates`), polled until it ends; its error is raised."""
        operation = f"apply solution '{unique_name}'"
        base = f"{A}/SolutionAware/{self.link().cid}"
        body = {"action": "2", "solutions": [{"criteria": {"uniquename": unique_name}}]}
        started: wire.RequestId = self._checked(
            operation, wire.RequestId, "POST", f"{base}/RestoreTemplates", json=body
        )

        def finished() -> wire.SolutionRequest | None:
            found: wire.SolutionRequest = self._checked(
                operation, wire.SolutionRequest, "GET", f"{base}/Status/{started.requestId}"
            )
            return found if found.state != "1" else None

        result = poll(
            finished,
            what=operation,
            timeout_s=self.tuning.apply_timeout_s,
            interval_s=self.tuning.poll_interval_s,
            sleep=self.tuning.sleep,
        )
        if result.state != "2":
            message = result.result.message if result.result else None
            hint = f"({operation}: {base}/Status/{started.requestId} reports state {result.state})"
            raise ProviderError(message or f"{operation} failed.", hint)

    # The link's settings ----------------------------------------------------------------------

    def connection_set_path(self) -> str:
        return f"/api/ConnectionSet/{self.link().cname}"

    def connection_set(self, operation: str = "read the link") -> wire.ConnectionSet:
        found: wire.ConnectionSet = self._checked(
            operation, wire.ConnectionSet, "GET", self.connection_set_path()
        )
        return found

    def set_integration_keys(self, dataset: str, keys: Mapping[str, Sequence[str]]) -> None:
        body = {"datasetName": dataset, "integrationKeys": {t: list(c) for t, c in keys.items()}}
        operation = f"set the integration keys of {', '.join(keys)}"
        path = f"/api/dataset/{dataset}/IntegrationKeys"
        self.raw(operation, "POST", path, json=body, idempotent=True)

    def reset(self, force: bool, body: Json) -> None:
        """Reset link (ResetLinkEngine.sendResetLinkPayload); `forceReset` as C# prints a bool."""
        params = {"targetType": "AX", "forceReset": "True" if force else "False"}
        path = f"/api/ConnectionSet/{self.link().cid}/Reset"
        self.raw("reset the link", "POST", path, params=params, json=body)


def _body(operation: str, response: httpx.Response) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        if response.request.method == "GET":
            found = wire.shown(response.text)
            raise wire.ShapeError(operation, "", "a JSON document", found) from None
        return response.text  # SwitchActive may answer with a bare id (live-api.md §1.1 #6)
