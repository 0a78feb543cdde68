"""Fault injection (status + Retry-After, 503, dropped connections before and after the work,
latency, counts, a seeded random rate) and the service-protection throttle per caller."""

from __future__ import annotations

import random
import threading
import time

import httpx
import pytest

from dwconf.emulator import Limits
from dwconf.emulator.registry import Clock
from dwconf.emulator.serve import running
from dwconf.emulator.throttle import EXECUTION_CODE, Rejection, Throttle
from tests.emulator.conftest import emulator_config
from tests.emulator.helpers import API, GW, Api

MAPS_PATH = "^/api/data/v9.2/msdyn_dualwriteentitymaps"


# An aborted connection reads as closed without an answer, or as reset when the request had
# bytes the server never read: which one is a matter of timing.
DROPPED = (httpx.RemoteProtocolError, httpx.ReadError)


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
        with pytest.raises(DROPPED):
            dv.get("/WhoAmI")
        assert dv.get("/WhoAmI").status_code == 200


def test_a_lost_answer_means_the_work_was_done(api: Api) -> None:
    _fault(api, match={"method": "POST", "path": "/dwconf_deploymentrecords$"}, dropResponse=True)
    step = {"x-dwconf-step": "record"}
    with api.dataverse() as dv:
        with pytest.raises(DROPPED):
            dv.post("/dwconf_deploymentrecords", json={"dwconf_who": "ci"}, headers=step)
        _fault(api, match={"path": "/dwconf_deploymentrecords$"}, drop=True)
        with pytest.raises(DROPPED):
            dv.post("/dwconf_deploymentrecords", json={"dwconf_who": "cd"}, headers=step)
        dv.get("/dwconf_deploymentrecords", headers=step)
    assert [r["who"] for r in api.state()["state"]["records"]] == ["ci"]  # only the first ran
    path = "/env/dev/dataverse/api/data/v9.2/dwconf_deploymentrecords"
    assert api.test_api("GET", "/stats").json()["step_outcomes"]["record"] == {
        f"POST {path}": {"lost": 1, "dropped": 1},
        f"GET {path}": {"200": 1},
    }
    rules = api.test_api("GET", "/faults").json()["faults"]
    assert [(r["dropResponse"], r["drop"], r["fired"]) for r in rules] == [
        (True, False, 1),
        (False, True, 1),
    ]


def _fired_on(api: Api, rate: float, seed: int, requests: int = 200) -> list[int]:
    """Which of `requests` WhoAmI calls a fresh rule with this rate and seed answered 503."""
    api.test_api("DELETE", "/faults")
    _fault(api, match={"path": "/WhoAmI"}, status=503, rate=rate, seed=seed)
    with api.dataverse() as dv:
        statuses = [dv.get("/WhoAmI").status_code for _ in range(requests)]
    assert set(statuses) <= {200, 503}
    return [n for n, status in enumerate(statuses) if status == 503]


def _draws(rate: float, seed: int, requests: int) -> list[int]:
    """The documented contract: matching request n fires when draw n of Random(seed) < rate."""
    rng = random.Random(seed)
    return [n for n in range(requests) if rng.random() < rate]


def test_a_rate_fires_on_a_seeded_share_of_matching_requests(api: Api) -> None:
    first = _fired_on(api, 0.1, seed=7)
    rule = api.test_api("GET", "/faults").json()["faults"][0]
    assert rule["rate"] == 0.1 and rule["seed"] == 7
    assert rule["times"] is None  # a rate means "every time it rolls", not once
    assert rule["fired"] == len(first)
    assert first == _draws(0.1, 7, 200)
    assert 0 < len(first) < 60
    assert _fired_on(api, 0.1, seed=7) == first  # same seed, same requests
    assert _fired_on(api, 0.1, seed=8) == _draws(0.1, 8, 200) != first
    assert len(_fired_on(api, 1, seed=7, requests=20)) == 20


def test_a_rate_with_times_stops_after_that_many(api: Api) -> None:
    _fault(api, match={"path": "/WhoAmI"}, status=503, rate=0.3, seed=3, times=2)
    with api.dataverse() as dv:
        statuses = [dv.get("/WhoAmI").status_code for _ in range(40)]
    fired = [n for n, status in enumerate(statuses) if status == 503]
    assert fired == _draws(0.3, 3, 40)[:2]


def test_a_rule_that_does_not_roll_lets_the_next_rule_match(api: Api) -> None:
    _fault(api, match={"path": "/WhoAmI"}, status=503, rate=0.5, seed=11, times=None)
    _fault(api, match={"path": "/WhoAmI"}, status=429, retryAfter=0, times=None)
    with api.dataverse() as dv:
        statuses = {dv.get("/WhoAmI").status_code for _ in range(30)}
    assert statuses == {503, 429}


@pytest.mark.parametrize(
    "spec",
    [
        {"status": 503, "rate": 0},
        {"status": 503, "rate": 1.5},
        {"status": 503, "rate": "often"},
        {"status": 503, "rate": True},
        {"status": 503, "rate": 0.1, "seed": "abc"},
        {"status": 503, "rate": 0.1, "seed": 1.5},
        {"status": 503, "dropResponse": True},
        {"drop": True, "dropResponse": True},
    ],
)
def test_bad_rate_seed_and_drop_specs_are_400(api: Api, spec: dict[str, object]) -> None:
    response = api.test_api("POST", "/faults", json={"match": {"path": "/WhoAmI"}, **spec})
    assert response.status_code == 400, response.text
    assert api.test_api("GET", "/faults").json()["faults"] == []


def test_stats_show_the_requests_being_handled(api: Api) -> None:
    _fault(api, match={"path": "/WhoAmI"}, latencyMs=400)
    with api.dataverse() as dv:
        slow = threading.Thread(target=dv.get, args=("/WhoAmI",))
        slow.start()
        time.sleep(0.2)
        assert api.test_api("GET", "/stats").json()["in_flight"] == 1
        slow.join()
    stats = api.test_api("GET", "/stats").json()
    assert stats["in_flight"] == 0
    assert stats["by_path"]["/env/dev/dataverse/api/data/v9.2/WhoAmI"] == 1


def test_latency_is_added(api: Api) -> None:
    _fault(api, match={"path": "/WhoAmI"}, latencyMs=300)
    with api.dataverse() as dv:
        started = time.monotonic()
        assert dv.get("/WhoAmI").status_code == 200
        assert time.monotonic() - started >= 0.3
        assert dv.get("/WhoAmI").status_code == 200
    # the rule fired once (times defaults to 1): the second request had no latency added,
    # counted rather than timed, so a busy machine can't make it look delayed
    assert api.test_api("GET", "/stats").json()["faults_fired"] == 1


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


class _Clock(Clock):
    def __init__(self) -> None:
        super().__init__()
        self.at = 1000.0

    def time(self) -> float:
        return self.at


def test_execution_time_counts_while_its_request_is_in_the_window() -> None:
    clock = _Clock()
    limits = Limits(requests=100, window_seconds=10.0, execution_ms=1000, concurrent=5)
    throttle = Throttle(limits, clock)

    def request(seconds: float) -> Rejection | None:
        rejection, entry = throttle.admit("caller")
        if entry is not None:
            clock.at += seconds
            throttle.done("caller", entry)
        return rejection

    assert request(0.6) is None and request(0.3) is None  # 900 ms
    assert request(0.1) is None  # admitted below the limit; 1000 ms when it ends
    refused = request(0)
    assert refused is not None and refused.code == EXECUTION_CODE
    clock.at += 10.0  # all of them left the window
    assert request(0) is None
    _, slow = throttle.admit("caller")
    assert slow is not None
    clock.at += 11.0  # the slow request outlives the window while it runs...
    assert request(0) is None
    throttle.done("caller", slow)  # ...and its 11 s don't count once it ends
    assert request(0) is None
