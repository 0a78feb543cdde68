"""Fixtures: one emulator per test session on 127.0.0.1 (a background uvicorn thread), plain HTTP
and TLS, reset before each test; `Api` clients talk to it over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest

from dwconf.emulator import Client, EmulatorConfig, EnvConfig, Federated
from dwconf.emulator.config import User
from dwconf.emulator.serve import Running, running
from tests.emulator.helpers import (
    CLIENT_ID,
    FEDERATED_CLIENT,
    GITHUB_ISSUER,
    GITHUB_SUBJECT,
    PASSWORD,
    SECRET,
    USERNAME,
    Api,
)


def emulator_config(**changes: object) -> EmulatorConfig:
    base = EmulatorConfig(
        environments=(EnvConfig("dev", polls=2), EnvConfig("test")),
        clients=(
            Client(CLIENT_ID, SECRET),
            Client(FEDERATED_CLIENT, None, Federated(GITHUB_ISSUER, GITHUB_SUBJECT)),
        ),
        users=(User(USERNAME, PASSWORD),),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def server() -> Iterator[Running]:
    with running(emulator_config()) as started:
        yield started


@pytest.fixture(scope="session")
def tls_server() -> Iterator[Running]:
    with running(emulator_config(), tls=True) as started:
        yield started


@pytest.fixture
def api(server: Running) -> Iterator[Api]:
    client = Api(server)
    reset = client.test_api("POST", "/reset")
    assert reset.status_code == 200
    yield client
    client.close()
