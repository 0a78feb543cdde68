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
import os
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
from dwconf import speedups
from dwconf.gitops.semdiff import semantic_diff
from dwconf.planning import load_desired
from dwconf.validate.engine import validate

Figures = dict[str, Any]
HISTORY, HISTORY_UP_TO = 20, 1000  # deployment records for the last plan, up to this size


def cold(work: Callable[[], Any]) -> Callable[[], Any]:
    """`work` with the parse cache turned off: every file parsed, as on a fresh CI runner."""

    def without_cache() -> Any:
        os.environ["DWCONF_CACHE"] = "off"
        try:
            return work()
        finally:
            del os.environ["DWCONF_CACHE"]

    return without_cache


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


def emulator_read(maps: int, fields: int) -> Figures:
    """Cold and warm reads through the dynamics provider against the emulator (TLS, loopback),
    with the emulator's request counts, built from bench/read_bench.py's functions when both it
    and the provider exist; otherwise says why not."""
    if importlib.util.find_spec("dwconf.providers.dynamics") is None:
        return {"emulator_read": "not measured (dynamics provider not available)"}
    if not Path(__file__).with_name("read_bench.py").exists():
        return {"emulator_read": "not measured (bench/read_bench.py not available)"}
    try:
        return _emulator_read(maps, fields)
    except Exception as exc:  # another engineer's work in progress: report, don't abort
        return {"emulator_read": f"not measured ({type(exc).__name__}: {exc})"}


def _emulator_read(maps: int, fields: int) -> Figures:
    from bench import read_bench as rb  # written alongside the dynamics provider
    from dwconf.emulator.serve import running
    from dwconf.providers.dynamics import DynamicsProvider, Tuning

    config, environ = rb.emulator_config(), rb.ENVIRON
    found: Figures = {}
    with running(config, tls=True) as server, tempfile.TemporaryDirectory() as folder:
        api = rb.TestApi(server)
        response = api.http.put(
            "/seed", json={"environment": rb.ENV, "seed": rb.seed(maps, fields)}
        )
        assert response.status_code == 200, response.text[:300]
        rb.activate(server, maps)
        root, env = Path(folder), rb.environment(server)
        for label in ("cold", "warm"):
            with DynamicsProvider.open(root, env, environ=environ, tuning=Tuning()) as provider:
                api.clear()
                start = time.perf_counter()
                provider.read()
                found[f"emulator_read_{label}_s"] = time.perf_counter() - start
            found[f"emulator_read_{label}_requests"] = api.stats()["requests"]
        api.http.close()
    return found


def first_and_best(repeat: int, work: Callable[[], Any]) -> tuple[Any, float]:
    """Run `work` once (its result is returned for checks), then repeat: the best time."""
    start = time.perf_counter()
    result = work()
    first = time.perf_counter() - start
    return result, min(first, best_of(repeat - 1, work)) if repeat > 1 else first


def measure(
    root: Path, maps: int, fields: int, repeat: int, *, peaks: bool, full: bool = True
) -> Figures:
    """Every figure of one size; each step once more than needed at most (budget: 10 min).
    Without `full`, only the figures the targets need (no render, 50-map apply, diff or
    emulator reads)."""
    figures: Figures = {"maps": maps, "fields": fields}
    figures["yaml_mib"] = sum(p.stat().st_size for p in root.rglob("*.yaml")) / 2**20
    figures["csafeloader_parse_s"] = best_of(repeat, lambda: bare_parse(root))
    report, figures["validate_cold_s"] = first_and_best(repeat, cold(lambda: validate(root)))
    assert report.errors == 0 and report.warnings == 0, report.diagnostics[:3]
    figures["validate_s"] = best_of(repeat + 1, lambda: validate(root))  # the first fills it
    if full:
        figures["render_s"] = best_of(repeat, lambda: render(root))
    _, figures["initial_apply_s"] = plan_bench.apply(root)
    figures["read_local_s"] = best_of(repeat, lambda: plan_bench.read(root))
    nothing, figures["plan_no_change_s"] = first_and_best(repeat, lambda: plan_bench.plan(root))
    assert not nothing.has_changes, [c.address for c in nothing.changes][:3]
    figures["plan_no_change_cold_s"] = best_of(repeat, cold(lambda: plan_bench.plan(root)))
    if peaks:  # tracemalloc slows the traced work about twice: only where it is affordable
        figures["validate_peak_traced_mib"] = peak_mib(lambda: validate(root))
        figures["plan_peak_traced_mib"] = peak_mib(lambda: plan_bench.plan(root))
    if full:
        plan_bench.change_maps_again(root, min(50, maps), maps)
        changed, figures["apply_50_maps_s"] = plan_bench.apply(root)
        figures["apply_50_maps_steps"] = len(changed.steps)
    if full:
        commit_twice(root, maps)  # the 1% edit, also the second revision for diff
    else:
        plan_bench.change_maps(root, max(1, maps // 100), maps)
    figures["plan_1pct_changed_s"] = best_of(repeat, lambda: plan_bench.plan(root))
    if full:
        figures["diff_1pct_s"] = best_of(repeat, lambda: diff(root))
        figures.update(emulator_read(maps, fields))
    figures["max_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if maps <= HISTORY_UP_TO:  # after max_rss_mib: making the history is not dwconf's memory
        plan_bench.add_history(root, HISTORY)
        figures[f"plan_{HISTORY}_records_s"] = best_of(repeat, lambda: plan_bench.plan(root))
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
    parser.add_argument("--peaks", action="store_true", help="tracemalloc peaks (slower)")
    parser.add_argument("--targets-only", action="store_true", help="only what the targets need")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["DWCONF_CACHE_DIR"] = str(Path(tmp) / "parse-cache")  # starts empty
        root = generate(Path(tmp) / "config", args.maps, args.fields, 10)
        if args.profile:
            print(profile(root, args.profile, args.top))
            return
        full = not args.targets_only
        with speedups.for_command():  # as the command line arranges it
            figures = measure(
                root, args.maps, args.fields, args.repeat, peaks=args.peaks, full=full
            )
        print(json.dumps(figures))


if __name__ == "__main__":
    main()
