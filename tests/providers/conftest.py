"""Fixtures for the dynamics provider's tests: the shared TLS emulator, reset before each test,
and a provider opened against its environment `dev`."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from dwconf.emulator.serve import Running
from dwconf.providers.dynamics import DynamicsProvider
from tests.providers.support import TestApi, open_provider, shared_emulator

Open = Callable[..., DynamicsProvider]


@pytest.fixture
def emulator() -> tuple[Running, TestApi]:
    server, api = shared_emulator()
    api.reset()
    return server, api


@pytest.fixture
def server(emulator: tuple[Running, TestApi]) -> Running:
    return emulator[0]


@pytest.fixture
def api(emulator: tuple[Running, TestApi]) -> TestApi:
    return emulator[1]


@pytest.fixture
def opened(tmp_path: Path, server: Running) -> Iterator[Open]:
    """Opens providers against the shared emulator (closed after the test)."""
    providers: list[DynamicsProvider] = []

    def make(**options: Any) -> DynamicsProvider:
        provider = open_provider(
            options.pop("root", tmp_path), options.pop("on", server), **options
        )
        providers.append(provider)
        return provider

    yield make
    for provider in providers:
        provider.close()
