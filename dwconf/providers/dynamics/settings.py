"""The dynamics provider's settings: the environment file's `provider:` block, checked, plus the
knobs tests and benchmarks turn (page size, poll interval, concurrency, timeouts, sleep).

Secrets are never settings: the file names environment variables, read when a token is needed.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from dwconf.errors import ProviderError
from dwconf.model import Environment
from dwconf.model.environment import (
    DEFAULT_WAIT,
    Auth,
    AuthMethod,
    GatewayAuth,
    GatewayMethod,
    seconds,
)
from dwconf.providers.dynamics.transport import RetryPolicy, Sleep

GATEWAY_RESOURCE = "https://IntegratorApp.com"
CA_VARIABLES = ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE")
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
DEFAULT_WAIT_S = seconds(DEFAULT_WAIT)


@dataclass(frozen=True)
class Tuning:
    """How the provider paces itself; the defaults suit a real environment."""

    page_size: int = 5000  # Prefer: odata.maxpagesize (the service's maximum)
    poll_interval_s: float = 2.0  # between status checks of async operations
    max_per_host: int = 8  # requests in flight per host
    timeout_s: float = 60.0  # per request
    import_timeout_s: float = 1800.0
    apply_timeout_s: float = 600.0
    request_timeout_s: float = 600.0  # a lifecycle request (start, stop, …) to end
    progress_every_s: float = 30.0  # a line while waiting for a map (the tool says it every 30 s)
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    sleep: Sleep = time.sleep


@dataclass(frozen=True)
class Settings:
    """Where one environment is and how to sign in to it."""

    environment: str
    dataverse_url: str  # service URL, without /api/data/v9.2
    gateway_url: str
    finops_host: str  # the gateway finds the link by this host
    tenant_id: str
    authority: str
    ca_file: str | None
    auth: Auth  # Dataverse's sign-in (an application)
    gateway_auth: GatewayAuth = field(default_factory=GatewayAuth)  # see `gateway_sign_in`
    gateway_resource: str = GATEWAY_RESOURCE
    wait_timeout_s: float = DEFAULT_WAIT_S  # an initial sync or a catch-up to end

    @property
    def authority_url(self) -> str:
        return f"{self.authority}/{self.tenant_id}"


def _refuse(env: str, detail: str, hint: str) -> ProviderError:
    return ProviderError(
        f"provider type 'dynamics' is not available for environment '{env}': {detail}",
        hint=hint,
    )


def _url(env: str, key: str, value: str) -> str:
    parts = urlsplit(value.strip())
    secure = parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in LOOPBACK)
    if not parts.hostname or not secure:
        raise _refuse(
            env,
            f"provider.{key} '{value}' is not an https URL.",
            "Tokens are only sent over https (plain http only to a loopback emulator).",
        )
    return value.strip().rstrip("/")


def _ca_file(root: Path, configured: str | None, environ: Mapping[str, str]) -> str | None:
    chosen = configured or next((environ[v] for v in CA_VARIABLES if environ.get(v)), None)
    if not chosen:
        return None
    path = Path(chosen)
    return str(path if path.is_absolute() else root / path)


def gateway_sign_in(env: str, auth: Auth, configured: GatewayAuth | None) -> GatewayAuth:
    """The gateway's sign-in: `gateway_auth` as written; else, for `auth.method: token`, that
    token; else the user's sign-in from `dwconf login`."""
    if configured is not None:
        return configured
    if auth.method is not AuthMethod.TOKEN:
        return GatewayAuth()
    if not auth.token_env:
        raise _refuse(
            env, "provider.auth.method token needs token_env.", "Name the variable in token_env."
        )
    return GatewayAuth(method=GatewayMethod.TOKEN, token_env=auth.token_env)


def settings_for(
    root: Path, env: Environment, environ: Mapping[str, str] | None = None
) -> Settings:
    """The checked settings of `env`; a `ProviderError` names whatever is missing."""
    environ = os.environ if environ is None else environ
    provider = env.provider
    values = {
        "dataverse_url": provider.dataverse_url,
        "gateway_url": provider.gateway_url,
        "finops_url": provider.finops_url,
        "tenant_id": provider.tenant_id,
    }
    missing = [k for k, v in values.items() if not v]
    if missing:
        raise _refuse(
            env.name,
            f"it needs provider.{', provider.'.join(missing)}.",
            f"Set them in environments/{env.name}.yaml (see docs/emulator.md for an example).",
        )
    finops = urlsplit(str(provider.finops_url)).hostname or str(provider.finops_url)
    return Settings(
        environment=env.name,
        dataverse_url=_url(env.name, "dataverse_url", str(provider.dataverse_url)),
        gateway_url=_url(env.name, "gateway_url", str(provider.gateway_url)),
        finops_host=finops.lower(),
        tenant_id=str(provider.tenant_id),
        authority=_url(env.name, "authority", provider.authority),
        ca_file=_ca_file(root, provider.ca_file, environ),
        auth=provider.auth,
        gateway_auth=gateway_sign_in(env.name, provider.auth, provider.gateway_auth),
        wait_timeout_s=seconds(provider.wait_timeout),
    )
