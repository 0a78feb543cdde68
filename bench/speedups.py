"""What each speed-up gains: every one on, then each one off, in the same run, on the realistic
configuration (one map per standard map template of the catalog, about 150) and at 1,000 maps.

    python bench/speedups.py                     # both sizes, 3 rounds
    python bench/speedups.py --maps 1000 --rounds 5
    python bench/speedups.py --code DIR          # the dwconf source at DIR, e.g. an earlier
                                                 # commit (git archive), with its own speed-ups

Each figure is one step in a fresh process: `validate` or `plan` (the whole of `dwconf plan
dev` on an environment already applied), with the parse cache filled ("warm") or off
("cold"), best of `--repeat` runs after one untimed run. Rounds interleave the settings so a
busy spell of the machine falls on all of them; a setting's figure is its best round. Wall
seconds and CPU seconds (the process and its children) are both shown: the second core a
forked child counts on may be busy on a shared machine, and then only CPU time compares.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
STEPS = ("validate_cold", "validate", "plan_cold", "plan")

# name -> what turns it off; each applies only where the code has that speed-up
SPEEDUPS = {
    "fast reader": "the careful reader reads every file (and so the cache, which holds only the "
    "fast reader's data, goes unused)",
    "parse cache": "DWCONF_CACHE=off",
    "collector": "Python's collector thresholds (no pause, no raised threshold)",
    "forking": "DWCONF_JOBS=1",
    "read-ahead": "plan reads the environment after checking the maps",
}


# In the child: one step under one setting ------------------------------------------------------


def _has(code: Path, module: str) -> bool:
    return (code / (module.replace(".", "/") + ".py")).exists()


def available(code: Path) -> list[str]:
    """The speed-ups the code at `code` has."""
    found = ["fast reader", "parse cache", "collector"]
    if _has(code, "dwconf.load.twocore"):
        found += ["forking", "read-ahead"]
    return found


def _fast_reader_off(code: Path) -> None:
    module = "dwconf.yaml.fast" if _has(code, "dwconf.yaml.fast") else "dwconf.load.fastyaml"
    __import__(module)
    sys.modules[module].yaml_rs = None  # type: ignore[attr-defined]


def _command_collector(code: Path, off: set[str]) -> AbstractContextManager[object]:
    """How the command-line entry arranges the collector in this code."""
    if "collector" in off:
        if not _has(code, "dwconf.speedups"):  # the pauses live inside the library there
            gc.disable = gc.freeze = lambda: None  # type: ignore[assignment]
        return nullcontext()
    if _has(code, "dwconf.speedups"):
        from dwconf import speedups

        return speedups.for_command()
    return nullcontext()


def _no_read_ahead() -> None:
    from dwconf import planning

    planning.open_reader_if_local = lambda *args: None  # type: ignore[attr-defined]


def _usage() -> float:
    """CPU seconds of this process and of its children waited for."""
    found = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        found += usage.ru_utime + usage.ru_stime
    return found


def _times(work: Callable[[], object], repeat: int) -> Iterator[tuple[float, float]]:
    for _ in range(repeat):
        cpu, start = _usage(), time.perf_counter()
        work()
        yield time.perf_counter() - start, _usage() - cpu


def child(step: str, off: set[str], root: Path, code: Path, repeat: int) -> dict[str, float]:
    sys.path.insert(0, str(code))
    if {"parse cache", "fast reader"} & off or step.endswith("_cold"):
        os.environ["DWCONF_CACHE"] = "off"
    if "forking" in off:
        os.environ["DWCONF_JOBS"] = "1"
    if "fast reader" in off:
        _fast_reader_off(code)
    if "read-ahead" in off:
        _no_read_ahead()
    from dwconf import planning
    from dwconf.validate.engine import validate

    def work() -> object:
        with _command_collector(code, off):
            if step.startswith("validate"):
                return validate(root, ["dev"])
            return planning.plan(root, "dev")

    work()  # imports, the catalog, and the parse cache filled for the warm steps
    found = list(_times(work, repeat))
    return {"wall": min(w for w, _ in found), "cpu": min(c for _, c in found)}


# In the parent ---------------------------------------------------------------------------------


def prepare(kind: str, where: Path) -> Path:
    """A configuration applied to its local environment (so plan has nothing to do), made by
    this repository's code whatever code is measured: the files and the environment's format
    are the same."""
    command = [sys.executable, __file__, "--prepare", kind, str(where)]
    subprocess.run(command, check=True, env={**os.environ, "DWCONF_CACHE": "off"})
    return where


def _prepare_here(kind: str, where: Path) -> None:
    sys.path.insert(0, str(HERE.parent))
    from bench.generate import generate
    from bench.plan_bench import apply
    from bench.templates import generate as from_templates

    root = from_templates(where) if kind == "templates" else generate(where, int(kind), 60, 10)
    apply(root)


def measure(step: str, off: set[str], root: Path, code: Path, repeat: int) -> dict[str, float]:
    cache = root.parent / "cache"
    env = {**os.environ, "DWCONF_CACHE_DIR": str(cache)}
    env.pop("DWCONF_CACHE", None)
    env.pop("DWCONF_JOBS", None)
    command = [sys.executable, __file__, "--child", step, json.dumps(sorted(off)), str(root)]
    command += ["--code", str(code), "--repeat", str(repeat)]
    done = subprocess.run(command, check=True, capture_output=True, text=True, env=env)
    found: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return found


def settings(code: Path) -> list[tuple[str, set[str]]]:
    names = available(code)
    return [("all on", set()), *((f"{n} off", {n}) for n in names), ("all off", set(names))]


def run(kind: str, code: Path, rounds: int, repeat: int) -> dict[str, Any]:
    label = "templates" if kind == "templates" else f"{int(kind):,} maps"
    with tempfile.TemporaryDirectory() as tmp:
        root = prepare(kind, Path(tmp) / "config")
        maps = len(list(root.glob("solutions/*/maps/*.yaml")))
        best: dict[str, dict[str, dict[str, float]]] = {}
        for n in range(rounds):
            for name, off in settings(code):
                for step in STEPS:
                    found = measure(step, off, root, code, repeat)
                    kept = best.setdefault(name, {}).setdefault(step, found)
                    kept["wall"] = min(kept["wall"], found["wall"])
                    kept["cpu"] = min(kept["cpu"], found["cpu"])
            print(f"{label}: round {n + 1} of {rounds} done", file=sys.stderr, flush=True)
    return {"configuration": label, "maps": maps, "figures": best}


def table(result: dict[str, Any]) -> str:
    lines = [f"{result['configuration']} ({result['maps']} maps): seconds, wall / cpu"]
    lines.append(f"{'setting':<20}" + "".join(f"{s:>20}" for s in STEPS))
    for name, steps in result["figures"].items():
        cells = "".join(f"{steps[s]['wall']:>11.3f} / {steps[s]['cpu']:<6.3f}" for s in STEPS)
        lines.append(f"{name:<20}{cells}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--maps", type=int, default=None, help="only this size (or templates)")
    parser.add_argument("--templates-only", action="store_true")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--code", type=Path, default=HERE.parent, help="the dwconf source")
    parser.add_argument("--out", type=Path, default=None, help="write the figures as JSON")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    parser.add_argument("--prepare", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    code = args.code.resolve()
    if args.child:
        step, off, root = args.child
        print(json.dumps(child(step, set(json.loads(off)), Path(root), code, args.repeat)))
        return
    if args.prepare:
        _prepare_here(args.prepare[0], Path(args.prepare[1]))
        return
    kinds = ["templates"] if args.templates_only else ["templates", "1000"]
    if args.maps:
        kinds = [str(args.maps)]
    results = []
    for kind in kinds:
        result = run(kind, code, args.rounds, args.repeat)
        print(table(result), flush=True)
        results.append(result)
    machine = {"nproc": os.cpu_count(), "load": os.getloadavg(), "code": str(code)}
    if args.out:
        args.out.write_text(json.dumps({"machine": machine, "results": results}, indent=2) + "\n")
    print(f"load average at the end: {machine['load']}")


if __name__ == "__main__":
    main()
