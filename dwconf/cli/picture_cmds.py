"""`dwconf graph` (the dependency graph of maps, or a plan's steps) and `dwconf docs` (a site)."""

from __future__ import annotations

from pathlib import Path

import click

from dwconf import planning
from dwconf.cli import boundary, console, params
from dwconf.cli.config_cmds import configuration_root
from dwconf.cli.env_cmds import environment_list
from dwconf.cli.show_cmds import load_plan_file
from dwconf.errors import DwconfError
from dwconf.graph import model, text

RENDERERS = {"mermaid": text.mermaid, "dot": text.dot, "svg": text.svg}


def first_environment(root: Path) -> str:
    found = environment_list(configuration_root(root))
    if not found:
        raise DwconfError("the configuration has no environment", "add environments/dev.yaml")
    return found[0]["name"]


@click.command("graph")
@click.argument("env", required=False)
@params.output_format(
    *RENDERERS,
    said="mermaid (GitHub and Azure DevOps render it), dot (Graphviz), svg (needs Graphviz).",
)
@click.option(
    "--plan",
    "plan_file",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Draw this saved plan's steps in apply order, coloured by category.",
)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Write to a file.")
@click.pass_context
def graph_command(
    ctx: click.Context, env: str | None, fmt: str, plan_file: Path | None, out: Path | None
) -> None:
    """The dependency graph of the maps ENV runs (default: the first stage's environment).

    Arrows point from a map to the maps that wait for it (depends_on); dashed arrows are
    lookups through another map's table and its integration key; solutions are boxes.
    Implied arrows are left out: a wait that a chain of waits already makes (A -> B -> C
    draws no A -> C), and a lookup between maps such a chain joins. With
    --plan, the saved plan's steps instead, numbered in apply order and coloured by their
    side effect (grey metadata, teal start, yellow restart, blue initial sync, red
    destructive).

    \b
    Examples:
      dwconf graph dev
      dwconf graph dev --format dot | dot -Tpng > maps.png
      dwconf graph --format svg --out maps.svg
      dwconf plan dev --out dev.dwplan && dwconf graph --plan dev.dwplan
    """

    def body() -> int:
        if plan_file is not None:
            plan = load_plan_file(plan_file)
            if env is not None and env != plan.environment:
                raise DwconfError(
                    f"{plan_file} is a plan for {plan.environment}, not {env}",
                    f"dwconf graph --plan {plan_file} (the plan names its environment)",
                )
            graph = model.step_graph(plan)
        else:
            name = env or first_environment(ctx.obj)
            objects = planning.load_desired(ctx.obj, name).state.objects
            graph = model.dependency_graph(name, objects)
        drawn = RENDERERS[fmt](graph)
        if out is None:
            console.plain(drawn.rstrip("\n"))
        else:
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(drawn, encoding="utf-8")
            console.err.print(f"wrote {out}", markup=False)
        if graph.left_out:
            console.err.print(f"{graph.left_out} step(s) left out of the graph", markup=False)
        if graph.implied:
            console.err.print(
                f"{graph.implied} implied arrow(s) left out (A -> B -> C draws no A -> C)",
                markup=False,
            )
        return 0

    ctx.exit(boundary.run(body))


@click.command("docs")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("site"),
    show_default=True,
    help="The folder to write the site into.",
)
@click.option("--env", "env", metavar="NAME", help="Render the maps as this environment runs them.")
@click.option("--offline", is_flag=True, help="Don't read the environments (pins only).")
@click.pass_context
def docs_command(ctx: click.Context, out: Path, env: str | None, offline: bool) -> None:
    """Build a static HTML site of the configuration: open site/index.html, no server needed.

    Every solution, map and field (direction, value maps, defaults, filters, keys), the F&O
    entity to Dataverse table lineage, the dependency graph (drawn when Graphviz is
    installed), and per environment its pins, last deployment and drift when it can be read.
    A search box finds maps and fields offline.

    \b
    Examples:
      dwconf docs
      dwconf docs --out public/ --offline
      dwconf docs && xdg-open site/index.html
    """

    def body() -> int:
        from dwconf.site import data, pages

        site = data.collect(configuration_root(ctx.obj), env, read_live=not offline)
        written = pages.write(site, out)
        console.out.print(
            f"wrote {len(written)} pages to {out}/ (open {out / 'index.html'})", markup=False
        )
        return 0

    ctx.exit(boundary.run(body))
