"""Reading the whole environment again after a write: what the previous read decoded and hashed
is used again (`dwconf.live.memo`), and nothing of that shows. Each read equals a read from
scratch, an older snapshot never changes, the fingerprint is the one the decoded values give
(each object hashed, the sorted pairs of address and hash combined), and the memo holds no
more than the latest snapshot does."""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from dwconf.canonical import canonical_bytes, digest
from dwconf.live import (
    AlertSetting,
    Environment,
    InstalledSolution,
    LiveError,
    LiveMap,
    LiveState,
    MapComponent,
    MapTemplate,
    RunState,
    lock,
    snapshot,
    store,
)
from dwconf.live.memo import Memo
from dwconf.live.state import SolutionManifest
from tests.unit.live.conftest import START

CURRENCIES = "Currencies (transactioncurrencies)"
COMPANIES = "Legal entities (cdm_companies)"
CUSTOMERS = "Customers V3 (accounts)"

Change = Callable[[Environment, Any, Any], object]
CHANGES: list[Change] = [
    lambda e, p, m: e.switch_version(CURRENCIES, "1.0.0.0"),
    lambda e, p, m: e.start_map(CURRENCIES, True, "finops"),
    lambda e, p, m: e.poll(CURRENCIES),
    lambda e, p, m: e.set_map_error(COMPANIES, "boom"),
    lambda e, p, m: e.set_integration_keys("accounts", ["accountnumber"]),
    lambda e, p, m: e.set_legal_entities(["USMF", "DEMF"]),
    lambda e, p, m: e.set_alerts([AlertSetting("a", "any", 3, 5, "pause", ("ops@x",))]),
    lambda e, p, m: e.acquire_lock("ci", "apply", "plan-1", 60),
    lambda e, p, m: e.add_record(
        who="ci", plan_hash="h", git_commit=None, solution_versions={"s": "1"}, desired={"d": 1}
    ),
    lambda e, p, m: e.import_solution(
        p(version="1.0.0.0", maps=[m(CURRENCIES, description="changed"), m(COMPANIES)])
    ),
    lambda e, p, m: e.apply_solution("contoso_Maps"),
    lambda e, p, m: e.import_solution(p(unique_name="contoso_More", maps=[m(CUSTOMERS)])),
    lambda e, p, m: e.apply_solution("contoso_More"),
    lambda e, p, m: e.reset_link(force=True),
]


@pytest.fixture
def applied(env: Environment, package, table_map) -> Environment:
    env.import_solution(package(maps=[table_map(CURRENCIES), table_map(COMPANIES)]))
    env.apply_solution("contoso_Maps")
    return env


@contextmanager
def reading(path: Path) -> Iterator[store.Tx]:
    """A transaction on a connection of its own."""
    conn = store.connect(str(path))
    try:
        with store.transaction(conn, "DEFERRED"):
            yield store.Tx(conn, START, str)
    finally:
        conn.close()


def from_scratch(path: Path) -> LiveState:
    """A snapshot on a connection of its own."""
    with reading(path) as tx:
        return snapshot.read(tx)


def recorded(path: Path) -> list[dict[str, Any]]:
    """The desired states of the records, read on a connection of their own."""
    with reading(path) as tx:
        return [lock.desired_of(tx, r.id) for r in lock.records(tx)]


def canonical(state: LiveState) -> bytes:
    """Everything in a snapshot, as bytes to compare later."""
    return canonical_bytes(state, default=repr)


def plain_fingerprint(state: LiveState) -> str:
    return snapshot.fingerprint(
        solution_list=state.solutions,
        templates=state.templates,
        map_list=state.maps,
        keys=state.integration_keys,
        legal_entities=state.legal_entities,
        alerts=state.alerts,
    )


# Reads after writes ----------------------------------------------------------------------------


def test_each_read_after_a_write_equals_a_read_from_scratch(
    env_path: Path, clock, package, table_map
) -> None:
    with Environment.open(env_path, now=clock) as env:
        env.import_solution(package(maps=[table_map(CURRENCIES), table_map(COMPANIES)]))
        env.apply_solution("contoso_Maps")
        env.read()
        for change in CHANGES:
            change(env, package, table_map)
            state = env.read()
            fresh = from_scratch(env_path)
            assert state == fresh
            assert [env.record_desired(r.id) for r in state.records] == recorded(env_path)
            assert state.fingerprint == fresh.fingerprint == plain_fingerprint(fresh)


def test_a_read_sees_the_write_before_it(applied: Environment) -> None:
    applied.read()
    applied.set_map_error(CURRENCIES, "boom")
    assert applied.read().map(CURRENCIES).last_error == "boom"
    applied.switch_version(COMPANIES, "1.0.0.0")
    assert applied.read().active_definition(COMPANIES)["name"] == COMPANIES


def test_an_older_snapshot_is_unchanged_by_later_writes(
    applied: Environment, package, table_map
) -> None:
    old = applied.read()
    before = canonical(old)
    for change in CHANGES:
        change(applied, package, table_map)
        applied.read()
    assert canonical(old) == before
    assert old.map(CURRENCIES).active_version is None
    assert old.template(CURRENCIES, "1.0.0.0").definition.get("description") is None


def test_what_a_write_left_alone_is_shared_with_the_snapshot_before(applied: Environment) -> None:
    applied.switch_version(CURRENCIES, "1.0.0.0")
    applied.switch_version(COMPANIES, "1.0.0.0")
    before = applied.read()
    applied.start_map(CURRENCIES)
    after = applied.read()
    assert after.map(CURRENCIES) != before.map(CURRENCIES)
    assert after.map(COMPANIES) is before.map(COMPANIES)  # not built again
    for old, new in zip(before.templates, after.templates, strict=True):
        assert new.definition is old.definition  # not decoded again
    carried = {(c.name, c.version): c.definition for s in after.solutions for c in s.maps}
    assert all(carried[t.name, t.version] is t.definition for t in after.templates)


# The fingerprint -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "extras",
    [
        pytest.param(({}, {}), id="plain"),
        pytest.param(({"description": "Währung \u2013 通貨 \u2028"}, {}), id="unicode"),
        pytest.param(({"filters": {"x": 1e-7, "y": 0.1, "z": -0.0}}, {}), id="floats"),
        pytest.param(({"filters": {"big": 2**70 + 1, "small": -(2**64)}}, {}), id="big-integers"),
        # orjson writes 1e-7 where the standard library writes 1e-07: a document holding a
        # value only the standard library writes must not splice what orjson wrote
        pytest.param(({"filters": {"x": 1e-7}}, {"filters": {"big": 2**70}}), id="both-writers"),
        pytest.param(({"filters": {"x": 1e-7}}, {"filters": {"deep": 251}}), id="too-deep"),
    ],
)
def test_the_fingerprint_is_the_one_the_decoded_values_give(
    env_path: Path, clock, package, table_map, extras: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    """With the definitions' digests remembered by a read from their stored text, or worked
    out from the values, the fingerprint is the same; also for values only the standard
    library writes (beyond 64 bits, nested too deep for orjson)."""
    currencies, companies = extras
    if "deep" in companies.get("filters", {}):
        nested: Any = 1e-7
        for _ in range(companies["filters"]["deep"]):  # fine alone, too deep in the document
            nested = [nested]
        companies = {"filters": {"deep": nested}}
    maps = [{**table_map(CURRENCIES), **currencies}, {**table_map(COMPANIES), **companies}]
    with Environment.open(env_path, now=clock) as env:
        env.import_solution(package(maps=maps))
        env.apply_solution("contoso_Maps")
        env.switch_version(CURRENCIES, "1.0.0.0")
        env.switch_version(COMPANIES, "1.0.0.0")
        first = env.read()
        env.set_map_error(COMPANIES, "boom")  # read again, splicing what the first read wrote
        second = env.read()
    assert second.fingerprint == first.fingerprint == plain_fingerprint(second)
    assert second.fingerprint == from_scratch(env_path).fingerprint


def _fingerprinted() -> dict[str, Any]:
    definition = {"name": "m", "version": "1.0.0.0", "n": 1, "f": 0.5, "text": "Währung"}
    solution = InstalledSolution(
        "s", "1.0.0.0", True, "p", {"core": ">=1.0"}, (MapComponent("m", "1.0.0.0", definition),)
    )
    return {
        "solution_list": [solution],
        "templates": [MapTemplate("m", "1.0.0.0", "s", definition)],
        "map_list": [
            LiveMap("m", "DWM-x", "1.0.0.0", RunState.RUNNING, ("1.0.0.0",)),
            LiveMap("n", "DWM-y", None, RunState.NOT_RUNNING, ()),
        ],
        "keys": {"accounts": ("accountnumber",)},
        "legal_entities": ("USMF",),
        "alerts": (AlertSetting("a", "any", 1, 1, "none", ("ops@x",)),),
    }


def test_the_fingerprint_is_pinned() -> None:
    """Saved plans compare this value: a change to how it is made must be on purpose (a saved
    plan made before it reads as stale)."""
    pinned = "74e3bedb47647284930fa3307b8969eb2f7f517d826ee6e163f67f3d929e4de3"
    assert snapshot.fingerprint(**_fingerprinted()) == pinned


def test_the_fingerprint_combines_each_objects_hash_by_address() -> None:
    arguments = _fingerprinted()
    pairs = snapshot.object_hashes(**arguments)
    assert [address for address, _ in pairs] == [
        "alert.a",
        "key.accounts",
        "link.legal_entities",
        "map.m",
        "map.n",
        "solution.s",
    ]
    lines = "".join(f"{address}\t{found}\n" for address, found in pairs)
    assert snapshot.fingerprint(**arguments) == hashlib.sha256(lines.encode()).hexdigest()
    assert dict(pairs)["key.accounts"] == digest(["accountnumber"])
    reordered = {**arguments, "map_list": list(reversed(arguments["map_list"]))}
    assert snapshot.fingerprint(**reordered) == snapshot.fingerprint(**arguments)
    definition = arguments["templates"][0].definition
    changed = {**arguments, "templates": [MapTemplate("m", "1.0.0.0", "s", {**definition, "n": 2})]}
    moved = dict(snapshot.object_hashes(**changed))
    assert {a for a, h in pairs if moved[a] != h} == {"map.m"}  # the template of map m only


def test_a_remembered_digest_stands_for_its_definition() -> None:
    arguments = _fingerprinted()
    template = arguments["templates"][0]
    remembered = MapTemplate("m", "1.0.0.0", "s", template.definition, digest(template.definition))
    assert snapshot.fingerprint(**{**arguments, "templates": [remembered]}) == (
        snapshot.fingerprint(**arguments)
    )
    lying = MapTemplate("m", "1.0.0.0", "s", template.definition, "0" * 64)
    assert snapshot.fingerprint(**{**arguments, "templates": [lying]}) != (
        snapshot.fingerprint(**arguments)
    )


# The memo --------------------------------------------------------------------------------------


def test_the_memo_holds_no_more_than_the_latest_read(
    env_path: Path, clock, package, table_map
) -> None:
    with Environment.open(env_path, now=clock) as env:
        env.import_solution(package(maps=[table_map(CURRENCIES)]))
        env.apply_solution("contoso_Maps")
        memo = Memo()
        sizes = set()
        for n in range(30):  # every round stores new text: new definitions, keys and records
            definition = table_map(CURRENCIES, description=f"round {n}")
            env.import_solution(package(version=f"1.0.0.{n + 1}", maps=[definition]))
            env.apply_solution("contoso_Maps")
            env.set_integration_keys("accounts", [f"column{n}"])
            with reading(env_path) as tx:
                snapshot.read(tx, memo)
            sizes.add(len(memo))
        with reading(env_path) as tx:
            fresh = Memo()
            snapshot.read(tx, fresh)
    assert sizes == {len(fresh)}  # what a read from scratch keeps, not rounds of it


def test_outside_a_read_the_memo_finds_but_keeps_nothing_new() -> None:
    memo = Memo()
    with memo.reading():
        kept = memo.json('{"a": 1}')
    assert memo.json('{"a": 1}') is kept
    assert memo.json('{"b": 2}') == {"b": 2}
    assert len(memo) == 1


def test_a_failed_read_leaves_what_the_read_before_kept() -> None:
    memo = Memo()
    with memo.reading():
        kept = memo.json("[1]")
    with pytest.raises(RuntimeError), memo.reading():
        memo.json("[2]")
        raise RuntimeError
    assert len(memo) == 1 and memo.json("[1]") is kept


# Reading parts ---------------------------------------------------------------------------------


def test_parts_read_alone_equal_the_whole_snapshot(applied: Environment) -> None:
    applied.switch_version(CURRENCIES, "1.0.0.0")
    applied.set_integration_keys("accounts", ["accountnumber"])
    applied.set_legal_entities(["USMF"])
    state = applied.read()
    live = state.map(CURRENCIES)
    assert applied.find_map(live.project_id.upper()) == live
    assert applied.find_map("DWM-nothing") is None
    assert applied.map_templates(CURRENCIES) == tuple(
        t for t in state.templates if t.name == CURRENCIES
    )
    assert applied.template_versions() == tuple((t.name, t.version) for t in state.templates)
    solution = state.solution("contoso_Maps")
    assert applied.solution("contoso_Maps") == solution
    assert applied.solution_manifest("contoso_Maps") == SolutionManifest.of(solution)
    assert applied.solution_manifest("nothing") is None
    link = applied.link()
    assert (link.integration_keys, link.legal_entities, link.alerts) == (
        state.integration_keys,
        state.legal_entities,
        state.alerts,
    )
    assert applied.integration_key("accounts") == ("accountnumber",)
    assert applied.integration_key("contacts") == ()


# Batches ---------------------------------------------------------------------------------------


def test_a_batch_is_all_or_nothing(applied: Environment) -> None:
    applied.switch_version(CURRENCIES, "1.0.0.0")
    before = applied.read()
    with pytest.raises(RuntimeError), applied.batch():
        applied.start_map(CURRENCIES)
        assert applied.read().map(CURRENCIES).state.value == "running"  # seen inside
        raise RuntimeError
    assert applied.read() == before  # nothing stayed, and no snapshot of it either
    with applied.batch():
        applied.start_map(CURRENCIES)
        applied.set_legal_entities(["USMF"])
    after = applied.read()
    assert after.map(CURRENCIES).state.value == "running" and after.legal_entities == ("USMF",)


def test_a_refused_operation_inside_a_batch_undoes_only_itself(applied: Environment) -> None:
    with applied.batch():
        applied.set_legal_entities(["USMF"])
        with pytest.raises(LiveError):
            applied.start_map(CURRENCIES)  # no active version
        with applied.batch():  # part of the outer one
            applied.set_integration_keys("accounts", ["accountnumber"])
    state = applied.read()
    assert state.legal_entities == ("USMF",)
    assert state.integration_keys == {"accounts": ("accountnumber",)}


def test_a_batch_holds_off_other_connections_until_it_ends(env_path: Path, clock) -> None:
    with Environment.open(env_path, now=clock) as env, env.batch():
        env.set_legal_entities(["USMF"])
        other = sqlite3.connect(env_path)
        try:
            seen = other.execute("SELECT count(*) FROM legal_entities").fetchone()[0]
        finally:
            other.close()
        assert seen == 0  # not committed yet
    assert from_scratch(env_path).legal_entities == ("USMF",)
