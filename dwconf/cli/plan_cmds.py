"""`dwconf plan` and `dwconf apply`: options in, `dwconf.apply.session.apply` does the rest."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import click

from dwconf import planning
from dwconf.apply.run import Options
from dwconf.apply.session import Report, Request, apply
from dwconf.cli import boundary, console, params
from dwconf.cli.apply_view import ConsoleView, as_json, exit_code, failed_json, summary
from dwconf.errors import ExitCode
from dwconf.graph.markdown import changed_maps_block
from dwconf.plan import output, saved
from dwconf.plan.blocks import Allowance
from dwconf.plan.definition import Plan

PLAN_KEY = "DWCONF_PLAN_KEY"


def markdown(plan: Plan) -> str:
    """The markdown plan with the graph of the changed maps and what depends on them."""
    return output.markdown(plan, changed_maps_block(plan))


FORMATS = {"text": output.text, "markdown": markdown, "json": output.as_json}


@click.command("plan")
@params.ENV
@params.SAVE_PLAN
@params.DETAILED_EXITCODE
@click.option(
    "--target",
    "targets",
    multiple=True,
    metavar="ADDR",
    help="Only these addresses (prefix with *); a solution brings the maps it changes.",
)
@click.option(
    "--exclude", "excludes", multiple=True, metavar="ADDR", help="Leave these addresses out."
)
@params.output_format(*FORMATS)
@click.option("--refresh-only", is_flag=True, help="Show how live differs; plan nothing to apply.")
@params.ALLOW_DESTROY
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
    allow_destroy: bool,
) -> None:
    """Show, per map and per field, what apply would change in ENV.

    Reads the environment, never writes it. With --out the plan is saved for
    `dwconf apply ENV FILE`, which refuses it if the configuration or the environment moved.
    A plan that apply would refuse (a required solution missing or too old, a prerequisite
    map not running, a destructive change where the environment prevents them) says so
    under "Apply would refuse this plan" (JSON: `applyable: false`, `blocked_by`).
    --allow-destroy records in the plan that its destructive changes are allowed, so the
    allowance is reviewed with it. With DWCONF_PLAN_KEY set, the saved plan is signed.

    \b
    Examples:
      dwconf plan dev
      dwconf plan prod --out prod.dwplan --detailed-exitcode
      dwconf plan test --format markdown > plan.md
      dwconf plan dev --target map.customers-v3-accounts
      dwconf plan prod --allow-destroy --out prod.dwplan
    """

    def body() -> int:
        allowed = (Allowance.DESTROY,) if allow_destroy else ()
        plan = planning.plan(ctx.obj, env, targets=targets, excludes=excludes, allowances=allowed)
        if refresh_only:
            plan = replace(plan, steps=(), refresh_only=True, blocked_by=())
        show = console.report if fmt == "text" else console.plain
        show(FORMATS[fmt](plan).rstrip("\n"))
        if out is not None:
            saved.save_where_asked(plan, out, plan_key())
            if fmt == "text":
                console.err.print(
                    f"Saved the plan to {out}. Apply it with: dwconf apply {env} {out}",
                    markup=False,
                )
        if detailed_exitcode and plan.has_changes:
            return int(ExitCode.CHANGES)
        return 0

    ctx.exit(boundary.run(body))


def plan_key() -> bytes | None:
    """The key saved plans are signed with and checked against (`DWCONF_PLAN_KEY`)."""
    value = os.environ.get(PLAN_KEY, "")
    # its bytes as set: a key that is not UTF-8 text (one from /dev/urandom) is held in
    # os.environ with surrogates, which a plain encode() refuses
    return os.fsencode(value) if value else None


def show(report: Report, view: ConsoleView) -> int:
    """Print the end of an apply (text summary, or the JSON document) and give its exit code."""
    view.close()
    if view.json:
        console.data(as_json(report))
    else:
        summary(report)
    return exit_code(report)


def run_apply(request: Request, fmt: str) -> int:
    view = ConsoleView(json=fmt == "json")
    try:
        with console.progress_lines():
            report = apply(request, view)
    finally:
        view.close()
    return show(report, view)


@click.command("apply")
@params.ENV
@click.argument("plan_file", required=False, type=click.Path(dir_okay=False, path_type=Path))
@params.AUTO_APPROVE
@params.PARALLELISM
@params.LOCK_TIMEOUT
@params.ALLOW_DESTROY
@click.option("--resume", is_flag=True, help="Continue the last interrupted or failed apply.")
@params.output_format(
    "text",
    "json",
    said="json: one document at the end, however apply ends (summary, each step's outcome, "
    "the record id; or why it refused or stopped, and the exit code).",
)
@click.pass_context
def apply_command(
    ctx: click.Context,
    env: str,
    plan_file: Path | None,
    auto_approve: bool,
    parallelism: int,
    lock_timeout: float,
    allow_destroy: bool,
    resume: bool,
    fmt: str,
) -> None:
    """Make ENV match the configuration, in dependency order, under ENV's lock.

    Without FILE it plans, shows the plan and asks. With FILE (from `dwconf plan --out`) it
    applies exactly that plan. Either way, once it holds the lock it reads ENV again and
    refuses (exit 4) a plan that no longer holds, naming what moved (with --auto-approve and
    no FILE it plans again instead); it refuses a plan file that does not follow from the
    configuration, and, with DWCONF_PLAN_KEY set, one that is not signed with that key. A
    plan that was applied already is reported as such. Exit 4 as well for a plan that apply
    would refuse (see `dwconf plan`), before anything changes. Exit 5 when someone else holds
    the lock (--lock-timeout waits for it), or when this apply lost it: it stops before its
    next write. --resume continues the last apply that was interrupted or failed: steps it
    finished are not run again. Ctrl-C during the steps starts no further step, lets the
    running ones finish and exits 130 with the summary.

    \b
    Examples:
      dwconf apply dev
      dwconf apply prod prod.dwplan
      dwconf apply dev --resume          # after an interrupted apply
      dwconf apply test --auto-approve --format json
    """
    if resume and plan_file is not None:
        raise click.BadParameter("--resume continues the interrupted plan; give no FILE")
    request = Request(
        root=ctx.obj,
        env=env,
        plan_file=plan_file,
        resume=resume,
        auto_approve=auto_approve,
        allow_destroy=allow_destroy,
        plan_key=plan_key(),
        options=Options(parallelism=parallelism, lock_timeout=lock_timeout),
    )
    document = (lambda failure: failed_json(env, failure)) if fmt == "json" else None
    ctx.exit(boundary.run(lambda: run_apply(request, fmt), document))
