"""Benchmarks: one command that prints figures and ratios.

    python bench/run.py [--maps 1000] [--fields 60] [--repeat 3]

Validate: a generated configuration of N maps x M fields; the time to parse the same files with
PyYAML's CSafeLoader alone, the time of `dwconf validate` (in-process, the work the command
does after start-up) and of the `dwconf validate` command (a new process), their ratio, and
peak memory.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.generate import generate
from dwconf.validate.engine import validate


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--maps", type=int, default=1000)
    parser.add_argument("--fields", type=int, default=60)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = generate(Path(tmp) / "config", args.maps, args.fields, 10)
        size = sum(p.stat().st_size for p in root.rglob("*.yaml")) / 2**20
        report = validate(root)
        assert report.errors == 0 and report.warnings == 0, report.diagnostics[:5]
        parse_s = best_of(args.repeat, lambda: bare_parse(root))
        validate_s = best_of(args.repeat, lambda: validate(root))
        command = [sys.executable, "-m", "dwconf", "validate", str(root)]
        cli_s = best_of(
            args.repeat, lambda: subprocess.run(command, check=True, capture_output=True)
        )
        peak = peak_mib(lambda: validate(root))
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    figures = {
        "maps": args.maps,
        "fields": args.fields,
        "yaml_mib": round(size, 1),
        "csafeloader_parse_s": round(parse_s, 3),
        "validate_s": round(validate_s, 3),
        "validate_command_s": round(cli_s, 3),
        "ratio_validate_to_parse": round(validate_s / parse_s, 2),
        "ratio_command_to_parse": round(cli_s / parse_s, 2),
        "validate_peak_traced_mib": round(peak, 1),
        "process_max_rss_mib": round(rss, 1),
    }
    width = max(map(len, figures))
    for key, value in figures.items():
        print(f"{key:<{width}}  {value}")
    targets = {
        "ratio_validate_to_parse <= 3": figures["ratio_validate_to_parse"] <= 3,
        "validate_command_s < 2": cli_s < 2,
    }
    for name, ok in targets.items():
        print(f"target {name}: {'met' if ok else 'NOT met'}")
    Path(__file__).with_name("results.json").write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
