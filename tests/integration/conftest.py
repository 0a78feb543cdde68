"""Fixtures for CLI tests against the emulator: the shared TLS emulator, reset, with the client
id and secret of its environment in the process environment (as a pipeline sets them)."""

from __future__ import annotations

import pytest

from dwconf.emulator.serve import Running
from tests.providers.support import ENVIRON, TestApi, shared_emulator


@pytest.fixture
def emulated(monkeypatch: pytest.MonkeyPatch) -> tuple[Running, TestApi]:
    server, api = shared_emulator()
    api.reset()
    for name, value in ENVIRON.items():
        monkeypatch.setenv(name, value)
    return server, api
