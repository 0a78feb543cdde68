"""Run a plan's steps in dependency order, in parallel up to a limit.

A failed step stops the steps that depend on it while independent steps finish; maps this apply
stopped are started again at the end even when a later step failed; every step is journaled
before and after it runs. An interrupt (Ctrl-C) starts no further step and lets the running
ones end, like a failure that halts the apply.
"""

from __future__ import annotations

import enum
import graphlib
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Protocol

from dwconf.apply.journal import Journal
from dwconf.apply.operations import OPERATIONS
from dwconf.errors import DwconfError
from dwconf.objects import as_map, maps
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
    interrupted: bool = False  # by Ctrl-C (or SIGINT)
    # Held while a step checks that the apply goes on and journals its start, and while the
    # halt is journaled: no "start" can land after "halted" in the journal.
    starting: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def by_status(self, status: StepStatus) -> list[StepOutcome]:
        return [s for s in self.steps if s.status is status]

    @property
    def failed(self) -> bool:
        return bool(self.by_status(StepStatus.FAILED))


class Watcher(Protocol):
    """Who follows the steps (the apply's `View`)."""

    def step(self, outcome: StepOutcome) -> None:
        """One step ended."""

    def note(self, text: str) -> None:
        """Something to know now (the apply was interrupted)."""


INTERRUPTED = "the apply was interrupted (Ctrl-C)"


def _message(exc: BaseException) -> str:
    return redact(getattr(exc, "message", None) or str(exc) or type(exc).__name__)


def run_steps(
    plan: Plan,
    writer: LiveWriter,
    journal: Journal,
    *,
    parallelism: int = 4,
    watcher: Watcher | None = None,
) -> Outcome:
    """Execute `plan.steps`; steps the journal records as done are not run again. A failure
    that halts the apply (the environment can't be reached, the lease was lost) lets the
    running steps end and starts no other: they are skipped, and journaled as such.

    An interrupt (Ctrl-C: `KeyboardInterrupt` in the calling thread) halts it the same way,
    and the outcome comes back for the summary. The steps are run from a thread of their own,
    so the interrupt reaches only the calling thread's wait, never the middle of a step's
    bookkeeping; a step already running is let finish (an interrupted operation would leave
    its map in a state nobody chose)."""
    outcome = Outcome()
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="dwconf-steps") as steps:
        running = steps.submit(
            _run, plan, writer, journal, outcome, parallelism=parallelism, watcher=watcher
        )
        _wait(running, outcome, watcher)
    running.result()  # what a bug raised in the steps' thread is raised here
    return outcome


def _wait(running: Future[None], outcome: Outcome, watcher: Watcher | None) -> None:
    """Wait for the steps to end, however often the person presses Ctrl-C meanwhile. (On the
    future, not `Thread.join`: a join interrupted by Ctrl-C can take a running thread for
    ended on Python 3.11.)"""
    while True:
        try:
            while not running.done():
                wait([running], timeout=0.2)
            return
        except KeyboardInterrupt:
            if not outcome.interrupted:
                outcome.interrupted = True
                if watcher:
                    watcher.note(
                        "Interrupted: no further step starts; the steps already running are "
                        "let finish."
                    )


def _run(
    plan: Plan,
    writer: LiveWriter,
    journal: Journal,
    outcome: Outcome,
    *,
    parallelism: int,
    watcher: Watcher | None,
) -> None:
    graph = _Graph(plan.steps)
    journaled_halt = False

    def halt(reason: str, step_id: str = "") -> None:
        nonlocal journaled_halt
        with outcome.starting:
            outcome.halted = outcome.halted or reason
            if not journaled_halt:
                journaled_halt = True
                journal.write("halted", step_id, reason=outcome.halted)

    def record(result: StepOutcome) -> None:
        outcome.steps.append(result)
        graph.finish(result.step.id, result.status)
        if result.halts:
            halt(result.error, result.step.id)
        if watcher:
            watcher.step(result)

    done = journal.done_steps()
    for step in plan.steps:
        if step.id in done:
            record(StepOutcome(step, StepStatus.RESUMED))
    with ThreadPoolExecutor(max_workers=max(1, parallelism)) as pool:
        running: dict[Future[StepOutcome], Step] = {}
        while graph.pending or running:
            if outcome.interrupted:
                halt(INTERRUPTED)
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
            # In the order the steps started, not the set's: the steps they make ready then
            # start in the same order on every run (with --parallelism 1, the plan's order).
            for future in [f for f in running if f in completed]:
                running.pop(future)
                record(future.result())
    if outcome.halted:  # no write is safe or possible now, or none wanted; --resume starts them
        outcome.left_stopped = sorted(_to_restart(plan, outcome))
    else:
        outcome.restarted = _restart_stopped(plan, writer, journal, outcome)


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
    with outcome.starting:
        if outcome.halted or outcome.interrupted:  # while this step waited for a worker
            why = outcome.halted or INTERRUPTED
            return StepOutcome(step, StepStatus.SKIPPED, f"not started: {why}")
        journal.write("start", step.id, operation=step.operation, address=step.address)
    start = time.monotonic()
    try:
        OPERATIONS[step.operation](writer, step, plan)
    except DwconfError as exc:
        if exc.halts_apply:  # at once: queued steps must not start
            with outcome.starting:
                outcome.halted = outcome.halted or _message(exc)
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
        after = as_map(plan.desired.get(step.address))
        if after is None or after["state"] == "stopped":
            continue
        if f"{Operation.START_MAP}:{step.address}" in completed:
            continue
        found[step.args["name"]] = step
    return found


def _prerequisite_order(plan: Plan, names: set[str]) -> list[str]:
    graph = {}
    for obj in maps(plan.desired).values():
        definition = obj["definition"] or {}
        name = definition.get("name")
        if name in names:
            graph[name] = set(definition.get("depends_on") or []) & names
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
