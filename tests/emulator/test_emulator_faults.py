"""Fault injection (status + Retry-After, 503, dropped connections, latency, counts) and the
service-protection throttle per caller."""

from __future__ import annotations

import threading
import time

import httpx
import pytest

from dwconf.emulator import Limits
from dwconf.emulator.serve import running
from tests.emulator.conftest import emulator_config
from tests.emulator.helpers import API, GW, Api

MAPS_PATH = "^/api/data/v9.2/msdyn_dualwriteentitymaps"


def _fault(api: Api, **spec: object) -> None:
    response = api.test_api("POST", "/faults", json=spec)
    assert response.status_code == 200, response.text


def test_429_with_retry_after_then_the_real_answer(api: Api) -> None:
    _fault(api, match={"method": "GET", "path": MAPS_PATH}, status=429, retryAfter=3, times=2)
    with api.dataverse() as dv:
        first = dv.get("/msdyn_dualwriteentitymaps")
        assert first.status_code == 429
        assert first.headers["Retry-After"] == "3"
        assert first.json()["error"]["code"] == "0x80072322"
        assert dv.get("/msdyn_dualwriteentitymaps").status_code == 429
        assert dv.get("/msdyn_dualwriteentitymaps").status_code == 200  # count exhausted
        assert dv.get("/solutions").status_code == 200  # never matched
    faults = api.test_api("GET", "/faults").json()["faults"]
    assert faults[0]["fired"] == 2


def test_503_on_the_gateway_and_always(api: Api) -> None:
    _fault(api, match={"method": "POST", "path": "/Start$", "env": "dev"}, status=503, times=None)
    with api.gateway() as gw:
        for _ in range(3):
            response = gw.post(f"{GW}/Start", json={"action": "1", "details": []})
            assert response.status_code == 503
            assert response.json()["error"]["message"] == "The service is unavailable."
        assert gw.get(f"{GW}/Version").status_code == 200
    assert api.test_api("DELETE", "/faults").status_code == 204
    with api.gateway() as gw:
        assert gw.post(f"{GW}/Start", json={"action": "1", "details": []}).status_code == 400


def test_dropped_connection_has_no_response(api: Api) -> None:
    _fault(api, match={"path": "/WhoAmI"}, drop=True)
    with api.dataverse() as dv:
        with pytest.raises(httpx.RemoteProtocolError):
            dv.get("/WhoAmI")
        assert dv.get("/WhoAmI").status_code == 200


def test_latency_is_added(api: Api) -> None:
    _fault(api, match={"path": "/WhoAmI"}, latencyMs=300)
    with api.dataverse() as dv:
        started = time.monotonic()
        assert dv.get("/WhoAmI").status_code == 200
        assert time.monotonic() - started >= 0.3
        started = time.monotonic()
        dv.get("/WhoAmI")
        assert time.monotonic() - started < 0.3


def test_bad_fault_spec_is_400(api: Api) -> None:
    assert (
        api.test_api("POST", "/faults", json={"match": {"path": "("}, "status": 500}).status_code
        == 400
    )
    assert api.test_api("POST", "/faults", json={"match": {}}).status_code == 400


def test_throttle_per_caller_returns_429_with_retry_after() -> None:
    limits = Limits(requests=3, window_seconds=60)
    with running(emulator_config(limits=limits)) as server:
        api = Api(server)
        with api.dataverse() as dv:
            assert [dv.get("/WhoAmI").status_code for _ in range(3)] == [200, 200, 200]
            throttled = dv.get("/WhoAmI")
            assert throttled.status_code == 429
            assert 1 <= int(throttled.headers["Retry-After"]) <= 60
            assert throttled.json()["error"] == {
                "code": "0x80072322",
                "message": "Number of requests exceeded the limit of 3 over time window of 60 seconds.",
            }
        with api.gateway() as gw:  # another resource: its own budget
            assert gw.get(f"{GW}/Version").status_code == 200
        api.test_api("POST", "/clock", json={"advance_seconds": 61})
        with api.dataverse() as dv:
            assert dv.get("/WhoAmI").status_code == 200
        api.close()


def test_concurrency_limit() -> None:
    with running(emulator_config(limits=Limits(concurrent=1))) as server:
        api = Api(server)
        api.test_api("POST", "/faults", json={"match": {"path": "/WhoAmI"}, "latencyMs": 400})
        url = f"{server.dataverse_url('dev')}{API}"
        token = api.token(server.dataverse_url("dev"))
        headers = {"Authorization": f"Bearer {token}"}
        results: list[int] = []
        slow = threading.Thread(
            target=lambda: results.append(
                api.http.get(f"{url}/WhoAmI", headers=headers).status_code
            )
        )
        slow.start()
        time.sleep(0.15)
        with httpx.Client() as other:
            busy = other.get(f"{url}/solutions", headers=headers)
        slow.join()
        assert busy.status_code == 429 and busy.json()["error"]["code"] == "0x80072326"
        assert results == [200]
        stats = api.test_api("GET", "/stats").json()
        assert stats["max_in_flight_by_plane"]["dev/dataverse"] == 2
        api.close()
