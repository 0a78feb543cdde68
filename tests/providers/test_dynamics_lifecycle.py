"""The map lifecycle as Microsoft's client runs it, over real HTTP against the emulator: a map
without a project is initialized (action 8) before anything needs its project, a start refreshes
the project's tables first, every request is followed to its end, a failed request (state 3) is
an error with its message and the map's address, pauses and resumes of many maps are one request,
and a long wait says how long it has been."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from dwconf.emulator import EnvConfig
from dwconf.live import RunState
from dwconf.providers.base import WaitTimeout
from dwconf.providers.dynamics import DynamicsProvider
from dwconf.providers.dynamics.maps import RequestFailed
from tests.contract.support import CURRENCIES, CUSTOMERS, SOLUTION, UPGRADE, package
from tests.providers.conftest import Open
from tests.providers.support import FAST, TestApi, emulator_config, open_provider, started

GW = "/env/dev/gateway/api/DualWriteManagement/1.0"
START, STATUS = f"POST {GW}/Start", f"GET {GW}/Status/"


def applied(provider: DynamicsProvider) -> DynamicsProvider:
    provider.import_solution(package())
    provider.apply_solution(SOLUTION)
    return provider


def log(api: TestApi) -> list[str]:
    found: list[str] = api.stats()["log"]
    return found


def first(entries: list[str], prefix: str, after: int = -1, suffix: str = "") -> int:
    return next(
        i
        for i, e in enumerate(entries)
        if i > after and e.startswith(prefix) and e.endswith(suffix)
    )


def actions(provider: DynamicsProvider, name: str) -> list[str | None]:
    entry = provider.maps.entry(name)
    (dwmap,) = [m for m in provider.gateway.entities() if (m.detail.pid or "") == entry.pid]
    return [r.action for r in dwmap.detail.lastRequests or []]


def test_a_new_map_is_initialized_refreshed_then_started(opened: Open, api: TestApi) -> None:
    provider = applied(opened())
    assert {m.project_id for m in provider.read().maps} == {""}, "no project before action 8"
    provider.switch_version(CURRENCIES, "1.0.0.0")
    provider.start_map(CURRENCIES, initial_sync=True, master="finops")
    assert provider.wait(CURRENCIES, 10).state is RunState.RUNNING
    calls = log(api)
    initialize = first(calls, START)
    switch = first(calls, f"POST {GW}/SolutionAware/", initialize)
    project = first(calls, f"GET {GW}/", switch, "/FieldMappings")
    refresh = first(calls, "POST /env/dev/gateway/api/Project/DWM-", project, "/Refresh")
    start = first(calls, START, refresh)
    assert initialize < switch < project < refresh < start
    assert STATUS in calls[initialize + 1], "the initialization is followed to its end"
    assert not any("1.0//FieldMappings" in c for c in calls), "never an empty project id"
    assert actions(provider, CURRENCIES) == ["8", "1"]
    emulated = {m["name"]: m for m in api.state()["state"]["maps"]}[CURRENCIES]
    assert emulated["master"] == "finops"  # from conflictResolution.master "AX"


def test_a_map_switched_elsewhere_is_initialized_before_its_start(
    opened: Open, api: TestApi
) -> None:
    provider = applied(opened())
    api.call("switch_version", name=CURRENCIES, version="1.0.0.0")  # in the workspace
    assert provider.read().map(CURRENCIES).project_id == ""  # type: ignore[union-attr]
    assert provider.start_map(CURRENCIES).state is RunState.RUNNING
    assert actions(provider, CURRENCIES) == ["8", "1"]
    assert provider.read().map(CURRENCIES).project_id  # type: ignore[union-attr]


def test_a_failed_request_is_an_error_with_its_message_and_the_map(
    opened: Open, api: TestApi
) -> None:
    provider = applied(opened())
    provider.switch_version(CURRENCIES, "1.0.0.0")
    message = "Unable to get partition map for project DWM-1"
    failed = api.http.post(f"/env/dev/maps/{CURRENCIES}/fail", json={"message": message})
    assert failed.status_code == 200, failed.text
    with pytest.raises(RequestFailed) as caught:
        provider.start_map(CURRENCIES)
    assert caught.value.message == (
        f"The request to start failed: map.currencies-transactioncurrencies: {message}"
    )
    assert "--resume" in caught.value.hint
    assert provider.read().map(CURRENCIES).state is RunState.NOT_RUNNING  # type: ignore[union-attr]
    assert provider.start_map(CURRENCIES).state is RunState.RUNNING  # the next one goes through


@pytest.fixture
def slow(tmp_path: Path) -> Iterator[tuple[DynamicsProvider, TestApi]]:
    """An emulator whose requests wait three polls, and initial syncs a minute (its clock);
    a provider that says how long it has waited at every poll."""
    config = emulator_config(environments=(EnvConfig("dev", request_polls=3, sync_seconds=60),))
    with started(config) as (server, api):
        provider = open_provider(tmp_path, server, tuning=replace(FAST, progress_every_s=0.0))
        try:
            yield provider, api
        finally:
            provider.close()


def test_a_stop_has_ended_before_the_switch(slow: tuple[DynamicsProvider, TestApi]) -> None:
    provider, api = slow
    applied(provider)
    for name in (CURRENCIES, CUSTOMERS):
        provider.switch_version(name, "1.0.0.0")
        provider.start_map(name)
    provider.import_solution(UPGRADE)
    provider.apply_solution(SOLUTION)
    api.clear_stats()
    assert provider.stop_map(CUSTOMERS).state is RunState.NOT_RUNNING
    assert provider.switch_version(CUSTOMERS, "1.1.0.0").active_version == "1.1.0.0"
    calls = log(api)
    stop, switch = first(calls, START), first(calls, f"POST {GW}/SolutionAware/")
    polls = [c for c in calls[stop:switch] if c.startswith(STATUS)]
    assert len(polls) == 4, "three answers 'waiting', then the end, then the switch"


def test_a_wait_is_bounded_by_the_environments_setting(
    slow: tuple[DynamicsProvider, TestApi], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    provider, api = slow
    applied(provider)
    provider.switch_version(CURRENCIES, "1.0.0.0")
    assert provider.start_map(CURRENCIES, True, "dataverse").state is RunState.INITIALIZING
    caplog.set_level(logging.INFO, logger="dwconf.progress")
    with pytest.raises(WaitTimeout, match=r"is still Initializing after 0\.3 s"):
        provider.wait(CURRENCIES, 0.3)
    lines = [r.getMessage() for r in caplog.records if r.name == "dwconf.progress"]
    assert lines and lines[0].startswith(
        "waiting for map.currencies-transactioncurrencies: Initializing for 0m00s"
    )
    api.advance(61)
    assert provider.wait(CURRENCIES).state is RunState.RUNNING  # the default: hours


def test_pauses_and_resumes_of_many_maps_are_one_request(opened: Open, api: TestApi) -> None:
    provider = applied(opened())
    for name in (CURRENCIES, CUSTOMERS):
        provider.switch_version(name, "1.0.0.0")
        provider.start_map(name)
    api.clear_stats()
    paused = provider.pause_maps([CURRENCIES, CUSTOMERS])
    assert {m.state for m in paused.values()} == {RunState.PAUSED}
    assert [c for c in log(api) if c == START] == [START]
    api.clear_stats()
    resumed = provider.resume_maps([CURRENCIES, CUSTOMERS])
    assert set(resumed) == {CURRENCIES, CUSTOMERS}
    assert [c for c in log(api) if c == START] == [START]
    for name in (CURRENCIES, CUSTOMERS):
        assert provider.wait(name, 10).state is RunState.RUNNING
    api.clear_stats()
    provider.pause_maps([CURRENCIES])
    provider.pause_maps([CURRENCIES])  # paused already: nothing sent
    assert [c for c in log(api) if c == START] == [START]
