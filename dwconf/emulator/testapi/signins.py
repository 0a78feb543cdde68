"""The test API's sign-in part (`/_emulator/devicecodes`, `/_emulator/authorizations`,
`/_emulator/signins`): what a person does in a browser during a device-code sign-in or on the
sign-in page of a browser sign-in — approve or decline — and what an administrator does when
revoking a user's sessions. Test-only and unprotected, like the rest
of `/_emulator/`.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from dwconf.emulator.entra.signins import approver
from dwconf.emulator.hub import Hub
from dwconf.emulator.testapi.routes import error_response, json_body


def _hub(request: Request) -> Hub:
    hub: Hub = request.app.state.hub
    return hub


async def pending(request: Request) -> Response:
    """The device codes waiting for a user, oldest first (no device codes: those are secret)."""
    hub = _hub(request)
    now = hub.clock.time()
    codes = [
        {
            "user_code": c.user_code,
            "client_id": c.client_id,
            "scope": c.scope,
            "expires_in": int(c.expires_at - now),
        }
        for c in hub.authority.signins.pending()
    ]
    return JSONResponse({"pending": codes})


async def _username(request: Request) -> str | None:
    """The user the body names (`{"username": …}`), else None; ValueError when not JSON."""
    body = await json_body(request)
    found = body.get("username") if isinstance(body, dict) else None
    return str(found) if found is not None else None


async def _decide(request: Request, approve: bool) -> Response:
    try:
        username = await _username(request)
    except ValueError as exc:
        return error_response(400, str(exc))
    code = request.path_params["user_code"]
    try:
        _hub(request).authority.signins.decide(code, username, approve)
    except KeyError:
        return error_response(404, f"No device code '{code}' is waiting.", "emulator.not_found")
    except LookupError as exc:
        return error_response(400, str(exc))
    return JSONResponse({"user_code": code, "approved": approve})


async def approve(request: Request) -> Response:
    return await _decide(request, approve=True)


async def decline(request: Request) -> Response:
    return await _decide(request, approve=False)


async def authorizations(request: Request) -> Response:
    """Browser sign-ins waiting on their sign-in page, oldest first."""
    hub = _hub(request)
    now = hub.clock.time()
    waiting = [
        {
            "request": a.request_id,
            "client_id": a.client_id,
            "scope": a.scope,
            "redirect_uri": a.redirect_uri,
            "expires_in": int(a.expires_at - now),
        }
        for a in hub.authority.authcodes.pending()
    ]
    return JSONResponse({"pending": waiting})


async def _decide_authorization(request: Request, approve: bool) -> Response:
    try:
        username = await _username(request)
    except ValueError as exc:
        return error_response(400, str(exc))
    hub = _hub(request)
    wanted = request.path_params["request"]
    try:
        user = approver(hub.config, username) if approve else None
        hub.authority.authcodes.decide(wanted, user)
    except KeyError:
        return error_response(404, f"No sign-in '{wanted}' is waiting.", "emulator.not_found")
    except LookupError as exc:
        return error_response(400, str(exc))
    return JSONResponse({"request": wanted, "approved": approve})


async def approve_authorization(request: Request) -> Response:
    return await _decide_authorization(request, approve=True)


async def decline_authorization(request: Request) -> Response:
    return await _decide_authorization(request, approve=False)


async def revoke(request: Request) -> Response:
    return JSONResponse({"revoked": _hub(request).authority.signins.revoke()})


async def device_login(request: Request) -> Response:
    """The verification page a device-code message names; the emulator has no sign-in page."""
    return error_response(
        404,
        "The emulator has no sign-in page: approve the code with "
        "POST /_emulator/devicecodes/{user_code}/approve.",
        "emulator.not_found",
    )


ROUTES = [
    Route("/_emulator/devicecodes", pending, methods=["GET"]),
    Route("/_emulator/devicecodes/{user_code}/approve", approve, methods=["POST"]),
    Route("/_emulator/devicecodes/{user_code}/decline", decline, methods=["POST"]),
    Route("/_emulator/devicelogin", device_login, methods=["GET"]),
    Route("/_emulator/authorizations", authorizations, methods=["GET"]),
    Route("/_emulator/authorizations/{request}/approve", approve_authorization, methods=["POST"]),
    Route("/_emulator/authorizations/{request}/decline", decline_authorization, methods=["POST"]),
    Route("/_emulator/signins/revoke", revoke, methods=["POST"]),
]
