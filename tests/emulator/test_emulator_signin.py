"""Users signing in to the emulator's Entra over HTTP: the device-code flow (pending until the
code is approved through the test API), the refresh-token and password grants, and the gateway
taking a user's token but refusing an application's unless configured to."""

from __future__ import annotations

from typing import Any

import httpx

from dwconf.emulator.serve import Running, running
from tests.emulator.conftest import emulator_config
from tests.emulator.helpers import (
    CLIENT_ID,
    DATA_INTEGRATOR,
    GW,
    PASSWORD,
    SECRET,
    USERNAME,
    Api,
)
from tests.emulator.test_emulator_auth import claims_of

GATEWAY = "https://IntegratorApp.com"
SCOPE = f"{GATEWAY}/.default openid profile offline_access"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


def _device_code(api: Api, client_id: str = DATA_INTEGRATOR) -> httpx.Response:
    url = api.running.token_url().replace("/token", "/devicecode")
    return api.http.post(url, data={"client_id": client_id, "scope": SCOPE})


def _poll(api: Api, device_code: str) -> httpx.Response:
    form = {"grant_type": DEVICE_GRANT, "client_id": DATA_INTEGRATOR, "device_code": device_code}
    return api.http.post(api.running.token_url(), data=form)


def _error(response: httpx.Response) -> tuple[int, str, str]:
    body = response.json()
    return response.status_code, body["error"], body["error_description"].split(":")[0]


def _version(api: Api, token: str) -> httpx.Response:
    url = f"{api.running.gateway_url('dev')}{GW}/Version"
    return api.http.get(url, headers={"Authorization": f"Bearer {token}"})


def test_a_device_code_is_pending_until_approved_through_the_test_api(api: Api) -> None:
    started = _device_code(api)
    assert started.status_code == 200, started.text
    flow = started.json()
    assert flow["verification_uri"].endswith("/_emulator/devicelogin")
    assert flow["user_code"] in flow["message"] and flow["interval"] >= 1
    assert _error(_poll(api, flow["device_code"])) == (
        400,
        "authorization_pending",
        "AADSTS70016",
    )
    listed = api.test_api("GET", "/devicecodes").json()["pending"]
    assert [c["user_code"] for c in listed] == [flow["user_code"]]
    assert flow["device_code"] not in str(listed)
    approved = api.test_api("POST", f"/devicecodes/{flow['user_code']}/approve", json={})
    assert approved.status_code == 200, approved.text
    issued = _poll(api, flow["device_code"])
    assert issued.status_code == 200, issued.text
    body = issued.json()
    claims = claims_of(body["access_token"])
    assert (claims["aud"], claims["upn"], claims["idtyp"]) == (GATEWAY.lower(), USERNAME, "user")
    assert claims["scp"] and claims["appid"] == DATA_INTEGRATOR
    assert claims_of(body["id_token"])["preferred_username"] == USERNAME
    assert body["refresh_token"] and body["client_info"]
    assert _version(api, body["access_token"]).status_code == 200
    assert _error(_poll(api, flow["device_code"]))[1] == "invalid_grant"  # redeemed once
    assert api.test_api("GET", "/devicecodes").json()["pending"] == []


def test_a_declined_or_expired_code_ends_the_flow(api: Api) -> None:
    declined = _device_code(api).json()
    assert api.test_api("POST", f"/devicecodes/{declined['user_code']}/decline").status_code == 200
    assert _error(_poll(api, declined["device_code"]))[1] == "authorization_declined"
    expired = _device_code(api).json()
    api.test_api("POST", "/clock", json={"advance_seconds": expired["expires_in"] + 1})
    assert _error(_poll(api, expired["device_code"])) == (400, "expired_token", "AADSTS70020")
    unknown = api.test_api("POST", "/devicecodes/NOSUCHCODE/approve")
    assert unknown.status_code == 404


def test_only_a_public_client_starts_a_device_code(api: Api) -> None:
    refused = _device_code(api, client_id=CLIENT_ID)
    assert _error(refused) == (400, "invalid_client", "AADSTS7000218")


def test_the_refresh_token_grant_renews_until_sessions_are_revoked(api: Api) -> None:
    first = api.user_token_response(GATEWAY).json()
    form = {
        "grant_type": "refresh_token",
        "client_id": DATA_INTEGRATOR,
        "refresh_token": first["refresh_token"],
        "scope": SCOPE,
    }
    api.test_api("POST", "/clock", json={"advance_seconds": 4000})  # the first token expired
    assert _version(api, first["access_token"]).status_code == 401
    renewed = api.http.post(api.running.token_url(), data=form)
    assert renewed.status_code == 200, renewed.text
    assert _version(api, renewed.json()["access_token"]).status_code == 200
    assert renewed.json()["refresh_token"] != first["refresh_token"]
    revoked = api.test_api("POST", "/signins/revoke").json()["revoked"]
    assert revoked >= 2
    again = api.http.post(api.running.token_url(), data=form)
    assert _error(again) == (400, "invalid_grant", "AADSTS700082")


def test_the_password_grant_checks_the_password_and_refuses_mfa_accounts(api: Api) -> None:
    wrong = api.user_token_response(GATEWAY, password="not-the-password")
    assert _error(wrong) == (400, "invalid_grant", "AADSTS50126")
    assert "not-the-password" not in wrong.text and PASSWORD not in wrong.text
    nobody = api.user_token_response(GATEWAY, username="someone@contoso.example")
    assert _error(nobody)[2] == "AADSTS50126"
    from dwconf.emulator.config import User

    config = emulator_config(users=(User(USERNAME, PASSWORD, mfa=True),))
    with running(config) as server:
        mfa = Api(server)
        try:
            refused = mfa.user_token_response(GATEWAY)
        finally:
            mfa.close()
    assert _error(refused) == (400, "invalid_grant", "AADSTS50076")


def _app_token(api: Api) -> str:
    response = api.token_response(GATEWAY)
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    assert claims_of(token)["idtyp"] == "app" and "scp" not in claims_of(token)
    return token


def test_the_gateway_refuses_an_app_only_token_unless_configured(api: Api) -> None:
    refused = _version(api, _app_token(api))
    assert refused.status_code == 401
    message: str = refused.json()["error"]["message"]
    assert "accepts a user's sign-in only" in message and CLIENT_ID in message
    assert 'error="invalid_token"' in refused.headers["WWW-Authenticate"]
    assert SECRET not in refused.text
    with running(emulator_config(gateway_app_only=True)) as server:
        opted = Api(server)
        try:
            assert _version(opted, _app_token(opted)).status_code == 200
        finally:
            opted.close()


def test_the_bearers_each_plane_is_shown_are_counted(api: Api, server: Running) -> None:
    api.test_api("DELETE", "/stats")
    user = api.token(GATEWAY)
    _version(api, user)
    app = api.token(server.dataverse_url("dev"))
    api.http.get(f"{server.gateway_url('dev')}{GW}/Version", headers=_bearer(app))
    bearers: dict[str, Any] = api.test_api("GET", "/stats").json()["bearers"]
    dataverse = server.dataverse_url("dev").lower()
    assert bearers == {"dev/gateway": {"user https://integratorapp.com": 1, f"app {dataverse}": 1}}


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
