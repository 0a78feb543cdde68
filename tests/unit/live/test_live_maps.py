"""Map versions and the run-time life of maps: start, initial sync, stop, pause, resume."""

from __future__ import annotations

import pytest

from dwconf.live import Environment, RunState
from dwconf.live.errors import (
    DependencyNotRunning,
    InvalidRequest,
    MapBusy,
    MapNotFound,
    MapNotStopped,
    MapStateConflict,
    MapVersionNotFound,
    MasterRequired,
    NoActiveVersion,
)

CURRENCIES = "Currencies (transactioncurrencies)"
COMPANIES = "Legal entities (cdm_companies)"
CUSTOMERS = "Customers V3 (accounts)"
LOOKUP_FAILURE = (
    "Unable to complete initial data sync. Error: dual-write failure - plugin registration "
    "failed: Unable to build dual-write lookup metadata. Error object reference not set to an "
    "instance of an object."
)


def run(env: Environment, *names: str) -> None:
    for name in names:
        env.start_map(name)


# Versions ------------------------------------------------------------------------------------


def test_switch_version_sets_the_active_template(linked: Environment) -> None:
    live = linked.switch_version(CUSTOMERS, "1.0.0.5")
    assert live.active_version == "1.0.0.5"
    assert linked.read().active_definition(CUSTOMERS)["version"] == "1.0.0.5"


def test_switch_to_the_active_version_is_a_no_op_even_while_running(linked: Environment) -> None:
    run(linked, CURRENCIES)
    assert linked.switch_version(CURRENCIES, "1.0.0.0").state is RunState.RUNNING


@pytest.mark.parametrize(
    ("prepare", "label"),
    [
        (lambda e: run(e, CURRENCIES, COMPANIES, CUSTOMERS), "Running"),
        (lambda e: (run(e, CURRENCIES, COMPANIES, CUSTOMERS), e.pause_map(CUSTOMERS)), "Paused"),
        (
            lambda e: (run(e, CURRENCIES, COMPANIES), e.start_map(CUSTOMERS, True, "dataverse")),
            "Initializing",
        ),
    ],
)
def test_switch_version_is_refused_unless_stopped(linked: Environment, prepare, label) -> None:
    prepare(linked)
    with pytest.raises(MapNotStopped) as caught:
        linked.switch_version(CUSTOMERS, "1.0.0.5")
    assert caught.value.message == (
        f"Table map '{CUSTOMERS}' is {label}. Stop the table map (Not running) before you edit "
        "it, otherwise changes aren't saved."
    )
    assert caught.value.http_status == 409


def test_switch_to_an_unknown_version_is_refused(linked: Environment) -> None:
    with pytest.raises(MapVersionNotFound) as caught:
        linked.switch_version(CUSTOMERS, "9.9.9.9")
    assert caught.value.message == (
        f"Table map '{CUSTOMERS}' has no version '9.9.9.9'. Available versions: 1.0.0.0, 1.0.0.5."
    )


def test_unknown_map_is_refused(linked: Environment) -> None:
    with pytest.raises(MapNotFound) as caught:
        linked.start_map("Units (uoms)")
    assert caught.value.message == "Table map 'Units (uoms)' was not found."
    assert caught.value.hint == "Apply the solution that carries it."


# Start -----------------------------------------------------------------------------------------


def test_start_without_initial_sync_runs_at_once(linked: Environment) -> None:
    live = linked.start_map(CURRENCIES)
    assert live.state is RunState.RUNNING
    assert live.last_request is not None
    assert (live.last_request.action, live.last_request.state) == ("start", "completed")


def test_start_a_running_map_is_a_no_op(linked: Environment) -> None:
    first = linked.start_map(CURRENCIES)
    assert linked.start_map(CURRENCIES) == first


def test_initial_sync_goes_through_initializing_until_polled(linked: Environment) -> None:
    live = linked.start_map(CURRENCIES, initial_sync=True, master="finops")
    assert live.state is RunState.INITIALIZING
    assert linked.read().map(CURRENCIES).state is RunState.INITIALIZING
    assert live.master == "finops"
    assert live.last_request.state == "waiting"
    polled = linked.poll(CURRENCIES)
    assert polled.state is RunState.RUNNING
    assert polled.last_request.state == "completed"
    assert polled.last_request.id == live.last_request.id
    assert linked.poll(CURRENCIES) == polled


def test_transitions_can_take_several_polls(clock, package, table_map) -> None:
    with Environment.memory(now=clock, polls=3) as env:
        env.import_solution(package(maps=[table_map("Units (uoms)")]))
        env.apply_solution("contoso_Maps")
        env.switch_version("Units (uoms)", "1.0.0.0")
        env.start_map("Units (uoms)", True, "dataverse")
        assert [env.poll("Units (uoms)").state for _ in range(3)] == [
            RunState.INITIALIZING,
            RunState.INITIALIZING,
            RunState.RUNNING,
        ]


def test_start_again_while_initializing_is_a_no_op(linked: Environment) -> None:
    first = linked.start_map(CURRENCIES, True, "dataverse")
    assert linked.start_map(CURRENCIES, True, "dataverse") == first


def test_advance_polls_every_transitional_map(linked: Environment) -> None:
    linked.start_map(CURRENCIES, True, "dataverse")
    linked.start_map(COMPANIES, True, "finops")
    moved = linked.advance()
    assert [(m.name, m.state) for m in moved] == [
        (CURRENCIES, RunState.RUNNING),
        (COMPANIES, RunState.RUNNING),
    ]
    assert linked.advance() == ()


def test_start_is_refused_while_a_dependency_is_not_running(linked: Environment) -> None:
    run(linked, CURRENCIES)
    before = linked.read()
    with pytest.raises(DependencyNotRunning) as caught:
        linked.start_map(CUSTOMERS, True, "dataverse")
    assert caught.value.message == LOOKUP_FAILURE
    assert caught.value.hint == f"Run '{COMPANIES}' first: '{CUSTOMERS}' depends on it."
    assert caught.value.dependency == COMPANIES
    assert linked.read() == before


def test_a_dependency_still_initializing_does_not_count(linked: Environment) -> None:
    run(linked, CURRENCIES)
    linked.start_map(COMPANIES, True, "finops")
    with pytest.raises(DependencyNotRunning):
        linked.start_map(CUSTOMERS)
    linked.poll(COMPANIES)
    assert linked.start_map(CUSTOMERS).state is RunState.RUNNING


def test_start_without_an_active_version_is_refused(env: Environment, package) -> None:
    env.import_solution(package())
    env.apply_solution("contoso_Maps")
    with pytest.raises(NoActiveVersion) as caught:
        env.start_map(CURRENCIES)
    assert caught.value.message == (
        f"Table map '{CURRENCIES}' has no active version. Choose a table map version before you "
        "run it."
    )


def test_initial_sync_needs_a_master(linked: Environment) -> None:
    with pytest.raises(MasterRequired) as caught:
        linked.start_map(CURRENCIES, initial_sync=True)
    assert caught.value.message == (
        f"Initial sync of table map '{CURRENCIES}' needs a master: dataverse or finops."
    )
    with pytest.raises(InvalidRequest) as invalid:
        linked.start_map(CURRENCIES, True, "crm")  # type: ignore[arg-type]
    assert invalid.value.message == "'crm' is not a master; use dataverse or finops."


def test_initial_sync_fails_above_40_legal_entities(linked: Environment) -> None:
    linked.set_legal_entities([f"C{n:03}" for n in range(41)])
    started = linked.start_map(CURRENCIES, True, "finops")
    assert started.state is RunState.INITIALIZING
    failed = linked.poll(CURRENCIES)
    project = failed.project_id
    expected = (
        "Dual-write failure - Plugin registration failed: [(Unable to get partition map for "
        f"project {project} Error Exceeds the maximum partitions allowed for mapping {project})]"
    )
    assert failed.state is RunState.NOT_RUNNING
    assert failed.last_error == expected
    assert (failed.last_request.state, failed.last_request.error) == ("error", expected)


def test_40_legal_entities_and_live_sync_are_fine(linked: Environment) -> None:
    linked.set_legal_entities([f"C{n:03}" for n in range(41)])
    assert linked.start_map(CURRENCIES).state is RunState.RUNNING
    linked.set_legal_entities([f"C{n:03}" for n in range(40)])
    linked.start_map(COMPANIES, True, "finops")
    assert linked.poll(COMPANIES).state is RunState.RUNNING


def test_a_successful_start_clears_the_last_error(linked: Environment) -> None:
    linked.set_map_error(CURRENCIES, "Unable to write data to entity transactioncurrencies.")
    assert linked.get_map(CURRENCIES).last_error is not None
    assert linked.start_map(CURRENCIES).last_error is None


def test_a_paused_map_resumes_rather_than_starts(linked: Environment) -> None:
    run(linked, CURRENCIES)
    linked.pause_map(CURRENCIES)
    with pytest.raises(MapStateConflict) as caught:
        linked.start_map(CURRENCIES)
    assert caught.value.message == (
        f"Table map '{CURRENCIES}' is Paused. Run isn't available in this state."
    )
    assert caught.value.hint == "Resume the table map instead."


# Stop, pause, resume ---------------------------------------------------------------------------


def test_stop_returns_a_map_to_not_running_and_is_idempotent(linked: Environment) -> None:
    run(linked, CURRENCIES)
    stopped = linked.stop_map(CURRENCIES)
    assert stopped.state is RunState.NOT_RUNNING
    assert stopped.last_request.action == "stop"
    assert linked.stop_map(CURRENCIES) == stopped


def test_pause_keeps_queued_records_and_resume_drains_them(linked: Environment, clock) -> None:
    run(linked, CURRENCIES)
    paused = linked.pause_map(CURRENCIES)
    assert (paused.state, paused.paused_since) == (RunState.PAUSED, clock.now)
    clock.advance(hours=2)
    assert linked.set_queued(CURRENCIES, 1200, paused.paused_since).queued == 1200
    assert linked.pause_map(CURRENCIES).queued == 1200
    resuming = linked.resume_map(CURRENCIES)
    assert (resuming.state, resuming.queued) == (RunState.RESUMING, 1200)
    assert linked.resume_map(CURRENCIES) == resuming
    running = linked.poll(CURRENCIES)
    assert (running.state, running.queued, running.paused_since) == (RunState.RUNNING, 0, None)
    assert linked.resume_map(CURRENCIES) == running


def test_stopping_a_paused_map_drops_its_queue(linked: Environment) -> None:
    run(linked, CURRENCIES)
    linked.pause_map(CURRENCIES)
    linked.set_queued(CURRENCIES, 5)
    stopped = linked.stop_map(CURRENCIES)
    assert (stopped.state, stopped.queued, stopped.paused_since) == (
        RunState.NOT_RUNNING,
        0,
        None,
    )


def test_pause_and_resume_a_map_that_is_not_running_are_refused(linked: Environment) -> None:
    with pytest.raises(MapStateConflict) as pause:
        linked.pause_map(CURRENCIES)
    assert pause.value.message == (
        f"Table map '{CURRENCIES}' is Not running. Pause isn't available in this state."
    )
    with pytest.raises(MapStateConflict) as resume:
        linked.resume_map(CURRENCIES)
    assert resume.value.message == (
        f"Table map '{CURRENCIES}' is Not running. Resume isn't available in this state."
    )


@pytest.mark.parametrize("action", ["stop_map", "pause_map", "resume_map"])
def test_no_actions_while_initializing(linked: Environment, action: str) -> None:
    linked.start_map(CURRENCIES, True, "dataverse")
    with pytest.raises(MapBusy) as caught:
        getattr(linked, action)(CURRENCIES)
    assert caught.value.message == (
        f"Table map '{CURRENCIES}' is Initializing. No actions are available until it finishes."
    )


@pytest.mark.parametrize("action", ["stop_map", "pause_map"])
def test_no_actions_while_resuming(linked: Environment, action: str) -> None:
    run(linked, CURRENCIES)
    linked.pause_map(CURRENCIES)
    linked.resume_map(CURRENCIES)
    with pytest.raises(MapBusy):
        getattr(linked, action)(CURRENCIES)
    with pytest.raises(MapBusy):
        linked.start_map(CURRENCIES)


def test_negative_queue_is_refused(linked: Environment) -> None:
    with pytest.raises(InvalidRequest):
        linked.set_queued(CURRENCIES, -1)
