"""Federated credentials for workload identity (live-api.md §4 "CI secret passing"): the token
file Kubernetes or Azure mounts (`provider.auth.token_file_env`, else
`AZURE_FEDERATED_TOKEN_FILE`) or a GitHub Actions OIDC token fetched through
`ACTIONS_ID_TOKEN_REQUEST_URL` with `ACTIONS_ID_TOKEN_REQUEST_TOKEN`, for Entra's token exchange
audience. Each is a callable msal asks whenever it needs a fresh client assertion.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

from dwconf.errors import ProviderError
from dwconf.providers.dynamics.errors import remember_secret
from dwconf.providers.dynamics.settings import Settings
from dwconf.providers.dynamics.transport import Request, Transport

FEDERATED_FILE = "AZURE_FEDERATED_TOKEN_FILE"
GITHUB_URL, GITHUB_TOKEN = "ACTIONS_ID_TOKEN_REQUEST_URL", "ACTIONS_ID_TOKEN_REQUEST_TOKEN"
EXCHANGE_AUDIENCE = "api://AzureADTokenExchange"
Assertion = Callable[[], str]


def file_assertion(path: str) -> Assertion:
    """The federated token in a file, read on every use (Kubernetes rotates it)."""

    def read() -> str:
        try:
            return remember_secret(Path(path).read_text(encoding="utf-8").strip())
        except OSError as exc:
            raise ProviderError(
                f"sign in: can't read the federated token file {path}: {exc.strerror}"
            ) from None

    return read


def github_assertion(transport: Transport, url: str, request_token: str) -> Assertion:
    """A GitHub Actions OIDC token for Entra's token exchange audience."""

    def fetch() -> str:
        request = Request(
            "get the GitHub OIDC token",
            "GET",
            url,
            params={"audience": EXCHANGE_AUDIENCE},
            headers={"Authorization": f"bearer {request_token}", "Accept": "application/json"},
        )
        value = transport.call(request, ok=(200,)).json().get("value")
        if not isinstance(value, str) or not value:
            raise ProviderError("sign in: GitHub returned no OIDC token.")
        return remember_secret(value)

    return fetch


def assertion_for(
    settings: Settings, environ: Mapping[str, str], transport: Transport
) -> Assertion | None:
    """The federated credential the environment offers, if any."""
    variable = settings.auth.token_file_env
    path = environ.get(variable) if variable else None
    path = path or environ.get(FEDERATED_FILE)
    if path:
        return file_assertion(path)
    if environ.get(GITHUB_URL) and environ.get(GITHUB_TOKEN):
        request_token = remember_secret(environ[GITHUB_TOKEN])
        return github_assertion(transport, environ[GITHUB_URL], request_token)
    return None
