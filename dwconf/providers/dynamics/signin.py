"""Signing in to the dual-write gateway as a user (docs/signin.md), apart from Dataverse.

Microsoft's one public client of the gateway only ever uses a user's token for
`https://IntegratorApp.com`, through its first-party Data Integrator application (a public
client), renewed with the refresh-token grant (Dual-write-automations: `TokenRefresh.cs`,
`EdgeUniversal.cs`, `ServicePrincipalAuth.cs`). So does dwconf, by `gateway_auth.method`:

- `user`: `dwconf login` signs in once (device code, or the system browser) into a token cache
  kept by `tokencache`; every run renews silently from it (msal's refresh-token grant);
- `refresh_token`, `username_password`: the same without a person, from variables (pipelines);
- `token`: a pre-acquired token, renewed by `refresh_token_env` when one is given;
- `app_only`: Dataverse's application, for tenants where the gateway has been seen to take it.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
import warnings
import webbrowser
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
import msal

from dwconf.errors import ProviderError
from dwconf.model.environment import AuthMethod, GatewayMethod
from dwconf.providers.dynamics.auth import (
    Credential,
    EnvToken,
    MsalHttp,
    dataverse_credential,
    forget_tokens,
    instance_discovery,
    refused,
    required,
)
from dwconf.providers.dynamics.settings import Settings, Tuning
from dwconf.providers.dynamics.tokencache import TokenCache, cache_path, forget, open_cache
from dwconf.providers.dynamics.transport import Transport, ssl_context

log = logging.getLogger(__name__)

# The first-party Data Integrator application (TokenRefresh.cs); a public client.
DATA_INTEGRATOR_CLIENT = "2e49aa60-1bd3-43b6-8ab6-03ada3d9f08b"
PENDING = ("authorization_pending", "slow_down")
PROGRESS_EVERY_S = 15.0
BROWSER_TIMEOUT_S = 300  # how long `dwconf login` waits for the browser sign-in to come back
EARLY_S = 60  # a pre-acquired token this close to its expiry is treated as expired


def _setting(name: str) -> str:
    return f"provider.gateway_auth.{name}"


def client_id(settings: Settings, environ: Mapping[str, str]) -> str:
    """The public client users sign in through: the configured one, else Data Integrator."""
    variable = settings.gateway_auth.client_id_env
    return (
        required(environ, variable, _setting("client_id_env"))
        if variable
        else (DATA_INTEGRATOR_CLIENT)
    )


def public_app(settings: Settings, client: str, transport: Transport, cache: Any) -> Any:
    return msal.PublicClientApplication(
        client,
        authority=settings.authority_url,
        http_client=MsalHttp(transport, settings.authority),
        instance_discovery=instance_discovery(settings),
        token_cache=cache,
    )


def user_cache_path(settings: Settings, environ: Mapping[str, str]) -> Path:
    client = client_id(settings, environ)
    return cache_path(environ, settings.authority_url, client, settings.gateway_url)


def user_cache(settings: Settings, environ: Mapping[str, str]) -> TokenCache:
    return open_cache(user_cache_path(settings, environ))


def _scopes(resource: str) -> list[str]:
    return [f"{resource}/.default"]


class UserTokens:
    """A user's tokens through a public client: msal's cache first (its refresh token renews
    an expired access token), else the method's own sign-in (`_sign_in`)."""

    hint = "Check provider.gateway_auth and provider.tenant_id (docs/signin.md)."

    def __init__(self, settings: Settings, client: str, transport: Transport, cache: Any) -> None:
        self._settings = settings
        self._client, self._transport, self._cache = client, transport, cache
        self._made: Any = None
        self._lock = threading.Lock()

    @property
    def _app(self) -> Any:
        """msal's application, made on first use: making it reads the authority's discovery
        document, a request that belongs to the first sign-in, not to opening the provider."""
        if self._made is None:
            self._made = public_app(self._settings, self._client, self._transport, self._cache)
        return self._made

    def token(self, resource: str) -> str:
        scopes = _scopes(resource)
        with self._lock:
            accounts = self._app.get_accounts()
            result = None
            if accounts:
                result = self._app.acquire_token_silent_with_error(scopes, account=accounts[0])
            if not result or "access_token" not in result:
                result = self._sign_in(scopes, result)
        if "access_token" not in result:
            raise refused(self._settings.authority_url, resource, result, self.hint)
        return str(result["access_token"])

    def _sign_in(self, scopes: list[str], silent: dict[str, Any] | None) -> dict[str, Any]:
        raise NotImplementedError

    def invalidate(self, resource: str, refused_token: str) -> None:
        """A refused access token is dropped; the refresh token gets a new one next time."""
        with self._lock:
            if self._made is not None:
                forget_tokens(self._made, _scopes(resource), refused_token)


class CachedSignIn(UserTokens):
    """Method `user`: only what `dwconf login` left in the token cache."""

    def _sign_in(self, scopes: list[str], silent: dict[str, Any] | None) -> dict[str, Any]:
        env = self._settings.environment
        if silent is None:
            raise ProviderError(
                f"sign in: nobody is signed in to the gateway of environment '{env}'.",
                hint=f"Run `dwconf login {env}` (docs/signin.md lists the ways to sign in).",
            )
        raise refused(
            self._settings.authority_url,
            scopes[0].removesuffix("/.default"),
            silent,
            f"The sign-in has expired or was revoked: run `dwconf login {env}` again.",
        )


class RefreshTokenSignIn(UserTokens):
    """Method `refresh_token`: a user's refresh token from a variable, redeemed once; msal
    keeps the new one it gets back for this run."""

    def __init__(self, settings: Settings, environ: Mapping[str, str], transport: Transport):
        variable = settings.gateway_auth.refresh_token_env
        self._refresh = required(environ, variable, _setting("refresh_token_env"))
        client = client_id(settings, environ)
        super().__init__(settings, client, transport, msal.TokenCache())
        self.hint = (
            f"The refresh token in ${variable} was refused (expired, revoked, or for another "
            "client): sign in again and store the new one (docs/signin.md)."
        )

    def _sign_in(self, scopes: list[str], silent: dict[str, Any] | None) -> dict[str, Any]:
        result: dict[str, Any] = self._app.acquire_token_by_refresh_token(self._refresh, scopes)
        return result


class PasswordSignIn(UserTokens):
    """Method `username_password`: a user without multi-factor authentication (ROPC), as
    Microsoft's tool does in pipelines (`ServicePrincipalAuth.cs`)."""

    hint = (
        "Check the user name and password variables; an account with multi-factor "
        "authentication can't sign in this way (docs/signin.md)."
    )

    def __init__(self, settings: Settings, environ: Mapping[str, str], transport: Transport):
        auth = settings.gateway_auth
        self._username = required(environ, auth.username_env, _setting("username_env"))
        self._password = required(environ, auth.password_env, _setting("password_env"))
        client = client_id(settings, environ)
        super().__init__(settings, client, transport, msal.TokenCache())

    def _sign_in(self, scopes: list[str], silent: dict[str, Any] | None) -> dict[str, Any]:
        with warnings.catch_warnings():  # msal deprecates ROPC for public clients; we say so
            warnings.simplefilter("ignore", DeprecationWarning)
            result: dict[str, Any] = self._app.acquire_token_by_username_password(
                self._username, self._password, scopes
            )
        return result


def expires_at(token: str) -> float | None:
    """The `exp` of a JWT (unverified: only to know when to stop using it), else None."""
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return None
    exp = claims.get("exp")
    return float(exp) if isinstance(exp, int | float) else None


class RenewableToken:
    """Method `token`: the pre-acquired token while it lasts, then (with `refresh_token_env`)
    the refresh-token grant; without one, an expired token is said to be so before it is sent."""

    def __init__(self, bearer: EnvToken, renew: RefreshTokenSignIn | None, variable: str):
        self._bearer, self._renew, self._variable = bearer, renew, variable
        self._renewed = False

    def token(self, resource: str) -> str:
        if self._renewed and self._renew is not None:
            return self._renew.token(resource)
        given = self._bearer.token(resource)
        expiry = expires_at(given)
        if expiry is None or expiry - EARLY_S > time.time():
            return given
        if self._renew is None:
            stamp = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(expiry))
            raise ProviderError(
                f"sign in: the token in ${self._variable} expired at {stamp}.",
                hint="Acquire a new one, or name a refresh token in "
                "provider.gateway_auth.refresh_token_env so dwconf renews it.",
            )
        self._renewed = True
        return self._renew.token(resource)

    def invalidate(self, resource: str, refused_token: str) -> None:
        if self._renew is None:
            self._bearer.invalidate(resource, refused_token)
        elif self._renewed:
            self._renew.invalidate(resource, refused_token)
        self._renewed = True


def gateway_credential(
    settings: Settings,
    environ: Mapping[str, str],
    transport: Transport,
    application: Credential | None = None,
) -> Credential:
    """The gateway's sign-in `settings.gateway_auth` describes; `application` is Dataverse's
    credential (made here when not given), used only by the opt-in `app_only`."""
    auth = settings.gateway_auth
    method = auth.method
    if method is GatewayMethod.USER:
        cache = user_cache(settings, environ)
        return CachedSignIn(settings, client_id(settings, environ), transport, cache.cache)
    if method is GatewayMethod.REFRESH_TOKEN:
        return RefreshTokenSignIn(settings, environ, transport)
    if method is GatewayMethod.USERNAME_PASSWORD:
        return PasswordSignIn(settings, environ, transport)
    if method is GatewayMethod.TOKEN:
        variable = str(auth.token_env)
        legacy = settings.auth.method is AuthMethod.TOKEN  # auth.method token names it
        setting = "provider.auth.token_env" if legacy else _setting("token_env")
        bearer = EnvToken(variable, environ, setting)
        bearer.token(settings.gateway_resource)  # fail now if the variable is missing
        renew = RefreshTokenSignIn(settings, environ, transport) if auth.refresh_token_env else None
        return RenewableToken(bearer, renew, variable)
    log.warning(
        "environment '%s' signs in to the gateway as an application (gateway_auth.method "
        "app_only): unverified, nothing public shows the gateway accepting app-only tokens",
        settings.environment,
    )
    return application or dataverse_credential(settings, environ, transport)


# dwconf login / logout ----------------------------------------------------------------------


def transport_for(settings: Settings) -> Transport:
    """The transport `dwconf login` signs in through (the provider's own, with its CA)."""
    tuning = Tuning()
    return Transport(
        verify=ssl_context(settings.ca_file),
        timeout_s=tuning.timeout_s,
        max_per_host=tuning.max_per_host,
        retry=tuning.retry,
        sleep=tuning.sleep,
    )


@dataclass(frozen=True)
class SignedIn:
    """Who signed in, and where the sign-in is kept (None: nowhere, it is made on every run)."""

    username: str
    cache: Path | None
    encrypted: bool


def browser_available(environ: Mapping[str, str]) -> bool:
    """A system browser this session can open. `BROWSER` names one explicitly (Python's
    `webbrowser` runs it), which counts even without a display: a wrapper such as `wslview`,
    or a script that hands the address on. Otherwise, no display on Linux means none."""
    if environ.get("BROWSER"):
        return True
    if sys.platform.startswith("linux") and not (
        environ.get("DISPLAY") or environ.get("WAYLAND_DISPLAY")
    ):
        return False
    try:
        webbrowser.get()
    except webbrowser.Error:
        return False
    return True


def _browser_flow(app: Any, scopes: list[str], say: Callable[[str], None]) -> dict[str, Any]:
    """The system browser: msal listens on a loopback port (`http://localhost:PORT`), opens
    the authorization page with PKCE, and redeems the code the browser brings back. Bounded
    by BROWSER_TIMEOUT_S; where no browser opens, the address is printed to open by hand."""
    say("Opening the system browser to sign in (use --device-code where there is none).")
    try:
        result: dict[str, Any] = app.acquire_token_interactive(
            scopes,
            prompt="select_account",
            timeout=BROWSER_TIMEOUT_S,
            auth_uri_callback=lambda uri: say(f"No browser opened: open {uri}"),
        )
    except msal.BrowserInteractionTimeoutError as exc:
        minutes = BROWSER_TIMEOUT_S // 60
        raise ProviderError(
            f"sign in: the browser sign-in did not come back within {minutes} minutes.",
            hint="Run `dwconf login` again and finish signing in in the browser, or use "
            "--device-code.",
        ) from exc
    return result


def _device_flow(
    app: Any,
    scopes: list[str],
    say: Callable[[str], None],
    sleep: Callable[[float], None],
) -> dict[str, Any]:
    """Device code: print the code and the page, then poll until approved, refused or expired,
    saying every so often that dwconf is still waiting."""
    flow = app.initiate_device_flow(scopes=scopes)
    if "user_code" not in flow:
        return dict(flow)
    say(str(flow.get("message") or f"Enter the code {flow['user_code']}."))
    interval = max(float(flow.get("interval") or 5), 0.05)
    started = time.monotonic()
    last_said = started
    while True:
        result: dict[str, Any] = app.acquire_token_by_device_flow(
            flow,
            exit_condition=lambda _flow: True,  # one poll per call: dwconf paces itself
        )
        if result.get("error") not in PENDING:
            return result
        if time.time() >= float(flow["expires_at"]):
            return {"error": "expired_token", "error_description": "The code expired."}
        if time.monotonic() - last_said >= PROGRESS_EVERY_S:
            left = max(0, int(float(flow["expires_at"]) - time.time()))
            say(f"waiting for the sign-in ({left // 60} min {left % 60} s left)")
            last_said = time.monotonic()
        sleep(interval)


def _keep_only(app: Any, username: str) -> None:
    """One account per environment's cache: drop any other that signed in before."""
    for account in app.get_accounts():
        if str(account.get("username", "")).lower() != username.lower():
            app.remove_account(account)


def _username(result: Mapping[str, Any]) -> str:
    claims = result.get("id_token_claims") or {}
    return str(claims.get("preferred_username") or claims.get("upn") or "unknown user")


def login(
    settings: Settings,
    environ: Mapping[str, str],
    transport: Transport,
    *,
    device_code: bool,
    say: Callable[[str], None],
    sleep: Callable[[float], None] = time.sleep,
) -> SignedIn:
    """`dwconf login` for method `user`: device code (or the system browser where there is
    one and `device_code` is False), kept in the environment's token cache."""
    cache = user_cache(settings, environ)
    app = public_app(settings, client_id(settings, environ), transport, cache.cache)
    scopes = _scopes(settings.gateway_resource)
    if device_code or not browser_available(environ):
        result = _device_flow(app, scopes, say, sleep)
    else:
        result = _browser_flow(app, scopes, say)
    if "access_token" not in result:
        raise refused(
            settings.authority_url,
            settings.gateway_resource,
            result,
            "Sign in again; if Entra refuses the client, name your own public client in "
            "provider.gateway_auth.client_id_env (docs/signin.md).",
        )
    username = _username(result)
    _keep_only(app, username)
    return SignedIn(username, cache.path, cache.encrypted)


def token_user(token: str) -> str:
    """Who a token was issued to (unverified claims, for display only)."""
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return "unknown"
    found = claims.get("upn") or claims.get("unique_name") or claims.get("appid")
    return str(found or "unknown")


def logout(settings: Settings, environ: Mapping[str, str]) -> Path | None:
    """Forget the environment's user sign-in; the cache file it was in, or None."""
    path = user_cache_path(settings, environ)
    return path if forget(path) else None
