"""One function per step operation: how a plan step becomes calls on a `LiveWriter`.

Every operation is idempotent: running a step again after a crash does no harm, which is what
makes `apply --resume` safe.
"""

from __future__ import annotations

from collections.abc import Callable

from dwconf.errors import ProviderError
from dwconf.live import versions
from dwconf.live.state import AlertSetting, SolutionPackage
from dwconf.objects import as_map, as_solution, maps
from dwconf.plan.definition import Plan
from dwconf.plan.order import Operation, Step
from dwconf.providers.base import LiveWriter

Run = Callable[[LiveWriter, Step, Plan], None]


def package_for(plan: Plan, unique_name: str) -> SolutionPackage:
    """The solution package of `unique_name`: its manifest and the definitions of its maps."""
    solution = as_solution(plan.desired[f"solution.{unique_name}"])
    definitions = [
        o["definition"]
        for o in maps(plan.desired).values()
        if o["solution"] == unique_name and o["definition"] is not None
    ]
    return SolutionPackage(
        unique_name=unique_name,
        version=solution["version"],
        managed=False,
        publisher=solution["publisher"]["unique_name"],
        requires=dict(solution.get("requires", {})),
        maps=sorted(definitions, key=lambda d: d["name"]),
    )


def check_requirements(writer: LiveWriter, step: Step, plan: Plan) -> None:
    """Refuse, with the service's own text, when a required Microsoft solution is missing or
    too old: before any solution is imported, so nothing is half-applied."""
    state = writer.read()

    def installed(name: str) -> str | None:
        found = state.solution(name)
        return found.version if found else None

    problems = versions.unmet(step.args.get("requires", {}), installed)
    if problems:
        raise problems[0]


def import_solution(writer: LiveWriter, step: Step, plan: Plan) -> None:
    writer.import_solution(package_for(plan, step.args["unique_name"]))


def apply_solution(writer: LiveWriter, step: Step, plan: Plan) -> None:
    writer.apply_solution(step.args["unique_name"])


def set_keys(writer: LiveWriter, step: Step, plan: Plan) -> None:
    writer.set_integration_keys(step.address.removeprefix("key."), step.args["columns"])


def stop_map(writer: LiveWriter, step: Step, plan: Plan) -> None:
    writer.stop_map(step.args["name"])


def author_of(plan: Plan, address: str) -> str | None:
    """The publisher of the solution that carries the map at `address`: the author of its
    templates, by which a version is chosen where two authors have it."""
    carried = as_map(plan.desired.get(address))
    solution = plan.desired.get(f"solution.{carried['solution'] if carried else None}")
    return str(as_solution(solution)["publisher"]["unique_name"]) if solution else None


def switch_version(writer: LiveWriter, step: Step, plan: Plan) -> None:
    author = author_of(plan, step.address)
    writer.switch_version(step.args["name"], step.args["version"], author)


def reset_link(writer: LiveWriter, step: Step, plan: Plan) -> None:
    """Reset link with the wanted legal entities (the plan stopped the maps first)."""
    if step.args.get("refused"):
        raise ProviderError(str(step.args["refused"]))
    writer.reset_link(False, step.args["legal_entities"])


def start_map(writer: LiveWriter, step: Step, plan: Plan) -> None:
    writer.start_map(step.args["name"], step.args["initial_sync"], step.args["master"])
    writer.wait(step.args["name"])  # as long as the environment's provider.wait_timeout


def pause_map(writer: LiveWriter, step: Step, plan: Plan) -> None:
    writer.pause_map(step.args["name"])


def resume_map(writer: LiveWriter, step: Step, plan: Plan) -> None:
    writer.resume_map(step.args["name"])
    writer.wait(step.args["name"])


def pause_maps(writer: LiveWriter, step: Step, plan: Plan) -> None:
    writer.pause_maps(step.args["names"])


def resume_maps(writer: LiveWriter, step: Step, plan: Plan) -> None:
    """One request resumes them all; each then catches up on its own."""
    writer.resume_maps(step.args["names"])
    for name in step.args["names"]:
        writer.wait(name)


def set_alerts(writer: LiveWriter, step: Step, plan: Plan) -> None:
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


OPERATIONS: dict[Operation, Run] = {
    Operation.CHECK_REQUIREMENTS: check_requirements,
    Operation.IMPORT_SOLUTION: import_solution,
    Operation.APPLY_SOLUTION: apply_solution,
    Operation.SET_KEYS: set_keys,
    Operation.STOP_MAP: stop_map,
    Operation.SWITCH_VERSION: switch_version,
    Operation.RESET_LINK: reset_link,
    Operation.START_MAP: start_map,
    Operation.PAUSE_MAP: pause_map,
    Operation.RESUME_MAP: resume_map,
    Operation.PAUSE_MAPS: pause_maps,
    Operation.RESUME_MAPS: resume_maps,
    Operation.SET_ALERTS: set_alerts,
}
