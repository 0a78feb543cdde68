"""Run a plan's steps in dependency order, in parallel up to a limit.

A failed step stops the steps that depend on it while independent steps finish; maps this apply
stopped are started again at the end even when a later step failed; every step is journaled
before and after it runs.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field

from dwconf.apply.journal import Journal
from dwconf.apply.operations import OPERATIONS, WAIT_SECONDS
from dwconf.errors import DwconfError
from dwconf.plan.definition import Plan
from dwconf.plan.order import Step
from dwconf.providers.base import LiveWriter
from dwconf.redact import redact


@dataclass(frozen=True)
class StepOutcome:
    step: Step
    status: str  # done | failed | skipped | resumed
    error: str = ""
    seconds: float = 0.0


@dataclass
class Outcome:
    steps: list[StepOutcome] = field(default_factory=list)
    restarted: list[str] = field(default_factory=list)

    def by_status(self, status: str) -> list[StepOutcome]:
        return [s for s in self.steps if s.status == status]

    @property
    def failed(self) -> bool:
        return bool(self.by_status("failed"))


Progress = Callable[[StepOutcome], None]


def _message(exc: BaseException) -> str:
    return redact(getattr(exc, "message", None) or str(exc) or type(exc).__name__)


def run_steps(
    plan: Plan,
    writer: LiveWriter,
    journal: Journal,
    *,
    parallelism: int = 4,
    progress: Progress | None = None,
) -> Outcome:
    """Execute `plan.steps`; steps the journal records as done are not run again."""
    outcome = Outcome()
    done = journal.done_steps()
    pending = {s.id: s for s in plan.steps}
    # a dependency outside the plan (left out by --target) counts as satisfied
    finished: dict[str, str] = {
        d: "done" for s in plan.steps for d in s.depends_on if d not in pending
    }

    def record(result: StepOutcome) -> None:
        outcome.steps.append(result)
        finished[result.step.id] = result.status
        if progress:
            progress(result)

    for step in plan.steps:
        if step.id in done:
            pending.pop(step.id)
            record(StepOutcome(step, "resumed"))
    with ThreadPoolExecutor(max_workers=max(1, parallelism)) as pool:
        running: dict[Future[StepOutcome], Step] = {}
        while pending or running:
            for step in _ready(pending, finished, running):
                pending.pop(step.id)
                if any(finished.get(d) in ("failed", "skipped") for d in step.depends_on):
                    record(StepOutcome(step, "skipped", "a step it depends on did not complete"))
                    continue
                running[pool.submit(_run_one, plan, writer, journal, step)] = step
            if not running:
                continue
            completed, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in completed:
                running.pop(future)
                record(future.result())
    outcome.restarted = _restart_stopped(plan, writer, journal, outcome)
    return outcome


def _ready(
    pending: dict[str, Step], finished: dict[str, str], running: dict[Future[StepOutcome], Step]
) -> list[Step]:
    return [s for s in list(pending.values()) if all(d in finished for d in s.depends_on)]


def _run_one(plan: Plan, writer: LiveWriter, journal: Journal, step: Step) -> StepOutcome:
    journal.write("start", step.id, operation=step.operation, address=step.address)
    start = time.monotonic()
    try:
        OPERATIONS[step.operation](writer, step, plan)
    except (DwconfError, OSError, TimeoutError) as exc:
        message = _message(exc)
        journal.write("failed", step.id, error=message)
        return StepOutcome(step, "failed", message, time.monotonic() - start)
    journal.write("done", step.id)
    return StepOutcome(step, "done", "", time.monotonic() - start)


def _restart_stopped(
    plan: Plan, writer: LiveWriter, journal: Journal, outcome: Outcome
) -> list[str]:
    """Start again the maps this apply stopped whose own start did not happen."""
    status = {s.step.id: s.status for s in outcome.steps}
    restarted = []
    for step in plan.steps:
        if step.operation != "stop_map" or status.get(step.id) not in ("done", "resumed"):
            continue
        after = plan.desired.get(step.address)
        if after is None or after.get("state") == "stopped":
            continue
        start_id = f"start_map:{step.address}"
        if status.get(start_id) in ("done", "resumed"):
            continue
        name = step.args["name"]
        try:
            writer.start_map(name, False, None)
            writer.wait(name, WAIT_SECONDS)
        except DwconfError as exc:
            journal.write("restart_failed", step.id, error=_message(exc))
            continue
        journal.write("restarted", step.id)
        restarted.append(name)
    return restarted
