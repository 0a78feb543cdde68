"""The gateway subset over real HTTP: apply solution, versions, lifecycle with Status polling,
refusals with the live model's status and message, field mappings, the connection set."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from dwconf.emulator.gateway import SETTLE_SECONDS
from dwconf.live.errors import LOOKUP_METADATA_FAILURE
from tests.emulator.helpers import COMPANIES, CURRENCIES, CUSTOMERS, GW, Api


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
    return {m["detail"]["displayName"]: m for m in response.json()}


def _template(entry: dict[str, Any], version: str) -> str:
    wanted = tuple(int(p) for p in version.split("."))
    for template in entry["detail"]["templates"]:
        v = template["version"]
        if (v["major"], v["minor"], v["build"], v["revision"]) == wanted:
            return str(template["id"])
    raise AssertionError(version)


def _switch(gw: httpx.Client, api: Api, name: str, version: str) -> httpx.Response:
    entry = _maps(gw, api)[name]
    tid = _template(entry, version)
    return gw.post(
        f"{GW}/SolutionAware/{_cid(api)}/SwitchActive/{tid}",
        params={"pid": entry["detail"]["pid"]},
        json=tid,
    )


def _action(
    gw: httpx.Client, api: Api, action: str, names: list[str], **parameters: Any
) -> httpx.Response:
    maps = _maps(gw, api)
    details = [
        {
            "tid": maps[n]["detail"]["tid"],
            "pid": maps[n]["detail"]["pid"],
            "cid": _cid(api),
            "parameters": parameters,
        }
        for n in names
    ]
    return gw.post(f"{GW}/Start", json={"action": action, "details": details})


def _status(gw: httpx.Client, request_id: str, name: str) -> tuple[str, str]:
    """(request state, map state) after one Status poll."""
    response = gw.get(f"{GW}/Status/{request_id}")
    assert response.status_code == 200, response.text
    entry = next(m for m in response.json() if m["detail"]["displayName"] == name)
    request = next(r for r in entry["detail"]["lastRequests"] if r["requestId"] == request_id)
    return request["state"], entry["detail"]["state"]


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


def test_start_then_status_polling_reaches_running(linked: Api) -> None:
    with linked.gateway() as gw:
        for name in (CURRENCIES, COMPANIES):
            assert _switch(gw, linked, name, "1.0.0.0").status_code == 200
        started = _action(gw, linked, "1", [CURRENCIES], skipInitialSync=False,
                          conflictResolution={"option": "1", "master": "AX"})  # fmt: skip
        assert started.status_code == 200, started.text
        request_id = started.json()["requestId"]
        assert _status(gw, request_id, CURRENCIES) == ("1", "2")  # initial sync, two polls in dev
        assert _status(gw, request_id, CURRENCIES) == ("2", "4")
        quick = _action(gw, linked, "1", [COMPANIES], skipInitialSync=True).json()["requestId"]
        assert _status(gw, quick, COMPANIES) == ("2", "4")
    live = {m["name"]: m for m in linked.state()["state"]["maps"]}
    assert live[CURRENCIES]["state"] == "running" and live[CURRENCIES]["master"] == "finops"


def test_dependent_map_start_is_refused_with_the_live_message(linked: Api) -> None:
    with linked.gateway() as gw:
        for name in (CURRENCIES, COMPANIES, CUSTOMERS):
            _switch(gw, linked, name, "1.0.0.0")
        before = linked.state()["fingerprint"]
        refused = _action(gw, linked, "1", [CURRENCIES, CUSTOMERS])
        assert refused.status_code == 409
        error = refused.json()["error"]
        assert error["message"] == LOOKUP_METADATA_FAILURE
        assert error["code"] == "map.dependency_not_running"
        assert COMPANIES in error["innererror"]["message"]
        assert linked.state()["fingerprint"] == before  # all or nothing: currencies didn't start
        assert _action(gw, linked, "1", [CURRENCIES, COMPANIES, CUSTOMERS]).status_code == 200


def test_stop_pause_resume_and_switch_refused_while_running(linked: Api) -> None:
    with linked.gateway() as gw:
        _switch(gw, linked, CURRENCIES, "1.0.0.0")
        _action(gw, linked, "1", [CURRENCIES])
        assert _maps(gw, linked)[CURRENCIES]["detail"]["state"] == "4"
        _switch(gw, linked, CUSTOMERS, "1.0.0.0")
        assert _action(gw, linked, "5", [CURRENCIES]).status_code == 200
        assert _maps(gw, linked)[CURRENCIES]["detail"]["state"] == "5"
        resumed = _action(gw, linked, "6", [CURRENCIES]).json()["requestId"]
        assert _status(gw, resumed, CURRENCIES) == ("1", "3")  # catching up
        assert _status(gw, resumed, CURRENCIES) == ("2", "4")
        refused = _switch(gw, linked, CURRENCIES, "1.0.0.0")
        assert refused.status_code == 200  # already active: nothing to do
        assert _action(gw, linked, "4", [CURRENCIES]).status_code == 200
        assert _maps(gw, linked)[CURRENCIES]["detail"]["state"] == "1"
        assert _action(gw, linked, "7", [CURRENCIES]).status_code == 400
        assert gw.get(f"{GW}/Status/nope").status_code == 404


def test_switch_active_refused_for_a_running_map(linked: Api) -> None:
    with linked.gateway() as gw:
        for name in (CURRENCIES, COMPANIES, CUSTOMERS):
            _switch(gw, linked, name, "1.0.0.0")
        _action(gw, linked, "1", [CURRENCIES, COMPANIES, CUSTOMERS])
        refused = _switch(gw, linked, CUSTOMERS, "1.0.0.5")
        assert refused.status_code == 409
        assert refused.json()["error"]["message"].startswith(f"Table map '{CUSTOMERS}' is Running.")


def test_field_mappings_connection_set_and_keys(linked: Api) -> None:
    with linked.gateway() as gw:
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
        mappings = [
            {"left": {"name": c, "id": c}, "right": {"name": c, "id": c}} for c in ("USMF", "DEMF")
        ]
        link["dualWriteDetail"]["legalEntityMappings"] = {"mappings": mappings}
        link["dualWriteDetail"]["alertSettings"] = [
            {"name": "app-errors", "errorType": "application", "threshold": 10, "timeWindowInMinutes": 15,
             "action": "pause", "notificationRecipients": "ops@contoso.com"}
        ]  # fmt: skip
        assert gw.put(f"/api/ConnectionSet/{cname}", json=link).status_code == 200
        twice = [{"left": {"name": "USMF"}}, {"left": {"name": "usmf"}}]
        link["dualWriteDetail"]["legalEntityMappings"] = {"mappings": twice}
        duplicate = gw.put(f"/api/ConnectionSet/{cname}", json=link)
        assert duplicate.status_code == 400
        assert (
            duplicate.json()["error"]["message"]
            == "Saving connection set failed! An item with the same key has already been added."
        )
    state = linked.state()["state"]
    assert state["legal_entities"] == ["USMF", "DEMF"]
    assert state["alerts"][0]["action"] == "pause" and state["alerts"][0]["notify"] == [
        "ops@contoso.com"
    ]
    assert state["integration_keys"]["accounts"] == [
        "accountnumber",
        "msdyn_company.cdm_companycode",
    ]


def test_prerequisite_sequences_and_reset_link(linked: Api) -> None:
    with linked.gateway() as gw:
        for name in (CURRENCIES, COMPANIES, CUSTOMERS):
            _switch(gw, linked, name, "1.0.0.0")
        maps = _maps(gw, linked)
        customers = maps[CUSTOMERS]["detail"]["tid"]
        sequences = gw.post(
            f"{GW}/GetTemplatePrerequisiteSequences/{_cid(linked)}", json=[customers]
        ).json()
        assert sequences == [
            [maps[CURRENCIES]["detail"]["tid"], maps[COMPANIES]["detail"]["tid"], customers]
        ]
        _action(gw, linked, "1", [CURRENCIES])
        refused = gw.post(f"/api/ConnectionSet/{_cid(linked)}/Reset", params={"targetType": "AX", "forceReset": "false"},
                          json={"legalEntities": ["USMF"]})  # fmt: skip
        assert refused.status_code == 409
        forced = gw.post(f"/api/ConnectionSet/{_cid(linked)}/Reset", params={"targetType": "AX", "forceReset": "true"},
                         json={"legalEntities": ["USMF"]})  # fmt: skip
        assert forced.status_code == 200
        assert _maps(gw, linked) == {}


def test_a_map_read_alone_shows_as_in_the_whole_list(linked: Api) -> None:
    """Status and FieldMappings read only the maps they name; Entities reads the environment
    whole. Each shows a map the same way."""
    with linked.gateway() as gw:
        for name in (CURRENCIES, COMPANIES):
            _switch(gw, linked, name, "1.0.0.0")
        dataset = linked.test_api("GET", "").json()["environments"]["dev"]["dataset"]
        keys = {"datasetName": dataset, "integrationKeys": {"accounts": ["accountnumber"]}}
        assert gw.post(f"/api/dataset/{dataset}/IntegrationKeys", json=keys).status_code == 200
        request_id = _action(gw, linked, "1", [CURRENCIES, COMPANIES]).json()["requestId"]
        shown = gw.get(f"{GW}/Status/{request_id}").json()
        listed = _maps(gw, linked)
        assert sorted(m["detail"]["displayName"] for m in shown) == sorted([CURRENCIES, COMPANIES])
        for entry in shown:
            assert entry == listed[entry["detail"]["displayName"]]
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
        assert _switch(gw, linked, CURRENCIES, "1.0.0.0").status_code == 200
        started = _action(gw, linked, "1", [CURRENCIES], skipInitialSync=False,
                          conflictResolution={"option": "1", "master": "AX"})  # fmt: skip
        assert started.status_code == 200, started.text
        pid = _maps(gw, linked)[CURRENCIES]["detail"]["pid"]

        def state() -> str:
            response = gw.get(f"{GW}/{pid}/FieldMappings")
            assert response.status_code == 200, response.text
            found = {m["name"]: m["state"] for m in linked.state()["state"]["maps"]}
            return str(found[CURRENCIES])

        assert [state(), state(), state()] == ["initializing"] * 3  # a fresh request: Status's
        linked.test_api("POST", "/clock", json={"advance_seconds": SETTLE_SECONDS + 1})
        assert [state(), state()] == ["initializing", "running"]  # two polls in dev
