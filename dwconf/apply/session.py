"""`apply`: the library's one way to change an environment, with every rule in it.

Whoever calls it — the CLI, a pipeline, a test — gets the same protections: a saved plan is
read whole (signed, when a key is given) and derived again from the configuration; a fresh plan
is approved through the caller's `View` (or `auto_approve`); what apply would refuse
(`dwconf.plan.blocks`: unmet solution requirements, prerequisites not running, destructive
changes where the environment prevents them) refuses it before anything changes; and, holding
the lease, apply reads the environment again and runs only a plan that still holds
(`dwconf.apply.verify`). A fresh plan approved with `auto_approve` that no longer holds is made
again under the lease, as Terraform plans under its lock; a plan a person approved, or a saved
one, is refused instead (exit 4), naming what moved.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from contextlib import AbstractContextManager, closing, suppress
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

from dwconf import git
from dwconf.apply.executor import StepOutcome
from dwconf.apply.journal import Journal, resumable
from dwconf.apply.run import Held, Options, Result, leased, record_if_moved, run, take_over
from dwconf.apply.verify import (
    AlreadyApplied,
    Basis,
    check_desired,
    check_journaled,
    derive,
    settle,
)
from dwconf.errors import DwconfError, RefusedError
from dwconf.live import Lease, LiveState
from dwconf.plan import blocks, saved
from dwconf.plan.blocks import Allowance
from dwconf.plan.definition import Plan
from dwconf.plan.live_view import recorded_state
from dwconf.planning import (
    Desired,
    load_desired,
    load_environment,
    plan_against,
    rollback_against,
)
from dwconf.providers import open_writer
from dwconf.providers.base import LiveWriter


class View(Protocol):
    """What the caller sees and answers while an apply runs (the CLI prints and prompts)."""

    def plan(self, plan: Plan) -> None:
        """A plan about to be applied (shown before approval)."""

    def approve(self, plan: Plan) -> bool:
        """Whether to apply `plan`; called only without `auto_approve`."""
        ...

    def note(self, text: str) -> None:
        """Something the person should know (resuming, planned again, waiting)."""

    def waiting(self, lease: Lease | None) -> None:
        """The lock is held by `lease`; apply waits for it (`--lock-timeout`)."""

    def step(self, outcome: StepOutcome) -> None:
        """One step ended."""


class Quiet:
    """A `View` for callers that show nothing and approve nothing (use `auto_approve`)."""

    def plan(self, plan: Plan) -> None:
        return None

    def approve(self, plan: Plan) -> bool:
        return False

    def note(self, text: str) -> None:
        return None

    def waiting(self, lease: Lease | None) -> None:
        return None

    def step(self, outcome: StepOutcome) -> None:
        return None


@dataclass(frozen=True)
class Request:
    """What to apply, and how."""

    root: Path
    env: str
    plan_file: Path | None = None  # a saved plan (`dwconf plan --out`) instead of a fresh one
    resume: bool = False  # continue the last interrupted or failed apply
    auto_approve: bool = False
    allow_destroy: bool = False
    plan_key: bytes | None = None  # saved plans must be signed with it (DWCONF_PLAN_KEY)
    options: Options = field(default_factory=Options)


class Ending(enum.StrEnum):
    """How an apply ended."""

    APPLIED = "applied"  # steps ran (see the result: succeeded or not)
    NOTHING_TO_DO = "nothing_to_do"  # the environment already matched
    RECORDED = "recorded"  # nothing to change; a record of what it runs was written
    ALREADY_APPLIED = "already_applied"  # this plan was applied before; nothing left to do
    INTERRUPTED = "interrupted"  # steps ran until Ctrl-C; the rest was left (see the result)


@dataclass(frozen=True)
class Report:
    environment: str
    ending: Ending
    plan: Plan | None = None
    result: Result | None = None
    record_id: str | None = None
    resumed: bool = False
    release_error: str = ""  # the lock could not be released (it expires by itself)

    @property
    def ok(self) -> bool:
        return self.result is None or self.result.ok


def apply(request: Request, view: View | None = None) -> Report:
    """Make `request.env` match its configuration (or the saved plan), under its lease."""
    shown = view or Quiet()
    given = _read_saved(request, request.plan_file) if request.plan_file else None
    want = load_desired(request.root, request.env)
    basis = Basis(
        want.state.objects,
        initial_sync=want.env.model.maps.initial_sync == "run",
        prevent_destroy=want.env.model.protect.prevent_destroy,
        git=git.info(want.project.root),
    )
    with closing(open_writer(request.root, want.env.model)) as writer:
        basis = replace(basis, read_only=writer.read_only())
        if request.resume:
            return _resume(request, want, basis, writer, shown)
        if given is not None:
            plan, basis = _saved(given, basis, writer, str(request.plan_file))
            return run_plan(plan, basis, writer, request, shown)
        plan = _fresh(request, want, writer, shown)
        return run_plan(plan, basis, writer, request, shown, replan=request.auto_approve)


def rollback(request: Request, to: str | None, view: View | None = None) -> Report:
    """Take `request.env` back to the desired state of a deployment record (`to`, an id or a
    unique prefix; by default the successful record before the last one), like any apply."""
    shown = view or Quiet()
    env = load_environment(request.root, request.env)
    with closing(open_writer(request.root, env)) as writer:
        back = rollback_against(request.env, writer, to)
        protect = env.protect.prevent_destroy
        basis = Basis(
            back.plan.desired, back.initial_sync, protect, writer.read_only(), back.plan.git
        )
        shown.note(f"Rolling {request.env} back to deployment record {back.record.id}")
        for note in back.notes:
            shown.note(f"  note: {note}")
        plan = _blocked(back.plan, writer.read(), basis, allowances(request, back.plan))
        shown.plan(plan)
        _approve(plan, request, shown)
        return run_plan(plan, basis, writer, request, shown)


def allowances(request: Request, plan: Plan) -> tuple[Allowance, ...]:
    """What the plan recorded it allows, and what the request allows on top."""
    extra = (Allowance.DESTROY,) if request.allow_destroy else ()
    return tuple(sorted({*plan.allowances, *extra}))


def refuse_blocked(plan: Plan) -> None:
    """Refuse (exit 4) a plan that something blocks, before anything changes."""
    found = [b for b in plan.blocked_by if b.refuses_apply]
    if not found:
        return
    lines = [f"{b.address}: {b.reason}" for b in found]
    hints = list(dict.fromkeys(b.hint for b in found))
    raise RefusedError(
        "apply would fail or is not allowed; nothing was changed:\n  - " + "\n  - ".join(lines),
        "; ".join(hints),
        reasons=lines,
    )


def _blocked(
    plan: Plan,
    state: LiveState,
    basis: Basis,
    allowed: tuple[Allowance, ...],
    *,
    leased: bool = False,
) -> Plan:
    """`plan` with what blocks it against `state`; `leased`: the lock is this apply's own."""
    found = blocks.find(
        plan.environment,
        plan.changes,
        plan.desired,
        state,
        prevent_destroy=basis.prevent_destroy,
        allowances=allowed,
    )
    if leased:
        found = tuple(b for b in found if b.kind is not blocks.BlockKind.LOCK)
    return replace(plan, blocked_by=found, allowances=allowed)


def _approve(plan: Plan, request: Request, view: View) -> None:
    if not plan.steps:
        return
    refuse_blocked(plan)
    if not request.auto_approve and not view.approve(plan):
        raise DwconfError("apply cancelled; nothing was changed")


def _read_saved(request: Request, path: Path) -> Plan:
    """The saved plan, read whole (and its signature checked) before the environment is
    opened: a plan for another environment is wrong input (exit 1), and opening the
    environment named would make a local one that does not exist yet."""
    plan = saved.load(path, request.plan_key, strict=True)
    if plan.environment != request.env:
        raise DwconfError(
            f"the plan {path} is for {plan.environment}, not {request.env}; nothing was changed",
            f"apply it to {plan.environment}: dwconf apply {plan.environment} {path}; or make "
            f"a plan for {request.env}: dwconf plan {request.env} --out FILE",
        )
    if plan.refresh_only:
        raise RefusedError("a refresh-only plan shows drift; it has nothing to apply")
    return plan


def _saved(plan: Plan, basis: Basis, writer: LiveWriter, path: str) -> tuple[Plan, Basis]:
    """The saved plan, and what it must follow from: the configuration, or for a rollback's
    plan the deployment record it returns to. A plan without steps runs nothing under the
    lease, where plans are checked: it is checked here, against the environment now."""
    basis = _followed(plan, basis, writer, path)
    if not plan.steps:
        with suppress(AlreadyApplied):
            state = writer.read()
            settle(plan, basis, state, recorded_state(state, writer))
    return plan, basis


def _followed(plan: Plan, basis: Basis, writer: LiveWriter, path: str = "FILE") -> Basis:
    """What `plan` must follow from: the configuration (refused when it does not), or the
    deployment record a rollback's plan returns to. `path`: the saved plan's, for the hint."""
    if plan.from_record:
        back = rollback_against(plan.environment, writer, plan.origin.removeprefix("record:"))
        return replace(
            basis, desired=back.plan.desired, initial_sync=back.initial_sync, git=back.plan.git
        )
    check_desired(plan, basis, "the configuration", path)
    return basis


def _fresh(request: Request, want: Desired, writer: LiveWriter, view: View) -> Plan:
    allowed = (Allowance.DESTROY,) if request.allow_destroy else ()
    plan = plan_against(want, writer, allowances=allowed)
    view.plan(plan)
    if plan.has_changes:
        _approve(plan, request, view)
    return plan


def _resume(
    request: Request, want: Desired, basis: Basis, writer: LiveWriter, view: View
) -> Report:
    journal = resumable(request.root, request.env)
    if journal is None or not journal.plan_path.exists():
        raise DwconfError(
            f"no interrupted apply to {request.env} to resume", "the last apply finished; run plan"
        )
    plan = saved.load(journal.plan_path)
    # the dead apply's lease goes first: a resume refused below names a fresh apply, which
    # would otherwise wait for that lease to expire
    took_over = take_over(request.env, writer, journal)
    try:
        basis = _followed(plan, basis, writer)
    except RefusedError as exc:
        raise RefusedError(
            f"can't resume the interrupted apply of plan {plan.id}: {exc.message}",
            f"apply the configuration as it is now: dwconf apply {request.env}",
        ) from exc
    done = len(journal.done_steps())
    view.note(f"Resuming apply of plan {plan.id} to {request.env} ({done} step(s) done)")
    with _lease(writer, plan, request, view) as held:
        report = _resumed(plan, basis, journal, held, request=request, view=view)
    if report.result is not None:
        report.result.took_over = took_over
    return replace(report, release_error=held.release_error)  # known once it is released


def _resumed(
    plan: Plan, basis: Basis, journal: Journal, held: Held, *, request: Request, view: View
) -> Report:
    """Under the lease: the interrupted plan checked again (it must still follow from the
    configuration, and nothing may block it now: a protection set since, say), then its steps
    not yet done."""
    state = held.writer.read()
    try:
        plan = check_journaled(plan, basis, state, recorded_state(state, held.writer))
    except AlreadyApplied as applied:  # stopped after its record, before its journal said so
        journal.write("finished", status="succeeded", record=applied.record.id, earlier=True)
        view.note(f"Plan {plan.id} was applied already (deployment record {applied.record.id}).")
        return Report(
            request.env, Ending.ALREADY_APPLIED, plan, record_id=applied.record.id, resumed=True
        )
    refuse_blocked(_blocked(plan, state, basis, allowances(request, plan), leased=True))
    result = run(plan, held, journal, request.options, view)
    return _ran(request.env, plan, result, resumed=True)


def _lease(
    writer: LiveWriter, plan: Plan, request: Request, view: View
) -> AbstractContextManager[Held]:
    return leased(
        writer,
        env=request.env,
        operation="apply",
        plan_id=plan.id,
        options=request.options,
        on_wait=view.waiting,
    )


def run_plan(
    plan: Plan,
    basis: Basis,
    writer: LiveWriter,
    request: Request,
    view: View,
    *,
    replan: bool = False,
) -> Report:
    """Apply a plan that was approved (or saved, hence reviewed) under the lease: read the
    environment again, run the plan only if it still holds (with `replan`, a plan that no
    longer holds is made again), and refuse it if something blocks it now."""
    if not plan.steps:
        return _nothing(plan, writer, request, view)
    with _lease(writer, plan, request, view) as held:
        report = _under_lease(plan, basis, held, request=request, view=view, replan=replan)
    return replace(report, release_error=held.release_error)  # known once it is released


def _under_lease(
    plan: Plan, basis: Basis, held: Held, *, request: Request, view: View, replan: bool
) -> Report:
    state = held.writer.read()
    settled = _settle(plan, basis, state, replan, view, recorded=recorded_state(state, held.writer))
    if isinstance(settled, Report):
        return settled
    settled = _blocked(settled, state, basis, allowances(request, plan))
    settled = replace(settled, blocked_by=tuple(b for b in settled.blocked_by if b.refuses_apply))
    refuse_blocked(settled)
    journal = Journal.new(request.root, request.env, settled.id)
    result = run(settled, held, journal, request.options, view)
    return _ran(request.env, settled, result)


def _ran(env: str, plan: Plan, result: Result, *, resumed: bool = False) -> Report:
    ending = Ending.INTERRUPTED if result.interrupted else Ending.APPLIED
    return Report(env, ending, plan, result, result.record_id, resumed=resumed)


def _settle(
    plan: Plan,
    basis: Basis,
    state: LiveState,
    replan: bool,
    view: View,
    *,
    recorded: Mapping[str, Any],
) -> Plan | Report:
    try:
        return settle(plan, basis, state, recorded)
    except AlreadyApplied as done:
        view.note(
            f"Plan {plan.id} was applied already (deployment record {done.record.id}); "
            "the environment still matches it."
        )
        return Report(plan.environment, Ending.ALREADY_APPLIED, plan, record_id=done.record.id)
    except RefusedError:
        if not replan or state.fingerprint == plan.live_fingerprint:
            raise
    again = derive(plan, basis, state, recorded, whole=True)
    if not again.steps:
        view.note(f"{plan.environment} changed while this apply waited; nothing is left to do.")
        return Report(plan.environment, Ending.NOTHING_TO_DO, again)
    view.note(f"{plan.environment} changed while this apply waited; planned again:")
    view.plan(again)
    return again


def _nothing(plan: Plan, writer: LiveWriter, request: Request, view: View) -> Report:
    if plan.has_changes:
        view.note("Nothing to apply: no step can carry out these changes.")
        return Report(request.env, Ending.NOTHING_TO_DO, plan)
    record = record_if_moved(plan, writer, request.options)
    if record is None:
        return Report(request.env, Ending.NOTHING_TO_DO, plan)
    return Report(request.env, Ending.RECORDED, plan, record_id=record)
