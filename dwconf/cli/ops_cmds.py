"""Day-two commands: `dwconf drift`, `dwconf history`, `dwconf rollback` and `dwconf lock`."""

from __future__ import annotations

import json
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from dwconf.apply import lease as leases
from dwconf.apply.run import Options
from dwconf.apply.session import Request, rollback
from dwconf.cli import boundary, console, params
from dwconf.cli.apply_view import ConsoleView, say
from dwconf.cli.plan_cmds import plan_key, show
from dwconf.errors import ExitCode
from dwconf.jsonout import document
from dwconf.live import DeploymentRecord, Lease
from dwconf.plan import drift as drifts
from dwconf.plan import output, saved
from dwconf.planning import (
    drift_against,
    load_environment,
    record_summary,
    rollback_against,
)
from dwconf.providers import open_reader, open_writer
from dwconf.redact import redact


def _json(value: Any) -> None:
    console.plain(redact(json.dumps(value, indent=2, default=str)))


# drift ---------------------------------------------------------------------------------------


def run_drift(*, root: Path, env: str, ignore: tuple[str, ...], fmt: str) -> int:
    model = load_environment(root, env)
    with closing(open_reader(root, model)) as reader:
        found = drift_against(env, reader, ignore)
    show = console.report if fmt == "text" else console.plain
    show(drifts.FORMATS[fmt](found).rstrip("\n"))
    return int(ExitCode.CHANGES) if found.found else 0


@click.command("drift")
@params.ENV
@click.option(
    "--ignore",
    multiple=True,
    metavar="ADDR[:PATH]",
    help="Leave out an address (map.* patterns) or a path prefix inside one (map.x:state).",
)
@params.output_format(
    *drifts.FORMATS,
    said="text for people, markdown for an issue or a pull-request comment, json for tools.",
)
@click.pass_context
def drift_command(ctx: click.Context, env: str, ignore: tuple[str, ...], fmt: str) -> None:
    """Show what changed in ENV outside dwconf since its last successful apply.

    Compares live with the desired state dwconf recorded at its last successful apply, per
    address and per field. Never writes and takes no lock. Exit 2 when something drifted, 0
    when nothing did.

    \b
    Examples:
      dwconf drift prod
      dwconf drift prod --ignore 'alert.*' --ignore map.customers-v3-accounts:state
      dwconf drift prod --format json
      dwconf drift prod --format markdown > drift.md
    """
    ctx.exit(boundary.run(lambda: run_drift(root=ctx.obj, env=env, ignore=ignore, fmt=fmt)))


# history -------------------------------------------------------------------------------------


def _record_lines(record: DeploymentRecord) -> list[str]:
    row = record_summary(record)
    commit = (row["git_commit"] or "-")[:12] + (
        " with uncommitted changes" if row["git_dirty"] else ""
    )
    sources = row["sources"]
    versions = (
        ", ".join(
            f"{k} {v}" + (f" ({sources[k]})" if k in sources else "")
            for k, v in row["solution_versions"].items()
        )
        or "-"
    )
    return [
        f"{row['id']}  {row['created']}  {row['status']:<9}  by {row['who']}",
        f"    plan {row['plan_id']}, commit {commit}, solutions: {versions}",
    ]


def run_history(*, root: Path, env: str, fmt: str) -> int:
    model = load_environment(root, env)
    with closing(open_reader(root, model)) as reader:
        records = reader.records()
    if fmt == "json":
        _json(document(environment=env, records=[record_summary(r) for r in reversed(records)]))
        return 0
    if not records:
        say(f"{env} has no deployment records yet.")
    for record in reversed(records):
        for line in _record_lines(record):
            say(line)
    return 0


@click.command("history")
@params.ENV
@params.output_format("text", "json")
@click.pass_context
def history_command(ctx: click.Context, env: str, fmt: str) -> None:
    """List ENV's deployment records, newest first.

    Each record: id, when, status, who, the plan id, the git commit (and whether the working
    tree had uncommitted changes), and each solution's version and where it came from: the
    working tree (workspace) or a release tag.
    `dwconf rollback ENV --to ID` plans a return to one of them.

    \b
    Examples:
      dwconf history prod
      dwconf history prod --format json | jq -r '.records[0].git_commit'
      dwconf rollback prod --to RECORD_ID --out back.dwplan
    """
    ctx.exit(boundary.run(lambda: run_history(root=ctx.obj, env=env, fmt=fmt)))


# rollback ------------------------------------------------------------------------------------


def run_rollback(request: Request, *, to: str | None, out: Path | None) -> int:
    if out is not None:
        return _save_rollback(request, to, out)
    view = ConsoleView()
    try:
        report = rollback(request, to, view)
    finally:
        view.close()
    return show(report, view)


def _save_rollback(request: Request, to: str | None, out: Path) -> int:
    model = load_environment(request.root, request.env)
    with closing(open_reader(request.root, model)) as reader:
        back = rollback_against(request.env, reader, to)
    say(f"Rolling {request.env} back to deployment record {back.record.id}")
    for note in back.notes:
        say(f"  note: {note}")
    console.report(output.text(back.plan).rstrip("\n"))
    saved.save_where_asked(back.plan, out, plan_key())
    say(f"Saved the rollback plan to {out}. Apply it with: dwconf apply {request.env} {out}")
    return 0


@click.command("rollback")
@params.ENV
@click.option("--to", "to", metavar="RECORD", help="The deployment record id (or a prefix).")
@params.SAVE_PLAN
@params.AUTO_APPROVE
@params.ALLOW_DESTROY
@params.PARALLELISM
@params.LOCK_TIMEOUT
@click.pass_context
def rollback_command(
    ctx: click.Context,
    env: str,
    to: str | None,
    out: Path | None,
    auto_approve: bool,
    allow_destroy: bool,
    parallelism: int,
    lock_timeout: float,
) -> None:
    """Plan (and apply) a return of ENV to the desired state of a deployment record.

    By default the successful record before the last successful one. The plan is shown and
    applied like any plan: under the lock, journaled, verified and recorded. With --out it is
    only saved, for review and `dwconf apply ENV FILE`.

    \b
    Examples:
      dwconf rollback test
      dwconf rollback prod --to 3f2a9c --out rollback.dwplan
    """
    request = Request(
        root=ctx.obj,
        env=env,
        auto_approve=auto_approve,
        allow_destroy=allow_destroy,
        plan_key=plan_key(),
        options=Options(parallelism=parallelism, lock_timeout=lock_timeout),
    )
    ctx.exit(boundary.run(lambda: run_rollback(request, to=to, out=out)))


# lock ----------------------------------------------------------------------------------------


def _lease_document(lease: Lease) -> dict[str, Any]:
    now = datetime.now(UTC)
    return {
        "id": lease.id,
        "owner": lease.owner,
        "operation": lease.operation,
        "plan_id": lease.plan_id,
        "created": lease.created.isoformat(),
        "expires": lease.expires.isoformat(),
        "age_seconds": int((now - lease.created).total_seconds()),
        "expired": lease.is_expired(now),
    }


def run_lock_status(*, root: Path, env: str, fmt: str) -> int:
    model = load_environment(root, env)
    with closing(open_reader(root, model)) as reader:
        lease = reader.lock_status()
    if fmt == "json":
        _json(document(environment=env, lock=_lease_document(lease) if lease else None))
    elif lease is None:
        say(f"{env} is not locked.")
    else:
        expired = lease.is_expired(datetime.now(UTC))
        say(f"{env} is locked by {leases.describe(lease)}")
        if expired:
            say("The lease expired: the next apply takes it over.")
    return 0


def run_force_unlock(*, root: Path, env: str, lock_id: str) -> int:
    model = load_environment(root, env)
    with closing(open_writer(root, model)) as writer:
        lease = writer.force_unlock(lock_id)
    say(f"Removed the lock of {env} held by {leases.describe(lease)}")
    return 0


@click.group("lock")
def lock_group() -> None:
    """Look at an environment's lock, or remove one left behind.

    \b
    Examples:
      dwconf lock status prod
      dwconf lock force-unlock prod 6f1c2a7e-...
    """


@lock_group.command("status")
@params.ENV
@params.output_format("text", "json")
@click.pass_context
def lock_status_command(ctx: click.Context, env: str, fmt: str) -> None:
    """Who holds ENV's lock, for what, since when, and its lock ID.

    \b
    Examples:
      dwconf lock status prod
      dwconf lock status prod --format json | jq .lock.owner
    """
    ctx.exit(boundary.run(lambda: run_lock_status(root=ctx.obj, env=env, fmt=fmt)))


@lock_group.command("force-unlock")
@params.ENV
@click.argument("lock_id")
@click.pass_context
def force_unlock_command(ctx: click.Context, env: str, lock_id: str) -> None:
    """Remove ENV's lock LOCK_ID (from `dwconf lock status` or the refusal message).

    Only for a lock whose apply is gone: an apply still running would go on without it.
    `dwconf apply --resume` takes over its own interrupted apply's lock without this.

    \b
    Examples:
      dwconf lock status prod                     # the lock ID, and whose it is
      dwconf lock force-unlock prod 6f1c2a7e-...
    """
    ctx.exit(boundary.run(lambda: run_force_unlock(root=ctx.obj, env=env, lock_id=lock_id)))


COMMANDS = (drift_command, history_command, rollback_command, lock_group)
