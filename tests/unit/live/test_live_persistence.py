"""The SQLite file: seeding, schema version, reopening, the fingerprint, shared files."""

from __future__ import annotations

import itertools
import sqlite3
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from dwconf.live import AlertSetting, Environment
from dwconf.live.errors import InvalidRequest, MissingDependency, SchemaTooNew
from dwconf.live.store import SCHEMA_VERSION

CURRENCIES = "Currencies (transactioncurrencies)"
COMPANIES = "Legal entities (cdm_companies)"
CUSTOMERS = "Customers V3 (accounts)"
MICROSOFT = {
    "DualWriteCore",
    "Dynamics365Company",
    "Dynamics365FinanceAndOperationsCommon",
    "CurrencyExchangeRates",
    "msdyn_DualWriteAppCoreMaps",
    "msdyn_DualWriteAppCoreAnchor",
    "HCMCommon",
    "msdyn_Dynamics365HCMMaps",
    "msdyn_Dynamics365HCMAnchor",
    "Dynamics365FinanceExtended",
    "FieldServiceCommon",
    "msdyn_Dynamics365FinanceExtendedMaps",
    "msdyn_Dynamics365FinanceExtendedAnchor",
    "Dynamics365SupplyChainExtended",
    "msdyn_Dynamics365SupplyChainExtendedMaps",
    "msdyn_Dynamics365SupplyChainExtendedAnchor",
    "Dynamics365Notes",
    "Dynamics365NotesExtended",
    "msdyn_Dynamics365NotesMaps",
    "msdyn_Dynamics365NotesAnchor",
    "Party",
}


# Seeding ---------------------------------------------------------------------------------------


def test_default_seed_is_a_newly_linked_pair(env: Environment) -> None:
    state = env.read()
    assert {s.unique_name for s in state.solutions} == MICROSOFT
    core = state.solution("DualWriteCore")
    assert core is not None and (core.version, core.managed) == ("1.0.24062.1", True)
    assert state.solution("Dynamics365SupplyChainExtended").version == "2.3.4.265"
    assert all(s.maps == () for s in state.solutions)
    assert (state.maps, state.templates, state.legal_entities) == ((), (), ())
    assert (state.integration_keys, state.alerts, state.records, state.lock) == ({}, (), (), None)


def test_a_seed_file_can_replace_the_default(tmp_path: Path, table_map) -> None:
    seed = tmp_path / "seed.yaml"
    seed.write_text(
        "solutions:\n"
        "  - {unique_name: DualWriteCore, version: 1.0.23084.2}\n"
        "  - unique_name: contoso_Maps\n"
        "    version: 1.0.0.0\n"
        "    publisher: contoso\n"
        "    requires: {DualWriteCore: '>=1.0.23084.0'}\n"
        "    maps:\n"
        "      - {name: Units (uoms), version: 1.0.0.1, fields: [{finops: SYMBOL}]}\n"
        "apply: [contoso_Maps]\n"
        "legal_entities: [USMF, DEMF]\n"
        "integration_keys: {uoms: [msdyn_symbol]}\n"
        "alerts: [{name: app-errors, threshold: 10, window_minutes: 15, action: pause}]\n",
        encoding="utf-8",
    )
    with Environment.open(tmp_path / "env.sqlite", seed=seed) as env:
        state = env.read()
    assert [s.unique_name for s in state.solutions] == ["DualWriteCore", "contoso_Maps"]
    assert state.map("Units (uoms)").versions == ("1.0.0.1",)
    assert state.legal_entities == ("USMF", "DEMF")
    assert state.integration_keys == {"uoms": ("msdyn_symbol",)}
    assert state.alerts == (AlertSetting("app-errors", "any", 10, 15, "pause"),)


def test_a_seed_can_be_given_as_data() -> None:
    with Environment.memory({"legal_entities": ["USMF"]}) as env:
        assert env.read().solutions == ()
        assert env.read().legal_entities == ("USMF",)


@pytest.mark.parametrize(
    "seed",
    [{"solution": []}, {"solutions": [{"version": "1.0.0.0"}]}, {"alerts": [{"name": "a"}]}],
)
def test_a_malformed_seed_is_refused(seed) -> None:
    with pytest.raises(InvalidRequest):
        Environment.memory(seed)


def test_a_seed_is_checked_like_imports() -> None:
    bad = {"solutions": [{"unique_name": "X", "version": "1.0.0.0", "requires": {"Y": "1.0"}}]}
    with pytest.raises(MissingDependency):
        Environment.memory(bad)


def test_an_existing_file_is_not_seeded_again(env_path: Path) -> None:
    with Environment.open(env_path) as env:
        env.set_legal_entities(["USMF"])
    with Environment.open(env_path, seed={"legal_entities": ["DEMF"]}) as env:
        assert env.read().legal_entities == ("USMF",)
        assert len(env.read().solutions) == len(MICROSOFT)


def test_schema_version_and_wal_mode(env_path: Path) -> None:
    Environment.open(env_path).close()
    conn = sqlite3.connect(env_path)
    try:
        assert conn.execute("SELECT version FROM schema_version").fetchall() == [(SCHEMA_VERSION,)]
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        conn.execute("UPDATE schema_version SET version = ?", (SCHEMA_VERSION + 1,))
        conn.commit()
    finally:
        conn.close()
    with pytest.raises(SchemaTooNew) as caught:
        Environment.open(env_path)
    assert caught.value.message == (
        f"The environment file has schema version {SCHEMA_VERSION + 1}; this dwconf reads up "
        f"to {SCHEMA_VERSION}."
    )


def test_first_open_from_many_connections_seeds_once(env_path: Path) -> None:
    barrier = threading.Barrier(6)

    def open_and_count(_: int) -> int:
        barrier.wait()
        with Environment.open(env_path) as env:
            return len(env.read().solutions)

    with ThreadPoolExecutor(6) as pool:
        assert set(pool.map(open_and_count, range(6))) == {len(MICROSOFT)}
    conn = sqlite3.connect(env_path)
    try:
        assert conn.execute("SELECT count(*) FROM schema_version").fetchone() == (1,)
    finally:
        conn.close()


# Reopening -------------------------------------------------------------------------------------


def _build(env: Environment, package, table_map, clock) -> None:
    maps = [
        table_map(CURRENCIES),
        table_map(COMPANIES),
        table_map(CUSTOMERS, depends_on=[CURRENCIES, COMPANIES]),
    ]
    env.import_solution(package(maps=maps, requires={"DualWriteCore": ">=1.0.23084.0"}))
    env.apply_solution("contoso_Maps")
    for name in (CURRENCIES, COMPANIES, CUSTOMERS):
        env.switch_version(name, "1.0.0.0")
    env.start_map(CURRENCIES)
    env.start_map(COMPANIES, True, "finops")
    env.pause_map(CURRENCIES)
    env.set_queued(CURRENCIES, 42, clock.now)
    env.set_integration_keys("accounts", ["accountnumber", "msdyn_company.cdm_companycode"])
    env.set_legal_entities(["USMF", "DEMF"])
    env.set_alerts([AlertSetting("app-errors", "application", 10, 15, "pause", ("a@b.c",))])
    env.set_map_error(CUSTOMERS, "Unable to write data to entity accounts.")
    env.add_record(
        who="ci", plan_hash="h", git_commit="abc", solution_versions={"x": "1"}, desired={"a": 1}
    )
    env.acquire_lock("ci", "apply", "plan-1", 600)


def test_state_survives_reopening(env_path: Path, clock, package, table_map) -> None:
    with Environment.open(env_path, now=clock) as env:
        _build(env, package, table_map, clock)
        before = env.read()
    with Environment.open(env_path, now=clock) as env:
        after = env.read()
        assert after == before
        assert after.fingerprint == before.fingerprint
        assert env.poll(COMPANIES).state.value == "running"


# Fingerprint -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda e, p, m: e.import_solution(p(unique_name="contoso_More")), id="import"),
        pytest.param(
            lambda e, p, m: e.import_solution(
                p(version="1.0.0.0", maps=[m(CURRENCIES, "1.0.0.0", description="x")])
            ),
            id="same-version-overwrite",
        ),
        pytest.param(
            lambda e, p, m: (
                e.import_solution(p(version="1.1.0.0", maps=[m(CURRENCIES, "1.0.0.2")])),
                e.apply_solution("contoso_Maps"),
            ),
            id="apply-new-version",
        ),
        pytest.param(lambda e, p, m: e.switch_version(CURRENCIES, "1.0.0.1"), id="switch"),
        pytest.param(lambda e, p, m: e.start_map(CURRENCIES), id="start"),
        pytest.param(lambda e, p, m: e.start_map(CURRENCIES, True, "finops"), id="initial-sync"),
        pytest.param(lambda e, p, m: e.set_integration_keys("uoms", ["msdyn_symbol"]), id="keys"),
        pytest.param(lambda e, p, m: e.set_legal_entities(["USMF"]), id="legal-entities"),
        pytest.param(
            lambda e, p, m: e.set_alerts([AlertSetting("a", "any", 1, 1, "none")]), id="alerts"
        ),
        pytest.param(lambda e, p, m: e.reset_link(), id="reset"),
    ],
)
def test_each_kind_of_change_moves_the_fingerprint(
    env: Environment, package, table_map, change
) -> None:
    env.import_solution(package(maps=[table_map(CURRENCIES), table_map(CURRENCIES, "1.0.0.1")]))
    env.apply_solution("contoso_Maps")
    env.switch_version(CURRENCIES, "1.0.0.0")
    before = env.read().fingerprint
    change(env, package, table_map)
    assert env.read().fingerprint != before


def test_run_state_changes_move_the_fingerprint(linked: Environment) -> None:
    seen = [linked.read().fingerprint]
    for step in (
        lambda: linked.start_map(CURRENCIES, True, "finops"),
        lambda: linked.poll(CURRENCIES),
        lambda: linked.pause_map(CURRENCIES),
        lambda: linked.resume_map(CURRENCIES),
        lambda: linked.poll(CURRENCIES),
        lambda: linked.stop_map(CURRENCIES),
    ):
        step()
        seen.append(linked.read().fingerprint)
    # not_running, initializing, running, paused, resuming, running, not_running
    assert len(set(seen)) == 5
    assert all(a != b for a, b in itertools.pairwise(seen))
    assert (seen[0], seen[2]) == (seen[-1], seen[-2])


def test_lock_records_and_runtime_details_leave_the_fingerprint(linked: Environment, clock) -> None:
    linked.start_map(CURRENCIES)
    linked.pause_map(CURRENCIES)
    before = linked.read().fingerprint
    lease = linked.acquire_lock("ci", "apply", "plan-1", 60)
    linked.renew_lock(lease.id, 120)
    record = linked.add_record(
        who="ci", plan_hash="h", git_commit=None, solution_versions={}, desired={}
    )
    linked.set_record_status(record.id, "failed")
    linked.set_queued(CURRENCIES, 7, clock.now)
    linked.set_map_error(CURRENCIES, "boom")
    linked.release_lock(lease.id)
    clock.advance(days=1)
    assert linked.read().fingerprint == before


def test_no_op_operations_leave_the_fingerprint(linked: Environment) -> None:
    linked.set_legal_entities(["USMF"])
    linked.set_integration_keys("accounts", ["accountnumber"])
    before = linked.read().fingerprint
    linked.set_legal_entities(["USMF"])
    linked.set_integration_keys("accounts", ["accountnumber"])
    linked.stop_map(CURRENCIES)
    linked.switch_version(CURRENCIES, "1.0.0.0")
    assert linked.read().fingerprint == before


def test_a_snapshot_is_reused_until_the_file_changes(tmp_path: Path) -> None:
    first = Environment.open(tmp_path / "e.sqlite")
    other = Environment.open(tmp_path / "e.sqlite")
    before = first.read()
    assert first.read() is before, "unchanged file: the same snapshot"
    first.set_legal_entities(["USMF"])
    mine = first.read()
    assert mine is not before and mine.legal_entities == ("USMF",)
    other.set_legal_entities(["USMF", "DEMF"])  # another connection commits
    assert first.read().legal_entities == ("USMF", "DEMF")
