"""The shapes the dynamics provider reads (`wire`, `shapes`): Microsoft's structs as they come,
alert settings mapped onto dwconf's, and answers of another shape reported by call and field,
never as a TypeError or KeyError."""

from __future__ import annotations

from typing import Any

import pytest

from dwconf.live import AlertSetting, RunState
from dwconf.live.errors import InvalidRequest
from dwconf.live.state import LiveMap
from dwconf.providers.dynamics import shapes, wire
from dwconf.providers.dynamics.maps import chosen_template
from dwconf.providers.dynamics.reader import MapEntry
from dwconf.providers.dynamics.wire import ShapeError

LINK = "read the link"


def link(**detail: Any) -> wire.ConnectionSet:
    found: wire.ConnectionSet = wire.parse(LINK, wire.ConnectionSet, {"dualWriteDetail": detail})
    return found


def alert(**changes: Any) -> dict[str, Any]:
    base = {
        "name": "app-errors",
        "state": "Enabled",
        "errorTypes": ["Application"],
        "threshold": {"count": 10, "interval": 15, "unitOfTime": "Minutes"},
        "action": "Pause",
    }
    return {**base, **changes}


def test_the_real_alert_shape_is_read_as_dwconfs_alert() -> None:
    (found,) = shapes.alerts(link(alertSettings=[alert()]))
    assert found == AlertSetting("app-errors", "application", 10, 15, "pause", None)


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"errorTypes": ["ConnectionError"]}, ("connection", 15, "pause")),
        ({"errorTypes": ["Application", "Connection"]}, ("any", 15, "pause")),
        ({"errorTypes": []}, ("any", 15, "pause")),
        ({"threshold": {"count": 3, "interval": 2, "unitOfTime": "Hours"}}, ("application", 120, "pause")),
        ({"threshold": {"count": 3, "interval": 90, "unitOfTime": "seconds"}}, ("application", 2, "pause")),
        ({"action": "StopMap"}, ("application", 15, "stop")),
        ({"action": None}, ("application", 15, "none")),
    ],
)  # fmt: skip
def test_alert_words_are_read_loosely(changes: dict[str, Any], expected: tuple[Any, ...]) -> None:
    (found,) = shapes.alerts(link(alertSettings=[alert(**changes)]))
    assert (found.error_type, found.window_minutes, found.action) == expected


def test_an_alert_word_dwconf_cant_read_names_its_field() -> None:
    odd = alert(threshold={"count": 1, "interval": 1, "unitOfTime": "Fortnights"})
    with pytest.raises(ShapeError) as caught:
        shapes.alerts(link(alertSettings=[alert(), odd]))
    assert caught.value.field == "dualWriteDetail.alertSettings[1].threshold.unitOfTime"
    assert "fortnight" in caught.value.found and caught.value.call == LINK


def test_the_old_flat_threshold_is_a_shape_error_not_a_type_error() -> None:
    """`int(threshold)` once crashed every plan of an environment with an alert."""
    with pytest.raises(ShapeError) as caught:
        link(alertSettings=[alert(threshold=10)])
    assert caught.value.field == "dualWriteDetail.alertSettings[0].threshold"
    assert caught.value.found == "10"
    message = caught.value.message
    assert message.startswith("unexpected answer to 'read the link': field")
    assert "expected" in message and "got 10" in message


def test_unknown_fields_are_ignored_and_missing_ones_take_the_structs_defaults() -> None:
    dwmap = wire.parse(
        "read the table maps",
        wire.DWMap,
        {"detail": {"state": 4, "pid": None, "somethingNew": {"x": 1}}, "extra": True},
    )
    live = shapes.live_map("read the table maps", dwmap, "X (x)", None)
    assert (live.state, live.project_id, live.versions) == (RunState.RUNNING, "", ())


@pytest.mark.parametrize(
    ("answer", "field"),
    [
        ({"nodetail": {}}, "[0].detail"),
        ({"detail": {"templates": {"not": "a list"}}}, "[0].detail.templates"),
        ({"detail": {"lastRequests": [{"createdOn": "yesterday"}]}}, "[0].detail.lastRequests[0].createdOn"),
    ],
)  # fmt: skip
def test_a_map_of_another_shape_names_the_field(answer: dict[str, Any], field: str) -> None:
    with pytest.raises(ShapeError) as caught:
        wire.parse("read the table maps", list[wire.DWMap], [answer])
    assert caught.value.field == field


def test_a_map_state_outside_the_enum_is_refused_not_guessed() -> None:
    dwmap = wire.parse("read the table maps", wire.DWMap, {"detail": {"state": "9"}})
    with pytest.raises(ShapeError, match=r"field 'detail.state' expected a map status"):
        shapes.live_map("read the table maps", dwmap, "X (x)", None)


def test_the_request_of_a_map_is_found_by_its_id() -> None:
    dwmap = wire.parse(
        "check",
        wire.DWMap,
        {"detail": {"lastRequests": [{"requestId": "A", "state": "2"}, {"requestId": "b", "state": 3}]}},
    )  # fmt: skip
    found = dwmap.request("B")
    assert found is not None and found.state == "3"
    assert dwmap.request("c") is None


def test_the_reset_body_is_built_as_the_microsoft_tool_builds_it() -> None:
    answer = {
        "environments": {
            "contoso.operations.dynamics.com": {
                "name": "contoso.operations.dynamics.com", "targetType": "AX",
                "environmentDisplayName": "Contoso F&O", "directUrl": "https://contoso.operations.dynamics.com",
            },
            "contoso-crm": {
                "name": "contoso-crm", "targetType": "CRM", "environmentDisplayName": "Contoso",
                "powerAppsEnvironment": "pp-1", "isDevInstance": True,
            },
        },
    }  # fmt: skip
    body = shapes.reset_body(wire.parse(LINK, wire.ConnectionSet, answer), ("USMF", "DEMF"))
    assert body == {
        "powerAppsEnvironmentName": "pp-1",
        "environments": [
            {"targetType": "CRM", "name": "contoso-crm", "displayName": "Contoso", "id": "pp-1",
             "isDevInstance": True, "directUrl": None},
            {"targetType": "AX", "name": "contoso.operations.dynamics.com", "displayName": "Contoso F&O",
             "id": None, "isDevInstance": False, "directUrl": "https://contoso.operations.dynamics.com"},
        ],
        "legalEntities": ["USMF", "DEMF"],
    }  # fmt: skip


def test_legal_entities_are_the_left_names_once_each() -> None:
    pairs = [{"left": {"name": "USMF"}}, {"left": {"name": "DEMF"}}, {"left": {"name": "USMF"}}, {}]
    assert shapes.legal_entities(link(legalEntityMappings={"mappings": pairs})) == ("USMF", "DEMF")


def test_lease_and_record_rows_of_another_shape_are_shape_errors() -> None:
    with pytest.raises(ShapeError, match="dwconf_leaseid"):
        shapes.lease({"dwconf_owner": "x"})
    with pytest.raises(ShapeError, match="createdon"):
        shapes.record({"dwconf_deploymentrecordid": "r", "createdon": {"no": 1}})


def entry(*templates: tuple[str, str, str]) -> MapEntry:
    live = LiveMap("Customers V3 (accounts)", "p", None, RunState.NOT_RUNNING, ())
    return MapEntry(live, "p", {v: t for t, v, _ in templates}, None, templates)


def test_a_version_is_chosen_by_its_author_as_the_microsoft_tool_does() -> None:
    both = entry(("t-ms", "1.0.0.5", "Microsoft"), ("t-cnt", "1.0.0.5", "contoso"))
    assert chosen_template("X", both, "1.0.0.5", "Contoso") == "t-cnt"
    assert chosen_template("X", both, "1.0.0.5", "microsoft") == "t-ms"
    only = entry(("t-ms", "1.0.0.5", "Microsoft"), ("t-6", "1.0.0.6", "contoso"))
    assert chosen_template("X", only, "1.0.0.5", "contoso") == "t-ms"  # the only one
    with pytest.raises(
        InvalidRequest, match=r"2 templates of version 1\.0\.0\.5 \(by Microsoft, contoso\)"
    ):
        chosen_template("X", both, "1.0.0.5", "fabrikam")
