"""Plan and apply benchmark on the local provider: prints figures, ratios and targets.

    python bench/plan_bench.py [--maps 1000] [--fields 60] [--repeat 3]

A generated configuration of N maps x M fields (bench/generate.py) is applied once to a fresh
local environment. Then: the time of `validate` (the work of `dwconf validate dev`), of one read
of the environment, of a plan with nothing changed and with 1% of the maps changed (each the
whole work of `dwconf plan dev`: load, validate, render, read, diff, order), of a plan with 20
deployment records in the history, the apply of 50 changed maps (steps per second), and peak
traced memory of a plan.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.generate import generate
from bench.run import best_of
from dwconf import planning, speedups
from dwconf.apply.journal import Journal
from dwconf.apply.run import Options, leased, run
from dwconf.plan.definition import Plan
from dwconf.providers.local import LocalProvider
from dwconf.validate.engine import validate


def plan(root: Path) -> Plan:
    """The work of `dwconf plan dev`."""
    return planning.plan(root, "dev")


def read(root: Path) -> None:
    with LocalProvider.open(root, "dev") as provider:
        provider.read()


def apply(root: Path) -> tuple[Plan, float]:
    """Plan and apply; returns the plan and the seconds the apply itself took."""
    planned = plan(root)
    options = Options()
    with LocalProvider.open(root, "dev") as provider:
        start = time.perf_counter()
        with leased(
            provider, env="dev", operation="apply", plan_id=planned.id, options=options
        ) as held:
            result = run(planned, held, Journal.new(root, "dev", planned.id), options)
        seconds = time.perf_counter() - start
    assert result.ok, [s.error for s in result.outcome.steps if s.error][:3] or result.remaining
    return planned, seconds


def change_maps(root: Path, count: int, total: int) -> None:
    """Narrow one field's direction in `count` maps spread over the configuration."""
    step = max(1, total // count)
    for n in range(0, step * count, step):
        path = next(root.glob(f"solutions/*/maps/map-{n}.yaml"))
        text = path.read_text()
        path.write_text(
            text.replace(
                "dataverse: bench_c1, direction: both",
                "dataverse: bench_c1, direction: to_dataverse",
                1,
            )
        )


def peak_mib(work: Callable[[], object]) -> float:
    tracemalloc.start()
    work()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20


def measure(root: Path, maps: int, repeat: int) -> dict[str, float]:
    setup, setup_apply_s = apply(root)
    figures: dict[str, float] = {
        "initial_apply_steps": len(setup.steps),
        "initial_apply_s": setup_apply_s,
        "validate_s": best_of(repeat, lambda: validate(root, ["dev"])),
        "read_s": best_of(repeat, lambda: read(root)),
    }
    nothing = plan(root)
    assert not nothing.has_changes, [c.address for c in nothing.changes][:5]
    figures["plan_nothing_changed_s"] = best_of(repeat, lambda: plan(root))
    change_maps(root, max(1, maps // 100), maps)
    figures["plan_1pct_changed_s"] = best_of(repeat, lambda: plan(root))
    figures["plan_peak_traced_mib"] = peak_mib(lambda: plan(root))
    apply(root)
    change_maps_again(root, 50, maps)
    changed, seconds = apply(root)
    figures["apply_50_maps_steps"] = len(changed.steps)
    figures["apply_50_maps_s"] = seconds
    figures["apply_steps_per_s"] = len(changed.steps) / seconds
    figures["process_max_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    add_history(root, 20)  # after the memory figure: making the history is not dwconf's memory
    figures["plan_20_records_s"] = best_of(repeat, lambda: plan(root))
    return figures


def add_history(root: Path, records: int) -> None:
    """Copies of the last deployment record until the history holds `records`: what months of
    applies leave behind, each record holding the whole desired state."""
    with LocalProvider.open(root, "dev") as provider:
        env = provider.environment
        have = env.records()
        last = have[-1]
        desired = env.record_desired(last.id)
        for _ in range(records - len(have)):
            env.add_record(
                who=last.who,
                plan_hash=last.plan_hash,
                git_commit=last.git_commit,
                solution_versions=last.solution_versions,
                desired=desired,
            )


def change_maps_again(root: Path, count: int, total: int) -> None:
    """Bump the version of `count` maps (a restart each: stop, switch, start)."""
    step = max(1, total // count)
    for n in range(1, step * count, step):
        path = next(root.glob(f"solutions/*/maps/map-{n}.yaml"))
        path.write_text(path.read_text().replace("version: 1.0.0.0", "version: 1.0.0.1", 1))


def report(figures: dict[str, float]) -> None:
    base = figures["validate_s"] + figures["read_s"]
    figures["ratio_plan_nothing_to_validate_plus_read"] = figures["plan_nothing_changed_s"] / base
    figures["ratio_plan_1pct_to_validate_plus_read"] = figures["plan_1pct_changed_s"] / base
    width = max(map(len, figures))
    for key, value in figures.items():
        print(f"{key:<{width}}  {round(value, 3)}")
    targets = {
        "plan_nothing_changed_s < 2": figures["plan_nothing_changed_s"] < 2,
        "plan_1pct_changed_s < 2": figures["plan_1pct_changed_s"] < 2,
        "plan_20_records_s < 2": figures["plan_20_records_s"] < 2,
        "plan / (validate + read) < 1.5 (nothing changed)": (
            figures["ratio_plan_nothing_to_validate_plus_read"] < 1.5
        ),
        "plan / (validate + read) < 1.5 (1% changed)": (
            figures["ratio_plan_1pct_to_validate_plus_read"] < 1.5
        ),
    }
    for name, ok in targets.items():
        print(f"target {name}: {'met' if ok else 'NOT met'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--maps", type=int, default=1000)
    parser.add_argument("--fields", type=int, default=60)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = generate(Path(tmp) / "config", args.maps, args.fields, 10)
        with speedups.for_command():  # as the command line arranges it
            report(measure(root, args.maps, args.repeat))


if __name__ == "__main__":
    main()
