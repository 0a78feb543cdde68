"""Entra ID as far as dwconf needs it (live-api.md §4, §6.1): OIDC discovery (msal reads it
before anything else), the v2.0 token endpoint with the client-credentials grant (client secret
or client assertion for workload identity), the user grants of `signins` (device code,
password, refresh token) and the authorization code of a browser sign-in (`authcode`,
`browser`), the device-code endpoint, and the bearer check every data request passes.

Access tokens are HS256 JWTs signed with a key made at start-up; `aud` is the resource the
client asked for (`<resource>/.default`), so a Dataverse token is refused by the gateway and
the other way round. A user's token carries `scp` and `idtyp: user`, an application's
`idtyp: app` and no `scp`. Secrets are compared in constant time and never logged or echoed.
"""

from __future__ import annotations

import base64
import hmac
import json
import re
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from dwconf.emulator.config import Client, EmulatorConfig, User
from dwconf.emulator.entra import tokens
from dwconf.emulator.entra.authcode import AUTHORIZATION_CODE_GRANT, AuthCodes
from dwconf.emulator.entra.signins import DEVICE_CODE_GRANT, USER_GRANTS, OAuthError, Signins
from dwconf.emulator.registry import Clock, Registry, stable_id

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
_PLANE_RESOURCE = re.compile(
    r"^https?://[^/]+/env/(?P<env>[^/]+)/(?P<plane>dataverse|gateway)$", re.I
)


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
        self.signins = Signins(config, clock)
        self.authcodes = AuthCodes(config, clock)

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

    def client_for(self, client_id: str) -> Client:
        found = self.config.client(client_id)
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

    def resource_for(self, scope: str) -> str:
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
        """Run the grant the form asks for; OAuthError when it is refused."""
        grant = form.get("grant_type", "")
        if grant != "client_credentials" and grant not in (*USER_GRANTS, AUTHORIZATION_CODE_GRANT):
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
        client = self.client_for(client_id)
        if grant != "client_credentials":
            user, scope, nonce = self._user(client, grant, form, basic)
            return self._user_token(client, user, self.resource_for(scope), base, nonce)
        self._authenticate(client, form, basic, required=True)
        resource = self.resource_for(form.get("scope", ""))
        return self._token(client, resource, base)

    def _authenticate(
        self, client: Client, form: dict[str, str], basic: tuple[str, str] | None, required: bool
    ) -> None:
        """A confidential client proves itself; a public one has nothing to prove."""
        secret = form.get("client_secret") or (basic[1] if basic else None)
        if secret is not None:
            self._check_secret(client, secret)
        elif form.get("client_assertion"):
            self._check_assertion(
                client, form.get("client_assertion_type", ""), form["client_assertion"]
            )
        elif required or not client.public:
            raise OAuthError(
                "invalid_client",
                7000216 if required else 7000218,
                "AADSTS7000216: 'client_assertion', 'client_secret' or 'request' is required for "
                "the 'client_credentials' grant type."
                if required
                else "AADSTS7000218: The request body must contain the following parameter: "
                "'client_assertion' or 'client_secret'.",
            )

    def _user(
        self, client: Client, grant: str, form: dict[str, str], basic: tuple[str, str] | None
    ) -> tuple[User, str, str | None]:
        """The user a user grant signs in, the scope asked for (a device code's or an
        authorization code's scope was given when the code was asked for) and the nonce the
        ID token echoes (the authorization request's, else none)."""
        self._authenticate(client, form, basic, required=False)
        scope = form.get("scope", "")
        if grant == DEVICE_CODE_GRANT:
            entry = self.signins.redeem_device_code(client, form.get("device_code", ""))
            assert entry.user is not None
            return entry.user, scope or entry.scope, None
        if grant == AUTHORIZATION_CODE_GRANT:
            issued = self.authcodes.redeem(
                client.client_id,
                form.get("code", ""),
                form.get("redirect_uri", ""),
                form.get("code_verifier"),
            )
            asked = issued.authorization
            return issued.user, scope or asked.scope, asked.nonce
        if grant == "refresh_token":
            user = self.signins.redeem_refresh_token(client, form.get("refresh_token", ""))
            return user, scope, None
        return (
            self.signins.password(form.get("username", ""), form.get("password", "")),
            scope,
            None,
        )

    def device_code(self, form: dict[str, str], base: str) -> dict[str, Any]:
        """`/devicecode`: a code for the user to approve (through the test API here)."""
        client = self.client_for(form.get("client_id", ""))
        scope = form.get("scope", "")
        self.resource_for(scope)
        entry = self.signins.start(client, scope)
        page = f"{base}/_emulator/devicelogin"
        lifetime = self.config.device_code_lifetime_seconds
        return {
            "user_code": entry.user_code,
            "device_code": entry.device_code,
            "verification_uri": page,
            "expires_in": lifetime,
            "interval": self.config.device_code_interval_seconds,
            "message": f"To sign in, use a web browser to open the page {page} and enter the "
            f"code {entry.user_code} to authenticate.",
        }

    def _claims(self, resource: str, base: str) -> dict[str, Any]:
        now = int(self.clock.time())
        return {
            "aud": resource,
            "iss": f"{base}/{self.config.tenant_id}/v2.0",
            "iat": now,
            "nbf": now,
            "exp": now + self.config.token_lifetime_seconds,
            "tid": self.config.tenant_id,
            "ver": "1.0",
            "jti": str(uuid.uuid4()),
        }

    def _answer(self, access: dict[str, Any]) -> dict[str, Any]:
        lifetime = self.config.token_lifetime_seconds
        return {
            "token_type": "Bearer",
            "expires_in": lifetime,
            "ext_expires_in": lifetime,
            "access_token": tokens.encode(access, self.key),
        }

    def _token(self, client: Client, resource: str, base: str) -> dict[str, Any]:
        principal = stable_id("serviceprincipal", client.client_id)
        claims = {
            **self._claims(resource, base),
            "appid": client.client_id,
            "azp": client.client_id,
            "oid": principal,
            "sub": principal,
            "idtyp": "app",
        }
        return self._answer(claims)

    def _user_token(
        self, client: Client, user: User, resource: str, base: str, nonce: str | None
    ) -> dict[str, Any]:
        """An access token for `user` through `client`, with a refresh token, an ID token
        (carrying the authorization request's `nonce`, which msal checks) and `client_info`."""
        oid = stable_id("user", user.username.lower())
        claims = {
            **self._claims(resource, base),
            "appid": client.client_id,
            "azp": client.client_id,
            "oid": oid,
            "sub": stable_id("subject", f"{oid}|{resource}"),
            "upn": user.username,
            "unique_name": user.username,
            "scp": "user_impersonation",
            "idtyp": "user",
        }
        identity = {
            **self._claims(client.client_id, base),
            "ver": "2.0",
            "oid": oid,
            "sub": stable_id("subject", f"{oid}|{client.client_id}"),
            "preferred_username": user.username,
            "name": user.username.split("@")[0],
            **({"nonce": nonce} if nonce is not None else {}),
        }
        info = {"uid": oid, "utid": self.config.tenant_id}
        return {
            **self._answer(claims),
            "scope": f"{resource}/.default",
            "refresh_token": self.signins.new_refresh_token(user, client),
            "id_token": tokens.encode(identity, self.key),
            "client_info": tokens.b64(json.dumps(info).encode("utf-8")),
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


def tenant_error(tenant: str) -> JSONResponse:
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
        return tenant_error(tenant)
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


async def user_realm_endpoint(request: Request) -> Response:
    """Home realm discovery, which msal asks before a password sign-in: every user of the
    emulator is a cloud ("Managed") account, none federated."""
    authority: Authority = request.app.state.hub.authority
    username = request.path_params["username"]
    return JSONResponse(
        {
            "ver": "1.0",
            "account_type": "Managed",
            "domain_name": username.rpartition("@")[2],
            "cloud_instance_name": "microsoftonline.com",
            "cloud_audience_urn": "urn:federation:MicrosoftOnline",
            "tenant_id": authority.config.tenant_id,
        }
    )


async def keys_endpoint(request: Request) -> Response:
    return JSONResponse({"keys": []})


def _oauth_error(exc: OAuthError, headers: dict[str, str]) -> JSONResponse:
    body = {
        "error": exc.error,
        "error_description": exc.description,
        "error_codes": [exc.code],
        "trace_id": str(uuid.uuid4()),
        "correlation_id": str(uuid.uuid4()),
    }
    return JSONResponse(body, exc.status, headers=headers)


async def _form(request: Request) -> dict[str, str]:
    raw = (await request.body()).decode("utf-8", "replace")
    return dict(parse_qsl(raw, keep_blank_values=True))


async def _oauth_endpoint(request: Request, device_code: bool) -> Response:
    """`/devicecode` or `/token`: Entra's answer, or its refusal as an OAuth error body."""
    authority: Authority = request.app.state.hub.authority
    tenant = request.path_params["tenant"]
    if not authority.known_tenant(tenant):
        return tenant_error(tenant)
    headers = {"Cache-Control": "no-store, no-cache", "Pragma": "no-cache"}
    form, base = await _form(request), base_url(request)
    try:
        if device_code:
            answer = authority.device_code(form, base)
        else:
            answer = authority.issue(form, _basic(request.headers.get("authorization")), base)
    except OAuthError as exc:
        return _oauth_error(exc, headers)
    return JSONResponse(answer, headers=headers)


async def device_code_endpoint(request: Request) -> Response:
    return await _oauth_endpoint(request, device_code=True)


async def token_endpoint(request: Request) -> Response:
    return await _oauth_endpoint(request, device_code=False)
