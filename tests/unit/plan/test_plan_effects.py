"""What each change does, in words: categories that follow from what runs, and the reasons."""

from __future__ import annotations

import json
from typing import Any

import pytest

from dwconf.plan import output
from dwconf.plan.actions import Action, Category
from dwconf.plan.definition import make_plan
from dwconf.plan.diff import diff

Object = dict[str, Any]


def definition(**extra: Any) -> Object:
    fields = [
        {"finops": "CUSTOMERACCOUNT", "dataverse": "accountnumber", "direction": "both"},
        {"finops": "CUSTOMERGROUPID", "dataverse": "msdyn_customergroupid", "direction": "both"},
    ]
    return {
        "name": "Customers V3 (accounts)",
        "version": "1.0.0.5",
        "fields": fields,
        "filters": {"finops": None, "dataverse": None},
        "initial_sync": {"master": "finops"},
        **extra,
    }


def a_map(state: str = "running", **extra: Any) -> Object:
    return {
        "kind": "map",
        "solution": "contoso_CustomerMaps",
        "state": state,
        "definition": definition(**extra),
    }


def solution(content: str) -> Object:
    return {
        "kind": "solution",
        "unique_name": "contoso_CustomerMaps",
        "version": "1.0.0.0",
        "maps": ["Customers V3 (accounts)"],
        "content": content,
    }


ADDRESS = "map.customers-v3-accounts"


def test_creating_maps_in_an_empty_environment_is_no_restart() -> None:
    desired = {
        ADDRESS: a_map(),
        "key.accounts": {"kind": "key", "columns": ["accountnumber"]},
        "link.legal_entities": {"kind": "link", "legal_entities": ["USMF"]},
    }
    live = {"link.legal_entities": {"kind": "link", "legal_entities": []}}
    skip = {c.address: c for c in diff(desired, live, initial_sync=False).changes}
    assert skip[ADDRESS].category is Category.START
    assert "existing rows are not copied" in skip[ADDRESS].reason
    assert skip["key.accounts"].category is Category.METADATA
    assert skip["link.legal_entities"].category is Category.METADATA
    run = {c.address: c for c in diff(desired, live, initial_sync=True).changes}
    assert run[ADDRESS].category is Category.INITIAL_SYNC
    assert "finops is the master" in run[ADDRESS].reason
    assert Category.RESTART not in {c.category for c in [*skip.values(), *run.values()]}


def test_a_legal_entity_added_while_maps_run_restarts() -> None:
    desired = {ADDRESS: a_map(), "link.legal_entities": {"kind": "link", "legal_entities": ["A"]}}
    live = {ADDRESS: a_map(), "link.legal_entities": {"kind": "link", "legal_entities": []}}
    (change,) = diff(desired, live).changes
    assert change.category is Category.RESTART and "legal entity A added" in change.reason


@pytest.mark.parametrize(
    ("before", "after", "category", "reason"),
    [
        (
            "both",
            "to_dataverse",
            Category.DESTRUCTIVE,
            "direction narrowed: Dataverse no longer writes CUSTOMERGROUPID",
        ),
        (
            "both",
            "to_finops",
            Category.DESTRUCTIVE,
            "direction narrowed: F&O no longer writes msdyn_customergroupid",
        ),
        (
            "to_dataverse",
            "to_finops",
            Category.DESTRUCTIVE,
            "direction reversed: F&O no longer writes msdyn_customergroupid; "
            "Dataverse writes CUSTOMERGROUPID instead",
        ),
        (
            "to_finops",
            "both",
            Category.RESTART,
            "direction widened: F&O now writes msdyn_customergroupid too",
        ),
    ],
)
def test_a_direction_change_says_which_flow_it_loses_or_gains(
    before: str, after: str, category: Category, reason: str
) -> None:
    old, new = a_map(), a_map()
    old["definition"]["fields"][1]["direction"] = before
    new["definition"]["fields"][1]["direction"] = after
    (change,) = diff({ADDRESS: new}, {ADDRESS: old}).changes
    (detail,) = change.details
    assert (detail.category, detail.reason) == (category, reason)
    assert (change.category, change.reason) == (category, reason)


def test_a_definition_change_of_a_map_that_does_not_run_restarts_nothing() -> None:
    old, new = a_map(state="stopped"), a_map(state="running", version="1.0.0.6")
    (change,) = diff({ADDRESS: new}, {ADDRESS: old}).changes
    categories = {d.path: d.category for d in change.details}
    assert categories == {"version": Category.METADATA, "state": Category.START}
    assert change.category is Category.START and "starts" in change.reason


def test_every_change_beyond_metadata_says_why() -> None:
    old = a_map()
    new = a_map(state="paused", version="1.0.0.6", integration_key=["accountnumber"])
    del new["definition"]["fields"][1]
    new["definition"]["filters"]["finops"] = "((A == 1))"
    desired = {ADDRESS: new, "key.accounts": {"kind": "key", "columns": ["x"]}}
    live = {ADDRESS: old, "key.accounts": {"kind": "key", "columns": ["y"]}, "map.gone": a_map()}
    found = diff(desired, live, {"map.gone": a_map()}).changes
    assert {c.action for c in found} == {Action.UPDATE, Action.DELETE}
    for change in found:
        assert change.reason, change.address
        for d in change.details:
            assert d.category is Category.METADATA or d.reason, (change.address, d.path)


def test_a_solution_change_lists_the_maps_and_fields_it_changes() -> None:
    old, new = a_map(), a_map()
    new["definition"]["fields"][1]["direction"] = "to_dataverse"
    desired = {ADDRESS: new, "solution.contoso_CustomerMaps": solution("bbbb")}
    live = {ADDRESS: old, "solution.contoso_CustomerMaps": solution("aaaa")}
    changes = {c.address: c for c in diff(desired, live).changes}
    (detail,) = changes["solution.contoso_CustomerMaps"].details
    assert detail.path == "content[Customers V3 (accounts)]"
    assert detail.after == "fields[CUSTOMERGROUPID : msdyn_customergroupid].direction"
    plan = make_plan("dev", desired, "h", live, "f")
    shown = output.text(plan)
    assert "aaaa" not in shown and "bbbb" not in shown
    assert "~ content[Customers V3 (accounts)]: fields[CUSTOMERGROUPID" in shown


def test_per_field_risk_shows_in_text_and_counts_per_category_in_json() -> None:
    old, new = a_map(), a_map()
    new["definition"]["fields"][1]["direction"] = "to_dataverse"
    new["definition"]["filters"]["finops"] = "((A == 1))"
    plan = make_plan("dev", {ADDRESS: new, "map.new": a_map()}, "h", {ADDRESS: old}, "f")
    lines = output.text(plan).splitlines()
    direction = lines.index(
        "      ~ fields[CUSTOMERGROUPID : msdyn_customergroupid].direction: both -> to_dataverse"
    )
    assert lines[direction + 1] == (
        "          destructive: direction narrowed: Dataverse no longer writes CUSTOMERGROUPID"
    )
    filters = next(i for i, line in enumerate(lines) if "~ filters.finops" in line)
    assert lines[filters + 1].strip().startswith("restart: the F&O filter changes")
    data = json.loads(output.as_json(plan))
    assert data["summary"] == {"create": 1, "update": 1, "replace": 0, "delete": 0}
    assert data["categories"] == {
        "metadata": 0,
        "start": 0,
        "restart": 0,
        "initial_sync": 1,
        "destructive": 1,
    }
    reasons = [d["reason"] for c in data["changes"] for d in c["details"]]
    assert "direction narrowed: Dataverse no longer writes CUSTOMERGROUPID" in reasons
