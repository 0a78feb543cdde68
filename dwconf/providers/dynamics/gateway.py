"""The dual-write management gateway client (live-api.md §1.1, §6.4): the link, maps and their
templates, lifecycle actions and their status, versions, apply solution, prerequisite order,
the connection set (legal entities, alert settings, integration keys) and Reset link.

The gateway has no ETags (§6.4): callers read before they write. The link (`cid`, `cname`) is
resolved once per provider from the F&O host, as the Microsoft tool does.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from dwconf.errors import ProviderError
from dwconf.providers.dynamics.dataverse import poll
from dwconf.providers.dynamics.http import Request, TokenSource, Transport
from dwconf.providers.dynamics.settings import Tuning

A = "/api/DualWriteManagement/1.0"
ORIGIN = "https://dataintegrator.trafficmanager.net/"
Json = dict[str, Any]
WAITING = "1"


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
        headers = {"Accept": "application/json"}
        if method != "GET":
            headers["Origin"] = ORIGIN
        return Request(
            operation, method, f"{self.base_url}{path}", self.auth, headers=headers, **options
        )

    def _json(self, operation: str, method: str, path: str, **options: Any) -> Any:
        response = self.transport.call(self._request(operation, method, path, **options))
        return _body(response)

    # The link ---------------------------------------------------------------------------------

    def link(self) -> Link:
        with self._lock:
            if self._link is None:
                self._link = self._resolve()
            return self._link

    def _resolve(self) -> Link:
        params = {"targetType": "AX", "identifier": self.finops_host}
        found = self._json("find the dual-write link", "GET", f"{A}/Environments", params=params)
        if not isinstance(found, list) or not found or not isinstance(found[0], dict):
            raise ProviderError(
                f"the dual-write gateway at {self.base_url} has no link for the finance and "
                f"operations environment '{self.finops_host}'.",
                hint="Check provider.finops_url and provider.gateway_url.",
            )
        return Link(str(found[0]["cid"]), str(found[0].get("cname") or found[0]["cid"]))

    # Maps -------------------------------------------------------------------------------------

    def entities(self) -> list[Json]:
        params = {"targetType": "AX", "cid": self.link().cid}
        found = self._json("read the table maps", "GET", f"{A}/Entities", params=params)
        return [m for m in found or [] if isinstance(m, dict)]

    def field_mappings(self, pid: str) -> Json:
        found: Json = self._json(f"read project {pid}", "GET", f"{A}/{pid}/FieldMappings")
        return found

    def start(self, operation: str, action: str, detail: Json) -> str:
        """A lifecycle action on one map; returns the request id to poll."""
        body = {"action": action, "details": [detail]}
        found = self._json(operation, "POST", f"{A}/Start", json=body)
        return str((found or {}).get("requestId") or "")

    def status(self, operation: str, request_id: str) -> list[Json]:
        found = self._json(operation, "GET", f"{A}/Status/{request_id}")
        return [m for m in found or [] if isinstance(m, dict)]

    def switch_active(self, operation: str, tid: str, pid: str) -> None:
        path = f"{A}/SolutionAware/{self.link().cid}/SwitchActive/{tid}"
        self._json(operation, "POST", path, params={"pid": pid}, json=tid, idempotent=True)

    def prerequisites(self, tids: Sequence[str]) -> list[list[str]]:
        path = f"{A}/GetTemplatePrerequisiteSequences/{self.link().cid}"
        found = self._json("read prerequisite maps", "POST", path, json=list(tids), idempotent=True)
        return [[str(t) for t in sequence] for sequence in found or []]

    # Solutions --------------------------------------------------------------------------------

    def apply_solution(self, unique_name: str) -> None:
        """Apply solution (`RestoreTemplates`), polled until it ends; its error is raised."""
        operation = f"apply solution '{unique_name}'"
        base = f"{A}/SolutionAware/{self.link().cid}"
        body = {"action": "2", "solutions": [{"criteria": {"uniquename": unique_name}}]}
        started = self._json(operation, "POST", f"{base}/RestoreTemplates", json=body)
        request_id = str((started or {}).get("requestId") or "")

        def finished() -> Json | None:
            found: Json = self._json(operation, "GET", f"{base}/Status/{request_id}")
            return found if str(found.get("state")) != WAITING else None

        result = poll(
            finished,
            what=operation,
            timeout_s=self.tuning.apply_timeout_s,
            interval_s=self.tuning.poll_interval_s,
            sleep=self.tuning.sleep,
        )
        if str(result.get("state")) != "2":
            message = (result.get("result") or {}).get("message")
            hint = f"({operation}: {self.base_url}{base}/Status/{request_id} reports state 3)"
            raise ProviderError(str(message or f"{operation} failed."), hint)

    # The link's settings ----------------------------------------------------------------------

    def connection_set(self) -> Json:
        path = f"/api/ConnectionSet/{self.link().cname}"
        found: Json = self._json("read the link", "GET", path)
        return found

    def save_connection_set(self, operation: str, body: Json) -> None:
        self._json(operation, "PUT", f"/api/ConnectionSet/{self.link().cname}", json=body)

    def set_integration_keys(self, dataset: str, keys: Mapping[str, Sequence[str]]) -> None:
        body = {"datasetName": dataset, "integrationKeys": {t: list(c) for t, c in keys.items()}}
        operation = f"set the integration keys of {', '.join(keys)}"
        path = f"/api/dataset/{dataset}/IntegrationKeys"
        self._json(operation, "POST", path, json=body, idempotent=True)

    def reset(self, force: bool, body: Json) -> None:
        params = {"targetType": "AX", "forceReset": "true" if force else "false"}
        path = f"/api/ConnectionSet/{self.link().cid}/Reset"
        self._json("reset the link", "POST", path, params=params, json=body)


def _body(response: httpx.Response) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return response.text  # SwitchActive may answer with a bare id (live-api.md §1.1 #6)
