"""`dwconf release`, `dwconf promote` and `dwconf diff` (ARCHITECTURE §7)."""

from __future__ import annotations

from pathlib import Path

import click

from dwconf.cli import boundary, console, params
from dwconf.errors import DwconfError, ExitCode
from dwconf.gitops import diff_output
from dwconf.gitops.promote import Promotion, promote
from dwconf.gitops.release import BUMPS, Released, release
from dwconf.gitops.semdiff import SemanticDiff, semantic_diff
from dwconf.plan import output
from dwconf.planning import Desired, plan_against
from dwconf.providers import open_reader


def _say(text: str) -> None:
    console.out.print(text, markup=False)


@click.command("release")
@click.argument("solution")
@click.option(
    "--bump",
    type=click.Choice(BUMPS),
    help="Increment this part of the four-part version first (the parts after it become 0).",
)
@click.pass_context
def release_command(ctx: click.Context, solution: str, bump: str | None) -> None:
    """Release SOLUTION (a folder under solutions/): tag its version as SOLUTION/vVERSION.

    The working tree must be clean. With --bump, solution.yaml's version is incremented
    (major.minor.patch.revision; the parts after the bumped one become 0), committed as
    "Release SOLUTION VERSION", and that commit is tagged. Environments then pin the version.

    \b
    Examples:
      dwconf release contoso-customer-maps --bump minor    # 1.4.2.0 -> 1.5.0.0
      dwconf release contoso-customer-maps                 # tag the version as it is
    """

    def body() -> int:
        done = release(ctx.obj, solution, bump)
        _show_release(done)
        return 0

    ctx.exit(boundary.run(body))


def _show_release(done: Released) -> None:
    if done.bumped:
        _say(f"Bumped {done.folder} {done.previous} -> {done.version} (commit {done.commit[:7]}).")
    _say(f"Released {done.folder} {done.version}: tag {done.tag} at {done.commit[:7]}.")
    _say(f"Push it:  git push origin HEAD {done.tag}")
    _say(f"Pin it in an environment:  solutions: {{{done.folder}: {done.version}}}")


@click.command("promote")
@click.argument("src")
@click.argument("dst")
@click.option(
    "--solution",
    "solutions",
    multiple=True,
    metavar="NAME",
    help="Promote only this solution folder (repeatable).",
)
@click.option("--branch", help="Name of the new branch (default promote/DST/YYYYMMDD-SHA).")
@click.option(
    "--dry-run",
    is_flag=True,
    help="Make every check and show the pin changes and DST's plan; write nothing.",
)
@click.option(
    "--no-gate", is_flag=True, help="Skip the check that SRC ran the versions successfully."
)
@click.option("--show-plan", is_flag=True, help="Print DST's whole plan, not only its summary.")
@click.pass_context
def promote_command(
    ctx: click.Context,
    src: str,
    dst: str,
    solutions: tuple[str, ...],
    branch: str | None,
    dry_run: bool,
    no_gate: bool,
    show_plan: bool,
) -> None:
    """Pin DST to the released versions SRC runs, on a new branch, in one commit.

    The gate lets through only versions that SRC's deployment records show as applied
    successfully and that SRC still runs. DST's stage must come after SRC's. DST's file keeps
    its comments and formatting. Then DST's plan is summed up in a line (read-only; the whole
    plan with --show-plan, or `dwconf plan DST` later), and the command that pushes the branch
    comes last. Exit 4 when the gate or the stage order refuses.

    \b
    Examples:
      dwconf promote dev test
      dwconf promote test prod --dry-run
      dwconf promote dev test --solution contoso-customer-maps --show-plan
      git push -u origin HEAD && gh pr create --fill      # then review and merge
    """

    def body() -> int:
        done = promote(
            ctx.obj,
            src,
            dst,
            solutions=solutions,
            branch=branch,
            dry_run=dry_run,
            gate=not no_gate,
        )
        _show_promotion(done, dry_run)
        if done.desired is not None:
            _show_plan(ctx.obj, done.desired, show_plan)
        _show_next(done, dry_run)
        return 0

    ctx.exit(boundary.run(body))


def _show_promotion(done: Promotion, dry_run: bool) -> None:
    if done.evidence is None:
        _say("Gate skipped (--no-gate).")
    else:
        e = done.evidence
        _say(
            f"Gate: {e.environment} runs these versions (deployment record {e.record_id}, "
            f"{e.created:%Y-%m-%d %H:%M} UTC)."
        )
    if not done.changes:
        _say(f"{done.target} already pins what {done.source} runs; nothing to promote.")
        return
    _say(f"Pin changes in {done.file}:")
    for change in done.changes:
        _say(f"  ~ {change.line()}")
    if dry_run:
        return
    assert done.branch and done.commit
    _say(f"Committed {done.commit[:7]} on the new branch {done.branch} (now checked out).")


def _show_plan(root: Path, want: Desired, whole: bool) -> None:
    """DST's plan in one line (its summary), or whole; never the last thing printed."""
    name = want.env.name
    try:
        reader = open_reader(root, want.env.model)
        try:
            plan = plan_against(want, reader)
        finally:
            reader.close()
    except DwconfError as exc:
        _say(f"\n{name} is not reachable from here ({exc.message}); plan it in CI.")
        return
    _say("")
    if whole:
        console.report(output.text(plan).rstrip("\n"))
        return
    _say(f"{name}: {output.summary_line(plan)}")
    if plan.has_changes:
        _say(f"  The whole plan: dwconf plan {name} (or promote with --show-plan).")


def _show_next(done: Promotion, dry_run: bool) -> None:
    """What to do next, always last: the push command must not scroll away."""
    if dry_run and done.changes:
        _say("Dry run: nothing written.")
    if dry_run or not done.changes or not done.branch:
        return
    _say("")
    _say("Push it and open a pull request:")
    _say(f"  git push -u origin {done.branch}")
    _say("  gh pr create --fill")


@click.command("diff")
@click.argument("rev_a", required=False)
@click.argument("rev_b", required=False)
@params.ENVS
@params.output_format(*diff_output.FORMATS)
@params.DETAILED_EXITCODE
@click.pass_context
def diff_command(
    ctx: click.Context,
    rev_a: str | None,
    rev_b: str | None,
    envs: tuple[str, ...],
    fmt: str,
    detailed_exitcode: bool,
) -> None:
    """What changes for each environment between two git revisions of the configuration.

    REV_A defaults to the merge-base of HEAD and the default branch (main or master), REV_B to
    the working tree. Both sides are rendered per environment and compared with the plan's diff
    engine: per map, the fields, directions, value maps, filters, keys and versions that change,
    each with its effect and why. Environments come in stage order; environments with the same
    changes are shown once. No environment is read. Exit 1 when the configuration at REV_B has
    errors (the diff is still shown), 2 with --detailed-exitcode when an environment changes.

    \b
    Examples:
      dwconf diff                                  # this branch's changes so far
      dwconf diff main HEAD --format markdown      # for a pull-request comment
      dwconf diff v1 v2 --env prod --format json
    """

    def body() -> int:
        found = semantic_diff(ctx.obj, rev_a, rev_b, envs)
        show = console.report if fmt == "text" else console.plain
        show(diff_output.FORMATS[fmt](found).rstrip("\n"))
        broken = [e for e in found.environments if e.errors or e.status == "unreadable"]
        _diff_problems(found)
        if broken:
            return int(ExitCode.ERROR)
        if detailed_exitcode and found.has_changes:
            return int(ExitCode.CHANGES)
        return 0

    ctx.exit(boundary.run(body))


def _diff_problems(found: SemanticDiff) -> None:
    """On stderr: the errors of files that don't load (once each, at file:line:col), then the
    environments that could not be compared and those whose configuration has errors."""
    groups = diff_output.unreadable_groups(found)
    shown = dict.fromkeys(d for _, group in groups for d in group[0].problems)
    console.show_diagnostics(shown, console.err)
    for side, group in groups:
        console.problem(
            f"{', '.join(e.environment for e in group)}: not compared, files at {side} don't "
            "load (a map or solution they define would read as removed or added)",
            "fix the errors above, then run dwconf diff again",
        )
    for env in found.environments:
        if env.errors and env.status != "unreadable":
            console.problem(
                f"{env.environment}: the configuration at {found.head.label} has "
                f"{env.errors} error(s)",
                "run dwconf validate",
            )


COMMANDS = (release_command, promote_command, diff_command)
