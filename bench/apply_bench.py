"""Apply over the emulator at the service's pace, against the ideal for its step graph.

    python bench/apply_bench.py [--maps 12] [--chain 3] [--latency-ms 300] [--sync-s 3]
                                [--parallelism 4]

The emulator answers every gateway call after `--latency-ms` (a fault rule of added latency)
and lets an initial sync last `--sync-s`; Dataverse answers at loopback speed. A generated
configuration of `--maps` maps, in dependency chains of `--chain`, is applied to a freshly
linked environment as `dwconf apply --auto-approve` applies it (the dynamics provider with its
default tuning), at `--parallelism`; the time is from the plan to the end of the apply (the
lease, the steps, verification and the deployment record).

The ideal is the critical path of the plan's step graph at that parallelism (the executor's
greedy schedule), each step costing the gateway calls Microsoft's client makes for it, back to
back, and the initial sync itself:

- apply solution: RestoreTemplates, Status (2 calls);
- set keys: the connection set, IntegrationKeys (2);
- switch version of a map without a project: Start "8", Status, SwitchActive (3);
- start: the map's state, FieldMappings, Refresh, Start, then Status once the request (and
  the initial sync, if any) has ended (5 calls and the sync);
- steps on Dataverse only (import, the requirements check): 0.

Prints one JSON line: the wall time, the ideal, their ratio and the counts. Target: <= 1.25.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.generate import generate
from dwconf.apply.run import Options
from dwconf.apply.session import Quiet, Request, apply
from dwconf.emulator import Client, EmulatorConfig, EnvConfig, envfile
from dwconf.emulator.config import User
from dwconf.emulator.serve import Running, running
from dwconf.package.yamlout import document
from dwconf.plan.definition import Plan
from dwconf.plan.order import Step
from dwconf.providers.dynamics.transport import ssl_context

ENV = "dev"
CLIENT_ID, SECRET = "b3nch000-0000-4000-8000-000000000002", "bench-secret-not-real-4567"
USER, PASSWORD = "bench-admin@contoso.example", "bench-password-not-real-89"
ENVIRON = dict(zip(envfile.CREDENTIAL_VARIABLES, (CLIENT_ID, SECRET, USER, PASSWORD), strict=True))
TARGET = 1.25
CALLS = {
    "check_requirements": 1,
    "import_solution": 0,
    "apply_solution": 2,
    "set_keys": 2,
    "switch_version": 3,
    "stop_map": 3,
    "start_map": 5,
    "resume_map": 4,
}


def configuration(root: Path, server: Running, maps: int, chain: int) -> Path:
    """bench/generate.py's maps (6 fields) in one solution, each depending on the one before
    it within its chain, `dev` on the emulator."""
    generate(root, maps, 6, 1)
    for path in (root / "solutions" / "bench-0" / "maps").glob("map-*.yaml"):
        n = int(path.stem.removeprefix("map-"))
        lines = [ln for ln in path.read_text().splitlines() if not ln.startswith("depends_on:")]
        if n % chain:
            lines.insert(5, f"depends_on: [Bench map {n - 1}]")
        path.write_text("\n".join(lines) + "\n")
    env = root / "environments" / f"{ENV}.yaml"
    block = envfile.provider(
        server.base_url, server.hub.config.tenant_id, f"{ENV}.operations.dynamics.com", ENV
    )
    provider = document({"provider": {**block, "ca_file": str(server.ca_file)}})
    text = env.read_text().replace("stage: dev\n", "stage: dev\n" + provider)
    env.write_text(text + "maps: {initial_sync: run}\n")
    return root


def _cost(step: Step, latency: float, sync: float) -> float:
    calls = CALLS.get(step.operation, 2)
    if step.operation == "start_map" and step.args.get("initial_sync"):
        return calls * latency + sync
    return calls * latency


def ideal(steps: tuple[Step, ...], latency: float, sync: float, parallelism: int) -> float:
    """The executor's greedy schedule of `steps` at `parallelism`, each step its ideal cost."""
    finish: dict[str, float] = {}
    running: list[float] = []  # finish times of the steps in flight
    pending = list(steps)
    now = 0.0
    while pending:
        ready = [s for s in pending if all(d in finish and finish[d] <= now for d in s.depends_on)]
        while ready and len([t for t in running if t > now]) < parallelism:
            step = ready.pop(0)
            pending.remove(step)
            finish[step.id] = now + _cost(step, latency, sync)
            running.append(finish[step.id])
        later = [t for t in [*running, *finish.values()] if t > now]
        if not later:
            break
        now = min(later)
    return max(finish.values(), default=0.0)


class Timed(Quiet):
    """Shows nothing; keeps the plan and when it was made (the steps start right after)."""

    def __init__(self) -> None:
        self.planned: Plan | None = None
        self.at = 0.0

    def plan(self, plan: Plan) -> None:
        self.planned, self.at = plan, time.perf_counter()


def _latency_rule(latency_ms: float) -> dict[str, Any]:
    return {"match": {"path": f"^/env/{ENV}/gateway/"}, "latencyMs": latency_ms, "times": None}


def measure(
    maps: int, chain: int, latency_ms: float, sync_s: float, parallelism: int
) -> Mapping[str, Any]:
    environment = EnvConfig(ENV, request_polls=0, sync_seconds=sync_s)
    config = EmulatorConfig(
        environments=(environment,),
        clients=(Client(CLIENT_ID, SECRET),),
        users=(User(USER, PASSWORD),),
    )
    os.environ.update(ENVIRON)
    with running(config, tls=True) as server, tempfile.TemporaryDirectory() as folder:
        root = configuration(Path(folder) / "config", server, maps, chain)
        test_api = f"{server.base_url}/_emulator"
        import httpx

        with httpx.Client(verify=ssl_context(str(server.ca_file))) as http:
            http.post(
                f"{test_api}/env/{ENV}/call",
                json={"op": "set_legal_entities", "args": {"codes": ["USMF"]}},
            )
            http.post(f"{test_api}/faults", json=_latency_rule(latency_ms)).raise_for_status()
            view = Timed()
            request = Request(root, ENV, auto_approve=True, options=Options(parallelism))
            report = apply(request, view)  # through the provider the CLI opens
            wall = time.perf_counter() - view.at
            requests = http.get(f"{test_api}/stats").json()["requests"]
    plan = view.planned
    assert plan is not None
    best = ideal(plan.steps, latency_ms / 1000, sync_s, parallelism)
    return {
        "maps": maps,
        "steps": len(plan.steps),
        "parallelism": parallelism,
        "latency_ms": latency_ms,
        "sync_s": sync_s,
        "ok": report.ok,
        "apply_s": round(wall, 2),
        "ideal_s": round(best, 2),
        "ratio": round(wall / best, 3),
        "requests": requests,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--maps", type=int, default=12)
    parser.add_argument("--chain", type=int, default=3)
    parser.add_argument("--latency-ms", type=float, default=300.0)
    parser.add_argument("--sync-s", type=float, default=3.0)
    parser.add_argument("--parallelism", type=int, default=4)
    args = parser.parse_args()
    figures = measure(args.maps, args.chain, args.latency_ms, args.sync_s, args.parallelism)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
