"""The dual-write management gateway subset (`{gateway_url}/api/DualWriteManagement/1.0/…` and
`{gateway_url}/api/{ConnectionSet|Project|dataset|ProjectExecutionWithCompanies}/…`,
live-api.md §1.1, §6.4) over the live model; docs/evidence.md gives each behaviour's source.

A map has no project (`pid` null) until a `Start` with action "8" initializes it. Lifecycle
requests are asynchronous: `Start` answers a request id, and `Status/{id}` shows the request
waiting ("1") for the environment's `request_polls` polls before it ends in "2" or "3"; the same
polls move transitional maps on (no sooner than `sync_seconds` after their request). Refusals of
the live model are answered at once with its status and message in `{"error": {"code",
"message"}}` (*inferred*: the real gateway's error body isn't public); a request naming several
maps is all or nothing.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from typing import Any

from dwconf.emulator import mapping
from dwconf.emulator.gateway import link, shapes
from dwconf.emulator.gateway.request import GatewayError, GwRequest, check_cid, error_reply, reply
from dwconf.emulator.gateway.views import map_named, read_view, views
from dwconf.emulator.registry import EnvHandle, iso
from dwconf.emulator.reply import Reply
from dwconf.live import LiveError, LiveMap
from dwconf.live.state import MasterSide

A = "/api/DualWriteManagement/1.0"
MAX_TRACKED = 500
MASTERS: dict[str, MasterSide] = {"CRM": "dataverse", "AX": "finops"}


Handler = Callable[[EnvHandle, GwRequest], Reply]


def _new_request_id() -> str:
    return str(uuid.uuid4())


def _trim(entries: dict[str, Any]) -> None:
    for request_id in list(entries)[: max(0, len(entries) - MAX_TRACKED)]:
        del entries[request_id]


# Environments and maps -----------------------------------------------------------------------


def _version(handle: EnvHandle, request: GwRequest) -> Reply:
    return reply(200, {"version": "1.0"})


def _environments(handle: EnvHandle, request: GwRequest) -> Reply:
    identifier = request.params.get("identifier", "").lower()
    identifier = re.sub(r"^https?://", "", identifier).strip("/")
    if identifier != handle.config.fo_host.lower():
        return reply(200, [])
    return reply(
        200,
        [
            {
                "cid": handle.cid,
                "cname": handle.cname,
                "targetType": "AX",
                "displayName": f"{handle.name} (emulated)",
                "detail": {"isSolutionAware": True},
                "powerAppsEnvironment": handle.powerapps_env,
            }
        ],
    )


def _entities(handle: EnvHandle, request: GwRequest) -> Reply:
    check_cid(handle, request.params.get("cid", handle.cid))
    found = views(handle.env.read())
    return reply(200, [shapes.dw_map(handle, view) for view in found.values()])


def find_project(handle: EnvHandle, pid: str) -> LiveMap | None:
    """The initialized map whose project id is `pid` (in any letter case)."""
    for live in handle.env.read().maps:
        if handle.pid_of(live.name) == pid.lower() and shapes.initialized(handle, live):
            return live
    return None


def _project(handle: EnvHandle, pid: str) -> LiveMap:
    live = find_project(handle, pid)
    if live is None:
        raise GatewayError(404, "map.not_found", f"Project '{pid}' was not found.")
    return live


# The service finishes an initial sync or a resume on its own. The emulator moves a map on when
# its request's `Status` is polled; a client that lost the request id (killed between `Start`
# and recording it) can only read the project, so a read this long after the request polls too.
SETTLE_SECONDS = 10.0


def _settled(handle: EnvHandle, live: LiveMap) -> LiveMap:
    started = live.last_request.created if live.last_request else None
    if not live.state.transitional or started is None:
        return live
    if (handle.env.now() - started).total_seconds() < SETTLE_SECONDS:
        return live
    return handle.env.poll(live.name)


def _poll(handle: EnvHandle, name: str) -> None:
    """One status check of a map: a transitional one moves on (the live model counts polls),
    but not before the environment's `sync_seconds` have passed since its request."""
    live = map_named(handle.env, name)
    if live is None or not live.state.transitional:
        return
    started = live.last_request.created if live.last_request else None
    since = (handle.env.now() - started).total_seconds() if started is not None else None
    if since is not None and since < handle.config.sync_seconds:
        return
    handle.env.poll(name)


def _field_mappings(handle: EnvHandle, request: GwRequest) -> Reply:
    view = read_view(handle.env, _settled(handle, _project(handle, request.args["pid"])))
    key = handle.env.integration_key(mapping.entities(view.definition)[1])
    return reply(200, shapes.field_mapping(handle, view, key))


# Lifecycle ------------------------------------------------------------------------------------


def _templates_with(handle: EnvHandle, tid: str) -> list[tuple[str, str]]:
    """(map, version) of the templates whose id is `tid`, in the snapshot's order."""
    return [t for t in handle.env.template_versions() if handle.template_id(*t) == tid.lower()]


def _map_for(handle: EnvHandle, detail: Any) -> LiveMap:
    if not isinstance(detail, dict):
        raise GatewayError(400, "request.invalid", "Each detail is an object with tid and pid.")
    if detail.get("pid"):
        live = find_project(handle, str(detail["pid"]))
        if live is not None:
            return live
    tid = str(detail.get("tid") or "").lower()
    for name, _ in _templates_with(handle, tid):
        live = map_named(handle.env, name)
        if live is not None:
            return live
    raise GatewayError(
        400, "request.invalid", f"Unknown map: tid '{tid}', pid '{detail.get('pid')}'."
    )


def _master(handle: EnvHandle, live: LiveMap, parameters: dict[str, Any]) -> MasterSide | None:
    chosen = (parameters.get("conflictResolution") or {}).get("master")
    if chosen in MASTERS:
        return MASTERS[chosen]
    current = map_named(handle.env, live.name) or live
    default = (read_view(handle.env, current).definition.get("initial_sync") or {}).get("master")
    return default if default in ("dataverse", "finops") else None


def _perform(handle: EnvHandle, action: str, live: LiveMap, parameters: dict[str, Any]) -> LiveMap:
    env = handle.env
    if action == "8":  # initialize: the map gets its project and stays as it is
        handle.side["projects"][live.name] = handle.pid_of(live.name)
        return live
    if action == "1" and not shapes.initialized(handle, live):
        raise GatewayError(  # inferred: the Microsoft tool always initializes first
            400, "map.not_initialized", f"Map '{live.name}' has no project: initialize it first."
        )
    if action == "1":
        if parameters.get("skipInitialSync", True) is not False:
            return env.start_map(live.name)
        return env.start_map(live.name, True, _master(handle, live, parameters))
    operation = {"4": env.stop_map, "5": env.pause_map, "6": env.resume_map}[action]
    return operation(live.name)


def _failure(handle: EnvHandle, name: str) -> str | None:
    """A failure a test asked for (`/_emulator/env/{env}/maps/{map}/fail`): its message."""
    pending = handle.side["failures"].get(name)
    if not pending:
        return None
    message, left = pending
    if left <= 1:
        del handle.side["failures"][name]
    else:
        handle.side["failures"][name] = [message, left - 1]
    return str(message)


def _start(handle: EnvHandle, request: GwRequest) -> Reply:
    body = request.json()
    action = str((body or {}).get("action", "")) if isinstance(body, dict) else ""
    details = body.get("details") if isinstance(body, dict) else None
    if action not in shapes.ACTION_CODES.values() or not isinstance(details, list) or not details:
        raise GatewayError(
            400, "request.invalid", "Expected an action (1, 4, 5, 6, 8) and details."
        )
    maps = [_map_for(handle, d) for d in details]
    done: dict[str, dict[str, Any]] = {}
    with handle.atomic():
        for live, detail in zip(maps, details, strict=True):
            failure = _failure(handle, live.name)
            if failure is not None:  # a failed request changes nothing
                done[live.name] = {"live": None, "error": failure}
                continue
            parameters = detail.get("parameters") or {}
            before = live.last_request.id if live.last_request else None
            after = _perform(handle, action, live, parameters).last_request
            changed = after.id if after is not None and after.id != before else None
            done[live.name] = {"live": changed, "error": None}
        request_id = _new_request_id()
        entries = handle.side["map_requests"]
        now = iso(handle.env.now())
        entries[request_id] = {"action": action, "maps": done, "created": now, "polls": 0}
        _trim(entries)
        handle.save()
    return reply(200, {"requestId": request_id})


def _status(handle: EnvHandle, request: GwRequest) -> Reply:
    entry = handle.side["map_requests"].get(request.args["request_id"])
    if entry is None:
        raise GatewayError(
            404, "request.not_found", f"Request '{request.args['request_id']}' was not found."
        )
    entry["polls"] = entry.get("polls", 0) + 1
    for name in entry["maps"]:
        _poll(handle, name)
    handle.save()
    found = [map_named(handle.env, name) for name in entry["maps"]]
    shown = [shapes.dw_map(handle, read_view(handle.env, m)) for m in found if m is not None]
    return reply(200, shown)


# Versions, solutions, prerequisites -----------------------------------------------------------


def _switch_active(handle: EnvHandle, request: GwRequest) -> Reply:
    check_cid(handle, request.args["cid"])
    tid = request.args["tid"].lower()
    found = next(iter(_templates_with(handle, tid)), None)
    if found is None:
        raise GatewayError(404, "map.version_not_found", f"Template '{tid}' was not found.")
    live = map_named(handle.env, found[0])
    pid = request.params.get("pid") or ""
    if live is None or not shapes.initialized(handle, live):
        raise GatewayError(  # inferred: the tool initializes maps before it switches them
            400, "map.not_initialized", f"The map of template '{tid}' has no project yet."
        )
    if handle.pid_of(live.name) != pid.lower():
        raise GatewayError(
            400, "request.invalid", f"Template '{tid}' doesn't belong to project '{pid}'."
        )
    handle.env.switch_version(*found)
    return reply(200, {"requestId": _new_request_id()})


def _solutions(handle: EnvHandle, request: GwRequest) -> Reply:
    check_cid(handle, request.args["cid"])
    return reply(200, link.solutions(handle))


def _prerequisites(handle: EnvHandle, request: GwRequest) -> Reply:
    check_cid(handle, request.args["cid"])
    body = request.json()
    if not isinstance(body, list) or not all(isinstance(t, str) for t in body):
        raise GatewayError(400, "request.invalid", "Expected a JSON array of template ids.")
    return reply(200, link.prerequisite_sequences(handle, body))


ROUTES: list[tuple[str, re.Pattern[str], Handler]] = [
    (method, re.compile(f"^{pattern}/?$", re.I), handler)
    for method, pattern, handler in (
        ("GET", f"{A}/Version", _version),
        ("GET", f"{A}/Environments", _environments),
        ("GET", f"{A}/Entities", _entities),
        ("POST", f"{A}/Start", _start),
        ("GET", f"{A}/Status/(?P<request_id>[^/]+)", _status),
        ("GET", f"{A}/(?P<pid>[^/]+)/FieldMappings", _field_mappings),
        ("POST", f"{A}/SolutionAware/(?P<cid>[^/]+)/SwitchActive/(?P<tid>[^/]+)", _switch_active),
        ("GET", f"{A}/SolutionAware/(?P<cid>[^/]+)/Solutions", _solutions),
        ("POST", f"{A}/SolutionAware/(?P<cid>[^/]+)/RestoreTemplates", link.restore_templates),
        (
            "GET",
            f"{A}/SolutionAware/(?P<cid>[^/]+)/Status/(?P<request_id>[^/]+)",
            link.solution_status,
        ),
        ("POST", f"{A}/GetTemplatePrerequisiteSequences/(?P<cid>[^/]+)", _prerequisites),
        ("GET", "/api/ConnectionSet/(?P<cname>[^/]+)", link.get_connection_set),
        ("POST", "/api/ConnectionSet/(?P<cid>[^/]+)/Reset", link.reset),
        ("POST", "/api/Project/(?P<project>[^/]+)/Refresh", link.refresh),
        ("POST", "/api/dataset/(?P<dataset>[^/]+)/IntegrationKeys", link.integration_keys),
        ("GET", "/api/ProjectExecutionWithCompanies/(?P<pid>[^/]+)", link.executions),
    )
]


def handle(
    handle_: EnvHandle, method: str, path: str, params: dict[str, str], body: bytes
) -> Reply:
    """One gateway request; refusals become `{"error": …}` with the live model's status."""
    for route_method, pattern, handler in ROUTES:
        match = pattern.match(path)
        if match and route_method == method:
            request = GwRequest(method, path, params, body, match.groupdict())
            try:
                return handler(handle_, request)
            except GatewayError as exc:
                return error_reply(exc.status, exc.code, exc.message)
            except LiveError as exc:
                return error_reply(exc.http_status, exc.code, exc.message, exc.hint)
    if any(p.match(path) for _, p, _ in ROUTES):
        return error_reply(405, "request.method", f"{method} is not allowed on {path}.")
    return error_reply(404, "request.not_found", f"No gateway resource at {path}.")
