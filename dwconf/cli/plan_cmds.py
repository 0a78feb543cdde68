"""`dwconf plan` and `dwconf apply`; `execute` runs any plan (also a rollback's) to the end."""

from __future__ import annotations

import sys
from contextlib import closing
from pathlib import Path
from types import TracebackType

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from dwconf import planning
from dwconf.apply import lease as leases
from dwconf.apply.executor import StepOutcome, StepStatus
from dwconf.apply.journal import Journal, resumable
from dwconf.apply.run import Options, Result, apply_plan, record_if_moved
from dwconf.apply.stale import configuration_reason, stale_reasons
from dwconf.cli import boundary, console
from dwconf.errors import DwconfError, ExitCode, RefusedError
from dwconf.live.state import Lease
from dwconf.plan import render, saved
from dwconf.plan.actions import Category
from dwconf.plan.definition import Plan
from dwconf.plan.diff import Change
from dwconf.planning import Desired, load_desired, plan_against
from dwconf.providers import open_writer
from dwconf.providers.base import LiveWriter
from dwconf.redact import redact

FORMATS = {"text": render.text, "markdown": render.markdown, "json": render.as_json}


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
        plan = planning.plan(ctx.obj, env, targets=targets, excludes=excludes)
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


def say(text: str) -> None:
    console.out.print(redact(text), markup=False)


_MARK = {
    StepStatus.DONE: "ok",
    StepStatus.FAILED: "FAILED",
    StepStatus.SKIPPED: "skipped",
    StepStatus.RESUMED: "done earlier",
}


class ApplyView:
    """What a person sees while an apply runs: a line per finished step, and on a terminal a
    progress bar under them."""

    def __init__(self, total: int) -> None:
        self._bar: Progress | None = None
        if console.out.is_terminal:
            self._bar = Progress(
                TextColumn("applying"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=console.out,
                transient=True,
            )
            self._task = self._bar.add_task("apply", total=total)

    def __enter__(self) -> ApplyView:
        if self._bar:
            self._bar.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._bar:
            self._bar.stop()

    def __call__(self, result: StepOutcome) -> None:
        line = f"  {_MARK[result.status]:<12} {result.step.operation} {result.step.address}"
        if result.seconds >= 0.1:
            line += f" ({result.seconds:.1f}s)"
        say(line)
        if result.error:
            say(f"               {result.error}")
        if self._bar:
            self._bar.advance(self._task)


def _waiting(lease: Lease | None) -> None:
    held = leases.describe(lease) if lease else "someone else"
    console.err.print(redact(f"Waiting for the lock held by {held}"), markup=False)


def _change_lines(change: Change) -> list[str]:
    lines = [f"  {change.action.value} {change.address} ({change.action.word})"]
    return lines + [f"      {render.detail_line(d)}" for d in change.details]


def _summary(env: str, result: Result) -> None:
    outcome = result.outcome
    counts = {s: len(outcome.by_status(s)) for s in StepStatus}
    say(
        f"Apply: {counts[StepStatus.DONE]} done, {counts[StepStatus.RESUMED]} done earlier, "
        f"{counts[StepStatus.FAILED]} failed, {counts[StepStatus.SKIPPED]} skipped."
    )
    for status, title in ((StepStatus.FAILED, "Failed"), (StepStatus.SKIPPED, "Left undone")):
        for s in outcome.by_status(status):
            say(
                f"  {title}: {s.step.operation} {s.step.address}"
                + (f": {s.error}" if s.error and status is StepStatus.FAILED else "")
            )
    if outcome.restarted:
        say("Started again (this apply had stopped them): " + ", ".join(outcome.restarted))
    if result.remaining:
        say("Verification failed: the environment still differs from the plan:")
        for change in result.remaining:
            for line in _change_lines(change):
                say(line)
    if result.lease_lost:
        say(f"Warning: the lock was lost during the apply ({result.lease_lost})")
    if outcome.failed:
        say(f"Continue with: dwconf apply {env} --resume")
    elif result.remaining:
        say(f"See what remains with: dwconf plan {env}")


def protect(plan: Plan, prevent_destroy: bool, allow_destroy: bool) -> None:
    """Refuse destructive changes where the environment prevents them (exit 4)."""
    destructive = plan.destructive()
    if not destructive or not prevent_destroy or allow_destroy:
        return
    named = []
    for change in destructive:
        paths = [d.path for d in change.details if d.category is Category.DESTRUCTIVE]
        named.append(
            f"{change.address} ({change.action.word}{': ' if paths else ''}{', '.join(paths)})"
        )
    raise RefusedError(
        f"{plan.environment} prevents destructive changes; this plan has "
        f"{len(named)}: " + "; ".join(named),
        "review them, then pass --allow-destroy",
    )


def execute(
    plan: Plan, writer: LiveWriter, journal: Journal, *, resume: bool, options: Options
) -> int:
    """Apply `plan`, showing each step and a summary; the exit code of the apply."""
    with ApplyView(len(plan.steps)) as view:
        run = Options(
            parallelism=options.parallelism,
            lease_seconds=options.lease_seconds,
            lock_timeout=options.lock_timeout,
            resume=resume,
            progress=view,
            on_wait=_waiting,
        )
        result = apply_plan(plan, writer, journal, run)
    if result.took_over:
        say("(took over the lock the interrupted apply had left)")
    _summary(plan.environment, result)
    return 0 if result.ok else int(ExitCode.ERROR)


def confirm(plan: Plan, auto_approve: bool) -> None:
    if auto_approve:
        return
    if not sys.stdin.isatty():
        raise RefusedError(
            "apply needs approval and there is no terminal to ask",
            "pass --auto-approve, or apply a reviewed plan file: dwconf apply ENV FILE",
        )
    if not click.confirm(f"Apply these changes to {plan.environment}?", default=False):
        raise DwconfError("apply cancelled; nothing was changed")


def parse_duration(text: str) -> float:
    units = {"s": 1, "m": 60, "h": 3600}
    try:
        if text[-1] in units:
            return float(text[:-1]) * units[text[-1]]
        return float(text)
    except (ValueError, IndexError) as exc:
        raise click.BadParameter(f"'{text}' is not a duration such as 30s or 5m") from exc


def _resumed(root: Path, env: str, want: Desired) -> tuple[Plan, Journal]:
    journal = resumable(root, env)
    if journal is None or not journal.plan_path.exists():
        raise DwconfError(
            f"no interrupted apply to {env} to resume", "the last apply finished; run plan"
        )
    plan = saved.load(journal.plan_path)
    moved = configuration_reason(plan, want.state.objects, want.state.hash)
    if moved:
        raise RefusedError(
            f"can't resume the interrupted apply of plan {plan.id}: {moved}",
            f"apply the configuration as it is now: dwconf apply {env}",
        )
    say(f"Resuming apply of plan {plan.id} to {env} ({len(journal.done_steps())} step(s) done)")
    return plan, journal


def _saved(path: Path, env: str, want: Desired, writer: LiveWriter) -> Plan:
    plan = saved.load(path)
    if plan.environment != env:
        raise RefusedError(f"the plan is for {plan.environment}, not {env}")
    if plan.refresh_only:
        raise RefusedError("a refresh-only plan shows drift; it has nothing to apply")
    reasons = stale_reasons(plan, want.state.objects, want.state.hash, writer.read())
    if reasons:
        raise RefusedError(
            "the saved plan is stale:\n  - " + "\n  - ".join(reasons),
            f"make and review a new plan: dwconf plan {env} --out FILE",
        )
    return plan


def _fresh(want: Desired, writer: LiveWriter, auto_approve: bool, allow_destroy: bool) -> Plan:
    plan = plan_against(want, writer)
    console.plain(render.text(plan).rstrip("\n"))
    if plan.has_changes:
        protect(plan, want.env.model.protect.prevent_destroy, allow_destroy)
        confirm(plan, auto_approve)
    return plan


def _record_unchanged(plan: Plan, writer: LiveWriter, options: Options) -> None:
    record = record_if_moved(plan, writer, options)
    if record is None:
        say("Apply: nothing to do.")
    else:
        say(
            f"Apply: nothing to change in {plan.environment}; recorded what it now runs "
            f"(deployment record {record})."
        )


def run_apply(
    *,
    root: Path,
    env: str,
    plan_file: Path | None,
    auto_approve: bool,
    allow_destroy: bool,
    resume: bool,
    options: Options,
) -> int:
    want = load_desired(root, env)
    with closing(open_writer(root, want.env.model)) as writer:
        if resume:
            plan, journal = _resumed(root, env, want)
        elif plan_file is not None:
            plan = _saved(plan_file, env, want, writer)
            journal = Journal.new(root, env, plan.id)
        else:
            plan = _fresh(want, writer, auto_approve, allow_destroy)
            journal = Journal.new(root, env, plan.id)
        if not plan.steps:
            if plan.has_changes:
                say("Nothing to apply: no step can carry out these changes.")
            elif not plan.refresh_only:
                _record_unchanged(plan, writer, options)
            return 0
        protect(plan, want.env.model.protect.prevent_destroy, allow_destroy)
        return execute(plan, writer, journal, resume=resume, options=options)


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
@click.option("--resume", is_flag=True, help="Continue the last interrupted or failed apply.")
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
    environment moved since, naming what moved. Exit 5 when someone else holds the lock;
    --lock-timeout waits for it. --resume continues the last apply that was interrupted or
    failed: steps it finished are not run again.

    \b
    Examples:
      dwconf apply dev
      dwconf apply prod prod.dwplan
      dwconf apply dev --resume          # after an interrupted apply
    """
    wait_s = parse_duration(lock_timeout)
    if resume and plan_file is not None:
        raise click.BadParameter("--resume continues the interrupted plan; give no FILE")
    options = Options(parallelism=parallelism, lock_timeout=wait_s)
    ctx.exit(
        boundary.run(
            lambda: run_apply(
                root=ctx.obj,
                env=env,
                plan_file=plan_file,
                auto_approve=auto_approve,
                allow_destroy=allow_destroy,
                resume=resume,
                options=options,
            )
        )
    )
