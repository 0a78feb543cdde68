"""The lock lease (create-only, renew, expiry take-over, force) and deployment records."""

from __future__ import annotations

import threading
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from dwconf.errors import ExitCode, LeaseLostError, LockHeldError, ProviderError
from dwconf.live import Environment, Lease, lock
from dwconf.live.errors import InvalidRequest, LeaseLost, LockHeld, LockNotFound


def test_acquire_creates_a_lease(env: Environment, clock) -> None:
    lease = env.acquire_lock("alice@ci", "apply", "plan-1", 300)
    assert lease == Lease(
        lease.id, "alice@ci", "apply", "plan-1", clock.now, clock.now + timedelta(seconds=300)
    )
    assert env.lock_status() == lease
    assert env.read().lock == lease


def test_acquire_while_held_raises_with_the_current_lease(env: Environment, clock) -> None:
    lease = env.acquire_lock("alice@ci", "apply", "plan-1", 300)
    clock.advance(seconds=299)
    with pytest.raises(LockHeld) as caught:
        env.acquire_lock("bob", "apply", "plan-2", 300)
    held = caught.value
    assert held.lease == lease
    assert held.message == (
        "The environment is locked by alice@ci (apply, plan plan-1) since "
        "2025-03-01T09:00:00+00:00, until 2025-03-01T09:05:00+00:00. "
        f"Lock ID: {lease.id}"
    )
    assert isinstance(held, ProviderError) and isinstance(held, LockHeldError)
    assert held.exit_code is ExitCode.LOCKED
    assert env.lock_status() == lease


def test_an_expired_lease_is_taken_over(env: Environment, clock) -> None:
    old = env.acquire_lock("alice", "apply", None, 60)
    clock.advance(seconds=60)
    assert env.lock_status().is_expired(env.now())
    new = env.acquire_lock("bob", "apply", "plan-2", 60)
    assert new.id != old.id and new.owner == "bob"
    with pytest.raises(LockHeld):
        env.renew_lock(old.id, 60)
    assert env.release_lock(old.id) is False
    assert env.lock_status() == new


def test_renew_extends_the_lease_even_after_expiry_if_not_taken(env: Environment, clock) -> None:
    lease = env.acquire_lock("alice", "apply", None, 60)
    clock.advance(seconds=50)
    renewed = env.renew_lock(lease.id, 60)
    assert (renewed.id, renewed.created) == (lease.id, lease.created)
    assert renewed.expires == clock.now + timedelta(seconds=60)
    clock.advance(seconds=120)
    assert env.renew_lock(lease.id, 30).expires == clock.now + timedelta(seconds=30)


def test_renew_without_a_lease_is_refused(env: Environment) -> None:
    with pytest.raises(LockNotFound) as caught:
        env.renew_lock("nope", 60)
    assert caught.value.message == "No lock with ID 'nope' is held on this environment."


def test_release_is_by_id_and_idempotent(env: Environment) -> None:
    lease = env.acquire_lock("alice", "apply", None, 60)
    assert env.release_lock("someone-else") is False
    assert env.lock_status() == lease
    assert env.release_lock(lease.id) is True
    assert env.release_lock(lease.id) is False
    assert env.lock_status() is None


def test_force_unlock_needs_the_lock_id(env: Environment) -> None:
    lease = env.acquire_lock("alice", "apply", None, 3600)
    with pytest.raises(LockNotFound):
        env.force_unlock("wrong-id")
    assert env.force_unlock(lease.id) == lease
    assert env.lock_status() is None
    with pytest.raises(LockNotFound):
        env.force_unlock(lease.id)


@pytest.mark.parametrize("ttl", [0, -5])
def test_a_lease_needs_a_positive_ttl(env: Environment, ttl: int) -> None:
    with pytest.raises(InvalidRequest):
        env.acquire_lock("alice", "apply", None, ttl)


def test_records_are_kept_in_order(env: Environment, clock) -> None:
    first = env.add_record(
        who="alice",
        plan_hash="sha256:aa",
        git_commit="0123abc",
        solution_versions={"contoso_Maps": "1.0.0.0"},
        desired={"maps": {"map.currencies": {"state": "running"}}},
        status="applying",
    )
    clock.advance(minutes=5)
    second = env.add_record(
        who="bob", plan_hash="sha256:bb", git_commit=None, solution_versions={}, desired={}
    )
    done = env.set_record_status(first.id, "succeeded")
    assert done.status == "succeeded" and done.created == first.created
    assert env.records() == (done, second)
    assert second.created == clock.now
    assert env.read().records == (done, second)
    assert [env.record_desired(r.id) for r in env.read().records] == [
        {"maps": {"map.currencies": {"state": "running"}}},
        {},
    ]
    with pytest.raises(InvalidRequest):
        env.set_record_status("missing", "failed")
    with pytest.raises(InvalidRequest):
        env.record_desired("missing")


def _add_records(env: Environment, count: int) -> None:
    for n in range(count):
        env.add_record(
            who="ci", plan_hash=f"h{n}", git_commit=None, solution_versions={}, desired={"n": n}
        )


def test_a_records_desired_state_is_read_only_when_asked_for(
    env: Environment, monkeypatch: pytest.MonkeyPatch
) -> None:
    read: list[str] = []
    real = lock.desired_of

    def spy(tx: Any, record_id: str) -> dict[str, Any]:
        read.append(record_id)
        return real(tx, record_id)

    monkeypatch.setattr(lock, "desired_of", spy)
    _add_records(env, 20)
    records = env.read().records
    assert len(records) == 20 and read == []  # a plan asks for the last one only
    assert env.record_desired(records[-1].id) == {"n": 19} and read == [records[-1].id]


# Two connections on one file -----------------------------------------------------------------


def test_acquire_is_atomic_across_connections(env_path: Path) -> None:
    Environment.open(env_path).close()
    envs = [Environment.open(env_path) for _ in range(8)]
    barrier = threading.Barrier(len(envs))

    def attempt(e: Environment) -> str:
        barrier.wait()
        try:
            e.acquire_lock(f"worker-{id(e)}", "apply", None, 300)
        except LockHeld:
            return "held"
        return "acquired"

    with ThreadPoolExecutor(len(envs)) as pool:
        outcomes = list(pool.map(attempt, envs))
    assert sorted(outcomes) == ["acquired"] + ["held"] * 7
    holders = {e.lock_status() for e in envs}
    assert len(holders) == 1
    for e in envs:
        e.close()


def _acquire_in_process(path: str) -> bool:
    with Environment.open(path) as e:
        try:
            e.acquire_lock("process", "apply", None, 300)
        except LockHeld:
            return False
        return True


def test_acquire_is_atomic_across_processes(env_path: Path) -> None:
    Environment.open(env_path).close()
    with ProcessPoolExecutor(4) as pool:
        results = list(pool.map(_acquire_in_process, [str(env_path)] * 4))
    assert results.count(True) == 1


def test_concurrent_writes_are_not_lost(env_path: Path) -> None:
    Environment.open(env_path).close()
    envs = [Environment.open(env_path) for _ in range(4)]

    def write(e: Environment) -> None:
        for n in range(10):
            e.add_record(
                who=str(id(e)), plan_hash=str(n), git_commit=None, solution_versions={}, desired={}
            )

    with ThreadPoolExecutor(len(envs)) as pool:
        list(pool.map(write, envs))
    assert len(envs[0].records()) == 40
    for e in envs:
        e.close()


# Fenced writes: the lease's id checked in each write's own transaction -------------------------


def test_a_fenced_write_is_refused_once_another_lease_holds_the_lock(
    env_path: Path, clock: Any
) -> None:
    """Two writers on one file: the first, paused past its lease, wakes up after the second
    took the lock over; its next write is refused by the environment, not made."""
    Environment.open(env_path, now=clock).close()
    with Environment.open(env_path, now=clock) as first, Environment.open(env_path) as other:
        mine = first.acquire_lock("ana@laptop", "apply", "p1", 60)
        first.fence(mine.id)
        assert first.set_integration_keys("accounts", ["accountnumber"])
        clock.advance(seconds=90)  # expired, and nobody took it over: still the holder
        assert first.set_integration_keys("accounts", ["accountnumber", "name"])
        theirs = other.acquire_lock("bob@ci", "apply", "p2", 60)
        with pytest.raises(LeaseLost) as refused:
            first.set_integration_keys("accounts", ["name"])
        assert isinstance(refused.value, LeaseLostError)
        assert refused.value.exit_code is ExitCode.LOCKED and refused.value.halts_apply
        assert f"lock ID {theirs.id} (bob@ci) holds it now" in refused.value.message
        with pytest.raises(LeaseLost):
            first.add_record(
                who="ana", plan_hash="p1", git_commit=None, solution_versions={}, desired={}
            )
        assert other.integration_key("accounts") == ("accountnumber", "name")
        assert other.records() == ()
        assert first.release_lock(mine.id) is False, "the lock's own calls are not fenced"
        assert other.lock_status() == theirs


def test_a_fenced_write_is_refused_once_the_lock_was_removed(env: Environment) -> None:
    lease = env.acquire_lock("ana", "apply", None, 60)
    env.fence(lease.id)
    env.force_unlock(lease.id)
    with pytest.raises(LeaseLost, match="nobody holds it"):
        env.set_alerts([])
    env.fence(None)
    assert env.set_integration_keys("accounts", ["name"]), "without a fence, writes go through"
