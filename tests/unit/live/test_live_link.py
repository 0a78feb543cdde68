"""The link: integration keys, legal entities, alert settings and Reset link."""

from __future__ import annotations

import pytest

from dwconf.live import AlertSetting, Environment, RunState
from dwconf.live.errors import (
    DuplicateLegalEntity,
    InvalidRequest,
    ResetRefused,
    TooManyLegalEntities,
)

CURRENCIES = "Currencies (transactioncurrencies)"
COMPANIES = "Legal entities (cdm_companies)"
DUPLICATE = "Saving connection set failed! An item with the same key has already been added."
APP_ERRORS = AlertSetting("app-errors", "application", 10, 15, "pause", ("ops@contoso.com",))


# Integration keys ------------------------------------------------------------------------------


def test_set_integration_keys_and_again_is_a_no_op(env: Environment) -> None:
    columns = ["accountnumber", "msdyn_company.cdm_companycode"]
    assert env.set_integration_keys("accounts", columns) is True
    assert env.set_integration_keys("accounts", columns) is False
    assert env.read().integration_keys == {"accounts": tuple(columns)}


def test_integration_key_order_matters_and_empty_removes(env: Environment) -> None:
    env.set_integration_keys("accounts", ["a", "b"])
    assert env.set_integration_keys("accounts", ["b", "a"]) is True
    assert env.read().integration_keys["accounts"] == ("b", "a")
    assert env.set_integration_keys("accounts", []) is True
    assert env.read().integration_keys == {}
    assert env.set_integration_keys("accounts", []) is False


@pytest.mark.parametrize(
    ("table", "columns", "message"),
    [
        ("", ["a"], "An integration key needs a Dataverse table (entity set name)."),
        ("uoms", ["msdyn_symbol", " "], "The integration key of 'uoms' has a blank column."),
        ("uoms", ["msdyn_symbol"] * 2, "The integration key of 'uoms' lists a column twice."),
    ],
)
def test_invalid_integration_keys_are_refused(
    env: Environment, table: str, columns: list[str], message: str
) -> None:
    with pytest.raises(InvalidRequest) as caught:
        env.set_integration_keys(table, columns)
    assert caught.value.message == message


# Legal entities --------------------------------------------------------------------------------


def test_set_legal_entities_keeps_order_and_is_idempotent(env: Environment) -> None:
    assert env.set_legal_entities(["USMF", "DEMF", "ESMF"]) is True
    assert env.set_legal_entities(["USMF", "DEMF", "ESMF"]) is False
    assert env.read().legal_entities == ("USMF", "DEMF", "ESMF")
    assert env.set_legal_entities([]) is True
    assert env.read().legal_entities == ()


def test_250_legal_entities_are_allowed_but_not_251(env: Environment) -> None:
    assert env.set_legal_entities([f"C{n:03}" for n in range(250)]) is True
    with pytest.raises(TooManyLegalEntities) as caught:
        env.set_legal_entities([f"C{n:03}" for n in range(251)])
    assert caught.value.message == (
        "Exceeds the maximum partitions allowed: 251 legal entities, at most 250 can be linked."
    )
    assert len(env.read().legal_entities) == 250


@pytest.mark.parametrize("codes", [["USMF", "usmf"], ["USMF", ""], ["USMF", "DEMF", "USMF"]])
def test_duplicate_or_blank_legal_entities_are_refused(env: Environment, codes) -> None:
    with pytest.raises(DuplicateLegalEntity) as caught:
        env.set_legal_entities(codes)
    assert caught.value.message == DUPLICATE


# Alerts ----------------------------------------------------------------------------------------


def test_set_alerts_replaces_them_and_again_is_a_no_op(env: Environment) -> None:
    conn = AlertSetting("connection", "connection", 1, 5, "stop")
    assert env.set_alerts([APP_ERRORS, conn]) is True
    assert env.set_alerts([APP_ERRORS, conn]) is False
    assert env.read().alerts == (APP_ERRORS, conn)
    assert env.set_alerts([conn]) is True
    assert env.read().alerts == (conn,)


@pytest.mark.parametrize(
    ("alerts", "message"),
    [
        (
            [AlertSetting("a", "any", 1, 1, "restart")],
            "Alert setting 'a' has action 'restart'; use pause, stop or none.",
        ),
        (
            [AlertSetting("a", "any", 0, 1, "none")],
            "Alert setting 'a' needs a threshold and a time window of at least 1.",
        ),
        ([APP_ERRORS, APP_ERRORS], "Alert setting 'app-errors' is blank or listed twice."),
    ],
)
def test_invalid_alerts_are_refused(env: Environment, alerts, message: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        env.set_alerts(alerts)
    assert caught.value.message == message
    assert env.read().alerts == ()


# Reset link ------------------------------------------------------------------------------------


def _configure(env: Environment) -> None:
    env.set_integration_keys("accounts", ["accountnumber"])
    env.set_legal_entities(["USMF"])
    env.set_alerts([APP_ERRORS])


def test_reset_link_with_every_map_stopped_clears_the_link(linked: Environment) -> None:
    _configure(linked)
    linked.add_record(who="ci", plan_hash="p1", git_commit=None, solution_versions={}, desired={})
    lease = linked.acquire_lock("ci", "apply", None, 60)
    solutions_before = linked.read().solutions
    linked.reset_link()
    state = linked.read()
    assert (state.maps, state.templates, state.integration_keys) == ((), (), {})
    assert (state.legal_entities, state.alerts) == ((), ())
    assert state.solutions == solutions_before
    assert len(state.records) == 1 and state.lock == lease


def test_reset_link_is_refused_while_maps_run(linked: Environment) -> None:
    _configure(linked)
    linked.start_map(CURRENCIES)
    linked.start_map(COMPANIES, True, "finops")
    before = linked.read()
    with pytest.raises(ResetRefused) as caught:
        linked.reset_link()
    assert caught.value.message == (
        "Table maps are running. Stop all table maps before you reset the link, or select "
        "Force Reset."
    )
    assert caught.value.hint == f"Not stopped: {CURRENCIES}, {COMPANIES}"
    assert linked.read() == before


def test_force_reset_while_maps_run_and_apply_again(linked: Environment) -> None:
    linked.start_map(CURRENCIES)
    linked.reset_link(force=True, legal_entities=["USMF", "DEMF"])
    assert linked.read().maps == ()
    assert linked.read().legal_entities == ("USMF", "DEMF")
    linked.apply_solution("contoso_Maps")
    live = linked.get_map(CURRENCIES)
    assert (live.state, live.active_version) == (RunState.NOT_RUNNING, None)


def test_reset_link_checks_the_new_legal_entities(linked: Environment) -> None:
    with pytest.raises(DuplicateLegalEntity):
        linked.reset_link(legal_entities=["USMF", "USMF"])
    assert linked.read().maps != ()
