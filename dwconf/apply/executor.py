"""Run a plan's steps in dependency order, in parallel up to a limit.

A failed step stops the steps that depend on it while independent steps finish; maps this apply
stopped are started again at the end even when a later step failed; every step is journaled
before and after it runs.
"""

from __future__ import annotations

import enum
import graphlib
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field

from dwconf.apply.journal import Journal
from dwconf.apply.operations import OPERATIONS
from dwconf.errors import DwconfError
from dwconf.plan.definition import Plan
from dwconf.plan.order import Operation, Step
from dwconf.providers.base import LiveWriter
from dwconf.redact import redact


class StepStatus(enum.StrEnum):
    """How one step of an apply ended."""

    DONE = "done"
    RESUMED = "resumed"  # done by the interrupted apply this one continues
    FAILED = "failed"
    SKIPPED = "skipped"  # a step it depends on did not complete

    @property
    def completed(self) -> bool:
        """Its effect stands: what a dependent step may build on."""
        return self in (StepStatus.DONE, StepStatus.RESUMED)


@dataclass(frozen=True)
class StepOutcome:
    step: Step
    status: StepStatus
    error: str = ""
    seconds: float = 0.0
    halts: bool = False  # the failure stops the whole apply (see `DwconfError.halts_apply`)


@dataclass
class Outcome:
    steps: list[StepOutcome] = field(default_factory=list)
    restarted: list[str] = field(default_factory=list)
    halted: str = ""  # why the apply stopped starting steps, when it did
    left_stopped: list[str] = field(default_factory=list)  # maps it stopped and could not start

    def by_status(self, status: StepStatus) -> list[StepOutcome]:
        return [s for s in self.steps if s.status is status]

    @property
    def failed(self) -> bool:
        return bool(self.by_status(StepStatus.FAILED))


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
    """Execute `plan.steps`; steps the journal records as done are not run again. A failure
    that halts the apply (the environment can't be reached, the lease was lost) lets the
    running steps end and starts no other: they are skipped, and journaled as such."""
    outcome = Outcome()
    graph = _Graph(plan.steps)

    journaled_halt = False

    def record(result: StepOutcome) -> None:
        nonlocal journaled_halt
        outcome.steps.append(result)
        graph.finish(result.step.id, result.status)
        if result.halts and not journaled_halt:
            journaled_halt = True
            outcome.halted = outcome.halted or result.error
            journal.write("halted", result.step.id, reason=outcome.halted)
        if progress:
            progress(result)

    done = journal.done_steps()
    for step in plan.steps:
        if step.id in done:
            record(StepOutcome(step, StepStatus.RESUMED))
    with ThreadPoolExecutor(max_workers=max(1, parallelism)) as pool:
        running: dict[Future[StepOutcome], Step] = {}
        while graph.pending or running:
            for step in graph.ready():
                if outcome.halted:
                    record(StepOutcome(step, StepStatus.SKIPPED, f"not started: {outcome.halted}"))
                    continue
                if graph.blocked(step):
                    record(
                        StepOutcome(
                            step, StepStatus.SKIPPED, "a step it depends on did not complete"
                        )
                    )
                    continue
                running[pool.submit(_run_one, plan, writer, journal, step, outcome)] = step
            if not running:
                continue
            completed, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in completed:
                running.pop(future)
                record(future.result())
    if outcome.halted:  # no write is safe or possible now; --resume starts them
        outcome.left_stopped = sorted(_to_restart(plan, outcome))
    else:
        outcome.restarted = _restart_stopped(plan, writer, journal, outcome)
    return outcome


class _Graph:
    """Which steps can run: each pending step counts the dependencies still unfinished, so
    finishing a step costs its number of dependents, not a scan of every pending step."""

    def __init__(self, steps: tuple[Step, ...]) -> None:
        self.pending = {s.id: s for s in steps}
        self.status: dict[str, StepStatus] = {}
        self._waiting = {s.id: sum(d in self.pending for d in s.depends_on) for s in steps}
        self._dependents: dict[str, list[str]] = {}
        for step in steps:
            for dep in step.depends_on:
                self._dependents.setdefault(dep, []).append(step.id)
        # a dependency outside the plan (left out by --target) counts as satisfied
        self._ready = [s.id for s in steps if self._waiting[s.id] == 0]

    def finish(self, step_id: str, status: StepStatus) -> None:
        if self.pending.pop(step_id, None) is None:
            return
        self.status[step_id] = status
        for dependent in self._dependents.get(step_id, []):
            self._waiting[dependent] -= 1
            if self._waiting[dependent] == 0:
                self._ready.append(dependent)

    def ready(self) -> list[Step]:
        found = [self.pending[i] for i in self._ready if i in self.pending]
        self._ready = []
        return found

    def blocked(self, step: Step) -> bool:
        done = (self.status.get(d) for d in step.depends_on)
        return any(s is not None and not s.completed for s in done)


def _run_one(
    plan: Plan, writer: LiveWriter, journal: Journal, step: Step, outcome: Outcome
) -> StepOutcome:
    if outcome.halted:  # halted while this step waited for a worker
        return StepOutcome(step, StepStatus.SKIPPED, f"not started: {outcome.halted}")
    journal.write("start", step.id, operation=step.operation, address=step.address)
    start = time.monotonic()
    try:
        OPERATIONS[step.operation](writer, step, plan)
    except DwconfError as exc:
        if exc.halts_apply and not outcome.halted:  # at once: queued steps must not start
            outcome.halted = _message(exc)
        return _failed(journal, step, _message(exc), start, halts=exc.halts_apply)
    except (OSError, TimeoutError) as exc:
        return _failed(journal, step, _message(exc), start)
    except Exception as exc:  # a bug must not abandon the other steps and stopped maps
        return _failed(journal, step, redact(f"internal error: {type(exc).__name__}: {exc}"), start)
    journal.write("done", step.id)
    return StepOutcome(step, StepStatus.DONE, "", time.monotonic() - start)


def _to_restart(plan: Plan, outcome: Outcome) -> dict[str, Step]:
    """Maps this apply stopped whose own start did not happen, by name."""
    completed = {s.step.id for s in outcome.steps if s.status.completed}
    found: dict[str, Step] = {}
    for step in plan.steps:
        if step.operation is not Operation.STOP_MAP or step.id not in completed:
            continue
        after = plan.desired.get(step.address)
        if after is None or after.get("state") == "stopped":
            continue
        if f"{Operation.START_MAP}:{step.address}" in completed:
            continue
        found[step.args["name"]] = step
    return found


def _prerequisite_order(plan: Plan, names: set[str]) -> list[str]:
    graph = {}
    for obj in plan.desired.values():
        name = (obj.get("definition") or {}).get("name")
        if obj.get("kind") == "map" and name in names:
            graph[name] = set(obj["definition"].get("depends_on") or []) & names
    return list(graphlib.TopologicalSorter(graph).static_order())


def _failed(
    journal: Journal, step: Step, message: str, start: float, *, halts: bool = False
) -> StepOutcome:
    journal.write("failed", step.id, error=message)
    return StepOutcome(step, StepStatus.FAILED, message, time.monotonic() - start, halts)


def _restart_stopped(
    plan: Plan, writer: LiveWriter, journal: Journal, outcome: Outcome
) -> list[str]:
    """Start again, in prerequisite order, the maps this apply stopped and did not start."""
    stopped = _to_restart(plan, outcome)
    restarted = []
    for name in _prerequisite_order(plan, set(stopped)):
        step = stopped[name]
        try:
            writer.start_map(name, False, None)
            writer.wait(name)
        except Exception as exc:  # one map that won't start must not keep the others stopped
            journal.write("restart_failed", step.id, error=_message(exc))
            continue
        journal.write("restarted", step.id)
        restarted.append(name)
    return restarted
