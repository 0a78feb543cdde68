"""`dwconf plan` and `dwconf apply`."""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import click

from dwconf.apply.executor import StepOutcome
from dwconf.apply.journal import Journal, unfinished
from dwconf.apply.run import Result, apply_plan
from dwconf.apply.stale import stale_reasons
from dwconf.cli import boundary, console
from dwconf.errors import DwconfError, ExitCode, RefusedError
from dwconf.plan import render, saved
from dwconf.plan.definition import Plan
from dwconf.planning import Desired, load_desired, plan_against
from dwconf.providers import open_reader, open_writer
from dwconf.providers.base import LiveWriter

FORMATS = {"text": render.text, "markdown": render.markdown, "json": render.as_json}


def _plan(root: Path, env: str, targets: tuple[str, ...], excludes: tuple[str, ...]) -> Plan:
    want = load_desired(root, env)
    reader = open_reader(root, want.env.model)
    try:
        return plan_against(want, reader, targets=targets, excludes=excludes)
    finally:
        reader.close()


@click.command("plan")
@click.argument("env")
@click.option(
    "--out", type=click.Path(dir_okay=False, path_type=Path), help="Save the plan for apply."
)
@click.option(
    "--detailed-exitcode", is_flag=True, help="Exit 2 when there are changes, 0 when none."
)
@click.option(
    "--target",
    "targets",
    multiple=True,
    metavar="ADDR",
    help="Only these addresses (prefix with *).",
)
@click.option(
    "--exclude", "excludes", multiple=True, metavar="ADDR", help="Leave these addresses out."
)
@click.option(
    "--format", "fmt", type=click.Choice(sorted(FORMATS)), default="text", show_default=True
)
@click.option("--refresh-only", is_flag=True, help="Show how live differs; plan nothing to apply.")
@click.pass_context
def plan_command(
    ctx: click.Context,
    env: str,
    out: Path | None,
    detailed_exitcode: bool,
    targets: tuple[str, ...],
    excludes: tuple[str, ...],
    fmt: str,
    refresh_only: bool,
) -> None:
    """Show, per map and per field, what apply would change in ENV.

    Reads the environment, never writes it. With --out the plan is saved for
    `dwconf apply ENV FILE`, which refuses it if the configuration or the environment moved.

    \b
    Examples:
      dwconf plan dev
      dwconf plan prod --out prod.dwplan --detailed-exitcode
      dwconf plan test --format markdown > plan.md
      dwconf plan dev --target map.customers-v3-accounts
    """

    def body() -> int:
        plan = _plan(ctx.obj, env, targets, excludes)
        if refresh_only:
            plan = Plan(**{**plan.__dict__, "steps": (), "refresh_only": True})
        console.plain(FORMATS[fmt](plan).rstrip("\n"))
        if out is not None:
            saved.save(plan, out)
            if fmt == "text":
                console.err.print(
                    f"Saved the plan to {out}. Apply it with: dwconf apply {env} {out}",
                    markup=False,
                )
        if detailed_exitcode and plan.has_changes:
            return int(ExitCode.CHANGES)
        return 0

    ctx.exit(boundary.run(body))


def _progress(result: StepOutcome) -> None:
    mark = {"done": "ok", "failed": "FAILED", "skipped": "skipped", "resumed": "done earlier"}
    line = f"  {mark[result.status]:<12} {result.step.operation} {result.step.address}"
    if result.seconds >= 0.1:
        line += f" ({result.seconds:.1f}s)"
    console.out.print(line, markup=False)
    if result.error:
        console.out.print(f"               {result.error}", markup=False)


def _summary(result: Result) -> None:
    outcome = result.outcome
    counts = {s: len(outcome.by_status(s)) for s in ("done", "resumed", "failed", "skipped")}
    console.out.print(
        f"Apply: {counts['done']} done, {counts['resumed']} done earlier, "
        f"{counts['failed']} failed, {counts['skipped']} left undone.",
        markup=False,
    )
    if outcome.restarted:
        console.out.print(
            "Restarted maps stopped by this apply: " + ", ".join(outcome.restarted), markup=False
        )
    if result.remaining:
        console.out.print("The environment still differs after apply:", markup=False)
        for change in result.remaining:
            console.out.print(f"  {change.action.value} {change.address}", markup=False)


def _protect(plan: Plan, want: Desired, allow_destroy: bool) -> None:
    destructive = plan.destructive()
    if destructive and want.env.model.protect.prevent_destroy and not allow_destroy:
        names = ", ".join(c.address for c in destructive)
        raise RefusedError(
            f"{plan.environment} prevents destructive changes: {names}",
            "review them, then pass --allow-destroy",
        )


def _acquire_with_timeout(writer: LiveWriter, timeout: float) -> None:
    """Wait for someone else's lease to go, up to `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        lease = writer.lock_status()
        if lease is None or lease.is_expired(datetime.now(UTC)):
            return
        if time.monotonic() >= deadline:
            return
        time.sleep(min(2.0, max(0.1, deadline - time.monotonic())))


def _confirm(plan: Plan, auto_approve: bool) -> None:
    if auto_approve:
        return
    if not sys.stdin.isatty():
        raise RefusedError(
            "apply needs approval and there is no terminal to ask",
            "pass --auto-approve, or apply a reviewed plan file: dwconf apply ENV FILE",
        )
    if not click.confirm(f"Apply these changes to {plan.environment}?", default=False):
        raise RefusedError("apply cancelled")


def _parse_duration(text: str) -> float:
    units = {"s": 1, "m": 60, "h": 3600}
    try:
        if text[-1] in units:
            return float(text[:-1]) * units[text[-1]]
        return float(text)
    except (ValueError, IndexError) as exc:
        raise click.BadParameter(f"'{text}' is not a duration such as 30s or 5m") from exc


@click.command("apply")
@click.argument("env")
@click.argument("plan_file", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--auto-approve", is_flag=True, help="Apply without asking.")
@click.option("--parallelism", default=4, show_default=True, type=click.IntRange(1, 32))
@click.option(
    "--lock-timeout", default="0s", show_default=True, help="Wait this long for the lock (30s, 5m)."
)
@click.option(
    "--allow-destroy",
    is_flag=True,
    help="Allow destructive changes where the environment prevents them.",
)
@click.option("--resume", is_flag=True, help="Continue the last interrupted apply to ENV.")
@click.pass_context
def apply_command(
    ctx: click.Context,
    env: str,
    plan_file: Path | None,
    auto_approve: bool,
    parallelism: int,
    lock_timeout: str,
    allow_destroy: bool,
    resume: bool,
) -> None:
    """Make ENV match the configuration, in dependency order, under ENV's lock.

    Without FILE it plans, shows the plan and asks. With FILE (from `dwconf plan --out`) it
    applies exactly that plan, and refuses it (exit 4) when the configuration or the
    environment moved since. Exit 5 when someone else holds the lock.

    \b
    Examples:
      dwconf apply dev
      dwconf apply prod prod.dwplan
      dwconf apply dev --resume          # after an interrupted apply
    """

    def body() -> int:
        root: Path = ctx.obj
        wait_s = _parse_duration(lock_timeout)
        want = load_desired(root, env)
        writer = open_writer(root, want.env.model)
        try:
            journal = None
            if resume:
                pending = unfinished(root, env)
                if not pending:
                    raise DwconfError(f"no interrupted apply to {env} to resume")
                journal = pending[0]
                plan = saved.load(journal.plan_path) if journal.plan_path.exists() else None
                if plan is None:
                    raise DwconfError("the interrupted apply left no plan to resume")
                console.out.print(f"Resuming apply of plan {plan.id} to {env}", markup=False)
            elif plan_file is not None:
                plan = saved.load(plan_file)
                if plan.environment != env:
                    raise RefusedError(f"the plan is for {plan.environment}, not {env}")
                reasons = stale_reasons(plan, want.state.hash, writer.read())
                if reasons:
                    raise RefusedError(
                        "the saved plan is stale: " + "; ".join(reasons), "make a new plan"
                    )
            else:
                plan = plan_against(want, writer)
                console.plain(render.text(plan).rstrip("\n"))
                if not plan.has_changes:
                    return 0
                _confirm(plan, auto_approve)
            _protect(plan, want, allow_destroy)
            if wait_s:
                _acquire_with_timeout(writer, wait_s)
            if journal is None:
                journal = Journal.at(root, env, plan.id)
                journal.plan_path.write_text(saved.dump(plan), encoding="utf-8")
            result = apply_plan(
                plan, writer, root, parallelism=parallelism, progress=_progress, journal=journal
            )
            _summary(result)
            return 0 if result.ok else int(ExitCode.ERROR)
        finally:
            writer.close()

    ctx.exit(boundary.run(body))
