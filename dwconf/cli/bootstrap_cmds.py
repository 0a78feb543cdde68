"""`dwconf bootstrap`: create dwconf's own tables (its lease and deployment records) in a real
environment, or with `--check` only say whether they are there."""

from __future__ import annotations

from pathlib import Path

import click

from dwconf.cli import boundary, console, params
from dwconf.planning import load_environment
from dwconf.providers.dynamics import DynamicsProvider
from dwconf.providers.dynamics import bootstrap as tables
from dwconf.providers.dynamics.bootstrap import Gap


def _say(text: str) -> None:
    console.out.print(text, markup=False)


def _report_check(name: str, gaps: list[Gap]) -> int:
    """`--check`: 0 when every table is complete, else 1 with what is missing."""
    missing = [g for g in gaps if not g.complete]
    if not missing:
        _say(f"{name}: dwconf's tables are present ({', '.join(g.table.logical for g in gaps)}).")
        return 0
    for gap in missing:
        _say(f"{name}: {gap.describe()}")
    console.problem(
        f"{name}: dwconf's tables are missing or incomplete",
        f"create them with: dwconf bootstrap {name}",
    )
    return 1


def _report_created(name: str, created: list[str], gaps: list[Gap]) -> None:
    if created:
        for item in created:
            _say(f"{name}: created {item}")
        _say(f"{name}: dwconf's tables are ready ({len(created)} change(s)).")
    else:
        _say(f"{name}: dwconf's tables are already present; nothing to do.")
    for gap in gaps:
        for key in gap.pending_keys:
            _say(
                f"{name}: the index of key {key} of {gap.table.logical} is still being built; "
                "dwconf can take the lock once it is active."
            )


def run_bootstrap(*, root: Path, name: str, check: bool) -> int:
    env = load_environment(root, name)
    if env.provider.type == "local":
        _say(
            f"{name}: provider 'local' keeps its lease and deployment records in its own "
            "database; nothing to do."
        )
        return 0
    with DynamicsProvider.open(root, env) as provider:
        gaps = tables.check(provider.dataverse)
        if check:
            return _report_check(name, gaps)
        created = tables.create(provider.dataverse, gaps)
        _report_created(name, created, tables.verify(provider.dataverse))
    return 0


@click.command("bootstrap")
@params.ENV
@click.option("--check", is_flag=True, help="Only report; exit 1 when something is missing.")
@click.pass_context
def bootstrap_command(ctx: click.Context, env: str, check: bool) -> None:
    """Create dwconf's own tables in ENV's Dataverse environment.

    dwconf keeps its lock in the table dwconf_lease (entity set dwconf_leases, alternate key
    on dwconf_name) and its deployment records in dwconf_deploymentrecord (entity set
    dwconf_deploymentrecords). This creates whatever of them is missing, tables, columns and
    keys, then reads them back; running it again changes nothing. Needs an app user allowed
    to customize the environment (System Customizer or System Administrator). A local
    environment has them already.

    \b
    Examples:
      dwconf bootstrap prod --check   exit 0 when the tables are there, 1 when not
      dwconf bootstrap prod           create what is missing
    """
    ctx.exit(boundary.run(lambda: run_bootstrap(root=ctx.obj, name=env, check=check)))
