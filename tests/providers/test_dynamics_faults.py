"""The dynamics provider under faults, over real HTTP to the emulator (its `/_emulator/faults`
and `/_emulator/stats`): throttling and unavailability retried with `Retry-After` honoured,
dropped connections retried only where that is safe, stale ETags, expired tokens, the per-host
concurrency cap, and TLS verified with the emulator's CA."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from dwconf.emulator import EnvConfig
from dwconf.emulator.serve import Running
from dwconf.errors import LockHeldError, ProviderError
from dwconf.providers.dynamics import DynamicsProvider, Tuning
from dwconf.providers.dynamics.errors import ChangedSinceRead, TransportFailure
from dwconf.providers.dynamics.transport import RetryPolicy
from tests.contract.support import CURRENCIES, SOLUTION, package
from tests.providers.conftest import Open
from tests.providers.support import (
    ENVIRON,
    FAST,
    TestApi,
    emulator_config,
    environment,
    open_provider,
    started,
)

LEASES = "^/api/data/v9.2/dwconf_leases"
RECORDS = "^/api/data/v9.2/dwconf_deploymentrecords"


class Sleeps:
    """An injected `sleep` that records the waits instead of waiting."""

    def __init__(self) -> None:
        self.waits: list[float] = []
        self._lock = threading.Lock()

    def __call__(self, seconds: float) -> None:
        with self._lock:
            self.waits.append(seconds)


def counted(api: TestApi, method: str, suffix: str) -> int:
    """Requests the emulator saw for `METHOD <path ending in suffix>`."""
    by_request = api.stats()["by_request"]
    return sum(n for k, n in by_request.items() if k.startswith(method) and k.endswith(suffix))


def tuned(sleeps: Sleeps, **retry: float) -> Tuning:
    policy = RetryPolicy(**{"attempts": 5, "max_wait_s": 60.0, "backoff_s": 0.5, **retry})
    return replace(FAST, sleep=sleeps, retry=policy)


# Throttling and unavailability ---------------------------------------------------------------


def test_429_waits_as_retry_after_says(opened: Open, api: TestApi) -> None:
    sleeps = Sleeps()
    provider = opened(tuning=tuned(sleeps))
    provider.lock_status()  # signed in, link known: only the throttled reads follow
    api.clear_stats()
    api.faults(
        {"match": {"method": "GET", "path": LEASES}, "status": 429, "retryAfter": 3, "times": 2}
    )
    assert provider.lock_status() is None
    assert len(sleeps.waits) == 2
    assert all(3.0 <= w <= 3.0 * 1.1 for w in sleeps.waits), sleeps.waits
    assert counted(api, "GET", "/dwconf_leases") == 3
    assert api.stats()["statuses"] == {"429": 2, "200": 1}


def test_a_long_retry_after_is_capped(opened: Open, api: TestApi) -> None:
    sleeps = Sleeps()
    provider = opened(tuning=tuned(sleeps, max_wait_s=5.0))
    provider.lock_status()
    api.faults({"match": {"method": "GET", "path": LEASES}, "status": 429, "retryAfter": 600})
    assert provider.lock_status() is None
    assert len(sleeps.waits) == 1 and 5.0 <= sleeps.waits[0] <= 5.5


def test_503_then_success(opened: Open, api: TestApi) -> None:
    sleeps = Sleeps()
    provider = opened(tuning=tuned(sleeps))
    provider.records()
    api.clear_stats()
    api.faults({"match": {"method": "GET", "path": RECORDS}, "status": 503})
    assert provider.records() == ()
    assert len(sleeps.waits) == 1 and 0.5 <= sleeps.waits[0] <= 0.55  # backoff, no Retry-After
    assert api.stats()["statuses"] == {"503": 1, "200": 1}


def test_throttling_that_never_ends_is_reported(opened: Open, api: TestApi) -> None:
    provider = opened(tuning=tuned(Sleeps(), attempts=3))
    provider.lock_status()
    throttled = {"method": "GET", "path": LEASES}
    api.faults({"match": throttled, "status": 429, "retryAfter": 1, "times": None})
    with pytest.raises(ProviderError) as caught:
        provider.lock_status()
    assert caught.value.message.startswith("Number of requests exceeded the limit")
    assert "read the lock" in caught.value.hint and "dwconf_leases" in caught.value.hint
    assert counted(api, "GET", "/dwconf_leases") == 4  # one read before, then three tries


# Dropped connections -------------------------------------------------------------------------


def test_a_dropped_read_is_retried(opened: Open, api: TestApi) -> None:
    provider = opened()
    provider.lock_status()
    api.clear_stats()
    api.faults({"match": {"method": "GET", "path": LEASES}, "drop": True})
    assert provider.lock_status() is None
    assert counted(api, "GET", "/dwconf_leases") == 2
    assert api.stats()["faults_fired"] == 1


def test_a_dropped_write_is_not_repeated_blindly(opened: Open, api: TestApi) -> None:
    """The record's POST is not repeated by the transport: dwconf looks for the record it may
    have written (by its order stamp) and writes it again only when it isn't there."""
    provider = opened()
    provider.records()
    api.clear_stats()
    api.faults({"match": {"method": "POST", "path": RECORDS}, "drop": True})  # not handled
    record = provider.add_record(
        who="ci", plan_hash="h1", git_commit=None, solution_versions={}, desired={}
    )
    assert counted(api, "POST", "/dwconf_deploymentrecords") == 2
    assert counted(api, "GET", "/dwconf_deploymentrecords") == 1  # the look between them
    assert [r["id"] for r in api.state()["state"]["records"]] == [record.id]


def test_a_record_whose_answer_was_lost_is_written_once(opened: Open, api: TestApi) -> None:
    provider = opened()
    provider.records()
    api.clear_stats()
    api.faults({"match": {"method": "POST", "path": RECORDS}, "dropResponse": True})
    record = provider.add_record(
        who="ci", plan_hash="h1", git_commit=None, solution_versions={}, desired={"a": 1}
    )
    assert counted(api, "POST", "/dwconf_deploymentrecords") == 1  # found, not written again
    assert [r["id"] for r in api.state()["state"]["records"]] == [record.id]
    assert provider.record_desired(record.id) == {"a": 1} and record.status == "succeeded"
    assert provider.set_record_status(record.id, "failed").status == "failed"  # its ETag known


def test_a_record_write_that_keeps_failing_is_reported(opened: Open, api: TestApi) -> None:
    provider = opened()
    provider.records()
    api.clear_stats()
    api.faults({"match": {"method": "POST", "path": RECORDS}, "drop": True, "times": None})
    with pytest.raises(TransportFailure) as caught:
        provider.add_record(
            who="ci", plan_hash="h1", git_commit=None, solution_versions={}, desired={}
        )
    assert caught.value.message.startswith("write the deployment record: POST https://")
    assert "dwconf_deploymentrecords" in caught.value.message
    assert "may have been carried out" in caught.value.hint
    assert counted(api, "POST", "/dwconf_deploymentrecords") == 3  # each after a look
    assert provider.records() == ()
    assert api.state()["state"]["records"] == []


def test_a_dropped_idempotent_write_is_retried_and_lands_once(opened: Open, api: TestApi) -> None:
    provider = opened()
    provider.read()
    api.faults({"match": {"method": "POST", "path": "/IntegrationKeys"}, "drop": True})
    assert provider.set_integration_keys("accounts", ["accountnumber"]) is True
    assert counted(api, "POST", "/api/dataset/dev-dataverse/IntegrationKeys") == 2
    assert dict(provider.read().integration_keys) == {"accounts": ("accountnumber",)}


# ETags ---------------------------------------------------------------------------------------


def test_a_stale_etag_means_re_plan(opened: Open, api: TestApi) -> None:
    provider = opened()
    record = provider.add_record(
        who="ci",
        plan_hash="h1",
        git_commit=None,
        solution_versions={},
        desired={},
        status="running",
    )
    api.call("set_record_status", record_id=record.id, status="failed")  # someone else
    with pytest.raises(ChangedSinceRead) as caught:
        provider.set_record_status(record.id, "succeeded")
    assert "changed since it was read" in caught.value.message
    assert "re-plan" in caught.value.message
    assert f"dwconf_deploymentrecords({record.id})" in caught.value.message
    assert api.stats()["statuses"]["412"] == 1
    assert provider.records()[0].status == "failed"
    assert provider.set_record_status(record.id, "succeeded").status == "succeeded"  # re-read


def test_the_lease_is_created_only_once(opened: Open, api: TestApi, tmp_path: Path) -> None:
    first = opened()
    second = opened(root=tmp_path / "other")
    lease = first.acquire_lock("alice", "apply", None, 300)
    with pytest.raises(ProviderError, match="The environment is locked by alice"):
        second.acquire_lock("bob", "apply", None, 300)
    with pytest.raises(ProviderError, match="The environment is locked by alice"):
        second.acquire_lock("alice", "apply", None, 300)  # the same owner doesn't renew it
    assert second.lock_status() == lease
    # the lease was read first: no create, and no take-over of a lease that has not expired
    assert "412" not in api.stats()["statuses"]


def test_two_that_both_found_no_lease_cannot_both_create_it(
    opened: Open, api: TestApi, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both read "no lease" before either writes (each waits after its read for the other's);
    the create is conditional (`If-None-Match: *`), so the service lets one of them make it
    and refuses the other."""
    from dwconf.providers.dynamics.locks import Locks

    read = Locks._current
    both_read = threading.Barrier(2)

    def read_then_wait(self: Locks, operation: str) -> Any:
        found = read(self, operation)
        if operation == "take the lock":
            both_read.wait(timeout=30)
        return found

    monkeypatch.setattr(Locks, "_current", read_then_wait)
    providers = [opened(), opened(root=tmp_path / "other")]
    outcomes: list[object] = []

    def take(provider: DynamicsProvider, owner: str) -> None:
        try:
            outcomes.append(provider.acquire_lock(owner, "apply", None, 300))
        except LockHeldError as held:
            outcomes.append(held)

    threads = [
        threading.Thread(target=take, args=(provider, owner))
        for provider, owner in zip(providers, ["alice", "bob"], strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    refused = [outcome for outcome in outcomes if isinstance(outcome, LockHeldError)]
    taken = [outcome for outcome in outcomes if not isinstance(outcome, LockHeldError)]
    statuses = api.stats()["statuses"]
    assert len(taken) == 1 and len(refused) == 1, (outcomes, statuses)
    assert statuses.get("412") == 1, (outcomes, statuses)
    assert providers[0].lock_status() == taken[0]


# Tokens --------------------------------------------------------------------------------------


def test_a_token_the_service_no_longer_accepts_is_refreshed_once(
    opened: Open, api: TestApi
) -> None:
    provider = opened()
    provider.read()
    api.advance(7200)  # every token issued so far has expired, for the emulator
    api.clear_stats()
    provider.read()
    statuses = api.stats()["statuses"]
    assert set(statuses) == {"200", "401"}
    assert 2 <= statuses["401"] <= 3  # one per resource; two gateway reads may share one
    assert counted(api, "POST", "/oauth2/v2.0/token") == 2  # one new token per resource


def test_short_lived_tokens_are_refreshed_before_they_expire(tmp_path: Path) -> None:
    config = replace(emulator_config(), token_lifetime_seconds=2)
    with started(config) as (server, api):
        provider = open_provider(tmp_path, server)
        try:
            provider.read()
            tokens = counted(api, "POST", "/oauth2/v2.0/token")
            threading.Event().wait(1.2)  # past half the lifetime
            provider.read()
            # Dataverse's token is renewed at half its life; msal renews a user's token that
            # has less than five minutes left on every use (from its refresh token)
            assert counted(api, "POST", "/oauth2/v2.0/token") > tokens
            assert "401" not in api.stats()["statuses"]
        finally:
            provider.close()


# Concurrency ---------------------------------------------------------------------------------


def test_the_concurrency_cap_is_never_exceeded(opened: Open, api: TestApi, server: Running) -> None:
    provider = opened(tuning=replace(FAST, max_per_host=3))
    provider.lock_status()
    api.clear_stats()
    api.faults({"match": {"method": "GET", "path": LEASES}, "latencyMs": 100, "times": None})
    threads = [threading.Thread(target=provider.lock_status) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    host = server.base_url.removeprefix("https://")
    assert api.stats()["max_in_flight_by_host"] == {host: 3}
    assert counted(api, "GET", "/dwconf_leases") == 12


def test_one_read_runs_its_requests_in_parallel(
    opened: Open, api: TestApi, server: Running
) -> None:
    provider = opened()
    provider.read()
    api.clear_stats()
    api.faults({"match": {"path": "^/api/"}, "latencyMs": 100, "times": None})
    provider.read()
    host = server.base_url.removeprefix("https://")
    assert api.stats()["max_in_flight_by_host"][host] == 3  # maps, the link, one $batch


# TLS -----------------------------------------------------------------------------------------


def test_tls_is_verified_with_the_configured_ca(opened: Open, server: Running) -> None:
    provider = opened()
    assert server.base_url.startswith("https://")
    assert provider.settings.ca_file == str(server.ca_file)
    assert provider.read().solution("DualWriteCore") is not None


def test_without_the_ca_the_emulator_is_not_trusted(tmp_path: Path, server: Running) -> None:
    env = environment(server, ca_file=None)  # and no SSL_CERT_FILE / REQUESTS_CA_BUNDLE
    with (
        DynamicsProvider.open(tmp_path, env, environ=ENVIRON, tuning=FAST) as provider,
        pytest.raises(ProviderError) as caught,
    ):
        provider.read()
    assert "CERTIFICATE_VERIFY_FAILED" in caught.value.message
    assert caught.value.message.startswith("sign in: GET https://127.0.0.1")


def test_the_ca_can_come_from_ssl_cert_file(tmp_path: Path, server: Running) -> None:
    env = environment(server, ca_file=None)
    environ = {**ENVIRON, "SSL_CERT_FILE": str(server.ca_file)}
    with DynamicsProvider.open(tmp_path, env, environ=environ, tuning=FAST) as provider:
        assert provider.settings.ca_file == str(server.ca_file)
        assert provider.lock_status() is None


def test_verification_is_never_turned_off() -> None:
    package = Path(__file__).resolve().parents[2] / "dwconf" / "providers" / "dynamics"
    for source in package.glob("*.py"):
        text = source.read_text(encoding="utf-8")
        assert "verify=False" not in text and "CERT_NONE" not in text, source.name
        assert "check_hostname = False" not in text, source.name


# Slow operations -----------------------------------------------------------------------------


def test_wait_gives_up_on_a_map_that_stays_initializing(tmp_path: Path) -> None:
    config = emulator_config(environments=(EnvConfig("dev", polls=1000),))
    with started(config) as (server, api):
        deployed = package()
        api.call("import_solution", **{**deployed.__dict__, "requires": {}})
        api.call("apply_solution", unique_name=SOLUTION)
        api.call("switch_version", name=CURRENCIES, version="1.0.0.0")
        with open_provider(tmp_path, server) as provider:
            started_map = provider.start_map(CURRENCIES, initial_sync=True, master="finops")
            assert started_map.state.label == "Initializing"
            with pytest.raises(ProviderError, match=r"is still Initializing after 0\.05 s"):
                provider.wait(CURRENCIES, 0.05)


def test_a_504_is_retried_for_reads_only(opened: Open, api: TestApi) -> None:
    sleeps = Sleeps()
    provider = opened(tuning=tuned(sleeps))
    provider.records()
    api.clear_stats()
    api.faults(
        {"match": {"method": "GET", "path": LEASES}, "status": 504},
        {"match": {"method": "POST", "path": RECORDS}, "status": 504, "times": None},
    )
    assert provider.lock_status() is None  # a read: tried again
    with pytest.raises(ProviderError) as caught:  # a write: the gateway may have done it
        provider.add_record(
            who="ci", plan_hash="h", git_commit=None, solution_versions={}, desired={}
        )
    assert caught.value.message == "Injected fault: HTTP 504."  # the service's own words
    assert caught.value.hint.startswith("(write the deployment record: POST https://")
    assert caught.value.hint.endswith("/dwconf_deploymentrecords answered 504)")
    assert counted(api, "GET", "/dwconf_leases") == 2
    # never sent again by the transport: each new try follows a look for the record
    assert counted(api, "POST", "/dwconf_deploymentrecords") == 3
    assert counted(api, "GET", "/dwconf_deploymentrecords") == 3


def test_a_lease_carries_its_own_expiry_and_is_judged_by_the_service_clock(
    opened: Open, api: TestApi, tmp_path: Path
) -> None:
    """A real table stores what it is sent: the lease must carry its expiry, and taking over
    is decided by the service's time (its Date header), which the emulator's clock drives."""
    first = opened()
    lease = first.acquire_lock("alice", "apply", None, 60)
    assert (lease.expires - lease.created).total_seconds() == pytest.approx(60, abs=5)
    second = opened(root=tmp_path / "other")
    with pytest.raises(ProviderError, match="locked by alice"):
        second.acquire_lock("bob", "apply", None, 60)
    api.advance(120)
    taken = second.acquire_lock("bob", "apply", None, 60)
    assert taken.owner == "bob"


def test_a_lease_runs_from_the_service_clock_not_a_machine_clock_that_is_behind(
    opened: Open, api: TestApi, tmp_path: Path
) -> None:
    """The service's clock is an hour ahead of this machine's. A lease that ran from this
    machine's time would have expired, in the service's eyes, before it was taken."""
    api.hold_clock()
    api.advance(3600)
    lease = opened().acquire_lock("alice", "apply", None, 60)
    service_now = datetime.now(UTC) + timedelta(hours=1)
    assert abs((lease.expires - service_now).total_seconds() - 60) < 5, lease  # as written
    second = opened(root=tmp_path / "other")
    with pytest.raises(LockHeldError):
        second.acquire_lock("bob", "apply", None, 60)
    api.advance(60)
    assert second.acquire_lock("bob", "apply", None, 60).owner == "bob"


def test_a_lease_made_and_released_between_the_read_and_the_create_is_read_again(
    opened: Open, api: TestApi
) -> None:
    """The create is refused (412) but the lease is gone when looked at: it changed hands
    meanwhile. The read is made again; after three such refusals the lock is said to be busy."""
    provider = opened()
    creates = {"match": {"method": "PATCH", "path": LEASES}, "status": 412}
    api.faults({**creates, "times": 1})
    assert provider.acquire_lock("alice", "apply", None, 60).owner == "alice"
    assert provider.release_lock(provider.lock_status().id)  # type: ignore[union-attr]
    api.faults({**creates, "times": None})
    with pytest.raises(LockHeldError, match="changed hands 3 times") as caught:
        provider.acquire_lock("alice", "apply", None, 60)
    assert caught.value.exit_code == 5 and "--lock-timeout" in caught.value.hint
    assert api.stats()["faults_fired"] == 4


def test_a_lease_taken_over_is_a_new_one_its_old_holder_can_neither_renew_nor_release(
    opened: Open, api: TestApi, tmp_path: Path
) -> None:
    """Dataverse keeps a row's id when it is patched (the emulator does so for a patch by the
    same owner: one user's two applies on one machine). Taken over by a patch, the lease kept
    its id: the apply that had lost it renewed the new holder's lease, released it at its end,
    and both applies ran to the end at once."""
    first, second = opened(), opened(root=tmp_path / "other")
    lost = first.acquire_lock("ana@vm", "apply", "p1", 30)
    api.advance(60)
    taken = second.acquire_lock("ana@vm", "apply", "p2", 30)
    assert taken.id != lost.id
    with pytest.raises(LockHeldError):
        first.renew_lock(lost.id, 30)
    assert first.release_lock(lost.id) is False
    held = second.lock_status()
    assert held is not None and (held.id, held.plan_id) == (taken.id, "p2")


def test_an_apply_whose_lease_was_taken_over_stops_at_its_next_renewal(
    opened: Open, api: TestApi, tmp_path: Path
) -> None:
    import time

    from dwconf.apply.fence import Keeper
    from dwconf.errors import LeaseLostError

    first, second = opened(), opened(root=tmp_path / "other")
    lease = first.acquire_lock("ana@vm", "apply", "p1", 3.0)
    with Keeper(first, lease, 3.0, taken_at=time.monotonic()) as keeper:
        api.advance(60)  # the holder was suspended, or the service's clock moved on
        second.acquire_lock("ana@vm", "apply", "p2", 60)
        _keeper_until(keeper, lambda: bool(keeper.lost))
        with pytest.raises(LeaseLostError, match="the service says so"):
            keeper.check()
    held = second.lock_status()
    assert held is not None and held.plan_id == "p2"


# A dead server -------------------------------------------------------------------------------


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_refused_connection_ends_after_a_short_bounded_retry() -> None:
    from dwconf.providers.dynamics.errors import Unreachable
    from dwconf.providers.dynamics.transport import Request, Transport, ssl_context

    sleeps = Sleeps()
    transport = Transport(verify=ssl_context(None), sleep=sleeps)  # the default policy
    try:
        with pytest.raises(Unreachable) as caught:
            transport.send(Request("read the lock", "GET", f"https://127.0.0.1:{_free_port()}/"))
    finally:
        transport.close()
    assert len(sleeps.waits) == 2 and sum(sleeps.waits) <= 1.2, sleeps.waits
    assert caught.value.halts_apply and not caught.value.sent


def test_an_untrusted_certificate_is_not_retried(server: Running) -> None:
    from dwconf.providers.dynamics.errors import Unreachable
    from dwconf.providers.dynamics.transport import Request, Transport, ssl_context

    sleeps = Sleeps()
    transport = Transport(verify=ssl_context(None), sleep=sleeps)  # not the emulator's CA
    try:
        with pytest.raises(Unreachable) as caught:
            transport.send(Request("read the lock", "GET", f"{server.base_url}/_emulator/state"))
    finally:
        transport.close()
    assert sleeps.waits == []
    assert "provider.ca_file" in caught.value.hint


# The lease's fence over HTTP -------------------------------------------------------------------


def _keeper_until(keeper: object, done: Callable[[], bool], limit: float = 10.0) -> None:
    import time

    deadline = time.monotonic() + limit
    while not done():
        assert time.monotonic() < deadline, vars(keeper)
        time.sleep(0.05)


def test_a_dropped_renewal_is_retried_and_the_lease_is_kept(opened: Open, api: TestApi) -> None:
    import time

    from dwconf.apply.fence import Keeper

    provider = opened()
    lease = provider.acquire_lock("ci", "apply", "p1", 3.0)
    renewals = {"match": {"method": "PATCH", "path": LEASES}, "drop": True, "times": 1}
    api.faults(renewals)
    with Keeper(provider, lease, 3.0, taken_at=time.monotonic()) as keeper:
        _keeper_until(keeper, lambda: keeper.renewal_failures >= 1)
        time.sleep(2.5)  # past the first lease's expiry: only a renewal keeps it
        keeper.check()  # still ours: the retry renewed it
    assert keeper.lost == "" and api.stats()["faults_fired"] == 1
    held = provider.lock_status()
    assert held is not None and held.id == lease.id and held.expires > lease.expires


def test_renewals_that_keep_failing_lose_the_lease_before_it_expires(
    opened: Open, api: TestApi
) -> None:
    import time

    from dwconf.apply.fence import Keeper
    from dwconf.errors import LeaseLostError

    provider = opened()
    asked = time.monotonic()  # the lease runs from before the request that took it
    lease = provider.acquire_lock("ci", "apply", "p1", 3.0)
    api.faults({"match": {"method": "PATCH", "path": LEASES}, "status": 503, "times": None})
    with Keeper(provider, lease, 3.0, taken_at=asked) as keeper:
        _keeper_until(keeper, lambda: bool(keeper.lost))
        lost_at = time.monotonic()
        with pytest.raises(LeaseLostError) as caught:
            keeper.check()
    assert caught.value.exit_code == 5 and "renewing it failed" in caught.value.message
    # Measured on the holder's own clock: the emulator shows expiry in whole seconds.
    assert lost_at < asked + 3.0, "the holder trusted its lease until it had expired"
