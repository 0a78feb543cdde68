"""The door of the data planes: every request under `/env/{name}/dataverse` or
`/env/{name}/gateway` needs a bearer token for that resource (401 with `WWW-Authenticate`
otherwise) and passes the caller's throttle (429 with `Retry-After`).

The gateway also accepts tokens for its real resource, `https://IntegratorApp.com` by default,
and only a user's (delegated) token unless the configuration sets `gateway_app_only`: the one
public client of the gateway only ever signs in as a user (live-api.md §4), so an app-only token
is refused with 401 until someone shows the real gateway taking one [I].

Every bearer a plane is shown is counted by its audience and kind (`GET /_emulator/stats`,
`bearers`), so tests can see which token went where.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Receive, Scope, Send

from dwconf.emulator.entra import tokens
from dwconf.emulator.entra.authority import normal
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
        bearer = _header(scope, b"authorization")
        self._count(f"{match.group('env')}/{plane}", bearer)
        result = authority.verify(bearer, audiences)
        error = result.error
        if result.claims is not None and plane == "gateway":
            error = self._delegated_only(result.claims)
        if result.claims is None or error:
            challenge = authority.challenge(base, resource, error).encode("latin-1")
            message = error or "Bearer token is required."
            await _send_error(send, 401, "", message, [(b"www-authenticate", challenge)])
            return
        await self._throttled(scope, receive, send, result.claims)

    def _count(self, plane: str, bearer: str | None) -> None:
        """Count the bearer `plane` was shown by audience and kind (its signature is checked,
        its audience and expiry are not: a token sent to the wrong plane counts too)."""
        if not bearer or not bearer.lower().startswith("bearer "):
            return
        try:
            claims = tokens.decode(bearer[7:].strip(), self.hub.authority.key)
        except tokens.TokenError:
            return
        kind = "user" if claims.get("scp") else "app"
        self.hub.stats.bearers[plane][f"{kind} {normal(str(claims.get('aud', '')))}"] += 1

    def _delegated_only(self, claims: dict[str, object]) -> str | None:
        if claims.get("scp") or self.hub.config.gateway_app_only:
            return None
        return (
            f"The dual-write gateway accepts a user's sign-in only; this token was issued to the "
            f"application {claims.get('appid')} itself (app-only)."
        )

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
