"""Benchmarks at scale: one command that prints a table, the ratios and targets, and writes
bench/results.json.

    bench/run            # 100, 1,000 and 5,000 maps x 60 fields
    bench/run --quick    # 100 maps, and 1,000 maps with only what the targets need (no render,
                         # 50-map apply, diff or emulator reads); one repeat; under a minute

Both also apply a dozen maps (eight with --quick) over the emulator at the service's pace
(300 ms per gateway call, 3 s initial syncs; bench/apply_bench.py) and compare the wall time
with the ideal: the critical path of the step graph at the parallelism used.

Each size runs in its own process (bench/scale.py) so that its max RSS is its own. For every
missed target, the step is profiled with cProfile at 200 maps and the functions where its
time goes are printed: a missed figure is reported with its cause, never hidden.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
Figures = dict[str, Any]

ROWS = (
    "yaml_mib",
    "csafeloader_parse_s",
    "validate_cold_s",
    "validate_s",
    "render_s",
    "read_local_s",
    "emulator_read_cold_s",
    "emulator_read_cold_requests",
    "emulator_read_warm_s",
    "emulator_read_warm_requests",
    "plan_no_change_cold_s",
    "plan_no_change_s",
    "plan_1pct_changed_s",
    "plan_20_records_s",
    "apply_50_maps_s",
    "apply_50_maps_steps",
    "diff_1pct_s",
    "initial_apply_s",
    "validate_peak_traced_mib",
    "plan_peak_traced_mib",
    "max_rss_mib",
)
PROFILED = ("validate", "render", "read", "plan")
APPLY_RATIO = "apply_at_pace_to_ideal"
PROFILE_MAPS = 200  # enough for the profile's shape; cProfile doubles the time
GROWTH = (
    "csafeloader_parse_s",
    "validate_cold_s",
    "validate_s",
    "render_s",
    "read_local_s",
    "plan_no_change_s",
    "diff_1pct_s",
)


# Building blocks, also used by bench/scale.py -------------------------------------------------


def best_of(repeat: int, work: Callable[[], object]) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return min(times)


def bare_parse(root: Path) -> None:
    for path in sorted(root.rglob("*.yaml")):
        yaml.load(path.read_bytes(), Loader=yaml.CSafeLoader)


def peak_mib(work: Callable[[], object]) -> float:
    tracemalloc.start()
    work()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20


# One size per process ------------------------------------------------------------------------


def run_size(maps: int, fields: int, repeat: int, *, peaks: bool, full: bool = True) -> Figures:
    command = [sys.executable, str(HERE / "scale.py"), "--maps", str(maps)]
    command += ["--fields", str(fields), "--repeat", str(repeat)] + (["--peaks"] if peaks else [])
    command += [] if full else ["--targets-only"]
    start = time.perf_counter()
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    figures: Figures = json.loads(done.stdout.strip().splitlines()[-1])
    figures["size_wall_s"] = time.perf_counter() - start
    return figures


def apply_at_pace(quick: bool) -> Figures:
    """bench/apply_bench.py in its own process: one JSON line of figures."""
    size = ["--maps", "8", "--chain", "2"] if quick else ["--maps", "12", "--chain", "3"]
    command = [sys.executable, str(HERE / "apply_bench.py"), *size]
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    figures: Figures = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def profile(step: str, maps: int, top: int = 8) -> str:
    command = [sys.executable, str(HERE / "scale.py"), "--maps", str(maps)]
    command += ["--profile", step, "--top", str(top)]
    return subprocess.run(command, check=True, capture_output=True, text=True).stdout


# Ratios and targets ----------------------------------------------------------------------------


# Absolute targets: (figure, size it applies to or None for every size, limit, step to profile)
ABSOLUTE = (
    ("validate_cold_s", 1000, 2.0, "validate"),
    ("validate_s", 1000, 2.0, "validate"),
    ("plan_no_change_cold_s", 1000, 2.0, "plan"),
    ("plan_no_change_s", 1000, 2.0, "plan"),
    ("plan_1pct_changed_s", 1000, 2.0, "plan"),
    ("plan_20_records_s", 1000, 2.0, "plan"),
    ("emulator_read_warm_requests", None, 20, ""),
)


def ratios(sizes: list[Figures]) -> Figures:
    found: Figures = {}
    for f in sizes:
        n = f["maps"]
        for key, at, _, _ in ABSOLUTE:
            if at in (None, n) and isinstance(f.get(key), int | float):
                found[f"{key}@{n}"] = f[key]
        found[f"validate_to_parse@{n}"] = f["validate_s"] / f["csafeloader_parse_s"]
        found[f"plan_no_change_to_validate_plus_read@{n}"] = f["plan_no_change_s"] / (
            f["validate_s"] + f["read_local_s"]
        )
    by_maps = {f["maps"]: f for f in sizes}
    if 1000 in by_maps and 5000 in by_maps:
        for key in GROWTH:
            if key not in by_maps[1000] or key not in by_maps[5000]:
                continue
            t1, t5 = by_maps[1000][key], by_maps[5000][key]
            found[f"growth_exponent_{key}"] = math.log(t5 / t1) / math.log(5)
    return found


def targets(found: Figures) -> list[tuple[str, float, float, str]]:
    """(name, figure, limit, step to profile when missed) for every target that applies."""
    checks = []
    limits = {name: (limit, step) for name, _, limit, step in ABSOLUTE}
    for key, value in found.items():
        if key.split("@")[0] in limits:
            limit, step = limits[key.split("@")[0]]
            checks.append((key, value, limit, step))
        elif key.startswith("validate_to_parse@"):
            checks.append((key, value, 3.0, "validate"))
        elif key.startswith("plan_no_change_to_validate_plus_read@"):
            checks.append((key, value, 1.5, "plan"))
        elif key == APPLY_RATIO:
            checks.append((key, value, 1.25, ""))
        elif key.startswith("growth_exponent_") and "parse" not in key:
            step = key.removeprefix("growth_exponent_").split("_")[0]
            checks.append((key, value, 1.1, step if step in PROFILED else ""))
    return checks


# Output --------------------------------------------------------------------------------------


def table(sizes: list[Figures]) -> str:
    width = max(map(len, ROWS)) + 2
    lines = [f"{'maps x ' + str(sizes[0]['fields']) + ' fields':<{width}}"]
    lines[0] += "".join(f"{f['maps']:>12,}" for f in sizes)
    for row in ROWS:
        cells = "".join(f"{_cell(f.get(row)):>12}" for f in sizes)
        lines.append(f"{row:<{width}}{cells}")
    return "\n".join(lines)


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.3f}" if value < 100 else f"{value:.0f}"
    return "-" if value is None else str(value)


def machine() -> Figures:
    return {
        "nproc": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "mem_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--quick", action="store_true", help="100 and 1,000 maps (targets only), one repeat"
    )
    parser.add_argument("--fields", type=int, default=60)
    parser.add_argument("--repeat", type=int, default=None)
    parser.add_argument("--no-profile", action="store_true", help="skip profiling misses")
    parser.add_argument("--out", type=Path, default=HERE / "results.json", help="results file")
    args = parser.parse_args()
    counts = [100, 1000] if args.quick else [100, 1000, 5000]
    repeat = args.repeat or (1 if args.quick else 2)
    start = time.perf_counter()
    sizes = []
    for maps in counts:
        print(f"measuring {maps:,} maps x {args.fields} fields ...", flush=True)
        peaks = not args.quick and maps <= 1000
        full = not (args.quick and maps > 100)  # quick: the 1,000-map figures targets need
        times = repeat if maps < 5000 else 1
        sizes.append(run_size(maps, args.fields, times, peaks=peaks, full=full))
    print("applying over the emulator at the service's pace ...", flush=True)
    paced = apply_at_pace(args.quick)
    print()
    print(table(sizes))
    for f in sizes:
        emulator = {k: v for k, v in f.items() if k == "emulator_read"}
        for key, value in emulator.items():
            print(f"{f['maps']:>5} maps: {key.replace('_', ' ')}: {value}")
    found = ratios(sizes)
    found[APPLY_RATIO] = paced["ratio"]
    print(
        f"\napply of {paced['maps']} maps ({paced['steps']} steps) at parallelism "
        f"{paced['parallelism']}, {paced['latency_ms']:g} ms per gateway call, "
        f"{paced['sync_s']:g} s initial syncs: {paced['apply_s']} s, ideal {paced['ideal_s']} s"
    )
    print()
    missed = []
    for name, value, limit, step in targets(found):
        ok = value <= limit
        print(f"{name:<48} {value:6.2f}  target <= {limit}: {'met' if ok else 'NOT met'}")
        if not ok:
            missed.append((name, step))
    for key, value in found.items():
        if "parse" in key and key.startswith("growth"):
            print(f"{key:<48} {value:6.2f}  (reference: bare YAML parse)")
    profiles = {}
    if missed and not args.no_profile:
        for step in sorted({s for _, s in missed if s}):
            print(f"\ncProfile of {step} at {PROFILE_MAPS} maps (own time, top functions):")
            profiles[step] = profile(step, PROFILE_MAPS)
            print(profiles[step])
    total = time.perf_counter() - start
    print(f"total {total:.0f} s on {machine()}")
    results = {
        "machine": machine(),
        "command": "bench/run" + (" --quick" if args.quick else ""),
        "repeat": repeat,
        "sizes": sizes,
        "apply_at_pace": paced,
        "ratios": found,
        "missed": [name for name, _ in missed],
        "profiles": profiles,
        "total_s": total,
    }
    args.out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
