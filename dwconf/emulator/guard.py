"""The door of the data planes: every request under `/env/{name}/dataverse` or
`/env/{name}/gateway` needs a bearer token for that resource (401 with `WWW-Authenticate`
otherwise) and passes the caller's throttle (429 with `Retry-After`).

The gateway also accepts tokens for its real resource, `https://IntegratorApp.com` by default.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Receive, Scope, Send

from dwconf.emulator.auth import normal
from dwconf.emulator.faults import PLANE_PATH
from dwconf.emulator.hub import Hub


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return None


async def _send_error(
    send: Send, status: int, code: str, message: str, extra: list[tuple[bytes, bytes]]
) -> None:
    body = json.dumps({"error": {"code": code, "message": message}}).encode("utf-8")
    headers = [
        (b"content-type", b"application/json; odata.metadata=minimal"),
        (b"odata-version", b"4.0"),
        *extra,
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class GuardMiddleware:
    def __init__(self, app: ASGIApp, hub: Hub) -> None:
        self.app = app
        self.hub = hub

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        match = PLANE_PATH.match(scope["path"]) if scope["type"] == "http" else None
        if match is None:
            await self.app(scope, receive, send)
            return
        base = f"{scope['scheme']}://{_header(scope, b'host') or 'localhost'}"
        plane = scope["path"].split("/")[3]
        resource = f"{base}/env/{match.group('env')}/{plane}"
        audiences = [resource]
        if plane == "gateway":
            audiences.append(self.hub.config.gateway_resource)
        authority = self.hub.authority
        result = authority.verify(_header(scope, b"authorization"), audiences)
        if result.claims is None:
            challenge = authority.challenge(base, resource, result.error).encode("latin-1")
            message = result.error or "Bearer token is required."
            await _send_error(send, 401, "", message, [(b"www-authenticate", challenge)])
            return
        await self._throttled(scope, receive, send, result.claims)

    async def _throttled(
        self, scope: Scope, receive: Receive, send: Send, claims: dict[str, object]
    ) -> None:
        key = f"{claims.get('sub')}|{normal(str(claims.get('aud')))}"
        rejection, entry = self.hub.throttle.admit(key)
        if rejection is not None or entry is None:
            assert rejection is not None
            retry = (b"retry-after", str(rejection.retry_after).encode())
            await _send_error(send, 429, rejection.code, rejection.message, [retry])
            return
        try:
            await self.app(scope, receive, send)
        finally:
            self.hub.throttle.done(key, entry)
