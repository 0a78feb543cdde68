"""Signing in, each way `provider.auth` allows, against the emulator's token endpoint: a client
secret, workload identity (a federated token file, or GitHub Actions OIDC) and a pre-acquired
bearer; refusals name variables and settings, never values; and no secret or token ever
reaches a log record, an exception or the output."""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from dwconf.emulator.serve import Running
from dwconf.errors import ProviderError
from dwconf.providers.dynamics.transport import ssl_context
from tests.providers.conftest import Open
from tests.providers.support import (
    CLIENT_ID,
    ENVIRON,
    FEDERATED_CLIENT,
    GITHUB_ISSUER,
    GITHUB_SUBJECT,
    PASSWORD,
    SECRET,
    SECRET_AUTH,
    USERNAME,
    TestApi,
)

GATEWAY_RESOURCE = "https://IntegratorApp.com"
WORKLOAD = {"method": "workload_identity", "client_id_env": "DWCONF_CLIENT_ID"}
GATEWAY_USER = {"DWCONF_GATEWAY_USERNAME": USERNAME, "DWCONF_GATEWAY_PASSWORD": PASSWORD}
REQUEST_TOKEN = "gh-request-token-4c1f0a9e77"


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def assertion(subject: str = GITHUB_SUBJECT) -> str:
    """A federated token as GitHub issues one (the emulator doesn't check signatures)."""
    claims = {
        "iss": GITHUB_ISSUER,
        "sub": subject,
        "aud": "api://AzureADTokenExchange",
        "exp": int(time.time()) + 600,
    }
    return f"{_b64({'alg': 'RS256', 'typ': 'JWT'})}.{_b64(claims)}.c2lnbmF0dXJl"


def token_requests(api: TestApi) -> int:
    by_request = api.stats()["by_request"]
    return sum(n for k, n in by_request.items() if k.startswith("POST") and "/oauth2/" in k)


# Client secret -------------------------------------------------------------------------------


def test_a_client_secret_signs_in_to_both_planes(opened: Open, api: TestApi) -> None:
    provider = opened()
    assert provider.read().solution("DualWriteCore") is not None
    provider.read()
    assert token_requests(api) == 2  # Dataverse and the gateway, once each


def test_a_wrong_secret_is_refused_with_entras_reason(opened: Open) -> None:
    provider = opened(environ={**ENVIRON, "DWCONF_CLIENT_SECRET": "wrong-secret-value"})
    with pytest.raises(ProviderError) as caught:
        provider.lock_status()
    assert "was refused: invalid_client: AADSTS7000215" in caught.value.message
    assert "wrong-secret-value" not in caught.value.message + caught.value.hint


def test_a_missing_variable_is_named_not_guessed(tmp_path: Path, server: Running) -> None:
    from tests.providers.support import open_provider

    with pytest.raises(ProviderError) as caught:
        open_provider(tmp_path, server, environ={"DWCONF_CLIENT_ID": CLIENT_ID})
    assert caught.value.message == (
        "sign in: environment variable DWCONF_CLIENT_SECRET "
        "(provider.auth.client_secret_env) is not set."
    )
    assert not (tmp_path / ".dwconf").exists()


# Workload identity ---------------------------------------------------------------------------


def test_workload_identity_from_a_token_file(opened: Open, api: TestApi, tmp_path: Path) -> None:
    token_file = tmp_path / "federated-token"
    token_file.write_text(assertion())
    environ = {
        "DWCONF_CLIENT_ID": FEDERATED_CLIENT,
        "AZURE_FEDERATED_TOKEN_FILE": str(token_file),
        **GATEWAY_USER,
    }
    provider = opened(auth=WORKLOAD, environ=environ)
    assert provider.read().solution("DualWriteCore") is not None
    assert token_requests(api) == 2


def test_the_token_file_named_in_the_configuration_wins(opened: Open, tmp_path: Path) -> None:
    (tmp_path / "wrong").write_text(assertion(subject="repo:someone/else:ref:refs/heads/main"))
    (tmp_path / "right").write_text(assertion())
    environ = {
        "DWCONF_CLIENT_ID": FEDERATED_CLIENT,
        "AZURE_FEDERATED_TOKEN_FILE": str(tmp_path / "wrong"),
        "MY_TOKEN_FILE": str(tmp_path / "right"),
        **GATEWAY_USER,
    }
    provider = opened(auth={**WORKLOAD, "token_file_env": "MY_TOKEN_FILE"}, environ=environ)
    assert provider.lock_status() is None


def test_a_federated_token_for_another_subject_is_refused(opened: Open, tmp_path: Path) -> None:
    (tmp_path / "token").write_text(assertion(subject="repo:someone/else:ref:refs/heads/main"))
    environ = {
        "DWCONF_CLIENT_ID": FEDERATED_CLIENT,
        "AZURE_FEDERATED_TOKEN_FILE": str(tmp_path / "token"),
        **GATEWAY_USER,
    }
    with pytest.raises(ProviderError, match="AADSTS700213"):
        opened(auth=WORKLOAD, environ=environ).lock_status()


class _GitHub(BaseHTTPRequestHandler):
    """The Actions runtime's OIDC endpoint."""

    seen: list[dict[str, Any]] = []

    def do_GET(self) -> None:
        query = parse_qs(urlsplit(self.path).query)
        _GitHub.seen.append({"auth": self.headers.get("Authorization"), "query": query})
        if self.headers.get("Authorization") != f"bearer {REQUEST_TOKEN}":
            self.send_response(401)
            self.end_headers()
            return
        body = json.dumps({"value": assertion()}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        """Quiet."""


@pytest.fixture
def github() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _GitHub)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _GitHub.seen = []
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/_apis/idtoken?api-version=2.0"
    finally:
        server.shutdown()
        server.server_close()


def test_workload_identity_from_github_actions_oidc(opened: Open, github: str) -> None:
    environ = {
        "DWCONF_CLIENT_ID": FEDERATED_CLIENT,
        "ACTIONS_ID_TOKEN_REQUEST_URL": github,
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN": REQUEST_TOKEN,
        **GATEWAY_USER,
    }
    provider = opened(auth=WORKLOAD, environ=environ)
    assert provider.read().solution("DualWriteCore") is not None
    assert _GitHub.seen and all(
        s["query"] == {"api-version": ["2.0"], "audience": ["api://AzureADTokenExchange"]}
        for s in _GitHub.seen
    )


def test_workload_identity_without_a_federated_token_says_what_to_set(opened: Open) -> None:
    with pytest.raises(ProviderError, match="AZURE_FEDERATED_TOKEN_FILE"):
        opened(auth=WORKLOAD, environ={"DWCONF_CLIENT_ID": FEDERATED_CLIENT, **GATEWAY_USER})


# A pre-acquired token ------------------------------------------------------------------------


def gateway_token(server: Running) -> str:
    """A user's token for the gateway, acquired outside dwconf (the password grant)."""
    with httpx.Client(verify=ssl_context(str(server.ca_file))) as client:
        form = {
            "grant_type": "password",
            "client_id": "2e49aa60-1bd3-43b6-8ab6-03ada3d9f08b",
            "username": USERNAME,
            "password": PASSWORD,
            "scope": f"{GATEWAY_RESOURCE}/.default",
        }
        response = client.post(server.token_url(), data=form)
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def test_a_pre_acquired_token_for_the_gateway(opened: Open, api: TestApi, server: Running) -> None:
    token = gateway_token(server)
    api.clear_stats()
    auth = {**SECRET_AUTH, "method": "token", "token_env": "DWCONF_GATEWAY_TOKEN"}
    environ = {**ENVIRON, "DWCONF_GATEWAY_TOKEN": token}
    provider = opened(auth=auth, gateway_auth=None, environ=environ)
    assert provider.read().solution("DualWriteCore") is not None
    assert token_requests(api) == 1  # only Dataverse's: the gateway uses the given token
    assert set(api.stats()["bearers"]["dev/dataverse"]) == {f"app {server.dataverse_url('dev')}"}


def test_a_refused_pre_acquired_token_names_its_variable(opened: Open) -> None:
    auth = {**SECRET_AUTH, "method": "token", "token_env": "DWCONF_GATEWAY_TOKEN"}
    bogus = "not-a-valid-token-0123456789"
    environ = {**ENVIRON, "DWCONF_GATEWAY_TOKEN": bogus}
    provider = opened(auth=auth, gateway_auth=None, environ=environ)
    with pytest.raises(ProviderError) as caught:
        provider.read()
    assert caught.value.message.startswith("the token in $DWCONF_GATEWAY_TOKEN was refused by")
    assert bogus not in caught.value.message + caught.value.hint


def test_the_token_method_never_sends_the_gateway_token_to_dataverse(
    tmp_path: Path, server: Running, api: TestApi
) -> None:
    """Without an application for Dataverse the environment is refused before any request."""
    from tests.providers.support import open_provider

    api.clear_stats()
    auth = {"method": "token", "token_env": "DWCONF_GATEWAY_TOKEN"}
    environ = {"DWCONF_GATEWAY_TOKEN": gateway_token(server)}
    with pytest.raises(ProviderError) as caught:
        open_provider(tmp_path, server, auth=auth, gateway_auth=None, environ=environ)
    assert "a gateway token is never sent to Dataverse" in caught.value.message
    assert api.stats()["bearers"] == {}


# Nothing leaks -------------------------------------------------------------------------------


def _run_everything(opened: Open, api: TestApi) -> tuple[list[str], list[str]]:
    """A read, writes, a refusal, a dropped write, a wrong secret; returns the error texts and
    the tokens the provider used."""
    from tests.contract.support import SOLUTION, package

    provider = opened()
    errors: list[str] = []
    provider.read()
    provider.import_solution(package())
    provider.apply_solution(SOLUTION)
    provider.acquire_lock("ci", "apply", None, 60)
    for attempt in (
        lambda: provider.acquire_lock("other", "apply", None, 60),
        lambda: provider.switch_version("No such map (none)", "1.0.0.0"),
        lambda: provider.reset_link(legal_entities=["USMF", "usmf"]),
        lambda: opened(environ={**ENVIRON, "DWCONF_CLIENT_SECRET": SECRET[::-1]}).read(),
    ):
        with pytest.raises(ProviderError) as caught:
            attempt()
        errors.append(f"{caught.value.message}\n{caught.value.hint}\n{caught.value!r}")
    dropped_write = {"method": "POST", "path": "dwconf_deploymentrecords"}
    api.faults({"match": dropped_write, "drop": True, "times": None})  # every try
    with pytest.raises(ProviderError) as dropped:
        provider.add_record(
            who="ci", plan_hash="h", git_commit=None, solution_versions={}, desired={}
        )
    errors.append(f"{dropped.value.message}\n{dropped.value.hint}")
    tokens = [provider.dataverse.auth.token(), provider.gateway.auth.token()]
    return errors, tokens


def test_no_secret_or_token_in_logs_or_errors(
    opened: Open, api: TestApi, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    errors, tokens = _run_everything(opened, api)
    assert all(t.startswith("eyJ") for t in tokens)
    records = [f"{r.name} {r.getMessage()} {r.exc_text or ''} {r.args!r}" for r in caplog.records]
    assert any("dwconf.providers.dynamics" in r for r in records)  # DEBUG logging was on
    for text in [*records, *errors]:
        assert SECRET not in text and SECRET[::-1] not in text
        for token in tokens:
            assert token not in text and token[:40] not in text
