"""The lease's keeper and the fenced writer: the clock the lease is measured on, and writes
the environment itself refuses once the lease is someone else's."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from dwconf.apply import fence
from dwconf.apply.fence import Fenced, Keeper
from dwconf.errors import LeaseLostError
from dwconf.live import Environment
from dwconf.providers import local


class Clock:
    """A clock the test moves by hand, in seconds."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def provider(tmp_path: Path) -> Iterator[local.LocalProvider]:
    with local.LocalProvider.open(tmp_path, "dev") as opened:
        yield opened


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="CLOCK_BOOTTIME is Linux's")
def test_the_lease_is_measured_on_a_clock_that_counts_sleep(
    provider: local.LocalProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A monotonic clock stops while the machine sleeps: a laptop that slept through its
    lease trusted it until the next renewal failed."""
    lease = provider.acquire_lock("ana", "apply", None, 60)
    read: list[int] = []
    real = time.clock_gettime

    def clock_gettime(clock_id: int) -> float:
        read.append(clock_id)
        return real(clock_id)

    monkeypatch.setattr(time, "clock_gettime", clock_gettime)
    keeper = Keeper(provider, lease, 60, taken_at=fence.lease_clock())
    keeper.check()
    assert read and set(read) == {time.CLOCK_BOOTTIME}


def test_without_a_boot_time_clock_the_lease_is_measured_on_the_monotonic_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delattr(time, "CLOCK_BOOTTIME", raising=False)
    monkeypatch.setattr(time, "monotonic", lambda: 42.5)
    assert fence.lease_clock() == 42.5


def test_a_lease_slept_through_is_lost_at_the_next_write(provider: local.LocalProvider) -> None:
    clock = Clock()
    lease = provider.acquire_lock("ana", "apply", None, 120)
    keeper = Keeper(provider, lease, 120, taken_at=clock.now, clock=clock)
    writer = Fenced(provider, keeper)
    assert writer.set_integration_keys("accounts", ["name"])
    clock.now += 95  # asleep: no renewal ran; within the margin (30 s) of the expiry
    with pytest.raises(LeaseLostError, match="about to expire"):
        writer.set_integration_keys("accounts", ["accountnumber"])
    assert provider.read().integration_keys["accounts"] == ("name",)


def test_a_write_the_environment_refuses_loses_the_lease(
    provider: local.LocalProvider, tmp_path: Path
) -> None:
    """The keeper still trusts the lease (its next renewal is far off), but another apply took
    the lock: the environment refuses the write, and the keeper knows from then on."""
    clock = Clock()
    lease = provider.acquire_lock("ana", "apply", None, 120)
    keeper = Keeper(provider, lease, 120, taken_at=clock.now, clock=clock)
    assert provider.fence(lease.id) is True
    writer = Fenced(provider, keeper)
    with Environment.open(local.state_path(tmp_path, "dev")) as other:
        other.force_unlock(lease.id)
        theirs = other.acquire_lock("bob", "apply", None, 120)
        with pytest.raises(LeaseLostError):
            writer.stop_map("Test customers")
        assert keeper.lost.startswith("the environment refused a write: ")
        assert theirs.id in keeper.lost
        with pytest.raises(LeaseLostError, match="lost the environment's lock"):
            keeper.check()
        assert other.lock_status() == theirs
