"""The test-only API: state reflects changes made through the real surfaces and out of band;
seed, reset, calls and statistics."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from urllib.parse import quote

from tests.emulator.helpers import CURRENCIES, GW, Api, definition, named


def test_state_reflects_changes_and_out_of_band_edits(api: Api) -> None:
    api.import_contoso()
    before = api.state()
    assert {m["name"] for m in before["state"]["maps"]} >= {CURRENCIES}
    switched = api.test_api(
        "POST",
        "/env/dev/call",
        json={"op": "switch_version", "args": {"name": CURRENCIES, "version": "1.0.0.0"}},
    )
    assert switched.status_code == 200, switched.text
    started = api.test_api("POST", f"/env/dev/maps/{quote(CURRENCIES)}/start")
    assert started.json()["result"]["state"] == "running"
    after = api.state()
    assert after["fingerprint"] != before["fingerprint"]
    with api.gateway() as gw:
        entry = named(gw.get(f"{GW}/Entities").json())[CURRENCIES]
        assert entry["detail"]["state"] == "4"
    stopped = api.test_api("POST", f"/env/dev/maps/{quote(CURRENCIES)}/stop")
    assert stopped.json()["result"]["state"] == "not_running"
    refused = api.test_api(
        "POST", "/env/dev/call", json={"op": "pause_map", "args": {"name": CURRENCIES}}
    )
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "map.state_conflict"
    unknown = api.test_api("POST", "/env/dev/call", json={"op": "drop_tables", "args": {}})
    assert unknown.status_code == 400
    everything = api.test_api("GET", "/state").json()
    assert set(everything["environments"]) == {"dev", "test"}
    assert everything["counters"]["requests"] > 0


def test_seed_creates_or_replaces_an_environment(api: Api) -> None:
    seed = {
        "solutions": [
            {"unique_name": "DualWriteCore", "version": "1.0.24062.1", "publisher": "microsoftdynamics"},
            {"unique_name": "contoso_Seeded", "version": "1.0.0.0", "publisher": "contoso",
             "maps": [definition(CURRENCIES)]},
        ],
        "apply": ["contoso_Seeded"],
        "legal_entities": ["USMF"],
    }  # fmt: skip
    created = api.test_api("POST", "/seed", json={"environment": "qa", "seed": seed})
    assert created.status_code == 200, created.text
    assert created.json()["state"]["legal_entities"] == ["USMF"]
    with api.gateway("qa") as gw:
        assert list(named(gw.get(f"{GW}/Entities").json())) == [CURRENCIES]
    assert (
        api.test_api("POST", "/seed", json={"environment": "qa", "seed": {"nope": 1}}).status_code
        == 400
    )
    assert api.test_api("POST", "/reset").json()["environments"] == ["dev", "test"]


def test_stats_count_requests_steps_and_in_flight(api: Api) -> None:
    with api.dataverse() as dv:
        for _ in range(2):
            dv.get("/WhoAmI", headers={"x-dwconf-step": "step-7"})
        dv.post(
            "/dwconf_deploymentrecords",
            json={"dwconf_who": "ci"},
            headers={"x-dwconf-step": "step-8"},
        )
    stats = api.test_api("GET", "/stats").json()
    path = "/env/dev/dataverse/api/data/v9.2/WhoAmI"
    assert stats["by_path"][path] == 2
    assert stats["steps"]["step-7"] == {f"GET {path}": 2}
    assert stats["steps"]["step-8"] == {
        "POST /env/dev/dataverse/api/data/v9.2/dwconf_deploymentrecords": 1
    }
    assert stats["max_in_flight_by_plane"]["dev/dataverse"] == 1
    assert api.test_api("DELETE", "/stats").status_code == 204
    assert api.test_api("GET", "/stats").json()["requests"] == 0


def test_the_clock_can_be_held_still_and_moved_only_by_hand(api: Api) -> None:
    held = api.test_api("POST", "/clock", json={"hold": True}).json()
    assert held["held"] is True
    time.sleep(1.1)  # a running clock would have moved on by a second
    still = api.test_api("POST", "/clock", json={}).json()
    assert still["now"] == held["now"]
    moved = api.test_api("POST", "/clock", json={"advance_seconds": 90}).json()
    before = datetime.fromisoformat(held["now"])
    assert datetime.fromisoformat(moved["now"]) - before == timedelta(seconds=90)
    assert api.test_api("POST", "/clock", json={"hold": "yes"}).status_code == 400
    assert api.test_api("POST", "/clock", json={"advance_seconds": True}).status_code == 400
    assert api.test_api("POST", "/reset", json={}).status_code in (200, 204)
    assert api.test_api("POST", "/clock", json={}).json()["held"] is False
