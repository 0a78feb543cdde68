"""OData plumbing shared by the Dataverse routes: replies with the service's headers, the error
body `{"error": {"code", "message"}}`, `$select`/`$orderby`/`$top`/`$count`, and server-driven
paging with `Prefer: odata.maxpagesize` and an opaque `$skiptoken` (live-api.md §2).

Replies are `dwconf.emulator.reply.Reply` values, so `$batch` can run the same handlers
without HTTP.
"""

from __future__ import annotations

import base64
import functools
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from dwconf.emulator.dataverse.odata_filter import QueryError, Row, compile_filter
from dwconf.emulator.reply import Reply

JSON_TYPE = "application/json; odata.metadata=minimal"
MAX_PAGE = 5000
_PAGE_SIZE = re.compile(r"odata\.maxpagesize\s*=\s*(\d+)")
_STATUS_TEXT = {
    200: "OK",
    201: "Created",
    204: "No Content",
    304: "Not Modified",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    412: "Precondition Failed",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


def status_text(status: int) -> str:
    return _STATUS_TEXT.get(status, "Unknown")


def odata_headers(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    return {"OData-Version": "4.0", **(extra or {})}


def json_reply(status: int, value: Any, headers: Mapping[str, str] | None = None) -> Reply:
    body = json.dumps(value, ensure_ascii=False).encode("utf-8")
    return Reply(status, body, odata_headers({"Content-Type": JSON_TYPE, **(headers or {})}))


def empty(status: int, headers: Mapping[str, str] | None = None) -> Reply:
    return Reply(status, b"", odata_headers(headers))


def error(status: int, code: str, message: str, headers: Mapping[str, str] | None = None) -> Reply:
    """The Dataverse error body; `code` is a hex string and may be empty."""
    return json_reply(status, {"error": {"code": code, "message": message}}, headers)


@dataclass(frozen=True)
class Query:
    """The query options of one collection request."""

    select: tuple[str, ...] = ()
    filter: str | None = None
    orderby: tuple[tuple[str, bool], ...] = ()  # (column, descending)
    top: int | None = None
    count: bool = False
    expand: str | None = None
    after: list[Any] | None = None  # the sort key of the last row sent (from $skiptoken)
    page_number: int = 1
    raw: dict[str, str] = field(default_factory=dict)


def _orderby(text: str) -> tuple[tuple[str, bool], ...]:
    found: list[tuple[str, bool]] = []
    for part in text.split(","):
        words = part.split()
        if not words or len(words) > 2 or (len(words) == 2 and words[1] not in ("asc", "desc")):
            raise QueryError(f"'{part.strip()}' is not a valid $orderby item.")
        found.append((words[0], len(words) == 2 and words[1] == "desc"))
    return tuple(found)


def _cookie(token: str) -> tuple[int, list[Any]]:
    try:
        text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode("utf-8")
        match = re.fullmatch(r'<cookie pagenumber="(\d+)" last="(.*)" />', text, re.S)
        if match is None:
            raise ValueError(text)
        value = json.loads(match.group(2))
    except ValueError as exc:
        raise QueryError("The $skiptoken is not valid.") from exc
    if not isinstance(value, list):
        raise QueryError("The $skiptoken is not valid.")
    return int(match.group(1)), value


def parse_query(params: Mapping[str, str]) -> Query:
    """Query options from the URL; `$skip` is refused as Dataverse refuses it."""
    if "$skip" in params:
        raise QueryError("The query parameter $skip is not supported")
    top = params.get("$top")
    if top is not None and not top.isdigit():
        raise QueryError(f"The $top value '{top}' is not a whole number.")
    select = tuple(c.strip() for c in params.get("$select", "").split(",") if c.strip())
    token = params.get("$skiptoken")
    page_number, after = _cookie(token) if token else (1, None)
    return Query(
        select=select,
        filter=params.get("$filter"),
        orderby=_orderby(params["$orderby"]) if params.get("$orderby") else (),
        top=int(top) if top is not None else None,
        count=params.get("$count", "").lower() == "true",
        expand=params.get("$expand"),
        after=after,
        page_number=page_number,
        raw={k: v for k, v in params.items() if k != "$skiptoken"},
    )


def page_size(prefer: str | None) -> int | None:
    """The page size a `Prefer` header asks for; larger than 5000 is ignored."""
    match = _PAGE_SIZE.search(prefer or "")
    if match is None:
        return None
    size = int(match.group(1))
    return size if 0 < size <= MAX_PAGE else None


def _sortable(value: Any) -> list[Any]:
    if value is None:
        return [0, ""]
    if isinstance(value, bool):
        return [1, int(value)]
    if isinstance(value, int | float):
        return [2, value]
    return [3, str(value).casefold()]


def sort_key(row: Row, orderby: Sequence[tuple[str, bool]], key: str) -> list[Any]:
    return [_sortable(row.get(c)) for c, _ in orderby] + [_sortable(row.get(key))]


def _compare_keys(a: list[Any], b: list[Any], descending: Sequence[bool]) -> int:
    for index, (left, right) in enumerate(zip(a, b, strict=True)):
        if left != right:
            order = -1 if left < right else 1
            return -order if index < len(descending) and descending[index] else order
    return 0


@dataclass(frozen=True)
class Page:
    rows: list[Row]
    total: int
    next_after: list[Any] | None


def select_page(rows: list[Row], query: Query, key: str, size: int | None, entity: str) -> Page:
    """Filter, order, resume after the skiptoken and cut one page; unknown columns are errors."""
    columns = set().union(*(r.keys() for r in rows)) if rows else set()
    columns |= {key}
    for column, _ in query.orderby:
        if rows and column not in columns:
            raise QueryError(
                f"Could not find a property named '{column}' on type "
                f"'Microsoft.Dynamics.CRM.{entity}'."
            )
    if query.filter and rows:  # the columns are known from the rows, as for $orderby
        predicate = compile_filter(query.filter, columns, entity)
        rows = [r for r in rows if predicate(r)]
    descending = [d for _, d in query.orderby]

    def compare(a: Row, b: Row) -> int:
        return _compare_keys(
            sort_key(a, query.orderby, key), sort_key(b, query.orderby, key), descending
        )

    ordered = sorted(rows, key=functools.cmp_to_key(compare))
    if query.top is not None:
        ordered = ordered[: query.top]
    total = len(ordered)
    if query.after is not None:
        after = query.after
        ordered = [
            r
            for r in ordered
            if _compare_keys(sort_key(r, query.orderby, key), after, descending) > 0
        ]
    limit = size or MAX_PAGE
    page, rest = ordered[:limit], ordered[limit:]
    next_after = sort_key(page[-1], query.orderby, key) if rest and page else None
    return Page(page, total, next_after)


def skiptoken(after: list[Any], page_number: int) -> str:
    """An opaque paging cookie (the real one is an XML paging cookie too)."""
    cookie = f'<cookie pagenumber="{page_number}" last="{json.dumps(after)}" />'
    return base64.urlsafe_b64encode(cookie.encode("utf-8")).decode("ascii").rstrip("=")


def next_link(base: str, query: Query, after: list[Any]) -> str:
    """The `@odata.nextLink`: the same query options plus the cookie of the next page."""
    params = dict(query.raw)
    params["$skiptoken"] = skiptoken(after, query.page_number + 1)
    return f"{base}?{urlencode(params, safe='$')}"


def project(row: Row, select: Sequence[str], always: Sequence[str], entity: str) -> Row:
    """A row with only the selected columns (plus the key and annotations)."""
    if not select:
        return dict(row)
    for column in select:
        if column not in row:
            raise QueryError(
                f"Could not find a property named '{column}' on type "
                f"'Microsoft.Dynamics.CRM.{entity}'."
            )
    keep = set(select) | set(always)
    return {k: v for k, v in row.items() if k in keep or k.startswith("@")}
