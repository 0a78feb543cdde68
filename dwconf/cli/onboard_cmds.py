"""`dwconf init` (a new configuration repository) and `dwconf add map` (a map from a template)."""

from __future__ import annotations

from pathlib import Path

import click

from dwconf import git
from dwconf.cli import boundary, console
from dwconf.errors import DwconfError
from dwconf.scaffold import addmap, templates
from dwconf.scaffold import project as scaffold


@click.command("init")
@click.argument("directory", required=False, type=click.Path(path_type=Path))
@click.option(
    "--ci",
    type=click.Choice(sorted(scaffold.CI_SYSTEMS)),
    default="github",
    show_default=True,
    help="Which pipelines to write: GitHub Actions, Azure DevOps, or none.",
)
@click.option(
    "--template",
    "template_names",
    multiple=True,
    metavar="NAME",
    help="A standard map template to start with (repeatable; default: Legal entities "
    "(cdm_companies) and Currencies (transactioncurrencies)).",
)
@click.option(
    "--solution",
    default="core-maps",
    show_default=True,
    help="Folder name of the solution that holds the maps.",
)
@click.option(
    "--legal-entity",
    "legal_entities",
    multiple=True,
    metavar="CODE",
    help="Legal entities the environments link (repeatable; default USMF).",
)
@click.option(
    "--force",
    is_flag=True,
    help="Also in a folder that is not empty: write only the files that are missing "
    "(nothing is overwritten or deleted).",
)
@click.pass_context
def init_command(
    ctx: click.Context,
    directory: Path | None,
    ci: str,
    template_names: tuple[str, ...],
    solution: str,
    legal_entities: tuple[str, ...],
    force: bool,
) -> None:
    """Start a new dual-write configuration repository in DIRECTORY (default: here, or -C's).

    Writes dwconf.yaml; environments/dev, test and prod (embedded local provider, with the
    dynamics block explained); one solution whose maps come from Microsoft's standard
    templates; the CI pipelines; a pre-commit config; JSON Schemas for editors; a README.
    The result validates and applies to dev at once.

    \b
    Examples:
      dwconf init my-config
      dwconf init my-config --ci azure-devops
      dwconf init my-config --template "Customers V3 (accounts)" --template "Currencies"
      cd my-config && git init && dwconf validate && dwconf apply dev --auto-approve
    """

    # Like every command, init works in -C's folder; a DIRECTORY is taken from there (as in
    # `git -C DIR init SUB`).
    target: Path = ctx.obj / directory if directory is not None else ctx.obj

    def body() -> int:
        options = scaffold.InitOptions(
            target=target,
            ci=ci,
            template_names=template_names or scaffold.DEFAULT_TEMPLATES,
            solution=solution,
            legal_entities=legal_entities or ("USMF",),
            force=force,
        )
        written, kept = scaffold.init(options)
        for path in written:
            console.out.print(f"wrote {path}", markup=False)
        for path in kept:
            console.out.print(f"kept  {path} (exists)", markup=False)
        where = "" if target == Path(".") else f"cd {target} && "
        start = "" if git.in_work_tree(target) else "git init && "
        console.out.print(
            f"\nNext: {where}{start}dwconf validate && dwconf apply dev --auto-approve",
            markup=False,
        )
        return 0

    click.get_current_context().exit(boundary.run(body))


@click.group("add")
def add_group() -> None:
    """Add to the configuration.

    \b
    Examples:
      dwconf add map --template "Customers V3 (accounts)" --solution core-maps
      dwconf add map --list
    """


@add_group.command("map")
@click.option("--template", "template_name", metavar="NAME", help="Template name (see --list).")
@click.option("--solution", metavar="FOLDER", help="The solution folder under solutions/.")
@click.option("--list", "show_list", is_flag=True, help="List the standard template names.")
@click.pass_context
def add_map_command(
    ctx: click.Context, template_name: str | None, solution: str | None, show_list: bool
) -> None:
    """Copy one of Microsoft's standard map templates into a solution as a map file.

    The map gets every row of the template, version 1.0.0.0, the table's integration key,
    F&O as initial-sync master, and depends_on the solution's maps of the tables its lookups
    point at. It validates as written; edit it like any map.

    \b
    Examples:
      dwconf add map --template "Customers V3 (accounts)" --solution core-maps
      dwconf add map --template "Customer groups" --solution core-maps
      dwconf add map --list | grep -i vendor
    """

    def body() -> int:
        if show_list:
            console.plain("\n".join(sorted(templates.templates())))
            return 0
        if not template_name or not solution:
            raise DwconfError(
                "add map needs --template and --solution",
                'e.g. dwconf add map --template "Currencies" --solution core-maps',
            )
        path = addmap.add_map(root=ctx.obj, template_name=template_name, solution=solution)
        console.out.print(f"wrote {path}", markup=False)
        return 0

    ctx.exit(boundary.run(body))
