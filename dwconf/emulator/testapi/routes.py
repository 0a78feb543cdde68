"""The test-only API under `/_emulator/` (not part of the real surface; unprotected, which is
why the emulator binds to loopback): seed, reset, state, faults, statistics, the clock, and
out-of-band changes of an environment — what people do in the Dual-write UI behind dwconf's back,
for drift tests.
"""

from __future__ import annotations

import dataclasses
import enum
import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from dwconf.emulator import faults as fault_rules
from dwconf.emulator.entra.authority import base_url
from dwconf.emulator.hub import Hub
from dwconf.emulator.registry import EnvHandle, UnknownEnvironment, iso
from dwconf.live import AlertSetting, Environment, LiveError, SolutionPackage

Operation = Callable[[Environment, dict[str, Any]], Any]


def jsonable(value: Any) -> Any:
    """Dataclasses, enums, dates and mappings of the live model as plain JSON values."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, dict) or hasattr(value, "items"):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def error_response(status: int, message: str, code: str = "emulator.invalid") -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status)


async def json_body(request: Request) -> Any:
    raw = await request.body()
    if not raw:
        return {}
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise ValueError(f"The body is not JSON: {exc}") from exc


def _hub(request: Request) -> Hub:
    hub: Hub = request.app.state.hub
    return hub


def _state(handle: EnvHandle) -> dict[str, Any]:
    state = handle.env.read()
    return {"fingerprint": state.fingerprint, "state": jsonable(state)}


async def seed(request: Request) -> Response:
    hub = _hub(request)
    try:
        body = await json_body(request)
        name = str(body.get("environment") or "dev")
        document = body.get("seed")
        handle = hub.registry.seed(name, document)
    except (ValueError, LiveError, AttributeError) as exc:
        return error_response(400, str(exc))
    return JSONResponse({"environment": name, **_state(handle)})


async def reset(request: Request) -> Response:
    hub = _hub(request)
    body = await json_body(request)
    name = body.get("environment") if isinstance(body, dict) else None
    if name:
        try:
            hub.registry.seed(str(name), None)
        except LiveError as exc:
            return error_response(400, str(exc))
    else:
        hub.reset()
    return JSONResponse({"environments": hub.registry.names()})


def _counters(hub: Hub) -> dict[str, Any]:
    stats = hub.stats.as_json()
    return {
        "requests": stats["requests"],
        "faults_fired": hub.faults.fired,
        "statuses": stats["statuses"],
    }


async def state(request: Request) -> Response:
    hub = _hub(request)
    wanted = request.query_params.get("environment")
    names = [wanted] if wanted else hub.registry.names()
    try:
        environments = {n: _state(hub.registry.get(n)) for n in names}
    except UnknownEnvironment as exc:
        return error_response(404, f"No environment '{exc.name}'.", "emulator.not_found")
    return JSONResponse({"environments": environments, "counters": _counters(hub)})


async def env_state(request: Request) -> Response:
    hub = _hub(request)
    handle = hub.registry.find(request.path_params["name"])
    if handle is None:
        return error_response(
            404, f"No environment '{request.path_params['name']}'.", "emulator.not_found"
        )
    return JSONResponse({"environment": handle.name, **_state(handle), "counters": _counters(hub)})


async def add_faults(request: Request) -> Response:
    hub = _hub(request)
    try:
        body = await json_body(request)
        specs = body if isinstance(body, list) else [body]
        added = [fault_rules.parse(s) for s in specs]
    except (ValueError, fault_rules.FaultSpecError) as exc:
        return error_response(400, str(exc))
    for fault in added:
        hub.faults.add(fault)
    return JSONResponse({"faults": [f.as_json() for f in added]})


async def list_faults(request: Request) -> Response:
    return JSONResponse({"faults": [f.as_json() for f in _hub(request).faults.rules]})


async def clear_faults(request: Request) -> Response:
    _hub(request).faults.clear()
    return Response(status_code=204)


async def remove_fault(request: Request) -> Response:
    if not _hub(request).faults.remove(request.path_params["fault_id"]):
        return error_response(404, "No such fault.", "emulator.not_found")
    return Response(status_code=204)


async def stats(request: Request) -> Response:
    hub = _hub(request)
    return JSONResponse({**hub.stats.as_json(), "faults_fired": hub.faults.fired})


async def clear_stats(request: Request) -> Response:
    _hub(request).stats.reset()
    return Response(status_code=204)


async def clock(request: Request) -> Response:
    hub = _hub(request)
    body = await json_body(request)
    body = body if isinstance(body, dict) else {}
    seconds, hold = body.get("advance_seconds", 0), body.get("hold")
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds < 0:
        return error_response(400, "advance_seconds must be a non-negative number.")
    if hold is not None and not isinstance(hold, bool):
        return error_response(400, "hold must be true (stop the clock) or false (let it run).")
    if hold is not None:
        hub.clock.hold(hold)
    hub.clock.offset += float(seconds)
    return JSONResponse(
        {
            "now": iso(hub.clock.now()),
            "offset_seconds": hub.clock.offset,
            "held": hub.clock.held is not None,
        }
    )


async def info(request: Request) -> Response:
    """Where everything is: base URLs per environment, tenant, ids (never secrets)."""
    hub = _hub(request)
    base = base_url(request)
    environments = {}
    for name in hub.registry.names():
        handle = hub.registry.get(name)
        environments[name] = {
            "dataverse_url": f"{base}/env/{name}/dataverse",
            "gateway_url": f"{base}/env/{name}/gateway",
            "finops_host": handle.config.fo_host,
            "cid": handle.cid,
            "cname": handle.cname,
            "dataset": handle.ce_name,
        }
    return JSONResponse(
        {
            "authority": base,
            "tenant_id": hub.config.tenant_id,
            "token_endpoint": f"{base}/{hub.config.tenant_id}/oauth2/v2.0/token",
            "gateway_resource": hub.config.gateway_resource,
            "environments": environments,
        }
    )


def _package(args: dict[str, Any]) -> SolutionPackage:
    return SolutionPackage(
        unique_name=str(args["unique_name"]),
        version=str(args["version"]),
        managed=bool(args.get("managed", True)),
        publisher=str(args.get("publisher", "")),
        requires=dict(args.get("requires") or {}),
        maps=list(args.get("maps") or []),
    )


def _alerts(args: dict[str, Any]) -> list[AlertSetting]:
    return [
        AlertSetting(
            name=a["name"],
            error_type=a.get("error_type", "any"),
            threshold=int(a["threshold"]),
            window_minutes=int(a["window_minutes"]),
            action=a.get("action", "none"),
            notify=tuple(a.get("notify") or ()),
        )
        for a in args.get("alerts") or []
    ]


def _when(text: Any) -> datetime | None:
    return datetime.fromisoformat(str(text).replace("Z", "+00:00")) if text else None


OPERATIONS: dict[str, Operation] = {
    "start_map": lambda e, a: e.start_map(
        a["name"], bool(a.get("initial_sync", False)), a.get("master")
    ),
    "stop_map": lambda e, a: e.stop_map(a["name"]),
    "pause_map": lambda e, a: e.pause_map(a["name"]),
    "resume_map": lambda e, a: e.resume_map(a["name"]),
    "switch_version": lambda e, a: e.switch_version(a["name"], a["version"]),
    "poll": lambda e, a: e.poll(a["name"]),
    "advance": lambda e, a: e.advance(),
    "set_map_error": lambda e, a: e.set_map_error(a["name"], a.get("message")),
    "set_queued": lambda e, a: e.set_queued(
        a["name"], int(a["count"]), _when(a.get("paused_since"))
    ),
    "import_solution": lambda e, a: e.import_solution(_package(a)),
    "apply_solution": lambda e, a: e.apply_solution(a["unique_name"]),
    "set_integration_keys": lambda e, a: e.set_integration_keys(
        a["table"], list(a.get("columns") or [])
    ),
    "set_legal_entities": lambda e, a: e.set_legal_entities(list(a.get("codes") or [])),
    "set_alerts": lambda e, a: e.set_alerts(_alerts(a)),
    "reset_link": lambda e, a: e.reset_link(
        bool(a.get("force")), list(a.get("legal_entities") or [])
    ),
    "acquire_lock": lambda e, a: e.acquire_lock(
        a["owner"], a.get("operation", "apply"), a.get("plan_id"), float(a.get("ttl_seconds", 600))
    ),
    "renew_lock": lambda e, a: e.renew_lock(a["lease_id"], float(a.get("ttl_seconds", 600))),
    "release_lock": lambda e, a: e.release_lock(a["lease_id"]),
    "force_unlock": lambda e, a: e.force_unlock(a["lease_id"]),
    "add_record": lambda e, a: e.add_record(
        who=a.get("who", "test"),
        plan_hash=a.get("plan_hash", ""),
        git_commit=a.get("git_commit"),
        solution_versions=dict(a.get("solution_versions") or {}),
        desired=dict(a.get("desired") or {}),
        status=a.get("status", "succeeded"),
    ),
    "set_record_status": lambda e, a: e.set_record_status(a["record_id"], a["status"]),
}
MAP_ACTIONS = {
    "start": "start_map",
    "stop": "stop_map",
    "pause": "pause_map",
    "resume": "resume_map",
}


def _run(hub: Hub, name: str, operation: str, args: dict[str, Any]) -> Response:
    handle = hub.registry.find(name)
    if handle is None:
        return error_response(404, f"No environment '{name}'.", "emulator.not_found")
    if operation not in OPERATIONS:
        return error_response(
            400, f"Unknown operation '{operation}'. Known: {', '.join(sorted(OPERATIONS))}."
        )
    try:
        result = OPERATIONS[operation](handle.env, args)
    except LiveError as exc:
        body = {"error": {"code": exc.code, "message": exc.message, "hint": exc.hint}}
        return JSONResponse(body, exc.http_status)
    except (KeyError, TypeError, ValueError) as exc:
        return error_response(400, f"Bad arguments for {operation}: {exc!r}")
    return JSONResponse({"result": jsonable(result), "fingerprint": handle.env.read().fingerprint})


async def call(request: Request) -> Response:
    try:
        body = await json_body(request)
    except ValueError as exc:
        return error_response(400, str(exc))
    if not isinstance(body, dict):
        return error_response(400, 'Expected {"op": "...", "args": {...}}.')
    return _run(
        _hub(request),
        request.path_params["name"],
        str(body.get("op")),
        dict(body.get("args") or {}),
    )


def _fail_requests(hub: Hub, name: str, map_name: str, body: Any) -> Response:
    """The next `times` gateway requests naming the map end in state "3" with `message`, and
    change nothing (what the service reports when it can't carry a request out)."""
    handle = hub.registry.find(name)
    if handle is None:
        return error_response(404, f"No environment '{name}'.", "emulator.not_found")
    body = body if isinstance(body, dict) else {}
    message, times = body.get("message"), body.get("times", 1)
    if not isinstance(message, str) or not message:
        return error_response(400, "A failure needs a message.")
    if not isinstance(times, int) or isinstance(times, bool) or times < 1:
        return error_response(400, "times must be a whole number >= 1.")
    handle.side["failures"][map_name] = [message, times]
    handle.save()
    return JSONResponse({"map": map_name, "message": message, "times": times})


async def map_action(request: Request) -> Response:
    action = request.path_params["action"]
    if action == "fail":
        try:
            body = await json_body(request)
        except ValueError as exc:
            return error_response(400, str(exc))
        params = request.path_params
        return _fail_requests(_hub(request), params["name"], params["map"], body)
    if action not in MAP_ACTIONS:
        return error_response(404, f"Unknown map action '{action}'.", "emulator.not_found")
    try:
        body = await json_body(request)
    except ValueError as exc:
        return error_response(400, str(exc))
    args = {**(body if isinstance(body, dict) else {}), "name": request.path_params["map"]}
    return _run(_hub(request), request.path_params["name"], MAP_ACTIONS[action], args)


ROUTES = [
    Route("/_emulator", info, methods=["GET"]),
    Route("/_emulator/seed", seed, methods=["POST", "PUT"]),
    Route("/_emulator/reset", reset, methods=["POST"]),
    Route("/_emulator/state", state, methods=["GET"]),
    Route("/_emulator/faults", add_faults, methods=["POST"]),
    Route("/_emulator/faults", list_faults, methods=["GET"]),
    Route("/_emulator/faults", clear_faults, methods=["DELETE"]),
    Route("/_emulator/faults/{fault_id}", remove_fault, methods=["DELETE"]),
    Route("/_emulator/stats", stats, methods=["GET"]),
    Route("/_emulator/stats", clear_stats, methods=["DELETE"]),
    Route("/_emulator/clock", clock, methods=["POST"]),
    Route("/_emulator/env/{name}/state", env_state, methods=["GET"]),
    Route("/_emulator/env/{name}/call", call, methods=["POST"]),
    Route("/_emulator/env/{name}/maps/{map:path}/{action}", map_action, methods=["POST"]),
]
