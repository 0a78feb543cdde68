"""`dwconf show PLAN_FILE`: a saved plan, rendered as `dwconf plan` printed it."""

from __future__ import annotations

from pathlib import Path

import click

from dwconf.cli import boundary, console, params
from dwconf.cli.plan_cmds import FORMATS, plan_key
from dwconf.plan import saved
from dwconf.plan.definition import Plan


def load_plan_file(path: Path) -> Plan:
    """A saved plan whose checksum holds, and with DWCONF_PLAN_KEY set its signature too."""
    return saved.load(path, plan_key())


@click.command("show")
@click.argument("plan_file", type=click.Path(dir_okay=False, path_type=Path))
@params.output_format(*FORMATS)
def show_command(plan_file: Path, fmt: str) -> None:
    """Show a saved plan (dwconf plan --out) as text, markdown or JSON.

    Prints exactly what `dwconf plan` printed when it saved the file, so a pipeline shows
    reviewers the plan apply will run, not a second plan made later. Reads no configuration
    and no environment. A file altered after it was written is refused (exit 4), and so,
    with DWCONF_PLAN_KEY set, is one that is not signed with that key.

    \b
    Examples:
      dwconf plan prod --out prod.dwplan && dwconf show prod.dwplan
      dwconf show prod.dwplan --format markdown > prod-plan.md
      dwconf show prod.dwplan --format json | jq .has_changes
    """

    def body() -> int:
        plan = load_plan_file(plan_file)
        show = console.report if fmt == "text" else console.plain
        show(FORMATS[fmt](plan).rstrip("\n"))
        return 0

    click.get_current_context().exit(boundary.run(body))
