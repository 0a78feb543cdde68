"""The gateway's sign-in methods for pipelines, against the emulator over TLS: a user's refresh
token, a user's name and password (not with MFA), a pre-acquired token renewed by a refresh
token, and app-only, which the gateway refuses unless it is configured to take it."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import httpx
import pytest

from dwconf.emulator.config import User
from dwconf.errors import ProviderError
from dwconf.providers.dynamics.transport import ssl_context
from tests.providers.conftest import Open
from tests.providers.support import (
    ENVIRON,
    PASSWORD,
    USERNAME,
    TestApi,
    emulator_config,
    open_provider,
    started,
)

GATEWAY = "https://IntegratorApp.com"
DATA_INTEGRATOR = "2e49aa60-1bd3-43b6-8ab6-03ada3d9f08b"
REFRESH = {"method": "refresh_token", "refresh_token_env": "DWCONF_GATEWAY_REFRESH_TOKEN"}
TOKEN = {
    "method": "token",
    "token_env": "DWCONF_GATEWAY_TOKEN",
    "refresh_token_env": "DWCONF_GATEWAY_REFRESH_TOKEN",
}


def user_tokens(api: TestApi) -> dict[str, Any]:
    """A user's tokens got outside dwconf (what a person stores for a pipeline)."""
    verify = ssl_context(str(api.server.ca_file))
    with httpx.Client(verify=verify) as client:
        form = {
            "grant_type": "password",
            "client_id": DATA_INTEGRATOR,
            "username": USERNAME,
            "password": PASSWORD,
            "scope": f"{GATEWAY}/.default offline_access",
        }
        response = client.post(api.server.token_url(), data=form)
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


def grants(api: TestApi) -> int:
    return sum(n for k, n in api.stats()["by_request"].items() if k.endswith("/oauth2/v2.0/token"))


def test_a_refresh_token_signs_in_and_renews(opened: Open, api: TestApi) -> None:
    refresh = user_tokens(api)["refresh_token"]
    environ = {**ENVIRON, "DWCONF_GATEWAY_REFRESH_TOKEN": refresh}
    provider = opened(gateway_auth=REFRESH, environ=environ)
    provider.read()
    api.advance(7200)  # expired for the emulator: a 401, then the refresh token again
    api.clear_stats()
    assert provider.read().solution("DualWriteCore") is not None
    assert api.stats()["statuses"]["401"] >= 1
    assert set(api.stats()["bearers"]["dev/gateway"]) == {"user https://integratorapp.com"}


def test_a_revoked_refresh_token_is_named_not_shown(opened: Open, api: TestApi) -> None:
    refresh = user_tokens(api)["refresh_token"]
    api.http.post("/signins/revoke")
    environ = {**ENVIRON, "DWCONF_GATEWAY_REFRESH_TOKEN": refresh}
    with pytest.raises(ProviderError) as caught:
        opened(gateway_auth=REFRESH, environ=environ).read()
    assert "AADSTS700082" in caught.value.message
    assert "$DWCONF_GATEWAY_REFRESH_TOKEN" in caught.value.hint
    assert refresh not in caught.value.message + caught.value.hint


def test_a_user_with_mfa_cannot_sign_in_with_a_password(tmp_path: Path) -> None:
    config = emulator_config(users=(User(USERNAME, PASSWORD, mfa=True),))
    with started(config) as (server, _):
        provider = open_provider(tmp_path, server)
        try:
            with pytest.raises(ProviderError) as caught:
                provider.read()
        finally:
            provider.close()
    assert "AADSTS50076" in caught.value.message
    assert "multi-factor" in caught.value.hint and PASSWORD not in str(caught.value)


def test_an_expiring_pre_acquired_token_is_renewed_by_its_refresh_token(tmp_path: Path) -> None:
    """A token within a minute of its expiry is not sent: the refresh token renews it; without
    one, dwconf says when it expired."""
    with started(emulator_config(token_lifetime_seconds=30)) as (server, api):
        given = user_tokens(api)
        environ = {
            **ENVIRON,
            "DWCONF_GATEWAY_TOKEN": given["access_token"],
            "DWCONF_GATEWAY_REFRESH_TOKEN": given["refresh_token"],
        }
        renewed = open_provider(tmp_path, server, gateway_auth=TOKEN, environ=environ)
        stale = open_provider(
            tmp_path,
            server,
            gateway_auth={"method": "token", "token_env": "DWCONF_GATEWAY_TOKEN"},
            environ=environ,
        )
        try:
            api.clear_stats()
            assert renewed.lock_status() is None and renewed.read() is not None
            assert grants(api) >= 2  # Dataverse's, and the gateway's refresh
            with pytest.raises(ProviderError) as caught:
                stale.read()
        finally:
            renewed.close()
            stale.close()
    assert caught.value.message.startswith("sign in: the token in $DWCONF_GATEWAY_TOKEN expired")
    assert given["access_token"] not in str(caught.value)


def test_app_only_is_refused_by_the_gateway_with_a_clear_message(
    opened: Open, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    provider = opened(gateway_auth={"method": "app_only"})
    with pytest.raises(ProviderError) as caught:
        provider.read()
    assert "accepts a user's sign-in only" in caught.value.message
    assert any(
        "app_only" in r.getMessage() and "unverified" in r.getMessage() for r in caplog.records
    )


def test_app_only_works_where_the_gateway_takes_it(tmp_path: Path) -> None:
    with started(emulator_config(gateway_app_only=True)) as (server, api):
        provider = open_provider(tmp_path, server, gateway_auth={"method": "app_only"})
        try:
            assert provider.read().solution("DualWriteCore") is not None
        finally:
            provider.close()
        kinds = {k.split()[0] for k in api.stats()["bearers"]["dev/gateway"]}
    assert kinds == {"app"}
