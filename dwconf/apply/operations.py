"""One function per step operation: how a plan step becomes calls on a `LiveWriter`.

Every operation is idempotent: running a step again after a crash does no harm, which is what
makes `apply --resume` safe.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from dwconf.errors import ProviderError
from dwconf.live.state import AlertSetting, SolutionPackage
from dwconf.plan.definition import Plan
from dwconf.plan.order import Step
from dwconf.providers.base import LiveWriter

WAIT_SECONDS = 600.0
Operation = Callable[[LiveWriter, Step, Plan], None]


def package_for(plan: Plan, unique_name: str) -> SolutionPackage:
    """The solution package of `unique_name`: its manifest and the definitions of its maps."""
    solution = plan.desired[f"solution.{unique_name}"]
    maps = [
        o["definition"]
        for o in plan.desired.values()
        if o["kind"] == "map" and o["solution"] == unique_name
    ]
    return SolutionPackage(
        unique_name=unique_name,
        version=solution["version"],
        managed=False,
        publisher=solution["publisher"]["unique_name"],
        requires=dict(solution.get("requires", {})),
        maps=sorted(maps, key=lambda d: d["name"]),
    )


_CONSTRAINT = re.compile(r"^\s*(>=|<=|==|!=|>|<|=)?\s*([\d.]+)\s*$")


def _satisfies(installed: str, constraint: str) -> bool:
    for part in constraint.split(","):
        match = _CONSTRAINT.match(part)
        if match is None:
            return False
        op, wanted = match.group(1) or ">=", _padded(match.group(2))
        have = _padded(installed)
        ok = {
            ">=": have >= wanted,
            ">": have > wanted,
            "<=": have <= wanted,
            "<": have < wanted,
            "==": have == wanted,
            "=": have == wanted,
            "!=": have != wanted,
        }[op]
        if not ok:
            return False
    return True


def _padded(version: str) -> tuple[int, ...]:
    """A version of one to four parts as a comparable four-part tuple."""
    parts = [int(p) for p in version.split(".") if p.isdigit()][:4]
    return tuple(parts + [0] * (4 - len(parts)))


def check_requirements(writer: LiveWriter, step: Step, plan: Plan) -> None:
    state = writer.read()
    problems = []
    for name, constraints in sorted(step.args.get("requires", {}).items()):
        installed = state.solution(name)
        for constraint in constraints:
            if installed is None:
                problems.append(f"required solution '{name}' ({constraint}) is not installed")
            elif not _satisfies(installed.version, constraint):
                required = constraint.lstrip(">=<! ")
                problems.append(
                    f"Dynamics 365 for Sales solution '{name}' has version mismatch. "
                    f"Version: '{installed.version}' Required version: '{required}'"
                )
    if problems:
        raise ProviderError("; ".join(problems), "install or upgrade the Microsoft solutions first")


def _args(step: Step) -> Mapping[str, Any]:
    return step.args


def _start(writer: LiveWriter, step: Step, plan: Plan) -> None:
    a = _args(step)
    writer.start_map(a["name"], a["initial_sync"], a["master"])
    writer.wait(a["name"], WAIT_SECONDS)


def _resume(writer: LiveWriter, step: Step, plan: Plan) -> None:
    writer.resume_map(step.args["name"])
    writer.wait(step.args["name"], WAIT_SECONDS)


def _alerts(writer: LiveWriter, step: Step, plan: Plan) -> None:
    settings = [
        AlertSetting(
            name=a["name"],
            error_type=a["error_type"],
            threshold=a["threshold"],
            window_minutes=a["window_minutes"],
            action=a["action"],
            notify=tuple(a["notify"]),
        )
        for a in step.args["alerts"]
    ]
    writer.set_alerts(settings)


OPERATIONS: dict[str, Operation] = {
    "check_requirements": check_requirements,
    "import_solution": lambda w, s, p: (
        None,
        w.import_solution(package_for(p, s.args["unique_name"])),
    )[0],
    "apply_solution": lambda w, s, p: (None, w.apply_solution(s.args["unique_name"]))[0],
    "set_keys": lambda w, s, p: (
        None,
        w.set_integration_keys(s.address.removeprefix("key."), s.args["columns"]),
    )[0],
    "stop_map": lambda w, s, p: (None, w.stop_map(s.args["name"]))[0],
    "switch_version": lambda w, s, p: (
        None,
        w.switch_version(s.args["name"], s.args["version"]),
    )[0],
    "set_legal_entities": lambda w, s, p: (
        None,
        w.set_legal_entities(s.args["legal_entities"]),
    )[0],
    "start_map": _start,
    "pause_map": lambda w, s, p: (None, w.pause_map(s.args["name"]))[0],
    "resume_map": _resume,
    "set_alerts": _alerts,
}
