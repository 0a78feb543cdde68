"""The gateway subset over real HTTP: apply solution, initializing maps (action 8), versions,
asynchronous lifecycle requests followed through Status, refusals with the live model's status
and message, failed requests (state 3), field mappings, the connection set as the real structs
have it (DWMaps.cs, DWFieldMapping.cs, DWConnectionSet.cs) and nothing more."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx
import pytest

from dwconf.emulator import EnvConfig
from dwconf.emulator.gateway.handler import SETTLE_SECONDS
from dwconf.emulator.serve import running
from dwconf.live.errors import LOOKUP_METADATA_FAILURE
from tests.emulator.conftest import emulator_config
from tests.emulator.helpers import COMPANIES, CURRENCIES, CUSTOMERS, GW, Api, named, wait_for

# The fields of the C# structs Microsoft's client reads them into: nothing else is served.
DETAIL_FIELDS = {
    "tid", "tName", "tags", "templates", "template", "pid", "lastRequest", "state", "actions",
    "lastRequests", "isProjectDeleted", "group",
}  # fmt: skip
REQUEST_FIELDS = {
    "requestId", "action", "createdOn", "modifiedOn", "state", "errorMessage", "errorUri",
    "rootActivityId",
}  # fmt: skip
ALERT_FIELDS = {"name", "state", "errorTypes", "threshold", "action"}


@pytest.fixture
def linked(api: Api) -> Api:
    api.import_contoso()
    return api


def _cid(api: Api) -> str:
    cid: str = api.test_api("GET", "").json()["environments"]["dev"]["cid"]
    return cid


def _maps(gw: httpx.Client, api: Api) -> dict[str, dict[str, Any]]:
    response = gw.get(f"{GW}/Entities", params={"targetType": "AX", "cid": _cid(api)})
    assert response.status_code == 200, response.text
    return named(response.json())


def _template(entry: dict[str, Any], version: str) -> str:
    wanted = tuple(int(p) for p in version.split("."))
    for template in entry["detail"]["templates"]:
        v = template["version"]
        if (v["major"], v["minor"], v["build"], v["revision"]) == wanted:
            return str(template["id"])
    raise AssertionError(version)


def _request_state(gw: httpx.Client, request_id: str, name: str) -> tuple[str, str, Any]:
    """(request state, map state, error message) after one Status poll."""
    response = gw.get(f"{GW}/Status/{request_id}")
    assert response.status_code == 200, response.text
    entry = named(response.json())[name]
    request = next(r for r in entry["detail"]["lastRequests"] if r["requestId"] == request_id)
    return request["state"], entry["detail"]["state"], request["errorMessage"]


def _finish(gw: httpx.Client, request_id: str, name: str) -> tuple[str, str, Any]:
    """Poll until the request ends; the request's state, the map's and the message."""
    found: list[tuple[str, str, Any]] = []

    def ended() -> bool:
        found.append(_request_state(gw, request_id, name))
        return found[-1][0] != "1"

    wait_for(ended)
    return found[-1]


def _action(gw: httpx.Client, api: Api, action: str, names: list[str], **parameters: Any) -> str:
    maps = _maps(gw, api)
    details = []
    for n in names:
        detail = {
            "tid": maps[n]["detail"]["tid"] or _template(maps[n], "1.0.0.0"),
            "cid": _cid(api),
        }
        if action != "8":
            detail["pid"] = maps[n]["detail"]["pid"]
        if parameters:
            detail["parameters"] = parameters
        details.append(detail)
    response = gw.post(f"{GW}/Start", json={"action": action, "details": details})
    assert response.status_code == 200, response.text
    return str(response.json()["requestId"])


def _initialize(gw: httpx.Client, api: Api, *names: str) -> None:
    request_id = _action(gw, api, "8", list(names))
    for name in names:
        assert _finish(gw, request_id, name)[0] == "2"


def _switch(gw: httpx.Client, api: Api, name: str, version: str) -> httpx.Response:
    entry = _maps(gw, api)[name]
    tid = _template(entry, version)
    return gw.post(
        f"{GW}/SolutionAware/{_cid(api)}/SwitchActive/{tid}",
        params={"pid": entry["detail"]["pid"] or ""},
        content=tid,  # the bare id, as Microsoft's client sends it
        headers={"Content-Type": "application/json; charset=utf-8"},
    )


def _ready(gw: httpx.Client, api: Api, *names: str) -> None:
    """Initialized and switched to 1.0.0.0, not running."""
    _initialize(gw, api, *names)
    for name in names:
        assert _switch(gw, api, name, "1.0.0.0").status_code == 200


def test_environment_lookup_by_finops_host(api: Api) -> None:
    with api.gateway() as gw:
        found = gw.get(
            f"{GW}/Environments",
            params={"targetType": "AX", "identifier": "dev.operations.dynamics.com"},
        )
        assert found.json()[0]["cid"] == _cid(api)
        assert found.json()[0]["detail"] == {"isSolutionAware": True}
        assert (
            gw.get(
                f"{GW}/Environments", params={"targetType": "AX", "identifier": "x.example"}
            ).json()
            == []
        )


def test_apply_solution_polls_to_completion_and_lists_templates(api: Api) -> None:
    api.import_contoso(apply=False)
    with api.gateway() as gw:
        cid = _cid(api)
        body = {"action": "2", "solutions": [{"criteria": {"uniquename": "contoso_Maps"}}]}
        request_id = gw.post(f"{GW}/SolutionAware/{cid}/RestoreTemplates", json=body).json()[
            "requestId"
        ]
        states = [
            gw.get(f"{GW}/SolutionAware/{cid}/Status/{request_id}").json()["state"]
            for _ in range(3)
        ]
        assert states == ["1", "2", "2"]  # dev takes two polls
        maps = _maps(gw, api)
        assert sorted(maps) == sorted([CURRENCIES, COMPANIES, CUSTOMERS])
        customers = maps[CUSTOMERS]
        assert (
            customers["leftEntity"]["name"] == "Customers V3"
            and customers["rightEntity"]["name"] == "accounts"
        )
        assert customers["detail"]["tName"] == "accounts - Customers V3"
        assert customers["detail"]["state"] == "6" and customers["detail"]["tid"] is None
        assert customers["detail"]["pid"] is None, "no project until initialized"
        assert set(customers["detail"]) <= DETAIL_FIELDS
        assert len(customers["detail"]["templates"]) == 2
        solutions = gw.get(f"{GW}/SolutionAware/{cid}/Solutions/").json()
        assert [s["uniquename"] for s in solutions] == ["contoso_Maps"]
        unknown = {"action": "2", "solutions": [{"criteria": {"uniquename": "nope"}}]}
        failed_id = gw.post(f"{GW}/SolutionAware/{cid}/RestoreTemplates", json=unknown).json()[
            "requestId"
        ]
        for _ in range(2):
            failed = gw.get(f"{GW}/SolutionAware/{cid}/Status/{failed_id}").json()
        assert failed["state"] == "3" and "nope" in failed["result"]["message"]


def test_a_map_gets_its_project_from_action_8(linked: Api) -> None:
    with linked.gateway() as gw:
        assert _maps(gw, linked)[CURRENCIES]["detail"]["pid"] is None
        assert _switch(gw, linked, CURRENCIES, "1.0.0.0").status_code == 400  # no project yet
        request_id = _action(gw, linked, "8", [CURRENCIES])
        assert _request_state(gw, request_id, CURRENCIES)[0] == "1"  # asynchronous
        assert _request_state(gw, request_id, CURRENCIES)[:2] == ("2", "6")  # still not running
        detail = _maps(gw, linked)[CURRENCIES]["detail"]
        assert detail["pid"] and detail["lastRequests"][-1]["action"] == "8"
        assert set(detail["lastRequests"][-1]) == REQUEST_FIELDS
        project = gw.get(f"{GW}/{detail['pid']}/FieldMappings").json()
        assert project["id"] == detail["pid"] and project["name"].startswith("DWM-")
        assert "projectState" not in project
        refresh = gw.post(f"/api/Project/{project['name']}/Refresh", json={"tokens": [""]})
        assert refresh.status_code == 200
        assert (
            gw.post(f"/api/Project/{detail['pid']}/Refresh", json={"tokens": [""]}).status_code
            == 404
        )
        assert _switch(gw, linked, CURRENCIES, "1.0.0.0").status_code == 200


def test_a_start_needs_a_project(linked: Api) -> None:
    with linked.gateway() as gw:
        maps = _maps(gw, linked)
        tid = _template(maps[COMPANIES], "1.0.0.0")
        detail = {"tid": tid, "pid": None, "cid": _cid(linked)}
        refused = gw.post(f"{GW}/Start", json={"action": "1", "details": [detail]})
        assert refused.status_code == 400
        assert refused.json()["error"]["code"] == "map.not_initialized"


def test_start_then_status_polling_reaches_running(linked: Api) -> None:
    with linked.gateway() as gw:
        _ready(gw, linked, CURRENCIES, COMPANIES)
        request_id = _action(gw, linked, "1", [CURRENCIES], skipInitialSync=False,
                             conflictResolution={"option": "1", "master": "AX"})  # fmt: skip
        assert _request_state(gw, request_id, CURRENCIES)[:2] == ("1", "2")  # initial sync
        assert _request_state(gw, request_id, CURRENCIES)[:2] == ("2", "4")  # two polls in dev
        quick = _action(gw, linked, "1", [COMPANIES], skipInitialSync=True)
        assert _request_state(gw, quick, COMPANIES)[:2] == ("1", "4")
        assert _request_state(gw, quick, COMPANIES)[:2] == ("2", "4")
    live = {m["name"]: m for m in linked.state()["state"]["maps"]}
    assert live[CURRENCIES]["state"] == "running" and live[CURRENCIES]["master"] == "finops"


def test_an_initial_sync_lasts_the_configured_time() -> None:
    config = emulator_config(environments=(EnvConfig("dev", sync_seconds=60),))
    with running(config) as server:
        api = Api(server)
        try:
            api.import_contoso()
            with api.gateway() as gw:
                _ready(gw, api, CURRENCIES)
                request_id = _action(gw, api, "1", [CURRENCIES], skipInitialSync=False)
                for _ in range(4):
                    assert _request_state(gw, request_id, CURRENCIES)[:2] == ("1", "2")
                api.test_api("POST", "/clock", json={"advance_seconds": 61})
                assert _finish(gw, request_id, CURRENCIES)[:2] == ("2", "4")
        finally:
            api.close()


def test_a_request_a_test_makes_fail_ends_in_state_3_and_changes_nothing(linked: Api) -> None:
    with linked.gateway() as gw:
        _ready(gw, linked, CURRENCIES)
        before = linked.state()["fingerprint"]
        failed = linked.test_api(
            "POST",
            f"/env/dev/maps/{quote(CURRENCIES)}/fail",
            json={"message": "Exceeds the maximum partitions allowed"},
        )
        assert failed.status_code == 200, failed.text
        request_id = _action(gw, linked, "1", [CURRENCIES])
        state, map_state, message = _finish(gw, request_id, CURRENCIES)
        assert (state, map_state) == ("3", "6")  # it never ran
        assert message == "Exceeds the maximum partitions allowed"
        assert linked.state()["fingerprint"] == before
        again = _action(gw, linked, "1", [CURRENCIES])  # only the next request failed
        assert _finish(gw, again, CURRENCIES)[:2] == ("2", "4")


def test_dependent_map_start_is_refused_with_the_live_message(linked: Api) -> None:
    with linked.gateway() as gw:
        _ready(gw, linked, CURRENCIES, COMPANIES, CUSTOMERS)
        before = linked.state()["fingerprint"]
        maps = _maps(gw, linked)
        details = [
            {"tid": maps[n]["detail"]["tid"], "pid": maps[n]["detail"]["pid"], "cid": _cid(linked)}
            for n in (CURRENCIES, CUSTOMERS)
        ]
        refused = gw.post(f"{GW}/Start", json={"action": "1", "details": details})
        assert refused.status_code == 409
        error = refused.json()["error"]
        assert error["message"] == LOOKUP_METADATA_FAILURE
        assert error["code"] == "map.dependency_not_running"
        assert COMPANIES in error["innererror"]["message"]
        assert linked.state()["fingerprint"] == before  # all or nothing: currencies didn't start
        _action(gw, linked, "1", [CURRENCIES, COMPANIES, CUSTOMERS])


def test_stop_pause_resume_and_switch_refused_while_running(linked: Api) -> None:
    with linked.gateway() as gw:
        _ready(gw, linked, CURRENCIES, CUSTOMERS)
        _action(gw, linked, "1", [CURRENCIES])
        assert _maps(gw, linked)[CURRENCIES]["detail"]["state"] == "4"
        _action(gw, linked, "5", [CURRENCIES])
        assert _maps(gw, linked)[CURRENCIES]["detail"]["state"] == "5"
        resumed = _action(gw, linked, "6", [CURRENCIES])
        assert _request_state(gw, resumed, CURRENCIES)[:2] == ("1", "3")  # catching up
        assert _request_state(gw, resumed, CURRENCIES)[:2] == ("2", "4")
        again = _switch(gw, linked, CURRENCIES, "1.0.0.0")
        assert again.status_code == 200  # already active: nothing to do
        stopped = _action(gw, linked, "4", [CURRENCIES])
        assert _finish(gw, stopped, CURRENCIES)[:2] == ("2", "1")
        bad = gw.post(f"{GW}/Start", json={"action": "7", "details": [{"tid": "x"}]})
        assert bad.status_code == 400
        assert gw.get(f"{GW}/Status/nope").status_code == 404


def test_switch_active_refused_for_a_running_map(linked: Api) -> None:
    with linked.gateway() as gw:
        _ready(gw, linked, CURRENCIES, COMPANIES, CUSTOMERS)
        _action(gw, linked, "1", [CURRENCIES, COMPANIES, CUSTOMERS])
        refused = _switch(gw, linked, CUSTOMERS, "1.0.0.5")
        assert refused.status_code == 409
        assert refused.json()["error"]["message"].startswith(f"Table map '{CUSTOMERS}' is Running.")


def test_field_mappings_connection_set_and_keys(linked: Api) -> None:
    with linked.gateway() as gw:
        _initialize(gw, linked, CUSTOMERS)
        _switch(gw, linked, CUSTOMERS, "1.0.0.5")
        pid = _maps(gw, linked)[CUSTOMERS]["detail"]["pid"]
        project = gw.get(f"{GW}/{pid}/FieldMappings").json()
        leg = project["entityMappingTasks"][0]["legs"][0]
        assert (leg["sourceSchema"], leg["destinationSchema"]) == ("Customers V3", "accounts")
        assert leg["reversedSourceFilter"] == "statecode eq 0"
        onhold = next(f for f in leg["fieldMappings"] if f["sourceField"] == "ONHOLDSTATUS")
        assert onhold["syncDirection"] == 1 and onhold["valueTransforms"][0]["valueMap"] == {
            "no": 806380000,
            "all": 806380002,
        }
        assert project["templateIdentifier"]["version"]["revision"] == 5
        dataset = linked.test_api("GET", "").json()["environments"]["dev"]["dataset"]
        keys = {
            "datasetName": dataset,
            "integrationKeys": {"accounts": ["accountnumber", "msdyn_company.cdm_companycode"]},
        }
        assert gw.post(f"/api/dataset/{dataset}/IntegrationKeys", json=keys).status_code == 200
        cname = linked.test_api("GET", "").json()["environments"]["dev"]["cname"]
        link = gw.get(f"/api/ConnectionSet/{cname}").json()
        crm = next(e for e in link["environments"].values() if e["targetType"] == "CRM")
        assert crm["schemas"][0]["keys"][0] == {
            "name": "UserKeys", "fields": ["accountnumber", "msdyn_company.cdm_companycode"],
            "isIntegrationKey": True, "isPrimaryKey": False,
        }  # fmt: skip
        assert gw.put(f"/api/ConnectionSet/{cname}", json=link).status_code == 405  # no writes


def test_alert_settings_are_served_in_the_structs_shape(api: Api) -> None:
    alert = {"name": "app-errors", "error_type": "application", "threshold": 10,
             "window_minutes": 15, "action": "pause", "notify": ["ops@contoso.com"]}  # fmt: skip
    done = api.test_api(
        "POST", "/env/dev/call", json={"op": "set_alerts", "args": {"alerts": [alert]}}
    )
    assert done.status_code == 200, done.text
    with api.gateway() as gw:
        cname = api.test_api("GET", "").json()["environments"]["dev"]["cname"]
        (served,) = gw.get(f"/api/ConnectionSet/{cname}").json()["dualWriteDetail"]["alertSettings"]
    assert set(served) == ALERT_FIELDS
    assert served["threshold"] == {"count": 10, "interval": 15, "unitOfTime": "Minutes"}
    assert served["errorTypes"] == ["Application"] and served["action"] == "Pause"
    assert "ops@contoso.com" not in str(served)  # no field for recipients in the struct


def test_prerequisite_sequences_and_reset_link(linked: Api) -> None:
    with linked.gateway() as gw:
        _ready(gw, linked, CURRENCIES, COMPANIES, CUSTOMERS)
        maps = _maps(gw, linked)
        customers = maps[CUSTOMERS]["detail"]["tid"]
        sequences = gw.post(
            f"{GW}/GetTemplatePrerequisiteSequences/{_cid(linked)}", json=[customers]
        ).json()
        assert sequences == [
            [maps[CURRENCIES]["detail"]["tid"], maps[COMPANIES]["detail"]["tid"], customers]
        ]
        _action(gw, linked, "1", [CURRENCIES])
        reset = f"/api/ConnectionSet/{_cid(linked)}/Reset"
        refused = gw.post(reset, params={"targetType": "AX", "forceReset": "False"},
                          json={"legalEntities": ["USMF"]})  # fmt: skip
        assert refused.status_code == 409
        strange = gw.post(reset, params={"targetType": "AX", "forceReset": "True"},
                          json={"environments": [{"name": "elsewhere"}], "legalEntities": []})  # fmt: skip
        assert strange.status_code == 400
        forced = gw.post(reset, params={"targetType": "AX", "forceReset": "True"},
                         json={"legalEntities": ["USMF"]})  # fmt: skip
        assert forced.status_code == 200
        assert _maps(gw, linked) == {}
    assert linked.state()["state"]["legal_entities"] == ["USMF"]


def test_a_map_read_alone_shows_as_in_the_whole_list(linked: Api) -> None:
    """Status and FieldMappings read only the maps they name; Entities reads the environment
    whole. Each shows a map the same way."""
    with linked.gateway() as gw:
        _ready(gw, linked, CURRENCIES, COMPANIES, CUSTOMERS)
        dataset = linked.test_api("GET", "").json()["environments"]["dev"]["dataset"]
        keys = {"datasetName": dataset, "integrationKeys": {"accounts": ["accountnumber"]}}
        assert gw.post(f"/api/dataset/{dataset}/IntegrationKeys", json=keys).status_code == 200
        request_id = _action(gw, linked, "1", [CURRENCIES, COMPANIES])
        shown = named(gw.get(f"{GW}/Status/{request_id}").json())
        listed = _maps(gw, linked)
        assert sorted(shown) == sorted([CURRENCIES, COMPANIES])
        for name, entry in shown.items():
            assert entry == listed[name]
        for name, entry in listed.items():
            detail = entry["detail"]
            project = gw.get(f"{GW}/{detail['pid'].upper()}/FieldMappings").json()
            assert project["displayName"] == detail["tName"]
            assert (project["templateIdentifier"] or {}).get("id") == detail["tid"]
            crm = next(e for e in project["environments"] if e["targetType"] == "CRM")
            found = [k["fields"] for k in crm["schemas"][0]["keys"]]
            assert found == ([["accountnumber"]] if name == CUSTOMERS else [])
        missing = gw.get(f"{GW}/DWM-nothing/FieldMappings")
        assert missing.status_code == 404


def test_a_map_whose_request_id_was_lost_still_finishes_initializing(linked: Api) -> None:
    """A client killed between `Start` and recording the request id can only read the project;
    the service finishes the initial sync on its own, so such reads move the map on once the
    request is older than SETTLE_SECONDS."""
    with linked.gateway() as gw:
        _ready(gw, linked, CURRENCIES)
        _action(gw, linked, "1", [CURRENCIES], skipInitialSync=False,
                conflictResolution={"option": "1", "master": "AX"})  # fmt: skip
        pid = _maps(gw, linked)[CURRENCIES]["detail"]["pid"]

        def state() -> str:
            response = gw.get(f"{GW}/{pid}/FieldMappings")
            assert response.status_code == 200, response.text
            found = {m["name"]: m["state"] for m in linked.state()["state"]["maps"]}
            return str(found[CURRENCIES])

        assert [state(), state(), state()] == ["initializing"] * 3  # a fresh request: Status's
        linked.test_api("POST", "/clock", json={"advance_seconds": SETTLE_SECONDS + 1})
        assert [state(), state()] == ["initializing", "running"]  # two polls in dev
