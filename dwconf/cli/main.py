"""`dwconf`: the command group, shared options and the entry point."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import click

from dwconf import __version__, speedups
from dwconf.cli import boundary, console
from dwconf.errors import ExitCode

# The explicit registry of commands: name -> "module:attribute". Modules load on first use, so
# `dwconf validate` does not pay for the HTTP client, the emulator or git.
COMMANDS = {
    "validate": "dwconf.cli.config_cmds:validate_command",
    "render": "dwconf.cli.config_cmds:render_command",
    "schema": "dwconf.cli.config_cmds:schema_command",
    "plan": "dwconf.cli.plan_cmds:plan_command",
    "apply": "dwconf.cli.plan_cmds:apply_command",
    "show": "dwconf.cli.show_cmds:show_command",
    "drift": "dwconf.cli.ops_cmds:drift_command",
    "history": "dwconf.cli.ops_cmds:history_command",
    "rollback": "dwconf.cli.ops_cmds:rollback_command",
    "lock": "dwconf.cli.ops_cmds:lock_group",
    "env": "dwconf.cli.env_cmds:env_group",
    "release": "dwconf.cli.gitops_cmds:release_command",
    "promote": "dwconf.cli.gitops_cmds:promote_command",
    "diff": "dwconf.cli.gitops_cmds:diff_command",
    "package": "dwconf.cli.bridge_cmds:package_command",
    "unpack": "dwconf.cli.bridge_cmds:unpack_command",
    "import": "dwconf.cli.bridge_cmds:import_command",
    "doctor": "dwconf.cli.bridge_cmds:doctor_command",
    "probe": "dwconf.cli.probe_cmds:probe_command",
    "emulator": "dwconf.cli.emulator_cmds:emulator_group",
    "bootstrap": "dwconf.cli.bootstrap_cmds:bootstrap_command",
    "init": "dwconf.cli.onboard_cmds:init_command",
    "add": "dwconf.cli.onboard_cmds:add_group",
    "graph": "dwconf.cli.picture_cmds:graph_command",
    "docs": "dwconf.cli.picture_cmds:docs_command",
    "compare": "dwconf.cli.compare_cmds:compare_command",
    "login": "dwconf.cli.signin_cmds:login_command",
    "logout": "dwconf.cli.signin_cmds:logout_command",
}


class LazyGroup(click.Group):
    """A group whose commands are imported when they are first needed."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*COMMANDS, *super().list_commands(ctx)})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return super().get_command(ctx, cmd_name)
        module, attribute = target.split(":")
        command = getattr(importlib.import_module(module), attribute)
        assert isinstance(command, click.Command)
        return command


CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


@click.group(cls=LazyGroup, context_settings=CONTEXT)
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
      dwconf init my-config                 a new configuration repository
      dwconf validate                       check every file, for every environment
      dwconf plan dev                       what apply would change in dev, per map and field
      dwconf apply dev                      do it (asks first; --auto-approve in pipelines)
      dwconf plan dev --detailed-exitcode   exit 0: nothing left to do, 2: changes
      dwconf validate --format json         diagnostics for tools

    Each command's --help has its own examples: dwconf plan --help.
    """
    ctx.obj = project_dir


ASKING_ONLY = {"--help", "-h", "--version"}  # answered even when a setting is wrong


def main() -> None:
    """Console-script entry point: every outcome becomes one of the documented exit codes.
    Ctrl-C is 130 wherever it lands: click turns it into `Abort` outside a command's body
    (while its module loads, say) and at its prompts."""
    wrong = speedups.misspelt()
    if wrong is not None and not ASKING_ONLY & set(sys.argv[1:]):
        name, value = wrong
        console.problem(
            f"{name} is {value!r}: it takes on or off.",
            f"Set {name}=off to turn it off, or unset it (on is the default).",
        )
        sys.exit(int(ExitCode.ERROR))
    try:
        with speedups.for_command():
            code = cli.main(standalone_mode=False)
    except click.exceptions.Exit as exc:
        code = exc.exit_code
    except click.exceptions.Abort as exc:
        stopped = boundary.interrupted(exc)
        console.problem("interrupted" if stopped else "aborted")
        code = int(ExitCode.INTERRUPTED) if stopped else int(ExitCode.ERROR)
    except KeyboardInterrupt:
        console.problem(boundary.INTERRUPTED.message)
        code = int(ExitCode.INTERRUPTED)
    except click.ClickException as exc:
        exc.show()
        code = 1
    except Exception as exc:  # outside a command's body (its options read): still no traceback
        failure = boundary.failure_of(exc)
        console.problem(failure.message, failure.hint)
        code = failure.exit_code
    sys.exit(code if isinstance(code, int) else 0)


__all__ = ["COMMANDS", "boundary", "cli", "main"]
