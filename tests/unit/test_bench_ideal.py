"""bench/apply_bench.py's ideal: the executor's greedy schedule of a step graph at a given
parallelism, each step costing the gateway calls it needs and the initial sync."""

from __future__ import annotations

from bench.apply_bench import ideal
from dwconf.plan.order import Step


def step(step_id: str, operation: str, *after: str, sync: bool = False) -> Step:
    args = {"initial_sync": True} if sync else {}
    return Step(step_id, operation, step_id, tuple(after), args)


def test_a_chain_costs_its_calls_and_syncs_back_to_back() -> None:
    steps = (
        step("apply", "apply_solution"),
        step("switch", "switch_version", "apply"),
        step("start", "start_map", "switch", sync=True),
    )
    assert ideal(steps, latency=1.0, sync=10.0, parallelism=4) == 2 + 3 + (5 + 10)


def test_parallelism_bounds_what_runs_at_once() -> None:
    keys = tuple(step(f"key{n}", "set_keys") for n in range(4))
    assert ideal(keys, latency=1.0, sync=0.0, parallelism=4) == 2
    assert ideal(keys, latency=1.0, sync=0.0, parallelism=2) == 4
    assert ideal(keys, latency=1.0, sync=0.0, parallelism=1) == 8


def test_a_step_waits_for_the_slowest_of_what_it_depends_on() -> None:
    steps = (
        step("slow", "start_map", sync=True),
        step("quick", "set_keys"),
        step("last", "switch_version", "slow", "quick"),
    )
    assert ideal(steps, latency=1.0, sync=4.0, parallelism=2) == (5 + 4) + 3
