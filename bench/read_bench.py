"""Read benchmark of the dynamics provider against the emulator on loopback (TLS).

    python bench/read_bench.py [--maps 1000] [--fields 10]

An emulated environment with N maps (one generated solution, applied, every map on an active
version, a tenth of them running, an integration key per table) is read through the dynamics
provider three times: cold (a fresh repository: no definition cache), warm (a new provider on
the same repository: a new process, the disk cache warm) and warm again on the same provider
(tokens and the link known). Each prints the requests the emulator counted and the wall time,
against the targets; then the emulator's own time for the warm read's requests served one at a
time (what the client can't go below), and the local provider's read of the same environment.

The environment is seeded through the emulator's test API (`PUT /_emulator/seed`: the solution
and "apply solution"); choosing the active versions and starting maps is done on the emulator's
live model in-process, because through the HTTP test API each call also re-reads the whole
environment (about 0.1 s per call at 1,000 maps).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dwconf.desired import canonical_map
from dwconf.emulator import Client, EmulatorConfig, EnvConfig
from dwconf.emulator.config import User
from dwconf.emulator.serve import Running, running
from dwconf.live.state import Definition
from dwconf.model import Environment, TableMap
from dwconf.providers.dynamics import DynamicsProvider, Tuning
from dwconf.providers.dynamics.transport import ssl_context
from dwconf.providers.local import LocalProvider

ENV = "bench"
CLIENT_ID, SECRET = "b3nch000-0000-4000-8000-000000000001", "bench-secret-not-real-0123"
USER, PASSWORD = "bench-admin@contoso.example", "bench-password-not-real-0123"
ENVIRON = {
    "BENCH_CLIENT_ID": CLIENT_ID,
    "BENCH_SECRET": SECRET,
    "BENCH_USER": USER,
    "BENCH_PASSWORD": PASSWORD,
}
CORE = {"unique_name": "DualWriteCore", "version": "1.0.24062.1", "publisher": "microsoftdynamics"}
DATAVERSE_SETS = (
    "solutions",
    "msdyn_dualwriteentitymaps",
    "dwconf_leases",
    "dwconf_deploymentrecords",
)
TARGETS = {"cold requests": 1010, "warm requests": 20, "warm seconds": 1.0, "local seconds": 0.3}


def definition(n: int, fields: int) -> Definition:
    model = TableMap.model_validate(
        {
            "name": f"Bench entity {n} (bench_table{n}s)",
            "version": "1.0.0.0",
            "finops_entity": f"Bench entity {n}",
            "dataverse_table": f"bench_table{n}s",
            "integration_key": ["bench_c0"],
            "fields": [
                {"finops": f"F{j}", "dataverse": f"bench_c{j}", "direction": "both"}
                for j in range(fields)
            ],
        }
    )
    return canonical_map(model)


def seed(count: int, fields: int) -> dict[str, Any]:
    maps = [definition(n, fields) for n in range(count)]
    solution = {"unique_name": "bench_Maps", "version": "1.0.0.0", "publisher": "bench"}
    return {
        "solutions": [CORE, {**solution, "requires": {"DualWriteCore": ">=1.0"}, "maps": maps}],
        "apply": ["bench_Maps"],
        "legal_entities": ["USMF", "DEMF"],
        "integration_keys": {f"bench_table{n}s": ["bench_c0"] for n in range(count)},
    }


def activate(server: Running, count: int) -> None:
    """Active versions for every map and a tenth of them running (in-process, see above)."""
    live = server.hub.registry.get(ENV).env
    for n in range(count):
        name = f"Bench entity {n} (bench_table{n}s)"
        live.switch_version(name, "1.0.0.0")
        if n % 10 == 0:
            live.start_map(name)


def environment(server: Running) -> Environment:
    provider = {
        "type": "dynamics",
        "dataverse_url": server.dataverse_url(ENV),
        "gateway_url": server.gateway_url(ENV),
        "finops_url": f"https://{ENV}.operations.dynamics.com",
        "authority": server.base_url,
        "tenant_id": server.hub.config.tenant_id,
        "ca_file": str(server.ca_file),
        "auth": {"client_id_env": "BENCH_CLIENT_ID", "client_secret_env": "BENCH_SECRET"},
        "gateway_auth": {
            "method": "username_password",
            "username_env": "BENCH_USER",
            "password_env": "BENCH_PASSWORD",
        },
    }
    return Environment.model_validate({"name": ENV, "stage": "dev", "provider": provider})


def emulator_config() -> EmulatorConfig:
    """One environment, the application that reads Dataverse and the user who reads the
    gateway; `ENVIRON` holds their credentials."""
    return EmulatorConfig(
        environments=(EnvConfig(ENV),),
        clients=(Client(CLIENT_ID, SECRET),),
        users=(User(USER, PASSWORD),),
    )


class TestApi:
    def __init__(self, server: Running) -> None:
        verify = ssl_context(str(server.ca_file))
        self.http = httpx.Client(
            base_url=f"{server.base_url}/_emulator", verify=verify, timeout=120
        )

    def stats(self) -> dict[str, Any]:
        found: dict[str, Any] = self.http.get("/stats").json()
        return found

    def clear(self) -> None:
        self.http.delete("/stats")


class ServerCpu:
    """CPU time of the emulator's thread, to tell the client's own work from the server's."""

    def __init__(self) -> None:
        others = [t for t in threading.enumerate() if t is not threading.main_thread()]
        assert len(others) == 1 and others[0].ident is not None, others
        self.clock = time.pthread_getcpuclockid(others[0].ident)

    def seconds(self) -> float:
        return time.clock_gettime(self.clock)


@dataclass
class Read:
    requests: int
    seconds: float
    client_cpu: float
    by_request: dict[str, int]


def timed_read(provider: DynamicsProvider, api: TestApi, server_cpu: ServerCpu) -> Read:
    api.clear()
    cpu, server, start = time.process_time(), server_cpu.seconds(), time.perf_counter()
    state = provider.read()
    seconds = time.perf_counter() - start
    client = time.process_time() - cpu - (server_cpu.seconds() - server)
    assert len(state.maps) > 0
    stats = api.stats()
    return Read(stats["requests"], seconds, client, stats["by_request"])


def serial_server_time(server: Running, provider: DynamicsProvider) -> dict[str, float]:
    """The emulator's time for each of the warm read's reads, served one at a time."""
    dv, gw = provider.dataverse, provider.gateway
    link = gw.link()
    gateway = f"{gw.base_url}/api/DualWriteManagement/1.0"
    calls = [
        ("Entities", f"{gateway}/Entities?targetType=AX&cid={link.cid}", gw.auth),
        ("ConnectionSet", f"{gw.base_url}/api/ConnectionSet/{link.cname}", gw.auth),
        *((name, dv.url(name), dv.auth) for name in DATAVERSE_SETS),
    ]
    found = {}
    with httpx.Client(verify=ssl_context(str(server.ca_file)), timeout=120) as http:
        for name, url, auth in calls:
            start = time.perf_counter()
            http.get(url, headers={"Authorization": f"Bearer {auth.token()}"})
            found[name] = time.perf_counter() - start
    return found


def local_read(document: dict[str, Any], count: int) -> float:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        with LocalProvider.open(root, "dev", seed=document) as provider:
            for n in range(count):
                name = f"Bench entity {n} (bench_table{n}s)"
                provider.switch_version(name, "1.0.0.0")
                if n % 10 == 0:
                    provider.start_map(name)
        best = float("inf")
        for _ in range(3):
            with LocalProvider.open(root, "dev") as provider:
                start = time.perf_counter()
                provider.read()
                best = min(best, time.perf_counter() - start)
        return best


def report(label: str, read: Read) -> None:
    print(
        f"{label:<24} {read.requests:>5} requests  {read.seconds:6.3f} s wall  "
        f"{read.client_cpu:6.3f} s client CPU"
    )
    for key, value in sorted(read.by_request.items(), key=lambda kv: -kv[1])[:7]:
        path = key.split("/api/", 1)[-1] if "/api/" in key else key.rsplit("/", 2)[-1]
        print(f"    {value:>5}  {key.split(' ')[0]} …/{path[:70]}")


def verdict(name: str, value: float) -> None:
    target = TARGETS[name]
    print(f"target {name}: {value:.3f} vs {target} -> {'met' if value <= target else 'NOT met'}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--maps", type=int, default=1000)
    parser.add_argument("--fields", type=int, default=10)
    args = parser.parse_args()
    config, environ = emulator_config(), ENVIRON
    document = seed(args.maps, args.fields)
    with running(config, tls=True) as server, tempfile.TemporaryDirectory() as folder:
        api = TestApi(server)
        start = time.perf_counter()
        response = api.http.put("/seed", json={"environment": ENV, "seed": document})
        assert response.status_code == 200, response.text[:300]
        activate(server, args.maps)
        print(
            f"seeded {args.maps} maps x {args.fields} fields in {time.perf_counter() - start:.1f} s"
        )
        root, env = Path(folder), environment(server)
        server_cpu = ServerCpu()
        with DynamicsProvider.open(root, env, environ=environ, tuning=Tuning()) as cold:
            first = timed_read(cold, api, server_cpu)
        with DynamicsProvider.open(root, env, environ=environ, tuning=Tuning()) as warm:
            second = timed_read(warm, api, server_cpu)
            third = timed_read(warm, api, server_cpu)
            server_seconds = serial_server_time(server, warm)
        report("cold (no cache)", first)
        report("warm (new provider)", second)
        report("warm (same provider)", third)
        alone = ", ".join(f"{k} {v:.2f}" for k, v in server_seconds.items())
        print(f"emulator alone, the same reads one at a time: {sum(server_seconds.values()):.3f} s")
        print(f"    ({alone} s)")
        api.http.close()
    local_seconds = local_read(document, args.maps)
    print(f"local provider read: {local_seconds:.3f} s")
    verdict("cold requests", first.requests)
    verdict("warm requests", second.requests)
    verdict("warm seconds", second.seconds)
    print(
        "  (the emulator answers one request at a time and rebuilds the whole environment for "
        "each: the wall time is its time, see above)"
    )
    verdict("local seconds", local_seconds)


if __name__ == "__main__":
    main()
