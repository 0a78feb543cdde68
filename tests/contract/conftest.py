"""Provider fixtures for the contract suite: one harness per provider the suite runs against.

A harness opens the provider under test and says what else the test may do with it: move its
clock (for lock expiry), start the environment over, and change it the way a person does in the
Dual-write workspace (alert settings, which a provider may only read). `local` is the embedded provider on a
temporary repository; `dynamics` is the HTTP provider against the emulator on loopback (TLS with
a throw-away CA, one emulator for the run, reset before each test), so every contract test runs
against both.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from dwconf.live import AlertSetting
from dwconf.providers import LiveWriter
from dwconf.providers.local import LocalProvider, reset
from tests.providers.support import TestApi, open_provider, shared_emulator

START = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
ENV_NAME = "dev"


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)

    def hold(self) -> None:
        """Stops the provider's clock, so that only `advance` moves it (this one never runs)."""


@dataclass
class Harness:
    """How to reach one provider, and which extra powers its tests have."""

    kind: str
    open: Callable[[], LiveWriter]
    clock: Clock | None = None  # the provider's clock, when a test may move it
    reset: Callable[[], None] | None = None  # starts the environment over, when possible
    set_alerts: Callable[[list[AlertSetting]], None] | None = None  # as in the workspace


@contextmanager
def local_harness(tmp_path: Path) -> Iterator[Harness]:
    """The embedded provider on a temporary repository; two polls per transition, so the
    transitional states are visible before `wait`."""
    clock = Clock()

    def open_provider() -> LiveWriter:
        return LocalProvider.open(tmp_path, ENV_NAME, now=clock, polls=2)

    def start_over() -> None:
        reset(tmp_path, ENV_NAME)

    def set_alerts(alerts: list[AlertSetting]) -> None:
        with LocalProvider.open(tmp_path, ENV_NAME, now=clock, polls=2) as opened:
            opened.environment.set_alerts(alerts)

    yield Harness("local", open_provider, clock, start_over, set_alerts)


class EmulatorClock(Clock):
    """Moves the emulator's clock (leases, tokens, throttling all follow it)."""

    def __init__(self, api: TestApi) -> None:
        super().__init__()
        self.api = api

    def advance(self, **delta: float) -> None:
        super().advance(**delta)
        self.api.advance(timedelta(**delta).total_seconds())

    def hold(self) -> None:
        self.api.hold_clock()


@contextmanager
def dynamics_harness(tmp_path: Path) -> Iterator[Harness]:
    """The dynamics provider against the emulator's environment `dev` (two polls per
    transition), everything reset first: environments, faults, statistics and the clock."""
    server, api = shared_emulator()
    api.reset()

    def open_provider_here() -> LiveWriter:
        return open_provider(tmp_path, server)

    def start_over() -> None:
        api.reset(ENV_NAME)

    def set_alerts(alerts: list[AlertSetting]) -> None:
        api.call("set_alerts", ENV_NAME, alerts=[dataclasses.asdict(a) for a in alerts])

    yield Harness("dynamics", open_provider_here, EmulatorClock(api), start_over, set_alerts)


HARNESSES: dict[str, Callable[[Path], AbstractContextManager[Harness]]] = {
    "local": local_harness,
    "dynamics": dynamics_harness,
}


@pytest.fixture(params=sorted(HARNESSES))
def harness(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Harness]:
    with HARNESSES[request.param](tmp_path) as found:
        yield found


@pytest.fixture
def provider(harness: Harness) -> Iterator[LiveWriter]:
    """The provider under test, seen only through the `LiveWriter` protocol."""
    opened = harness.open()
    try:
        yield opened
    finally:
        opened.close()
