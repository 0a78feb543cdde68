"""Commands over the configuration itself: validate, render, schema."""

from __future__ import annotations

from pathlib import Path

import click
import yaml

from dwconf.cli import boundary, console, params
from dwconf.diagnostics import Severity
from dwconf.errors import DwconfError, ExitCode, NotAConfigurationError
from dwconf.jsonout import document
from dwconf.load.sources import is_configuration
from dwconf.schema import write_schemas
from dwconf.validate.engine import Report, validate


def _root(ctx: click.Context, path: Path | None) -> Path:
    return configuration_root(path if path is not None else ctx.obj)


def configuration_root(root: Path) -> Path:
    """`root`, refused unless it holds a configuration: a command run in the wrong folder says
    so instead of finding nothing there (an empty environment list would pass a pipeline)."""
    if not root.is_dir():
        raise DwconfError(f"no such directory: {root}", "pass the configuration repository")
    if not is_configuration(root):
        raise NotAConfigurationError(root)
    return root


def _print_report(report: Report, fmt: str, strict: bool, verbose: bool = False) -> int:
    shown = list(report.diagnostics)
    if fmt != "json" and not verbose:
        shown = [d for d in shown if d.severity is not Severity.INFO]
    if fmt == "json":
        console.data(
            document(
                diagnostics=[d.as_dict() for d in shown],
                errors=report.errors,
                warnings=report.warnings,
            )
        )
    elif fmt == "github":
        for d in shown:
            console.plain(console.github(d))
    else:
        console.show_diagnostics(shown, console.out)
        envs = ", ".join(report.environments) or "no environment"
        summary = f"{report.errors} error(s), {report.warnings} warning(s) ({envs})"
        hidden = len(report.diagnostics) - len(shown)
        if hidden:
            summary += f"; {hidden} note(s) hidden, shown with --verbose"
        console.out.print(summary, markup=False, style="bold" if report.errors else "green")
    failed = report.errors or (strict and report.warnings)
    return int(ExitCode.ERROR if failed else ExitCode.OK)


@click.command("validate")
@click.argument("path", required=False, type=click.Path(file_okay=False, path_type=Path))
@params.ENVS
@params.output_format("text", "json", "github")
@click.option("--strict", is_flag=True, help="Warnings fail too (exit 1).")
@click.option("-v", "--verbose", is_flag=True, help="Show notes (skipped checks) too.")
@click.pass_context
def validate_command(
    ctx: click.Context,
    path: Path | None,
    envs: tuple[str, ...],
    fmt: str,
    strict: bool,
    verbose: bool,
) -> None:
    """Check the configuration: every problem at once, with file:line:col, a code and a fix.

    Each environment renders the templated values its own way, so the configuration is
    checked once per environment. Exit 0 when clean (warnings allowed), 1 on errors.

    \b
    Examples:
      dwconf validate
      dwconf validate path/to/repo --env dev --strict
      dwconf validate --format github     # annotations in a GitHub Actions log
    """

    def body() -> int:
        report = validate(_root(ctx, path), envs)
        return _print_report(report, fmt, strict, verbose)

    ctx.exit(boundary.run(body))


@click.command("render")
@params.ENV
@params.output_format("yaml", "json")
@click.pass_context
def render_command(ctx: click.Context, env: str, fmt: str) -> None:
    """Print ENV's desired state: every object dwconf manages there, by address.

    Templated values are rendered with ENV's vars; only the solutions ENV pins are included.
    The configuration must validate without errors first.

    \b
    Examples:
      dwconf render dev
      dwconf render prod --format json | jq '.objects | keys'
    """

    def body() -> int:
        from dwconf.planning import load_desired

        wanted = load_desired(_root(ctx, None), env).state
        state = document(**wanted.as_dict())  # the YAML says the same as the JSON
        if fmt == "json":
            console.data(state)
        else:
            console.plain(yaml.safe_dump(state, sort_keys=False, allow_unicode=True, width=100))
        return 0

    ctx.exit(boundary.run(body))


@click.command("schema")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Write one JSON Schema file per file kind into this folder (default: print them).",
)
def schema_command(out: Path | None) -> None:
    """JSON Schema of the configuration files (dwconf.yaml, environment, solution, map).

    With yaml-language-server (VS Code's YAML extension), put a modeline on the first line:

    \b
      # yaml-language-server: $schema=../../../schemas/map.schema.json   (in a map file)

    \b
    Examples:
      dwconf schema --out schemas/
    """

    def body() -> int:
        schemas = write_schemas(out)
        if out is None:
            console.data(schemas)
        else:
            for name in schemas:
                console.out.print(f"wrote {out / name}", markup=False)
        return 0

    click.get_current_context().exit(boundary.run(body))
