"""The emulator's ASGI application: `create_app(config)`.

URL scheme (one host, everything under it; docs/emulator.md):

- `/{tenant}/v2.0/.well-known/openid-configuration`, `/{tenant}/oauth2/v2.0/token`,
  `/{tenant}/oauth2/v2.0/devicecode`: Entra; the authority base URL is the emulator's root.
- `/env/{name}/dataverse/api/data/v9.2/…`: Dataverse of environment `name`
  (`dataverse_url` = `<root>/env/{name}/dataverse`).
- `/env/{name}/gateway/api/…`: the dual-write gateway (`gateway_url` = `<root>/env/{name}/gateway`).
- `/_emulator/…`: the test-only API.

With `config.replay`, the data planes answer from a recording instead (`replay`).

Middleware, outermost first: statistics, the bearer check and throttle of the data planes,
fault injection. Every endpoint is `async` and does its model work without awaiting, so requests
never interleave inside an environment.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from dwconf.emulator import replay
from dwconf.emulator.config import EmulatorConfig
from dwconf.emulator.dataverse import odata
from dwconf.emulator.dataverse.handler import handle as handle_dataverse
from dwconf.emulator.dataverse.request import DvRequest
from dwconf.emulator.entra import authority, browser
from dwconf.emulator.faults import TRANSPORT_KEY, FaultMiddleware
from dwconf.emulator.gateway.handler import handle as handle_gateway
from dwconf.emulator.guard import GuardMiddleware
from dwconf.emulator.hub import Hub
from dwconf.emulator.reply import Reply
from dwconf.emulator.stats import ServiceDateMiddleware, StatsMiddleware
from dwconf.emulator.testapi import routes as testapi_routes
from dwconf.emulator.testapi import signins as signin_routes

DATAVERSE_ROOT = "/api/data/v9.2"
METHODS = ["GET", "POST", "PATCH", "PUT", "DELETE"]


class EmulatorApp(Starlette):
    """Starlette that remembers the connection's transport, so a fault can drop it, and lets a
    client go that disconnected before its request was read (a killed process) without
    logging a traceback for it."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            owner = getattr(send, "__self__", None)
            scope[TRANSPORT_KEY] = getattr(owner, "transport", None)
        try:
            await super().__call__(scope, receive, send)
        except ClientDisconnect:
            return


def _hub(request: Request) -> Hub:
    hub: Hub = request.app.state.hub
    return hub


def _response(reply: Reply) -> Response:
    return Response(reply.body, reply.status, headers=reply.headers)


def _unknown_environment(name: str) -> Response:
    return _response(odata.error(404, "", f"No emulated environment '{name}'."))


async def dataverse_endpoint(request: Request) -> Response:
    name = request.path_params["env"]
    hub = _hub(request)
    handle = hub.registry.find(name)
    if handle is None:
        return _unknown_environment(name)
    body = await request.body()
    root = f"{authority.base_url(request)}/env/{name}/dataverse{DATAVERSE_ROOT}"
    dv_request = DvRequest(
        method=request.method,
        path="/" + request.path_params["rest"],
        params=dict(request.query_params),
        headers={k.lower(): v for k, v in request.headers.items()},
        body=body,
        root=root,
    )
    if hub.replay is not None:
        return _response(replay.dataverse(hub.replay, dv_request))
    return _response(handle_dataverse(handle, dv_request))


async def dataverse_fallback(request: Request) -> Response:
    return _response(odata.error(404, "", f"No Dataverse resource at {request.url.path}."))


async def gateway_endpoint(request: Request) -> Response:
    name = request.path_params["env"]
    hub = _hub(request)
    handle = hub.registry.find(name)
    if handle is None:
        return _unknown_environment(name)
    body = await request.body()
    path = "/" + request.path_params["rest"]
    if hub.replay is not None:
        return _response(
            replay.gateway(hub.replay, request.method, path, dict(request.query_params))
        )
    reply = handle_gateway(handle, request.method, path, dict(request.query_params), body)
    return _response(reply)


ROUTES = [
    Route(
        "/{tenant}/v2.0/.well-known/openid-configuration",
        authority.discovery_endpoint,
        methods=["GET"],
    ),
    Route("/{tenant}/oauth2/v2.0/token", authority.token_endpoint, methods=["POST"]),
    Route("/{tenant}/oauth2/v2.0/devicecode", authority.device_code_endpoint, methods=["POST"]),
    Route("/{tenant}/oauth2/v2.0/authorize", browser.authorize_endpoint, methods=["GET"]),
    Route("/{tenant}/login", browser.login_endpoint, methods=["POST"]),
    Route("/{tenant}/discovery/v2.0/keys", authority.keys_endpoint, methods=["GET"]),
    Route("/common/discovery/instance", authority.instance_discovery_endpoint, methods=["GET"]),
    Route("/common/userrealm/{username}", authority.user_realm_endpoint, methods=["GET"]),
    Route(
        "/env/{env}/dataverse" + DATAVERSE_ROOT + "/{rest:path}",
        dataverse_endpoint,
        methods=METHODS,
    ),
    Route("/env/{env}/dataverse/{rest:path}", dataverse_fallback, methods=METHODS),
    Route("/env/{env}/gateway/{rest:path}", gateway_endpoint, methods=METHODS),
    *testapi_routes.ROUTES,
    *signin_routes.ROUTES,
]


def create_app(config: EmulatorConfig) -> Starlette:
    """The emulator for `config`; environment files go to `config.data_dir` (a temporary
    folder, removed at shutdown, when it is None)."""
    owned = config.data_dir is None
    folder = Path(tempfile.mkdtemp(prefix="dwconf-emulator-")) if owned else config.data_dir
    assert folder is not None
    folder.mkdir(parents=True, exist_ok=True)
    hub = Hub.build(config, folder)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            hub.registry.close()
            if owned:
                shutil.rmtree(folder, ignore_errors=True)

    app = EmulatorApp(
        routes=ROUTES,
        middleware=[
            Middleware(ServiceDateMiddleware, now=hub.clock.now),
            Middleware(StatsMiddleware, stats=hub.stats),
            Middleware(GuardMiddleware, hub=hub),
            Middleware(FaultMiddleware, faults=hub.faults),
        ],
        lifespan=lifespan,
    )
    app.state.hub = hub
    return app
