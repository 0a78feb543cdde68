"""One size of the scale benchmark: every figure for N maps x M fields, as JSON on stdout.

    python bench/scale.py --maps 1000 [--fields 60] [--repeat 2]
    python bench/scale.py --maps 1000 --profile validate   # where the time of one step goes

`bench/run` runs this once per size in a fresh process, so each size's max RSS is its own.
It reuses bench/generate.py (the configuration), bench/run.py (bare parse, best-of, peak
memory) and bench/plan_bench.py (plan, read, apply, the 1% and 50-map edits).
"""

from __future__ import annotations

import argparse
import cProfile
import importlib.util
import io
import json
import pstats
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import plan_bench
from bench.generate import generate
from bench.run import bare_parse, best_of, peak_mib
from dwconf.gitops.semdiff import semantic_diff
from dwconf.planning import load_desired
from dwconf.validate.engine import validate

Figures = dict[str, Any]


def render(root: Path) -> None:
    """The work of `dwconf render dev`: load, validate and render one environment."""
    load_desired(root, "dev")


def git(root: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True)


def commit_twice(root: Path, maps: int) -> None:
    """Commit the configuration, edit 1% of the maps, commit again (HEAD~1..HEAD)."""
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.email", "bench@example.com")
    git(root, "config", "user.name", "bench")
    (root / ".gitignore").write_text(".dwconf/\n")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "first")
    plan_bench.change_maps(root, max(1, maps // 100), maps)
    git(root, "commit", "-q", "-am", "1% of the maps edited")


def diff(root: Path) -> None:
    found = semantic_diff(root, "HEAD~1", "HEAD")
    assert found.has_changes


def emulator_read(root: Path, repeat: int) -> Figures:
    """Cold and warm reads through the dynamics provider against the emulator, when both the
    provider and bench/read_bench.py exist; otherwise says why not."""
    if importlib.util.find_spec("dwconf.providers.dynamics") is None:
        return {"emulator_read": "not measured (dynamics provider not available)"}
    if not Path(__file__).with_name("read_bench.py").exists():
        return {"emulator_read": "not measured (bench/read_bench.py not available)"}
    from bench import read_bench  # written alongside the dynamics provider

    measure = getattr(read_bench, "measure", None)
    if measure is None:
        return {"emulator_read": "not measured (bench/read_bench.py has no measure())"}
    try:
        return {f"emulator_{k}": v for k, v in dict(measure(root, repeat=repeat)).items()}
    except Exception as exc:  # another engineer's work in progress: report, don't abort
        return {"emulator_read": f"not measured ({type(exc).__name__}: {exc})"}


def timed(work: Callable[[], object]) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def measure(root: Path, maps: int, fields: int, repeat: int) -> Figures:
    figures: Figures = {"maps": maps, "fields": fields}
    figures["yaml_mib"] = sum(p.stat().st_size for p in root.rglob("*.yaml")) / 2**20
    report = validate(root)
    assert report.errors == 0 and report.warnings == 0, report.diagnostics[:3]
    figures["csafeloader_parse_s"] = best_of(repeat, lambda: bare_parse(root))
    figures["validate_s"] = best_of(repeat, lambda: validate(root))
    figures["validate_peak_traced_mib"] = peak_mib(lambda: validate(root))
    figures["render_s"] = best_of(repeat, lambda: render(root))
    _, figures["initial_apply_s"] = plan_bench.apply(root)
    figures["read_local_s"] = best_of(repeat, lambda: plan_bench.read(root))
    figures.update(emulator_read(root, repeat))
    assert not plan_bench.plan(root).has_changes
    figures["plan_no_change_s"] = best_of(repeat, lambda: plan_bench.plan(root))
    figures["plan_peak_traced_mib"] = peak_mib(lambda: plan_bench.plan(root))
    commit_twice(root, maps)  # the 1% edit, also the second revision for diff
    figures["plan_1pct_changed_s"] = best_of(repeat, lambda: plan_bench.plan(root))
    figures["diff_1pct_s"] = best_of(repeat, lambda: diff(root))
    plan_bench.apply(root)
    plan_bench.change_maps_again(root, min(50, maps), maps)
    changed, figures["apply_50_maps_s"] = plan_bench.apply(root)
    figures["apply_50_maps_steps"] = len(changed.steps)
    figures["max_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return figures


STEPS: dict[str, Callable[[Path], object]] = {
    "validate": validate,
    "parse": bare_parse,
    "render": render,
    "read": plan_bench.read,
    "plan": plan_bench.plan,
}


def profile(root: Path, step: str, top: int) -> str:
    """The functions where `step` spends its own time, most first (cProfile tottime)."""
    if step in ("read", "plan"):
        plan_bench.apply(root)
    profiler = cProfile.Profile()
    profiler.runcall(STEPS[step], root)
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("tottime").print_stats(top)
    return out.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--maps", type=int, default=1000)
    parser.add_argument("--fields", type=int, default=60)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--profile", choices=sorted(STEPS))
    parser.add_argument("--top", type=int, default=12)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = generate(Path(tmp) / "config", args.maps, args.fields, 10)
        if args.profile:
            print(profile(root, args.profile, args.top))
            return
        print(json.dumps(measure(root, args.maps, args.fields, args.repeat)))


if __name__ == "__main__":
    main()
