"""Entra: discovery, token issuance (secret and client assertion), every 401 of the data planes,
and msal acquiring a token against the TLS emulator."""

from __future__ import annotations

import base64
import json
import ssl
import time
from typing import Any

import httpx
import msal
import pytest

from dwconf.emulator.serve import Running, running
from tests.emulator.conftest import emulator_config
from tests.emulator.helpers import (
    API,
    CLIENT_ID,
    FEDERATED_CLIENT,
    GITHUB_ISSUER,
    GITHUB_SUBJECT,
    GW,
    SECRET,
    Api,
)


def _segment(value: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


def assertion(**claims: Any) -> str:
    """A GitHub-style OIDC token; its signature is not checked by the emulator."""
    body = {
        "iss": GITHUB_ISSUER,
        "sub": GITHUB_SUBJECT,
        "aud": "api://AzureADTokenExchange",
        "exp": int(time.time()) + 300,
        **claims,
    }
    return f"{_segment({'alg': 'RS256', 'typ': 'JWT'})}.{_segment(body)}.c2lnbmF0dXJl"


def claims_of(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    result: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    )
    return result


def test_discovery_document_names_the_token_endpoint(api: Api, server: Running) -> None:
    tenant = server.hub.config.tenant_id
    response = api.http.get(f"{server.base_url}/{tenant}/v2.0/.well-known/openid-configuration")
    assert response.status_code == 200
    assert response.json()["token_endpoint"] == server.token_url()
    assert response.json()["issuer"] == f"{server.base_url}/{tenant}/v2.0"
    unknown = api.http.get(f"{server.base_url}/nobody/v2.0/.well-known/openid-configuration")
    assert unknown.status_code == 400
    assert unknown.json()["error_description"].startswith("AADSTS90002")


def test_client_secret_gets_a_token_for_the_resource(api: Api, server: Running) -> None:
    resource = server.dataverse_url("dev")
    response = api.token_response(resource)
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == body["ext_expires_in"] == 3599
    claims = claims_of(body["access_token"])
    assert claims["aud"] == resource
    assert claims["appid"] == CLIENT_ID
    assert claims["exp"] > time.time()


def test_token_refusals(api: Api, server: Running) -> None:
    resource = server.dataverse_url("dev")
    wrong = api.token_response(resource, client_secret="wrong")
    assert (wrong.status_code, wrong.json()["error"]) == (400, "invalid_client")
    assert wrong.json()["error_description"].startswith("AADSTS7000215")
    assert SECRET not in wrong.text
    unknown = api.token_response(resource, client_id="nobody")
    assert (unknown.status_code, unknown.json()["error"]) == (400, "unauthorized_client")
    scope = api.token_response(f"{server.base_url}/env/nowhere/dataverse")
    assert (scope.status_code, scope.json()["error"]) == (400, "invalid_scope")
    grant = api.token_response(
        resource, grant_type="urn:ietf:params:oauth:grant-type:saml1_1-bearer"
    )
    assert grant.json()["error"] == "unsupported_grant_type"


def _assertion_form(token: str, resource: str) -> dict[str, str]:
    return {
        "grant_type": "client_credentials",
        "client_id": FEDERATED_CLIENT,
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": token,
        "scope": f"{resource}/.default",
    }


def test_client_assertion_checks_issuer_subject_audience_and_expiry(
    api: Api, server: Running
) -> None:
    resource = server.gateway_url("dev")
    ok = api.http.post(server.token_url(), data=_assertion_form(assertion(), resource))
    assert ok.status_code == 200, ok.text
    assert claims_of(ok.json()["access_token"])["aud"] == resource
    cases = {
        "700211": assertion(iss="https://evil.example"),
        "700213": assertion(sub="repo:contoso/other:ref:refs/heads/main"),
        "700212": assertion(aud="api://somethingelse"),
        "700024": assertion(exp=int(time.time()) - 10),
    }
    for code, token in cases.items():
        refused = api.http.post(server.token_url(), data=_assertion_form(token, resource))
        assert refused.status_code == 400
        assert refused.json()["error_description"].startswith(f"AADSTS{code}"), code


def test_missing_token_gets_401_with_authorization_uri(api: Api, server: Running) -> None:
    response = api.http.get(f"{server.dataverse_url('dev')}{API}/solutions")
    assert response.status_code == 401
    challenge = response.headers["WWW-Authenticate"]
    tenant = server.hub.config.tenant_id
    assert challenge.startswith(
        f'Bearer authorization_uri="{server.base_url}/{tenant}/oauth2/authorize"'
    )
    assert response.json()["error"].keys() == {"code", "message"}


def test_wrong_audience_and_garbage_tokens_get_401(api: Api, server: Running) -> None:
    dataverse_token = api.token(server.dataverse_url("dev"))
    headers = {"Authorization": f"Bearer {dataverse_token}"}
    on_gateway = api.http.get(f"{server.gateway_url('dev')}{GW}/Version", headers=headers)
    assert on_gateway.status_code == 401
    assert 'error="invalid_token"' in on_gateway.headers["WWW-Authenticate"]
    other_env = api.http.get(f"{server.dataverse_url('test')}{API}/solutions", headers=headers)
    assert other_env.status_code == 401
    garbage = api.http.get(
        f"{server.dataverse_url('dev')}{API}/solutions",
        headers={"Authorization": "Bearer abc.def.ghi"},
    )
    assert garbage.status_code == 401


def test_gateway_accepts_its_real_resource(api: Api, server: Running) -> None:
    token = api.token("https://IntegratorApp.com")
    response = api.http.get(
        f"{server.gateway_url('dev')}{GW}/Version", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200
    assert response.json() == {"version": "1.0"}


def test_expired_token_gets_401() -> None:
    with running(emulator_config(token_lifetime_seconds=1)) as server:
        api = Api(server)
        url = f"{server.dataverse_url('dev')}{API}/WhoAmI"
        headers = {"Authorization": f"Bearer {api.token(server.dataverse_url('dev'))}"}
        assert api.http.get(url, headers=headers).status_code == 200
        api.test_api("POST", "/clock", json={"advance_seconds": 5})
        expired = api.http.get(url, headers=headers)
        assert expired.status_code == 401
        assert "expired" in expired.headers["WWW-Authenticate"]
        api.close()


def test_msal_gets_a_token_from_the_tls_emulator(
    tls_server: Running, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert tls_server.ca_file is not None and tls_server.base_url.startswith("https://")
    # requests lets these variables override msal's `verify` (a requests quirk, not msal's)
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    app = msal.ConfidentialClientApplication(
        CLIENT_ID,
        client_credential=SECRET,
        authority=f"{tls_server.base_url}/{tls_server.hub.config.tenant_id}",
        instance_discovery=False,
        verify=str(tls_server.ca_file),
    )
    result = app.acquire_token_for_client(scopes=[f"{tls_server.dataverse_url('dev')}/.default"])
    assert "access_token" in result, result
    with httpx.Client(verify=ssl.create_default_context(cafile=str(tls_server.ca_file))) as client:
        response = client.get(
            f"{tls_server.dataverse_url('dev')}{API}/WhoAmI",
            headers={"Authorization": f"Bearer {result['access_token']}"},
        )
    assert response.status_code == 200
    assert {"BusinessUnitId", "UserId", "OrganizationId"} <= response.json().keys()
