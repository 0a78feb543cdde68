"""Tokens for the dynamics provider (live-api.md §4): the pieces `credentials` puts together.

An application signs in to Dataverse, chosen by `provider.auth.method`:

- `client_secret`: msal's client-credentials grant with the id and secret from the environment
  variables the configuration names;
- `workload_identity`: the same grant with a client assertion (`federated`: a token file or a
  GitHub Actions OIDC token);
- `token`: the gateway's pre-acquired bearer is in `token_env`; Dataverse then signs in with
  the client credentials also configured, never with that token.

A user signs in to the gateway (`signin`); `EnvToken` is the pre-acquired bearer of either way.

msal talks to Entra through the provider's own transport (`MsalHttp`), so the configured CA
bundle verifies the authority too and `REQUESTS_CA_BUNDLE` can't swap it behind our back. A
token is refreshed before it expires and once after a 401; values are never logged.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit

import httpx
import msal

from dwconf.errors import ProviderError
from dwconf.model.environment import AuthMethod
from dwconf.providers.dynamics.errors import masked, remember_secret
from dwconf.providers.dynamics.federated import FEDERATED_FILE, assertion_for
from dwconf.providers.dynamics.settings import Settings
from dwconf.providers.dynamics.transport import Request, TokenSource, Transport
from dwconf.redact import looks_generated

MAX_EARLY_REFRESH_S = 300.0


class Credential(Protocol):
    """Bearer tokens by resource."""

    def token(self, resource: str) -> str: ...

    def invalidate(self, resource: str, refused: str) -> None: ...


@dataclass(frozen=True)
class ResourceToken:
    """A `TokenSource` for one resource of a `Credential`."""

    credential: Credential
    resource: str

    def token(self) -> str:
        return self.credential.token(self.resource)

    def refresh(self, refused: str) -> str:
        self.credential.invalidate(self.resource, refused)
        return self.credential.token(self.resource)


class MsalHttp:
    """msal's `http_client`, sending through the provider's transport.

    msal builds its user-realm discovery URL (before a password sign-in) from the authority's
    host name without its port; `authority` puts the port back, so an authority on a port of
    its own (the emulator) is asked, not port 443 of the same host."""

    def __init__(self, transport: Transport, authority: str | None = None) -> None:
        self._transport = transport
        self._authority = urlsplit(authority) if authority else None

    def _url(self, url: str) -> str:
        known, parts = self._authority, urlsplit(url)
        if known is None or not known.port or parts.port or parts.hostname != known.hostname:
            return url
        return parts._replace(netloc=known.netloc).geturl()

    def post(
        self, url: str, params: Any = None, data: Any = None, headers: Any = None, **kwargs: Any
    ) -> httpx.Response:
        request = Request(
            "sign in", "POST", self._url(url), params=params, headers=headers, data=data
        )
        return self._transport.send(_idempotent(request))

    def get(
        self, url: str, params: Any = None, headers: Any = None, **kwargs: Any
    ) -> httpx.Response:
        request = Request("sign in", "GET", self._url(url), params=params, headers=headers)
        return self._transport.send(request)

    def close(self) -> None:
        """The transport belongs to the provider."""


def _idempotent(request: Request) -> Request:
    """Asking for a token twice is harmless."""
    return Request(
        request.operation,
        request.method,
        request.url,
        params=request.params,
        headers=request.headers,
        data=request.data,
        idempotent=True,
    )


@dataclass
class _Cached:
    token: str
    refresh_at: float  # time.monotonic()


class MsalCredential:
    """Client credentials (a secret or an assertion) through msal, cached per resource."""

    def __init__(self, make_app: Callable[[], Any], authority: str) -> None:
        self._make_app = make_app
        self._authority = authority
        self._app: Any = None
        self._cache: dict[str, _Cached] = {}
        self._lock = threading.Lock()

    def _application(self) -> Any:
        if self._app is None:
            try:
                self._app = self._make_app()
            except ValueError as exc:
                raise ProviderError(
                    masked(f"sign in: the authority {self._authority} can't be used: {exc}"),
                    hint="Check provider.authority and provider.tenant_id.",
                ) from None
        return self._app

    def token(self, resource: str) -> str:
        with self._lock:
            cached = self._cache.get(resource)
            if cached is not None and time.monotonic() < cached.refresh_at:
                return cached.token
            return self._acquire(resource)

    def _acquire(self, resource: str) -> str:
        scopes = [f"{resource}/.default"]
        try:
            result = self._application().acquire_token_for_client(scopes=scopes)
        except (ValueError, httpx.HTTPError) as exc:
            raise ProviderError(
                masked(f"sign in to {self._authority} for {resource} failed: {exc}")
            ) from None
        token = result.get("access_token") if isinstance(result, dict) else None
        if not token:
            raise refused(self._authority, resource, result)
        lifetime = float(result.get("expires_in") or 0)
        early = min(MAX_EARLY_REFRESH_S, lifetime / 2)
        self._cache[resource] = _Cached(str(token), time.monotonic() + lifetime - early)
        return str(token)

    def invalidate(self, resource: str, refused: str) -> None:
        with self._lock:
            cached = self._cache.get(resource)
            if cached is not None and cached.token == refused:
                del self._cache[resource]
            if self._app is not None:
                forget_tokens(self._app, [f"{resource}/.default"], refused)


def forget_tokens(app: Any, scopes: list[str], refused: str) -> None:
    """Drop the refused access token from msal's cache (msal would hand it back), and only
    that one: another thread may already have put a fresh one there. Scopes compare without
    case: Entra may answer with the resource spelled otherwise, and msal keeps its spelling."""
    cache = app.token_cache
    wanted = {s.lower() for s in scopes}
    found = [
        entry
        for entry in cache.search(msal.TokenCache.CredentialType.ACCESS_TOKEN)
        if wanted <= set(str(entry.get("target", "")).lower().split())
        and entry.get("secret") == refused
    ]
    for entry in found:
        cache.remove_at(entry)


APP_HINT = "Check the client id, its secret or federated credential, and provider.tenant_id."


def refused(authority: str, resource: str, result: Any, hint: str = APP_HINT) -> ProviderError:
    """Entra's refusal (an msal result with `error`), first line of its description only."""
    data = result if isinstance(result, dict) else {}
    error = data.get("error") or "no token"
    description = str(data.get("error_description") or "").splitlines()[0:1]
    detail = f"{error}: {description[0]}" if description else str(error)
    return ProviderError(
        masked(f"sign in to {authority} for {resource} was refused: {detail}"), hint=hint
    )


class EnvToken:
    """A pre-acquired bearer from an environment variable (named by `setting`)."""

    def __init__(self, variable: str, environ: Mapping[str, str], setting: str) -> None:
        self._variable, self._environ, self._setting = variable, environ, setting

    def token(self, resource: str) -> str:
        return required(self._environ, self._variable, self._setting)

    def invalidate(self, resource: str, refused: str) -> None:
        if self.token(resource) == refused:
            raise ProviderError(
                f"the token in ${self._variable} was refused by {resource} (expired, or for "
                "another resource).",
                hint=f"Acquire a new token and set {self._variable} again.",
            )


class Routed:
    """One credential for the gateway's resource, another for everything else."""

    def __init__(self, gateway: Credential, other: Credential, gateway_resource: str) -> None:
        self._gateway, self._other, self._resource = gateway, other, gateway_resource

    def _pick(self, resource: str) -> Credential:
        return self._gateway if resource == self._resource else self._other

    def token(self, resource: str) -> str:
        return self._pick(resource).token(resource)

    def invalidate(self, resource: str, refused: str) -> None:
        self._pick(resource).invalidate(resource, refused)


def required(environ: Mapping[str, str], variable: str | None, setting: str) -> str:
    """The value of a variable the configuration names; its name, never its value, in errors."""
    if not variable:
        raise ProviderError(
            f"sign in: {setting} is not set.", hint=f"Name the environment variable in {setting}."
        )
    value = environ.get(variable)
    if not value and looks_generated(variable):  # a secret pasted where its name belongs
        raise ProviderError(
            f"sign in: {setting} does not name a variable that is set, and looks like a "
            "secret (not shown).",
            hint=f"Write the variable's name in {setting}; if a secret was committed, rotate it.",
        )
    if not value:
        raise ProviderError(
            f"sign in: environment variable {variable} ({setting}) is not set.",
            hint=f"export {variable} before running dwconf.",
        )
    return value if setting.endswith(".client_id_env") else remember_secret(value)


# Building Dataverse's credential -------------------------------------------------------------


def instance_discovery(settings: Settings) -> bool:
    """msal asks the public cloud about an authority only when it is one of the cloud's own
    hosts (else the emulator, or a sovereign cloud, would be refused)."""
    host = urlsplit(settings.authority).hostname or ""
    return host in msal.authority.WELL_KNOWN_AUTHORITY_HOSTS


def _msal(settings: Settings, client_id: str, credential: Any, transport: Transport) -> Credential:
    def make_app() -> Any:
        return msal.ConfidentialClientApplication(
            client_id,
            client_credential=credential,
            authority=settings.authority_url,
            http_client=MsalHttp(transport, settings.authority),
            instance_discovery=instance_discovery(settings),
            token_cache=msal.TokenCache(),
        )

    return MsalCredential(make_app, settings.authority_url)


def _client_id(settings: Settings, environ: Mapping[str, str]) -> str:
    variable = settings.auth.client_id_env or (
        "AZURE_CLIENT_ID" if settings.auth.method is AuthMethod.WORKLOAD_IDENTITY else None
    )
    return required(environ, variable, "provider.auth.client_id_env")


def _workload(settings: Settings, environ: Mapping[str, str], transport: Transport) -> Credential:
    assertion = assertion_for(settings, environ, transport)
    if assertion is None:
        raise ProviderError(
            "sign in: workload identity needs a federated token: set provider.auth."
            f"token_file_env or {FEDERATED_FILE}, or run in GitHub Actions with "
            "`permissions: id-token: write`.",
        )
    client_id = _client_id(settings, environ)
    return _msal(settings, client_id, {"client_assertion": assertion}, transport)


def _secret(settings: Settings, environ: Mapping[str, str], transport: Transport) -> Credential:
    client_id = _client_id(settings, environ)
    secret = required(environ, settings.auth.client_secret_env, "provider.auth.client_secret_env")
    return _msal(settings, client_id, secret, transport)


def _beside_a_token(
    settings: Settings, environ: Mapping[str, str], transport: Transport
) -> Credential:
    """Dataverse's application when `auth.method: token` gives the gateway's token."""
    auth = settings.auth
    if auth.client_id_env and auth.client_secret_env:
        return _secret(settings, environ, transport)
    if auth.client_id_env and assertion_for(settings, environ, transport) is not None:
        return _workload(settings, environ, transport)
    raise ProviderError(
        f"sign in: provider.auth.method token gives the gateway's token only, and environment "
        f"'{settings.environment}' has no sign-in for Dataverse (a gateway token is never "
        "sent to Dataverse).",
        hint="Add provider.auth.client_id_env with client_secret_env (or a federated token), "
        "or use method client_secret with provider.gateway_auth: {method: token} "
        "(docs/signin.md).",
    )


def dataverse_credential(
    settings: Settings, environ: Mapping[str, str], transport: Transport
) -> Credential:
    """The application `provider.auth` describes; missing variables are named now."""
    method = settings.auth.method
    if method is AuthMethod.TOKEN:
        return _beside_a_token(settings, environ, transport)
    if method is AuthMethod.WORKLOAD_IDENTITY:
        return _workload(settings, environ, transport)
    return _secret(settings, environ, transport)


def source(credential: Credential, resource: str) -> TokenSource:
    return ResourceToken(credential, resource)
