"""`dwconf`: the command group, shared options and the entry point."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from dwconf import __version__
from dwconf.cli import boundary
from dwconf.cli.config_cmds import render_command, schema_command, validate_command
from dwconf.cli.env_cmds import env_group
from dwconf.cli.gitops_cmds import diff_command, promote_command, release_command
from dwconf.cli.ops_cmds import COMMANDS as OPS_COMMANDS
from dwconf.cli.plan_cmds import apply_command, plan_command

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


@click.group(context_settings=CONTEXT)
@click.version_option(__version__, "--version", prog_name="dwconf")
@click.option(
    "-C",
    "--project-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    envvar="DWCONF_PROJECT_DIR",
    show_default=True,
    help="The configuration repository (holds dwconf.yaml, environments/, solutions/).",
)
@click.pass_context
def cli(ctx: click.Context, project_dir: Path) -> None:
    """Declarative GitOps configuration for Dynamics 365 dual-write.

    Keep table maps, the solutions that ship them and each environment's link as YAML in git;
    validate them, see what would change, and apply it.

    \b
    Examples:
      dwconf validate                 check every file, for every environment
      dwconf render dev               the desired state of dev, as YAML
      dwconf validate --format json   diagnostics for tools
    """
    ctx.obj = project_dir


cli.add_command(validate_command)
cli.add_command(render_command)
cli.add_command(schema_command)
cli.add_command(plan_command)
cli.add_command(apply_command)
for _command in OPS_COMMANDS:
    cli.add_command(_command)
cli.add_command(env_group)
cli.add_command(release_command)
cli.add_command(promote_command)
cli.add_command(diff_command)
cli.add_command(__import__("dwconf.cli.emulator_cmds", fromlist=["_"]).emulator_group)
cli.add_command(__import__("dwconf.cli.bridge_cmds", fromlist=["_"]).package_command)
cli.add_command(__import__("dwconf.cli.bridge_cmds", fromlist=["_"]).unpack_command)
cli.add_command(__import__("dwconf.cli.bridge_cmds", fromlist=["_"]).import_command)
cli.add_command(__import__("dwconf.cli.bridge_cmds", fromlist=["_"]).doctor_command)


def main() -> None:
    """Console-script entry point: every outcome becomes one of the documented exit codes."""
    try:
        code = cli.main(standalone_mode=False)
    except click.exceptions.Exit as exc:
        code = exc.exit_code
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        code = 1
    except click.ClickException as exc:
        exc.show()
        code = 1
    sys.exit(code if isinstance(code, int) else 0)


__all__ = ["boundary", "cli", "main"]
