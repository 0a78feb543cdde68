"""The provider contract: what every provider does, driven through the `LiveWriter` protocol only.

Each test runs once per provider in `conftest.HARNESSES`; the expected refusals are the live
model's (the real service's texts), which a remote provider must reproduce.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

import pytest

from dwconf.errors import ExitCode, LockHeldError, ProviderError
from dwconf.live import ImportResult, LiveMap, RunState, SolutionPackage
from dwconf.live.errors import LOOKUP_METADATA_FAILURE
from dwconf.providers import LiveWriter
from tests.contract.conftest import Harness
from tests.contract.support import ALERT, CURRENCIES, CUSTOMERS, SOLUTION, UPGRADE, package

TIMEOUT = 30.0


@pytest.fixture
def deployed(provider: LiveWriter) -> LiveWriter:
    """Both maps applied and on version 1.0.0.0, not running."""
    provider.import_solution(package())
    provider.apply_solution(SOLUTION)
    for name in (CURRENCIES, CUSTOMERS):
        provider.switch_version(name, "1.0.0.0")
    return provider


def live_map(provider: LiveWriter, name: str) -> LiveMap:
    found = provider.read().map(name)
    assert found is not None, name
    return found


def run_both(provider: LiveWriter) -> None:
    provider.start_map(CURRENCIES)
    provider.start_map(CUSTOMERS)


# Reading -------------------------------------------------------------------------------------


def test_the_seed_is_a_newly_linked_environment(provider: LiveWriter) -> None:
    state = provider.read()
    core = state.solution("DualWriteCore")
    assert core is not None and core.managed
    assert state.maps == () and state.templates == ()
    assert state.integration_keys == {} and state.legal_entities == () and state.alerts == ()
    assert (state.lock, state.records) == (None, ())
    assert provider.lock_status() is None and provider.records() == ()
    assert len(state.fingerprint) == 64
    assert provider.read().fingerprint == state.fingerprint


# Solutions -----------------------------------------------------------------------------------


def test_import_and_apply_make_the_maps_available(provider: LiveWriter) -> None:
    assert provider.import_solution(package()) is ImportResult.INSTALLED
    installed = provider.read().solution(SOLUTION)
    assert installed is not None and installed.version == "1.0.0.0"
    assert sorted(m.name for m in installed.maps) == [CURRENCIES, CUSTOMERS]
    templates = provider.apply_solution(SOLUTION)
    assert sorted((t.name, t.version, t.solution) for t in templates) == [
        (CURRENCIES, "1.0.0.0", SOLUTION),
        (CUSTOMERS, "1.0.0.0", SOLUTION),
    ]
    customers = live_map(provider, CUSTOMERS)
    assert (customers.active_version, customers.state) == (None, RunState.NOT_RUNNING)
    assert customers.versions == ("1.0.0.0",)


def test_an_import_without_its_required_solution_is_refused(provider: LiveWriter) -> None:
    orphan = SolutionPackage("contoso_Orphan", "1.0.0.0", True, "contoso", {"contoso_Base": "1.0"})
    before = provider.read().fingerprint
    with pytest.raises(ProviderError) as caught:
        provider.import_solution(orphan)
    assert caught.value.message == (
        "The following solution cannot be imported: contoso_Orphan. Some dependencies are "
        "missing: solution 'contoso_Base' version '1.0' or later is required."
    )
    assert provider.read().fingerprint == before


def test_an_upgrade_adds_a_version_to_switch_to(deployed: LiveWriter) -> None:
    assert deployed.import_solution(UPGRADE) is ImportResult.UPGRADED
    deployed.apply_solution(SOLUTION)
    assert live_map(deployed, CUSTOMERS).versions == ("1.0.0.0", "1.1.0.0")
    switched = deployed.switch_version(CUSTOMERS, "1.1.0.0")
    assert switched.active_version == "1.1.0.0"
    assert deployed.read().active_definition(CUSTOMERS)["version"] == "1.1.0.0"
    assert deployed.switch_version(CUSTOMERS, "1.0.0.0").active_version == "1.0.0.0"
    by_publisher = deployed.switch_version(CUSTOMERS, "1.1.0.0", author="contoso")
    assert by_publisher.active_version == "1.1.0.0"  # the solution's publisher: its author
    with pytest.raises(ProviderError, match=re.escape("has no version '9.9.9.9'")):
        deployed.switch_version(CUSTOMERS, "9.9.9.9")


# Maps ----------------------------------------------------------------------------------------


def test_a_map_cannot_start_before_the_map_it_depends_on(deployed: LiveWriter) -> None:
    with pytest.raises(ProviderError) as caught:
        deployed.start_map(CUSTOMERS)
    assert caught.value.message == LOOKUP_METADATA_FAILURE
    assert CURRENCIES in caught.value.hint
    assert live_map(deployed, CUSTOMERS).state is RunState.NOT_RUNNING


def test_the_lifecycle_of_two_dependent_maps(deployed: LiveWriter) -> None:
    started = deployed.start_map(CURRENCIES, initial_sync=True, master="finops")
    assert started.state in (RunState.INITIALIZING, RunState.RUNNING)
    currencies = deployed.wait(CURRENCIES, TIMEOUT)
    assert (currencies.state, currencies.master) == (RunState.RUNNING, "finops")
    assert deployed.start_map(CUSTOMERS).state is RunState.RUNNING

    assert deployed.pause_map(CUSTOMERS).state is RunState.PAUSED
    assert deployed.resume_map(CUSTOMERS).state in (RunState.RESUMING, RunState.RUNNING)
    assert deployed.wait(CUSTOMERS, TIMEOUT).state is RunState.RUNNING

    assert deployed.stop_map(CUSTOMERS).state is RunState.NOT_RUNNING
    assert deployed.stop_map(CURRENCIES).state is RunState.NOT_RUNNING


def test_a_running_map_cannot_switch_version(deployed: LiveWriter) -> None:
    deployed.import_solution(UPGRADE)
    deployed.apply_solution(SOLUTION)
    run_both(deployed)
    with pytest.raises(ProviderError) as caught:
        deployed.switch_version(CUSTOMERS, "1.1.0.0")
    assert caught.value.message.startswith(f"Table map '{CUSTOMERS}' is Running. Stop the table")
    assert live_map(deployed, CUSTOMERS).active_version == "1.0.0.0"


def test_wait_returns_a_settled_map_as_it_is(deployed: LiveWriter) -> None:
    assert deployed.wait(CURRENCIES, TIMEOUT).state is RunState.NOT_RUNNING
    with pytest.raises(ProviderError, match="was not found"):
        deployed.wait("Nothing (nothing)", TIMEOUT)


# Link ----------------------------------------------------------------------------------------


def test_link_settings_are_read_back(provider: LiveWriter) -> None:
    assert provider.set_integration_keys("accounts", ["accountnumber", "msdyn_company"])
    assert provider.set_integration_keys("transactioncurrencies", ["isocurrencycode"])
    provider.reset_link(legal_entities=["USMF", "DEMF"])
    state = provider.read()
    assert dict(state.integration_keys) == {}, "Reset link removes the integration keys"
    assert state.legal_entities == ("USMF", "DEMF")
    assert provider.set_integration_keys("transactioncurrencies", ["isocurrencycode"])
    assert provider.set_integration_keys("transactioncurrencies", [])
    assert "transactioncurrencies" not in provider.read().integration_keys


def test_alert_settings_made_in_the_workspace_are_read(
    harness: Harness, provider: LiveWriter
) -> None:
    assert harness.set_alerts is not None
    harness.set_alerts([ALERT])
    (alert,) = provider.read().alerts
    assert alert.without_notify() == ALERT.without_notify()
    assert alert.notify in (ALERT.notify, None), "recipients are read, or unknown"
    assert provider.set_alerts([ALERT]) is False, "the link has them already"


def test_alert_settings_are_written_or_refused_as_the_provider_says(provider: LiveWriter) -> None:
    before = provider.read().fingerprint
    if "alert" in provider.read_only():
        with pytest.raises(ProviderError, match="can't write alert settings") as caught:
            provider.set_alerts([ALERT])
        assert "Set them in the Dual-write workspace" in caught.value.message
        assert provider.read().fingerprint == before
    else:
        assert provider.set_alerts([ALERT]) is True
        assert provider.read().alerts == (ALERT,)


def test_a_duplicate_legal_entity_is_refused(provider: LiveWriter) -> None:
    with pytest.raises(ProviderError, match="An item with the same key has already been added"):
        provider.reset_link(legal_entities=["USMF", "usmf"])
    assert provider.read().legal_entities == ()


def test_reset_link_keeps_solutions_records_and_lock(
    harness: Harness, deployed: LiveWriter
) -> None:
    deployed.set_integration_keys("accounts", ["accountnumber"])
    assert harness.set_alerts is not None
    harness.set_alerts([ALERT])
    record = deployed.add_record(
        who="ci", plan_hash="h1", git_commit=None, solution_versions={}, desired={}
    )
    lease = deployed.acquire_lock("ci", "apply", None, 300)
    run_both(deployed)
    with pytest.raises(ProviderError, match="Stop all table maps before you reset the link"):
        deployed.reset_link()
    deployed.reset_link(force=True, legal_entities=["DEMF"])
    state = deployed.read()
    assert (state.maps, state.templates, dict(state.integration_keys), state.alerts) == (
        (),
        (),
        {},
        (),
    )
    assert state.legal_entities == ("DEMF",)
    assert state.solution(SOLUTION) is not None
    assert state.records == (record,) and state.lock == lease
    deployed.apply_solution(SOLUTION)
    assert live_map(deployed, CUSTOMERS).state is RunState.NOT_RUNNING


# Idempotence and the fingerprint -------------------------------------------------------------

Step = Callable[[LiveWriter], object]

CHANGES: list[tuple[str, Step]] = [
    ("import", lambda p: p.import_solution(package())),
    ("apply", lambda p: p.apply_solution(SOLUTION)),
    ("switch currencies", lambda p: p.switch_version(CURRENCIES, "1.0.0.0")),
    ("switch customers", lambda p: p.switch_version(CUSTOMERS, "1.0.0.0")),
    ("start currencies", lambda p: p.start_map(CURRENCIES)),
    ("start customers", lambda p: p.start_map(CUSTOMERS)),
    ("pause customers", lambda p: p.pause_map(CUSTOMERS)),
    ("stop customers", lambda p: p.stop_map(CUSTOMERS)),
    ("keys", lambda p: p.set_integration_keys("accounts", ["accountnumber"])),
    ("reset link", lambda p: p.reset_link(True, ["USMF"])),
    ("upgrade", lambda p: p.import_solution(UPGRADE)),
]


def test_the_fingerprint_moves_with_every_change(provider: LiveWriter) -> None:
    previous = provider.read().fingerprint
    for label, change in CHANGES:
        change(provider)
        fingerprint = provider.read().fingerprint
        assert fingerprint != previous, f"{label} left the fingerprint as it was"
        previous = fingerprint


def test_repeating_a_change_is_a_no_op(provider: LiveWriter) -> None:
    for label, change in CHANGES:
        first = change(provider)
        before = provider.read()
        again = change(provider)
        after = provider.read()
        assert after.fingerprint == before.fingerprint, label
        if isinstance(first, bool):
            assert again is False, label
        elif isinstance(first, ImportResult):
            assert again is ImportResult.UNCHANGED, label
        elif isinstance(first, LiveMap):
            assert isinstance(again, LiveMap) and again.state is first.state, label
        assert after.maps == before.maps, label


def test_resume_while_running_and_start_while_running_change_nothing(deployed: LiveWriter) -> None:
    run_both(deployed)
    before = deployed.read()
    assert deployed.resume_map(CUSTOMERS).state is RunState.RUNNING
    assert deployed.start_map(CUSTOMERS, initial_sync=True, master="dataverse").state is (
        RunState.RUNNING
    )
    assert deployed.read().fingerprint == before.fingerprint


def test_the_lock_and_records_leave_the_fingerprint_alone(deployed: LiveWriter) -> None:
    before = deployed.read().fingerprint
    lease = deployed.acquire_lock("ci", "apply", "plan-1", 300)
    record = deployed.add_record(
        who="ci",
        plan_hash="h1",
        git_commit="abc",
        solution_versions={SOLUTION: "1.0.0.0"},
        desired={},
    )
    deployed.set_record_status(record.id, "failed")
    deployed.renew_lock(lease.id, 600)
    assert deployed.read().fingerprint == before
    deployed.release_lock(lease.id)
    assert deployed.read().fingerprint == before


# Lock ----------------------------------------------------------------------------------------


def test_the_lock_is_create_only(provider: LiveWriter) -> None:
    lease = provider.acquire_lock("alice@ci", "apply", "plan-1", 300)
    assert (lease.owner, lease.operation, lease.plan_id) == ("alice@ci", "apply", "plan-1")
    assert lease.expires - lease.created == timedelta(seconds=300)
    assert provider.lock_status() == lease == provider.read().lock
    with pytest.raises(LockHeldError) as caught:
        provider.acquire_lock("bob", "apply", "plan-2", 300)
    assert isinstance(caught.value, ProviderError)
    assert caught.value.exit_code is ExitCode.LOCKED and int(caught.value.exit_code) == 5
    assert "alice@ci" in caught.value.message and lease.id in caught.value.message
    assert provider.lock_status() == lease


def test_the_lock_is_renewed_and_released_by_its_holder(provider: LiveWriter) -> None:
    lease = provider.acquire_lock("alice", "apply", None, 60)
    renewed = provider.renew_lock(lease.id, 600)
    assert (renewed.id, renewed.created) == (lease.id, lease.created)
    assert renewed.expires > lease.expires
    assert provider.release_lock("someone-else") is False
    assert provider.lock_status() == renewed
    assert provider.release_lock(lease.id) is True
    assert provider.lock_status() is None
    assert provider.release_lock(lease.id) is False
    with pytest.raises(ProviderError):
        provider.renew_lock(lease.id, 60)


def test_an_expired_lock_is_taken_over(harness: Harness, provider: LiveWriter) -> None:
    assert harness.clock is not None, f"the {harness.kind} harness must let tests move the clock"
    harness.clock.hold()  # judged to the second: the time the requests take must not count
    old = provider.acquire_lock("alice", "apply", None, 60)
    harness.clock.advance(seconds=59)
    with pytest.raises(LockHeldError):
        provider.acquire_lock("bob", "apply", None, 60)
    harness.clock.advance(seconds=1)
    new = provider.acquire_lock("bob", "apply", "plan-2", 60)
    assert new.id != old.id and new.owner == "bob"
    assert provider.release_lock(old.id) is False
    with pytest.raises(LockHeldError):
        provider.renew_lock(old.id, 60)
    assert provider.lock_status() == new


def test_force_unlock_needs_the_lock_id(provider: LiveWriter) -> None:
    lease = provider.acquire_lock("alice", "apply", None, 300)
    with pytest.raises(ProviderError, match="No lock with ID 'wrong'"):
        provider.force_unlock("wrong")
    assert provider.force_unlock(lease.id) == lease
    assert provider.lock_status() is None
    assert provider.acquire_lock("bob", "apply", None, 300).owner == "bob"


# Records -------------------------------------------------------------------------------------


def test_records_are_added_and_listed_in_order(provider: LiveWriter) -> None:
    first = provider.add_record(
        who="alice",
        plan_hash="h1",
        git_commit="abc123",
        solution_versions={SOLUTION: "1.0.0.0"},
        desired={"map.currencies": {"version": "1.0.0.0"}},
        status="running",
    )
    second = provider.add_record(
        who="bob", plan_hash="h2", git_commit=None, solution_versions={}, desired={}
    )
    assert (first.who, first.git_commit, first.status) == ("alice", "abc123", "running")
    assert first.solution_versions == {SOLUTION: "1.0.0.0"}
    assert provider.record_desired(first.id) == {"map.currencies": {"version": "1.0.0.0"}}
    assert provider.record_desired(second.id) == {}
    assert second.status == "succeeded" and first.id != second.id
    finished = provider.set_record_status(first.id, "succeeded")
    assert finished.status == "succeeded" and finished.id == first.id
    assert provider.records() == (finished, second) == provider.read().records
    with pytest.raises(ProviderError):
        provider.set_record_status("no-such-record", "failed")
    with pytest.raises(ProviderError):
        provider.record_desired("no-such-record")


# Starting over -------------------------------------------------------------------------------


def test_reset_gives_a_fresh_seed(harness: Harness) -> None:
    assert harness.reset is not None, f"the {harness.kind} harness must start environments over"
    provider = harness.open()
    seed = provider.read().fingerprint
    provider.import_solution(package())
    provider.apply_solution(SOLUTION)
    provider.acquire_lock("ci", "apply", None, 300)
    provider.add_record(who="ci", plan_hash="h", git_commit=None, solution_versions={}, desired={})
    provider.close()
    harness.reset()
    fresh = harness.open()
    try:
        state = fresh.read()
        assert state.fingerprint == seed
        assert (state.maps, state.lock, state.records) == ((), None, ())
        assert state.solution(SOLUTION) is None
    finally:
        fresh.close()
