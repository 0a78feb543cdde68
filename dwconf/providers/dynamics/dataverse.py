"""The Dataverse Web API client (`<dataverse_url>/api/data/v9.2`, live-api.md §2, §6.2): paged
reads that follow `@odata.nextLink` with `Prefer: odata.maxpagesize`, reads bundled in one
`$batch`, conditional writes, and `ImportSolutionAsync` polled through `asyncoperations`.
"""

from __future__ import annotations

import base64
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import quote, urlencode

import httpx

from dwconf.errors import ProviderError
from dwconf.providers.dynamics import batch, wire
from dwconf.providers.dynamics.errors import service_error
from dwconf.providers.dynamics.settings import Tuning
from dwconf.providers.dynamics.transport import Request, TokenSource, Transport

API = "/api/data/v9.2"
HEADERS = {"Accept": "application/json", "OData-MaxVersion": "4.0", "OData-Version": "4.0"}
Row = dict[str, Any]
T = TypeVar("T")
SUCCEEDED, COMPLETED = 30, 3
FIRST_POLL_S = 0.2


@dataclass(frozen=True)
class Query:
    """A collection read: entity set and query options."""

    entity_set: str
    params: Mapping[str, str]


class PollTimeout(ProviderError):
    """An async operation still hadn't finished when its time was up."""


def poll(
    check: Callable[[], T | None], *, what: str, timeout_s: float, interval_s: float, sleep: Any
) -> T:
    """Call `check` until it returns a value: at once, then after waits that start short and
    double up to `interval_s` (most operations end within a few polls)."""
    deadline = time.monotonic() + timeout_s
    wait = min(FIRST_POLL_S, interval_s)
    while True:
        found = check()
        if found is not None:
            return found
        if time.monotonic() >= deadline:
            raise PollTimeout(
                f"{what} did not finish within {timeout_s:g} s.",
                hint="It may still finish in the environment; check it before trying again.",
            )
        sleep(wait)
        wait = min(wait * 2, interval_s)


class Dataverse:
    def __init__(
        self, transport: Transport, auth: TokenSource, service_url: str, tuning: Tuning
    ) -> None:
        self.transport, self.auth, self.tuning = transport, auth, tuning
        self.root = f"{service_url}{API}"

    def url(self, path: str) -> str:
        """An absolute URL (a next link) as it is; a path below the service root."""
        if path.startswith(("https://", "http://")):
            return path
        return f"{self.root}/{path.lstrip('/')}"

    def request(
        self,
        operation: str,
        method: str,
        path: str,
        *,
        headers: Mapping[str, str] | None = None,
        **options: Any,
    ) -> Request:
        merged = {**HEADERS, **(headers or {})}
        return Request(operation, method, self.url(path), self.auth, headers=merged, **options)

    def send(self, request: Request) -> httpx.Response:
        return self.transport.send(request)

    # Reads -----------------------------------------------------------------------------------

    def _prefer(self) -> dict[str, str]:
        return {"Prefer": f"odata.maxpagesize={self.tuning.page_size}"}

    def _page(self, operation: str, url: str) -> Row:
        request = self.request(operation, "GET", url, headers=self._prefer())
        return collection(operation, self.transport.call(request, ok=(200,)))

    def _rest(self, operation: str, page: Row) -> list[Row]:
        """The rows of `page` and of every page after it."""
        rows: list[Row] = list(page.get("value") or [])
        link = page.get("@odata.nextLink")
        while link:
            page = self._page(operation, str(link))
            rows += page.get("value") or []
            link = page.get("@odata.nextLink")
        return rows

    def _query_url(self, query: Query) -> str:
        params = urlencode(dict(query.params), safe="$(),'/", quote_via=quote)
        return self.url(query.entity_set) + (f"?{params}" if params else "")

    def rows(self, operation: str, query: Query) -> list[Row]:
        return self._rest(operation, self._page(operation, self._query_url(query)))

    def rows_batch(self, operation: str, queries: Sequence[Query]) -> list[list[Row]]:
        """Several collection reads in one `$batch` (their further pages read one by one)."""
        parts = [batch.Get(self._query_url(q), {**HEADERS, **self._prefer()}) for q in queries]
        content_type, content = batch.body(parts)
        headers = {"Content-Type": content_type, "Prefer": "odata.continue-on-error"}
        request = self.request(
            operation, "POST", "$batch", headers=headers, content=content, idempotent=True
        )
        answer = self.transport.call(request, ok=(200,))
        try:
            answers = batch.responses(answer, parts)
        except ValueError as exc:
            raise ProviderError(f"{operation}: the $batch answer can't be read: {exc}") from None
        pages = []
        for response, query in zip(answers, queries, strict=True):
            if response.status_code == 404 and query.entity_set.startswith("dwconf_"):
                raise missing_table(query.entity_set, response, operation)
            if response.status_code != 200:
                raise service_error(response, operation)
            pages.append(collection(operation, response))
        return [self._rest(operation, page) for page in pages]

    def row(self, operation: str, path: str, params: Mapping[str, str] | None = None) -> Row | None:
        """One record, or None when it doesn't exist."""
        response = self.send(self.request(operation, "GET", path, params=params))
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise service_error(response, operation)
        found: Row = response.json()
        return found

    # Actions ---------------------------------------------------------------------------------

    def action(self, operation: str, name: str, body: Any, *, idempotent: bool = False) -> Row:
        request = self.request(operation, "POST", name, json=body, idempotent=idempotent)
        response = self.transport.call(request, ok=(200, 204))
        return response.json() if response.content else {}

    def import_solution(self, operation: str, data: bytes) -> None:
        """`ImportSolutionAsync`, then its async operation polled until it ends."""
        body = {
            "CustomizationFile": base64.b64encode(data).decode("ascii"),
            "OverwriteUnmanagedCustomizations": True,
            "PublishWorkflows": True,
            "ImportJobId": str(uuid.uuid4()),
        }
        started = self.action(operation, "ImportSolutionAsync", body)
        operation_id = str(started.get("AsyncOperationId") or "")
        if not operation_id:
            raise ProviderError(f"{operation}: ImportSolutionAsync returned no AsyncOperationId.")
        path = f"asyncoperations({operation_id})"
        params = {"$select": "statecode,statuscode,message,friendlymessage"}

        def finished() -> Row | None:
            found = self.row(operation, path, params)
            if found is None:
                raise ProviderError(f"{operation}: the import's operation {operation_id} is gone.")
            return found if found.get("statecode") == COMPLETED else None

        result = poll(
            finished,
            what=f"{operation} (async operation {operation_id})",
            timeout_s=self.tuning.import_timeout_s,
            interval_s=self.tuning.poll_interval_s,
            sleep=self.tuning.sleep,
        )
        if result.get("statuscode") != SUCCEEDED:
            message = result.get("message") or result.get("friendlymessage")
            hint = f"({operation}: async operation {self.url(path)} failed)"
            raise ProviderError(str(message or f"{operation}: the import failed."), hint)


def collection(operation: str, response: httpx.Response) -> Row:
    """A page of a collection read: an object whose `value` is a list of rows; anything else
    is a `ShapeError` (the call, what came), never a TypeError further in."""
    try:
        page = response.json()
    except ValueError:
        raise wire.ShapeError(operation, "", "a JSON document", wire.shown(response.text)) from None
    rows = page.get("value") if isinstance(page, dict) else None
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise wire.ShapeError(operation, "value", "a list of rows", wire.shown(rows))
    found: Row = page
    return found


def missing_table(entity_set: str, response: httpx.Response, operation: str) -> ProviderError:
    """dwconf keeps its lease and deployment records in two tables of its own."""
    found = service_error(response, operation)
    return ProviderError(
        f"{operation}: this Dataverse environment has no table '{entity_set}' for dwconf's "
        f"lease and deployment records ({found.message})",
        hint="Create dwconf's tables dwconf_lease and dwconf_deploymentrecord first: "
        "dwconf bootstrap <environment>.",
    )
