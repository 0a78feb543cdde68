"""Reading an environment through the dynamics provider: the same state the emulator holds,
every page of a paged answer, the definition cache (a warm read downloads no definitions), a
template whose row is gone, the link found by the F&O host, and the gateway's prerequisites."""

from __future__ import annotations

import dataclasses
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from dwconf.emulator.serve import Running
from dwconf.errors import ProviderError
from dwconf.live import LiveState, SolutionPackage
from dwconf.model import Environment
from dwconf.providers import open_reader
from dwconf.providers.dynamics import DynamicsProvider
from tests.contract.support import ALERT, CURRENCIES, CUSTOMERS, SOLUTION, package, table_map
from tests.providers.conftest import Open
from tests.providers.support import ENVIRON, FAST, TestApi, environment

MAPS_PATH = "/api/data/v9.2/msdyn_dualwriteentitymaps"


def counted(api: TestApi, needle: str) -> int:
    return sum(n for k, n in api.stats()["by_request"].items() if needle in k)


def deploy(provider: DynamicsProvider, api: TestApi) -> None:
    provider.reset_link(legal_entities=["USMF"])
    provider.import_solution(package())
    provider.apply_solution(SOLUTION)
    for name in (CURRENCIES, CUSTOMERS):
        provider.switch_version(name, "1.0.0.0")
    provider.start_map(CURRENCIES, initial_sync=True, master="finops")
    provider.wait(CURRENCIES, 10)
    provider.set_integration_keys("accounts", ["accountnumber"])
    alert = dataclasses.asdict(ALERT)
    api.call("set_alerts", alerts=[alert])  # as a person does in the workspace
    provider.acquire_lock("ci", "apply", "plan-1", 300)
    provider.add_record(who="ci", plan_hash="h", git_commit="abc", solution_versions={}, desired={})


def _emulated(api: TestApi) -> dict[str, Any]:
    state: dict[str, Any] = api.state()["state"]
    return state


def test_the_read_is_the_emulators_state(opened: Open, api: TestApi) -> None:
    provider = opened()
    deploy(provider, api)
    state, truth = provider.read(), _emulated(api)
    assert [(m.name, m.state.value, m.active_version, list(m.versions)) for m in state.maps] == [
        (m["name"], m["state"], m["active_version"], m["versions"]) for m in truth["maps"]
    ]
    assert [(t.name, t.version, t.solution, t.definition) for t in state.templates] == [
        (t["name"], t["version"], t["solution"], t["definition"]) for t in truth["templates"]
    ]
    assert [(s.unique_name, s.version, s.managed, s.publisher) for s in state.solutions] == [
        (s["unique_name"], s["version"], s["managed"], s["publisher"]) for s in truth["solutions"]
    ]
    assert [[(c.name, c.version, c.definition) for c in s.maps] for s in state.solutions] == [
        [(c["name"], c["version"], c["definition"]) for c in s["maps"]] for s in truth["solutions"]
    ]
    assert {k: list(v) for k, v in state.integration_keys.items()} == truth["integration_keys"]
    assert list(state.legal_entities) == truth["legal_entities"]
    assert state.alerts == (ALERT.without_notify(),)  # the struct has no recipients
    assert state.lock is not None and state.lock.id == truth["lock"]["id"]
    assert [r.id for r in state.records] == [r["id"] for r in truth["records"]]
    assert state.map(CURRENCIES).master == "finops"  # type: ignore[union-attr]


def test_every_page_is_read(opened: Open, api: TestApi) -> None:
    writer = opened()
    for n in range(5):
        writer.add_record(
            who=f"ci-{n}", plan_hash="h", git_commit=None, solution_versions={}, desired={}
        )
    whole = writer.read()
    api.clear_stats()
    paged = opened(tuning=replace(FAST, page_size=2), root=Path(api.server.hub.folder) / "x")
    state = paged.read()
    assert [r.who for r in state.records] == [f"ci-{n}" for n in range(5)]
    assert state.fingerprint == whole.fingerprint and state.solutions == whole.solutions
    assert counted(api, "GET /env/dev/dataverse/api/data/v9.2/dwconf_deploymentrecords") == 2
    assert counted(api, "GET /env/dev/dataverse/api/data/v9.2/solutions") >= 7  # 16 solutions
    api.clear_stats()
    assert [r.who for r in paged.records()] == [f"ci-{n}" for n in range(5)]
    assert counted(api, "dwconf_deploymentrecords") == 3


def test_records_made_in_one_second_keep_their_order(opened: Open) -> None:
    provider = opened()
    made = [
        provider.add_record(
            who=str(n), plan_hash="h", git_commit=None, solution_versions={}, desired={"n": n}
        )
        for n in range(6)
    ]
    assert provider.records() == tuple(made)
    assert [provider.record_desired(r.id) for r in provider.records()] == [
        {"n": n} for n in range(6)
    ]


# The definition cache ------------------------------------------------------------------------


def test_a_warm_read_downloads_no_definitions(opened: Open, api: TestApi, tmp_path: Path) -> None:
    cold = opened()
    deploy(cold, api)
    first = cold.read()
    assert list((tmp_path / ".dwconf" / "cache" / "dynamics").glob("*.json"))
    api.clear_stats()
    warm = opened().read()  # a new provider (a new process): only the disk cache is warm
    masters = tuple(replace(m, master=None) for m in first.maps)  # known to the starter only
    assert warm == replace(first, maps=masters)
    assert counted(api, MAPS_PATH) == 0  # the map rows came in the $batch, ids and ETags only
    assert counted(api, "FieldMappings") == 0
    # discovery, the user's realm (msal asks before a password sign-in), two tokens, the link,
    # three reads
    assert api.stats()["requests"] <= 9


def test_a_changed_row_is_downloaded_alone(opened: Open, api: TestApi) -> None:
    provider = opened()
    deploy(provider, api)
    provider.read()
    newer = table_map(CUSTOMERS, "1.0.0.0", depends_on=[CURRENCIES], description="changed")
    changed = replace(package(), maps=[table_map(CURRENCIES), newer])
    api.call("import_solution", **{**changed.__dict__, "requires": {}})
    api.clear_stats()
    state = opened().read()
    assert counted(api, f"GET /env/dev/dataverse{MAPS_PATH}") == 1  # the one changed row
    carried = state.solution(SOLUTION)
    assert carried is not None
    assert [m.definition.get("description") for m in carried.maps] == [None, "changed"]


def test_an_active_version_no_solution_carries_comes_from_the_gateway(
    opened: Open, api: TestApi, tmp_path: Path
) -> None:
    provider = opened()
    deploy(provider, api)
    before = provider.read().active_definition(CUSTOMERS)
    upgrade = SolutionPackage(
        SOLUTION,
        "2.0.0.0",
        True,
        "contoso",
        {},
        [table_map(CURRENCIES), table_map(CUSTOMERS, "2.0.0.0", depends_on=[CURRENCIES])],
    )
    assert provider.import_solution(upgrade).value == "upgraded"
    provider.apply_solution(SOLUTION)
    assert provider.read().active_definition(CUSTOMERS) == before  # from the cache
    api.clear_stats()
    fresh = opened(root=tmp_path / "fresh").read()  # no cache: only the gateway knows it
    assert counted(api, "FieldMappings") == 1
    found = fresh.active_definition(CUSTOMERS)
    assert found is not None and before is not None
    assert (found["version"], found["fields"]) == (before["version"], before["fields"])


# The link ------------------------------------------------------------------------------------


def test_the_link_is_found_by_the_finops_host(tmp_path: Path, server: Running) -> None:
    env = environment(server, finops_url="https://nowhere.operations.dynamics.com")
    with (
        DynamicsProvider.open(tmp_path, env, environ=ENVIRON, tuning=FAST) as provider,
        pytest.raises(ProviderError, match="has no link for the finance and operations"),
    ):
        provider.read()


def test_prerequisites_come_from_the_gateway(opened: Open, api: TestApi) -> None:
    provider = opened()
    deploy(provider, api)
    assert provider.prerequisites([CUSTOMERS, CURRENCIES]) == [
        [CURRENCIES, CUSTOMERS],
        [CURRENCIES],
    ]


# Configuration -------------------------------------------------------------------------------


def test_an_incomplete_configuration_is_refused_before_any_request(tmp_path: Path) -> None:
    env = Environment.model_validate(
        {"name": "prod", "stage": "prod", "provider": {"type": "dynamics", "tenant_id": "t"}}
    )
    with pytest.raises(ProviderError) as caught:
        open_reader(tmp_path, env)
    assert caught.value.message == (
        "provider type 'dynamics' is not available for environment 'prod': it needs "
        "provider.dataverse_url, provider.gateway_url, provider.finops_url."
    )
    assert not (tmp_path / ".dwconf").exists()


def test_plain_http_is_refused_except_on_loopback(tmp_path: Path, server: Running) -> None:
    env = environment(server, dataverse_url="http://contoso.crm.dynamics.com")
    with pytest.raises(ProviderError, match="is not an https URL"):
        DynamicsProvider.open(tmp_path, env, environ={}, tuning=FAST)


def test_reading_through_the_registry_is_read_only(
    tmp_path: Path, server: Running, monkeypatch
) -> None:
    for name, value in ENVIRON.items():
        monkeypatch.setenv(name, value)
    reader = open_reader(tmp_path, environment(server))
    try:
        assert isinstance(reader.read(), LiveState)
        assert not hasattr(reader, "import_solution")
    finally:
        reader.close()
