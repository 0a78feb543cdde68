"""What a person (or a pipeline) sees of an apply: the plan, the approval prompt, a line per
step with a progress bar on a terminal, and the summary with what to do next; or, with
`--format json`, one JSON document at the end."""

from __future__ import annotations

import sys
from typing import Any

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from dwconf.apply import lease as leases
from dwconf.apply.executor import StepOutcome, StepStatus
from dwconf.apply.session import Ending, Report
from dwconf.cli import console
from dwconf.cli.boundary import Failure
from dwconf.errors import ExitCode, RefusedError
from dwconf.jsonout import document
from dwconf.live import Lease
from dwconf.plan import output
from dwconf.plan.definition import Plan
from dwconf.plan.diff import Change
from dwconf.redact import redact

_MARK = {
    StepStatus.DONE: "ok",
    StepStatus.FAILED: "FAILED",
    StepStatus.SKIPPED: "skipped",
    StepStatus.RESUMED: "done earlier",
}


def say(text: str) -> None:
    console.out.print(redact(text), markup=False)


def tell(text: str) -> None:
    console.err.print(redact(text), markup=False)


class ConsoleView:
    """The CLI's `dwconf.apply.session.View`; with `json`, only the final document goes to
    stdout (notes go to stderr)."""

    def __init__(self, *, json: bool = False) -> None:
        self.json = json
        self._total = 0
        self._bar: Progress | None = None

    def plan(self, plan: Plan) -> None:
        self._total = len(plan.steps)
        if not self.json:
            console.report(output.text(plan).rstrip("\n"))

    def approve(self, plan: Plan) -> bool:
        if not sys.stdin.isatty():
            raise RefusedError(
                "apply needs approval and there is no terminal to ask",
                "pass --auto-approve, or apply a reviewed plan file: dwconf apply ENV FILE",
            )
        return click.confirm(f"Apply these changes to {plan.environment}?", default=False)

    def note(self, text: str) -> None:
        (tell if self.json else say)(text)

    def waiting(self, lease: Lease | None) -> None:
        held = leases.describe(lease) if lease else "someone else"
        tell(f"Waiting for the lock held by {held}")

    def step(self, result: StepOutcome) -> None:
        if self.json:
            return
        line = f"  {_MARK[result.status]:<12} {result.step.operation} {result.step.address}"
        if result.seconds >= 0.1:
            line += f" ({result.seconds:.1f}s)"
        say(line)
        if result.error:
            say(f"               {result.error}")
        self._advance()

    def _advance(self) -> None:
        if not console.out.is_terminal:
            return
        if self._bar is None:
            self._bar = Progress(
                TextColumn("applying"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=console.out,
                transient=True,
            )
            self._task = self._bar.add_task("apply", total=self._total or None)
            self._bar.start()
        self._bar.advance(self._task)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None


def exit_code(report: Report) -> int:
    result = report.result
    if result is not None and result.lease_lost:
        return int(ExitCode.LOCKED)
    if result is not None and result.interrupted:
        return int(ExitCode.INTERRUPTED)
    return 0 if report.ok else int(ExitCode.ERROR)


def resume_hint(report: Report) -> str | None:
    """The command that continues this apply, when it did not finish."""
    result = report.result
    if result is None or result.ok or (result.remaining and not result.outcome.failed):
        return None
    return f"dwconf apply {report.environment} --resume"


def _change_lines(change: Change) -> list[str]:
    lines = [f"  {change.action.value} {change.address} ({change.action.word})"]
    return lines + [f"      {output.detail_line(d)}" for d in change.details]


def summary(report: Report) -> None:
    """The end of an apply, always printed: counts, what failed or was left, what to do."""
    result = report.result
    if result is None:
        _ending(report)
    else:
        if result.took_over:
            say("(took over the lock the interrupted apply had left)")
        _steps(report)
    if report.release_error:
        say(f"Warning: could not release the lock ({report.release_error}); it expires by itself")
    if result is not None and result.journal_error:
        say(
            f"Warning: the apply journal could not be written ({result.journal_error}); "
            "a --resume may run again steps this apply finished"
        )
    hint = resume_hint(report)
    if hint:
        say(f"Continue with: {hint}")
    elif result is not None and result.remaining:
        say(f"See what remains with: dwconf plan {report.environment}")


def _ending(report: Report) -> None:
    if report.ending is Ending.RECORDED:
        say(
            f"Apply: nothing to change in {report.environment}; recorded what it now runs "
            f"(deployment record {report.record_id})."
        )
    elif report.ending is Ending.ALREADY_APPLIED:
        say(f"Apply: already applied (deployment record {report.record_id}); nothing to do.")
    elif report.plan is None or not report.plan.has_changes or report.plan.steps:
        say("Apply: nothing to do.")


def _steps(report: Report) -> None:
    result = report.result
    assert result is not None
    outcome = result.outcome
    counts = {s: len(outcome.by_status(s)) for s in StepStatus}
    say(
        f"Apply: {counts[StepStatus.DONE]} done, {counts[StepStatus.RESUMED]} done earlier, "
        f"{counts[StepStatus.FAILED]} failed, {counts[StepStatus.SKIPPED]} skipped."
    )
    for status, title in ((StepStatus.FAILED, "Failed"), (StepStatus.SKIPPED, "Left undone")):
        for s in outcome.by_status(status):
            failed = s.error and status is StepStatus.FAILED
            say(
                f"  {title}: {s.step.operation} {s.step.address}"
                + (f": {s.error}" if failed else "")
            )
    if outcome.halted:
        say(f"Stopped starting steps: {outcome.halted}")
    if outcome.left_stopped:
        say("Left stopped (--resume starts them): " + ", ".join(outcome.left_stopped))
    if outcome.restarted:
        say("Started again (this apply had stopped them): " + ", ".join(outcome.restarted))
    if result.remaining:
        say("Verification failed: the environment still differs from the plan:")
        for change in result.remaining:
            for line in _change_lines(change):
                say(line)
    if result.lease_lost:
        say(f"The lock was lost: {result.lease_lost}; no write was made after that.")
    for problem in result.problems:
        say(f"Could not finish the apply: {problem}")


def as_json(report: Report) -> dict[str, Any]:
    """`dwconf apply --format json`: the summary, each step's outcome and the record id."""
    result = report.result
    steps = result.outcome.steps if result else []
    return _document(
        report.environment,
        ending=report.ending.value,
        ok=report.ok,
        exit_code=exit_code(report),
        plan_id=report.plan.id if report.plan else None,
        record_id=report.record_id,
        resumed=report.resumed,
        summary={s.value: sum(1 for o in steps if o.status is s) for s in StepStatus},
        steps=[
            {
                "id": o.step.id,
                "operation": o.step.operation.value,
                "address": o.step.address,
                "status": o.status.value,
                "error": o.error,
                "seconds": round(o.seconds, 3),
            }
            for o in steps
        ],
        restarted=result.outcome.restarted if result else [],
        left_stopped=result.outcome.left_stopped if result else [],
        halted=result.outcome.halted if result else "",
        remaining=[c.as_dict() for c in result.remaining] if result else [],
        lease_lost=result.lease_lost if result else "",
        problems=result.problems if result else [],
        release_error=report.release_error,
        journal_error=result.journal_error if result else "",
        resume=resume_hint(report),
    )


def failed_json(environment: str, failure: Failure) -> dict[str, Any]:
    """The same document for an apply that ended before it ran (refused, lock held, an error,
    interrupted): `ending` says which, with the reasons and the hint."""
    return _document(
        environment,
        ending=failure.ending,
        exit_code=failure.exit_code,
        message=redact(failure.message),
        reasons=[redact(r) for r in failure.reasons],
        hint=redact(failure.hint),
    )


def _document(environment: str, **fields: Any) -> dict[str, Any]:
    """Every key of the apply document, in one order, whichever ending filled it."""
    empty: dict[str, Any] = {
        "ending": "",
        "ok": False,
        "exit_code": int(ExitCode.ERROR),
        "message": "",
        "reasons": [],
        "hint": "",
        "plan_id": None,
        "record_id": None,
        "resumed": False,
        "summary": {s.value: 0 for s in StepStatus},
        "steps": [],
        "restarted": [],
        "left_stopped": [],
        "halted": "",
        "remaining": [],
        "lease_lost": "",
        "problems": [],
        "release_error": "",
        "journal_error": "",
        "resume": None,
    }
    return document(environment=environment, **{**empty, **fields})
