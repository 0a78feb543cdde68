"""The Dataverse Web API subset (`{dataverse_url}/api/data/v9.2`, live-api.md §2, §6.2):
reads with `$select`/`$filter`/`$orderby`/`$top`/`$count`/`$expand` and paging, writes with
ETags, the solution actions, `WhoAmI`, `RetrieveCurrentOrganization` and `$batch`.

`handle` takes a `DvRequest` and returns a `Reply`, so `$batch` reuses it part by part.
"""

from __future__ import annotations

import re
from typing import Any

from dwconf.emulator.dataverse import batch, metadata, odata, solutions, writes
from dwconf.emulator.dataverse.odata_filter import QueryError
from dwconf.emulator.dataverse.request import (
    NOT_FOUND,
    DvError,
    DvRequest,
    Target,
    live_error,
    not_modified,
    target,
)
from dwconf.emulator.dataverse.tables import SETS, EntitySet, Row, etag
from dwconf.emulator.registry import EnvHandle, stable_id
from dwconf.emulator.reply import Reply
from dwconf.live import LiveError, LiveState

QUERY_ERROR = "0x80060888"
_EXPAND = re.compile(r"\s*(\w+)(?:\((.*)\))?\s*$")


def handle(handle_: EnvHandle, request: DvRequest) -> Reply:
    """One request against one environment; every failure becomes an OData error reply."""
    try:
        return _dispatch(handle_, request)
    except DvError as exc:
        return exc.reply()
    except QueryError as exc:
        return odata.error(400, QUERY_ERROR, str(exc))
    except LiveError as exc:
        return live_error(exc).reply()


def _dispatch(handle_: EnvHandle, request: DvRequest) -> Reply:
    path, method = request.path, request.method
    if path == "/$batch" and method == "POST":
        return batch.run(request, lambda part: handle(handle_, part), handle_.atomic)
    if path.startswith("/WhoAmI") and method == "GET":
        return _who_am_i(handle_, request)
    if path.startswith("/RetrieveCurrentOrganization") and method == "GET":
        return _organization(handle_, request)
    action = solutions.ACTIONS.get(path.strip("/"))
    if action is not None:
        if method != "POST":
            raise DvError(405, "", f"The action {path.strip('/')} needs POST.")
        return action(handle_, request)
    if path.startswith("/EntityDefinitions"):
        defined = metadata.route(handle_, request)
        if defined is not None:
            return defined
    found = target(path)
    if found is None or found.set_name not in SETS or metadata.hidden(handle_, found.set_name):
        segment = path.strip("/").split("(")[0]
        raise DvError(404, "0x8006088a", f"Resource not found for the segment '{segment}'.")
    entity = SETS[found.set_name]
    if method == "GET":
        return _read(handle_, request, entity, found)
    return writes.write(handle_, request, entity, found)


def _who_am_i(handle_: EnvHandle, request: DvRequest) -> Reply:
    return odata.json_reply(
        200,
        {
            "@odata.context": f"{request.root}/$metadata#Microsoft.Dynamics.CRM.WhoAmIResponse",
            "BusinessUnitId": stable_id("businessunit", handle_.name),
            "UserId": stable_id("user", request.header("x-dwconf-caller") or "application"),
            "OrganizationId": handle_.org_id,
        },
    )


def _organization(handle_: EnvHandle, request: DvRequest) -> Reply:
    service = request.root.rsplit("/api/data/", 1)[0]
    detail = {
        "OrganizationId": handle_.org_id,
        "FriendlyName": f"{handle_.name} (emulated)",
        "OrganizationVersion": "9.2.24061.00000",
        "EnvironmentId": handle_.powerapps_env,
        "UniqueName": f"org{handle_.name}",
        "UrlName": handle_.name,
        "TenantId": request.header("x-dwconf-tenant") or "",
        "Geo": "EMU",
        "State": "Enabled",
        "Endpoints": {"Count": 1, "Keys": ["WebApplication"], "Values": [service]},
    }
    return odata.json_reply(200, {"Detail": detail})


def rows_of(handle_: EnvHandle, entity: EntitySet, state: LiveState | None = None) -> list[Row]:
    return entity.rows(handle_, state or handle_.env.read())


def find_row(rows: list[Row], entity: EntitySet, where: Target) -> Row | None:
    for column, _ in where.alternate:
        if column not in (entity.key, *entity.alternate_keys):
            raise DvError(400, QUERY_ERROR, f"'{column}' is not a key of {entity.logical}.")
    return next((r for r in rows if where.matches(r, entity.key)), None)


def missing(entity: EntitySet, where: Target) -> DvError:
    return DvError(
        404, NOT_FOUND, f"Entity '{entity.logical}' With Id = {where.describe()} Does Not Exist"
    )


def with_etag(row: Row) -> Row:
    return {"@odata.etag": etag(row), **row}


def _split_expand(text: str) -> list[str]:
    parts, depth, current = [], 0, ""
    for char in text:
        depth += (char == "(") - (char == ")")
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    return [*parts, current] if current.strip() else parts


def _expand(
    handle_: EnvHandle, state: LiveState, entity: EntitySet, rows: list[Row], text: str
) -> list[str]:
    """Add the expanded lookups to `rows` (before `$select` cuts their keys away)."""
    added = []
    for item in _split_expand(text):
        match = _EXPAND.match(item)
        if match is None or match.group(1) not in entity.lookups:
            raise QueryError(f"Could not find a navigation property named '{item.strip()}'.")
        nav, inner = match.group(1), match.group(2) or ""
        set_name, column = entity.lookups[nav]
        related = SETS[set_name]
        select = odata.parse_query(dict(_options(inner))).select
        by_key = {r[related.key]: r for r in rows_of(handle_, related, state)}
        for row in rows:
            found = by_key.get(row.get(column))
            row[nav] = (
                odata.project(found, select, (related.key,), related.logical) if found else None
            )
        added.append(nav)
    return added


def _shown(
    handle_: EnvHandle, state: LiveState, entity: EntitySet, rows: list[Row], query: odata.Query
) -> list[Row]:
    """Rows as the response shows them: ETag, expanded lookups, selected columns."""
    tagged = [with_etag(r) for r in rows]
    navs = _expand(handle_, state, entity, tagged, query.expand) if query.expand else []
    for nav in navs:
        for row in tagged:
            row.setdefault(nav, None)
    keep = (entity.key, *navs)
    return [odata.project(r, query.select, keep, entity.logical) for r in tagged]


def _options(text: str) -> list[tuple[str, str]]:
    pairs = []
    for part in text.split(";"):
        name, _, value = part.partition("=")
        if name.strip():
            pairs.append((name.strip(), value.strip()))
    return pairs


def _record(handle_: EnvHandle, request: DvRequest, entity: EntitySet, where: Target) -> Reply:
    if entity.name == "asyncoperations" and where.key_id:
        solutions.poll(handle_, where.key_id)
    state = handle_.env.read()
    row = find_row(rows_of(handle_, entity, state), entity, where)
    if row is None:
        raise missing(entity, where)
    tag = etag(row)
    if not_modified(request, tag):
        return odata.empty(304, {"ETag": tag})
    query = odata.parse_query(request.params)
    shown = _shown(handle_, state, entity, [row], query)[0]
    context = f"{request.root}/$metadata#{entity.name}/$entity"
    return odata.json_reply(200, {"@odata.context": context, **shown}, {"ETag": tag})


def _collection(handle_: EnvHandle, request: DvRequest, entity: EntitySet) -> Reply:
    state = handle_.env.read()
    query = odata.parse_query(request.params)
    size = odata.page_size(request.header("prefer"))
    page = odata.select_page(
        rows_of(handle_, entity, state), query, entity.key, size, entity.logical
    )
    shown = _shown(handle_, state, entity, page.rows, query)
    selected = f"({','.join(query.select)})" if query.select else ""
    body: dict[str, Any] = {"@odata.context": f"{request.root}/$metadata#{entity.name}{selected}"}
    if query.count:
        body["@odata.count"] = page.total
    body["value"] = shown
    if page.next_after is not None:
        base = f"{request.root}/{entity.name}"
        body["@odata.nextLink"] = odata.next_link(base, query, page.next_after)
    headers = {"Preference-Applied": f"odata.maxpagesize={size}"} if size else {}
    return odata.json_reply(200, body, headers)


def _read(handle_: EnvHandle, request: DvRequest, entity: EntitySet, where: Target) -> Reply:
    if where.is_record:
        return _record(handle_, request, entity, where)
    return _collection(handle_, request, entity)
