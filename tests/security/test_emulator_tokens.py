"""Emulator requests with a bad token, where tests/emulator/test_emulator_auth.py does not
already look: it covers a missing token and an expired one on Dataverse, and wrong-audience and
garbage tokens. Added here: the gateway without a token and with an expired one, a token whose
signature was tampered with, an unsigned token (alg none), and the
error bodies never echoing the token."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator

import pytest

from dwconf.emulator.serve import Running, running
from tests.emulator.conftest import emulator_config
from tests.emulator.helpers import API, GW, Api


@pytest.fixture(scope="module")
def server() -> Iterator[Running]:
    with running(emulator_config(token_lifetime_seconds=60)) as found:
        yield found


@pytest.fixture
def api(server: Running) -> Iterator[Api]:
    client = Api(server)
    client.test_api("POST", "/reset")
    yield client
    client.test_api("POST", "/reset")
    client.close()


def _unsigned(token: str) -> str:
    header = base64.urlsafe_b64encode(json.dumps({"alg": "none"}).encode()).rstrip(b"=")
    _, payload, _ = token.split(".")
    return f"{header.decode()}.{payload}."


def _tampered(token: str) -> str:
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["exp"] = int(claims.get("exp", 0)) + 10**6
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{header}.{forged}.{signature}"


def test_gateway_without_a_token_gets_401(api: Api, server: Running) -> None:
    response = api.http.get(f"{server.gateway_url('dev')}{GW}/Version")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_expired_token_on_the_gateway_gets_401(api: Api, server: Running) -> None:
    token = api.token("https://IntegratorApp.com")
    url, headers = f"{server.gateway_url('dev')}{GW}/Version", {"Authorization": f"Bearer {token}"}
    assert api.http.get(url, headers=headers).status_code == 200
    api.test_api("POST", "/clock", json={"advance_seconds": 120})
    assert api.http.get(url, headers=headers).status_code == 401


@pytest.mark.parametrize("forge", [_tampered, _unsigned])
def test_forged_tokens_get_401_and_are_not_echoed(api: Api, server: Running, forge: object) -> None:
    assert callable(forge)
    token = forge(api.token(server.dataverse_url("dev")))
    response = api.http.get(
        f"{server.dataverse_url('dev')}{API}/solutions",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 401
    assert token not in response.text
    assert token.split(".")[1] not in response.headers.get("WWW-Authenticate", "")
