"""Entra ID as far as dwconf needs it (live-api.md §4, §6.1): OIDC discovery (msal reads it
before anything else), the v2.0 token endpoint with the client-credentials grant (client secret
or client assertion for workload identity), and the bearer check every data request passes.

Access tokens are HS256 JWTs signed with a key made at start-up; `aud` is the resource the
client asked for (`<resource>/.default`), so a Dataverse token is refused by the gateway and
the other way round. Secrets are compared in constant time and never logged or echoed.
"""

from __future__ import annotations

import base64
import hmac
import re
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from dwconf.emulator import tokens
from dwconf.emulator.config import Client, EmulatorConfig
from dwconf.emulator.registry import Clock, Registry, stable_id

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
_PLANE_RESOURCE = re.compile(
    r"^https?://[^/]+/env/(?P<env>[^/]+)/(?P<plane>dataverse|gateway)$", re.I
)


class OAuthError(Exception):
    """A token-endpoint refusal: OAuth error, AADSTS code and description."""

    def __init__(self, error: str, code: int, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error, self.code, self.description, self.status = error, code, description, status


def normal(url: str) -> str:
    """A resource URL for comparison: scheme and host lower-case, no trailing slash."""
    match = re.match(r"^(https?://[^/]+)(.*)$", url.strip(), re.I)
    if match is None:
        return url.strip().rstrip("/")
    return match.group(1).lower() + match.group(2).rstrip("/")


class Authority:
    """The token service and the bearer check, for one tenant."""

    def __init__(self, config: EmulatorConfig, registry: Registry, clock: Clock) -> None:
        self.config = config
        self.registry = registry
        self.clock = clock
        self.key = uuid.uuid4().bytes + uuid.uuid4().bytes

    # Discovery -----------------------------------------------------------------------------

    def discovery(self, base: str, tenant: str) -> dict[str, Any]:
        root = f"{base}/{tenant}"
        return {
            "token_endpoint": f"{root}/oauth2/v2.0/token",
            "token_endpoint_auth_methods_supported": [
                "client_secret_post",
                "private_key_jwt",
                "client_secret_basic",
            ],
            "jwks_uri": f"{root}/discovery/v2.0/keys",
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "issuer": f"{root}/v2.0",
            "request_uri_parameter_supported": False,
            "authorization_endpoint": f"{root}/oauth2/v2.0/authorize",
            "device_authorization_endpoint": f"{root}/oauth2/v2.0/devicecode",
            "end_session_endpoint": f"{root}/oauth2/v2.0/logout",
            "tenant_region_scope": "EU",
            "cloud_instance_name": "microsoftonline.com",
        }

    def known_tenant(self, tenant: str) -> bool:
        return tenant.lower() == self.config.tenant_id.lower()

    # Token endpoint ------------------------------------------------------------------------

    def _client(self, client_id: str) -> Client:
        found = next((c for c in self.config.clients if c.client_id == client_id), None)
        if found is None:
            raise OAuthError(
                "unauthorized_client",
                700016,
                f"AADSTS700016: Application with identifier '{client_id}' was not found in the "
                f"directory '{self.config.tenant_id}'.",
            )
        return found

    def _check_secret(self, client: Client, secret: str) -> None:
        if client.secret is None or not hmac.compare_digest(client.secret, secret):
            raise OAuthError(
                "invalid_client",
                7000215,
                "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in "
                f"the request is the client secret value, not the client secret ID, for a secret "
                f"added to app '{client.client_id}'.",
            )

    def _check_assertion(self, client: Client, assertion_type: str, assertion: str) -> None:
        if assertion_type != JWT_BEARER:
            raise OAuthError(
                "invalid_request", 70002, "AADSTS70002: client_assertion_type is invalid."
            )
        try:
            claims = tokens.unverified_claims(assertion)
        except tokens.TokenError as exc:
            raise OAuthError("invalid_client", 50027, "AADSTS50027: JWT token is invalid.") from exc
        federated = client.federated
        if federated is None or claims.get("iss") != federated.issuer:
            raise OAuthError(
                "invalid_client",
                700211,
                f"AADSTS700211: No matching federated identity record found for presented "
                f"assertion issuer '{claims.get('iss')}'.",
            )
        if claims.get("sub") != federated.subject:
            raise OAuthError(
                "invalid_client",
                700213,
                f"AADSTS700213: No matching federated identity record found for presented "
                f"assertion subject '{claims.get('sub')}'.",
            )
        audiences = claims.get("aud")
        audiences = audiences if isinstance(audiences, list) else [audiences]
        if federated.audience not in audiences:
            raise OAuthError(
                "invalid_client",
                700212,
                f"AADSTS700212: No matching federated identity record found for presented "
                f"assertion audience '{claims.get('aud')}'.",
            )
        if not isinstance(claims.get("exp"), int | float) or claims["exp"] <= self.clock.time():
            raise OAuthError(
                "invalid_client",
                700024,
                "AADSTS700024: Client assertion is not within its valid time range.",
            )

    def resource_known(self, resource: str) -> bool:
        if normal(resource) == normal(self.config.gateway_resource):
            return True
        match = _PLANE_RESOURCE.match(normal(resource))
        return bool(match and self.registry.find(match.group("env")) is not None)

    def _resource(self, scope: str) -> str:
        wanted = [s for s in scope.split() if s.endswith("/.default")]
        if len(wanted) != 1:
            raise OAuthError(
                "invalid_scope",
                1002012,
                f"AADSTS1002012: The provided value for scope {scope} is not valid. Client "
                "credential flows must have a scope value with /.default suffixed to the "
                "resource identifier (application ID URI).",
            )
        resource = normal(wanted[0][: -len("/.default")])
        if not self.resource_known(resource):
            raise OAuthError(
                "invalid_scope",
                500011,
                f"AADSTS500011: The resource principal named {resource} was not found in the "
                f"tenant named {self.config.tenant_id}.",
            )
        return resource

    def issue(
        self, form: dict[str, str], basic: tuple[str, str] | None, base: str
    ) -> dict[str, Any]:
        """Run the client-credentials grant; OAuthError when it is refused."""
        grant = form.get("grant_type", "")
        if grant != "client_credentials":
            raise OAuthError(
                "unsupported_grant_type",
                70003,
                f"AADSTS70003: The app requested an unsupported grant type '{grant}'.",
            )
        client_id = form.get("client_id") or (basic[0] if basic else "")
        if not client_id:
            raise OAuthError(
                "invalid_request",
                900144,
                "AADSTS900144: The request body must contain the following parameter: 'client_id'.",
            )
        client = self._client(client_id)
        secret = form.get("client_secret") or (basic[1] if basic else None)
        if secret is not None:
            self._check_secret(client, secret)
        elif form.get("client_assertion"):
            self._check_assertion(
                client, form.get("client_assertion_type", ""), form["client_assertion"]
            )
        else:
            raise OAuthError(
                "invalid_client",
                7000216,
                "AADSTS7000216: 'client_assertion', 'client_secret' or 'request' is required for "
                "the 'client_credentials' grant type.",
            )
        resource = self._resource(form.get("scope", ""))
        return self._token(client, resource, base)

    def _token(self, client: Client, resource: str, base: str) -> dict[str, Any]:
        now = int(self.clock.time())
        lifetime = self.config.token_lifetime_seconds
        principal = stable_id("serviceprincipal", client.client_id)
        claims = {
            "aud": resource,
            "iss": f"{base}/{self.config.tenant_id}/v2.0",
            "iat": now,
            "nbf": now,
            "exp": now + lifetime,
            "appid": client.client_id,
            "azp": client.client_id,
            "oid": principal,
            "sub": principal,
            "tid": self.config.tenant_id,
            "ver": "1.0",
            "jti": str(uuid.uuid4()),
        }
        return {
            "token_type": "Bearer",
            "expires_in": lifetime,
            "ext_expires_in": lifetime,
            "access_token": tokens.encode(claims, self.key),
        }

    # Bearer check --------------------------------------------------------------------------

    def verify(self, authorization: str | None, audiences: list[str]) -> BearerResult:
        """The caller behind a bearer token, or why it is refused."""
        if not authorization or not authorization.lower().startswith("bearer "):
            return BearerResult(None, None)
        try:
            claims = tokens.decode(authorization[7:].strip(), self.key)
        except tokens.TokenError:
            return BearerResult(None, "The access token is invalid.")
        if not isinstance(claims.get("exp"), int) or claims["exp"] <= self.clock.time():
            return BearerResult(None, "The access token has expired.")
        if normal(str(claims.get("aud", ""))) not in {normal(a) for a in audiences}:
            return BearerResult(
                None, f"The access token's audience '{claims.get('aud')}' is not valid here."
            )
        return BearerResult(claims, None)

    def challenge(self, base: str, resource: str, error: str | None) -> str:
        """The `WWW-Authenticate` value of a 401."""
        value = (
            f'Bearer authorization_uri="{base}/{self.config.tenant_id}/oauth2/authorize", '
            f'resource_id="{resource}"'
        )
        if error:
            value += f', error="invalid_token", error_description="{error}"'
        return value


@dataclass(frozen=True)
class BearerResult:
    claims: dict[str, Any] | None
    error: str | None  # None with no claims: no token was sent


def _basic(header: str | None) -> tuple[str, str] | None:
    if not header or not header.lower().startswith("basic "):
        return None
    try:
        user, _, password = base64.b64decode(header[6:]).decode("utf-8").partition(":")
    except (ValueError, UnicodeDecodeError):
        return None
    return user, password


def base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _tenant_error(tenant: str) -> JSONResponse:
    description = (
        f"AADSTS90002: Tenant '{tenant}' not found. Check to make sure you have the correct "
        "tenant ID and are signing into the correct cloud."
    )
    return JSONResponse(
        {"error": "invalid_tenant", "error_description": description, "error_codes": [90002]}, 400
    )


async def discovery_endpoint(request: Request) -> Response:
    authority: Authority = request.app.state.hub.authority
    tenant = request.path_params["tenant"]
    if not authority.known_tenant(tenant):
        return _tenant_error(tenant)
    return JSONResponse(authority.discovery(base_url(request), tenant))


async def instance_discovery_endpoint(request: Request) -> Response:
    """msal's `instance_discovery` when pointed at the emulator instead of being turned off."""
    authority: Authority = request.app.state.hub.authority
    base = base_url(request)
    tenant = authority.config.tenant_id
    return JSONResponse(
        {
            "tenant_discovery_endpoint": f"{base}/{tenant}/v2.0/.well-known/openid-configuration",
            "api-version": "1.1",
            "metadata": [],
        }
    )


async def keys_endpoint(request: Request) -> Response:
    return JSONResponse({"keys": []})


async def token_endpoint(request: Request) -> Response:
    authority: Authority = request.app.state.hub.authority
    tenant = request.path_params["tenant"]
    if not authority.known_tenant(tenant):
        return _tenant_error(tenant)
    form = dict(
        parse_qsl((await request.body()).decode("utf-8", "replace"), keep_blank_values=True)
    )
    headers = {"Cache-Control": "no-store, no-cache", "Pragma": "no-cache"}
    try:
        issued = authority.issue(
            form, _basic(request.headers.get("authorization")), base_url(request)
        )
    except OAuthError as exc:
        body = {
            "error": exc.error,
            "error_description": exc.description,
            "error_codes": [exc.code],
            "trace_id": str(uuid.uuid4()),
            "correlation_id": str(uuid.uuid4()),
        }
        return JSONResponse(body, exc.status, headers=headers)
    return JSONResponse(issued, headers=headers)
