"""Planner parts: details, ordering, drift filters, saved plans, renderers, rollback targets."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from dwconf.errors import DwconfError, RefusedError
from dwconf.live.state import DeploymentRecord
from dwconf.plan import output, saved
from dwconf.plan.actions import Action, Category
from dwconf.plan.definition import make_plan
from dwconf.plan.details import diff_objects
from dwconf.plan.diff import diff
from dwconf.plan.drift import find_drift
from dwconf.planning import rollback_target

Object = dict[str, Any]


def definition(name: str, *, depends_on: tuple[str, ...] = (), **extra: Any) -> Object:
    fields = [
        {"finops": "ACCOUNT", "dataverse": "tst_account", "direction": "both"},
        {"finops": "NAME", "dataverse": "tst_name", "direction": "both"},
    ]
    return {
        "name": name,
        "version": "1.0.0.0",
        "depends_on": list(depends_on),
        "fields": fields,
        "filters": {"finops": None, "dataverse": None},
        **extra,
    }


def a_map(name: str, state: str = "running", **extra: Any) -> Object:
    return {"kind": "map", "solution": "s", "state": state, "definition": definition(name, **extra)}


# details ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("before", "after", "category"),
    [
        ("both", "to_dataverse", Category.DESTRUCTIVE),
        ("both", "to_finops", Category.DESTRUCTIVE),
        ("to_dataverse", "both", Category.RESTART),
        ("to_dataverse", "to_finops", Category.DESTRUCTIVE),
    ],
)
def test_direction_changes(before: str, after: str, category: Category) -> None:
    old, new = a_map("m"), a_map("m")
    old["definition"]["fields"][1]["direction"] = before
    new["definition"]["fields"][1]["direction"] = after
    (detail,) = diff_objects(old, new)
    assert detail.path == "fields[NAME : tst_name].direction"
    assert detail.category is category


def test_legal_entities_are_a_set() -> None:
    old = {"kind": "link", "legal_entities": ["DEMF", "USMF"]}
    new = {"kind": "link", "legal_entities": ["FRRT", "USMF"]}
    found = [(d.path, d.action, d.category) for d in diff_objects(old, new)]
    assert found == [
        ("legal_entities[FRRT]", "added", Category.RESTART),
        ("legal_entities[DEMF]", "removed", Category.DESTRUCTIVE),
    ]


def test_reordered_fields_are_no_change() -> None:
    want = a_map("m")
    have = a_map("m")
    have["definition"]["fields"].reverse()
    assert diff({"map.m": want}, {"map.m": have}).changes == ()


def test_filters_compare_in_canonical_form() -> None:
    want = a_map("m", filters={"finops": '((STATUS == "yes"))', "dataverse": None})
    have = a_map("m", filters={"finops": '(STATUS=="yes")', "dataverse": None})
    assert diff({"map.m": want}, {"map.m": have}).changes == ()


def test_a_live_object_dwconf_never_recorded_is_left_alone() -> None:
    found = diff({}, {"map.theirs": a_map("theirs")}, {})
    assert found.changes == () and found.unmanaged == ("map.theirs",)
    mine = diff({}, {"map.mine": a_map("mine")}, {"map.mine": a_map("mine")})
    assert [(c.address, c.action) for c in mine.changes] == [("map.mine", Action.DELETE)]


# ordering --------------------------------------------------------------------------------------


def test_a_paused_prerequisite_pauses_after_its_dependents_started() -> None:
    desired = {
        "map.a": a_map("a", state="paused"),
        "map.b": a_map("b", state="running", depends_on=("a",)),
    }
    plan = make_plan("dev", desired, "h", {}, "f")
    steps = {s.id: s for s in plan.steps}
    assert "start_map:map.a" in steps["start_map:map.b"].depends_on
    assert set(steps["pause_map:map.a"].depends_on) == {"start_map:map.a", "start_map:map.b"}


def test_steps_and_addresses_are_unique_and_sorted() -> None:
    desired = {f"map.m{i}": a_map(f"m{i}") for i in range(5)}
    plan = make_plan("dev", desired, "h", {}, "f")
    ids = [s.id for s in plan.steps]
    assert len(ids) == len(set(ids))
    assert [c.address for c in plan.changes] == sorted(desired)


# drift -----------------------------------------------------------------------------------------


def test_drift_reads_from_record_to_live_and_filters() -> None:
    recorded = {"map.a": a_map("a"), "map.b": a_map("b"), "alert.x": {"kind": "alert"}}
    live = {"map.a": a_map("a", state="stopped"), "map.c": a_map("c")}
    changes = find_drift(recorded, live)
    assert [(c.address, c.action) for c in changes] == [
        ("alert.x", Action.DELETE),
        ("map.a", Action.UPDATE),
        ("map.b", Action.DELETE),
    ]
    (detail,) = changes[1].details
    assert (detail.before, detail.after) == ("running", "stopped")
    kept = find_drift(recorded, live, ("alert.*", "map.a:state"))
    assert [c.address for c in kept] == ["map.b"]
    assert find_drift(recorded, live, ("map.a:fields",))[1].address == "map.a"


# saved plans -----------------------------------------------------------------------------------


def _plan() -> Any:
    return make_plan("dev", {"map.a": a_map("a")}, "h", {}, "f", origin="record:r1")


def test_saved_plans_round_trip(tmp_path: Path) -> None:
    plan = _plan()
    saved.save(plan, tmp_path / "p.dwplan")
    back = saved.load(tmp_path / "p.dwplan")
    assert back.as_dict() == plan.as_dict()
    assert back.from_record and back.id == plan.id


def test_saved_plans_are_redacted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATEWAY_SECRET", "Customers of the moon")
    plan = make_plan(
        "dev", {"map.a": a_map("a", description="Customers of the moon")}, "h", {}, "f"
    )
    saved.save(plan, tmp_path / "p.dwplan")
    assert "moon" not in (tmp_path / "p.dwplan").read_text()
    assert saved.load(tmp_path / "p.dwplan").desired["map.a"]["definition"]["description"] == "***"


def test_an_altered_or_foreign_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "p.dwplan"
    saved.save(_plan(), path)
    data = json.loads(path.read_text())
    data["steps"] = []
    path.write_text(json.dumps(data))
    with pytest.raises(RefusedError, match="checksum"):
        saved.load(path)
    path.write_text("{}")
    with pytest.raises(DwconfError, match="not a dwconf plan"):
        saved.load(path)


# renderers -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "text"),
    [
        ({"finops": "A", "dataverse": "a", "direction": "both"}, "A = a"),
        ({"finops": "A", "dataverse": "a", "direction": "to_finops"}, "A < a"),
        ({"dataverse": "k", "direction": "to_dataverse", "default": 3}, "(default 3) > k"),
        (
            {"finops": "K", "dataverse": "k", "direction": "both", "value_map": {"x": 1}},
            'K = k (value_map: {"x": 1})',
        ),
    ],
)
def test_field_text(field: Object, text: str) -> None:
    assert output.field_text(field) == text


def test_renderers_redact(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DWCONF_CLIENT_SECRET", "Customers of the moon")
    plan = make_plan(
        "dev", {"map.a": a_map("a", description="Customers of the moon")}, "h", {}, "f"
    )
    for renderer in (output.text, output.markdown, output.as_json):
        assert "moon" not in renderer(plan)


# rollback targets ------------------------------------------------------------------------------


def record(record_id: str, status: str = "succeeded") -> DeploymentRecord:
    when = datetime(2025, 3, 1, tzinfo=UTC)
    return DeploymentRecord(record_id, when, "me", "p", None, {}, status)


def test_rollback_target_defaults_to_the_previous_success() -> None:
    records = (record("r1"), record("r2"), record("r3", "failed"), record("r4"))
    assert rollback_target(records, None).id == "r2"
    assert rollback_target(records, "r3").id == "r3"
    with pytest.raises(DwconfError, match="more than one"):
        rollback_target(records, "r")
    with pytest.raises(DwconfError, match="no earlier successful"):
        rollback_target((record("r1"),), None)
