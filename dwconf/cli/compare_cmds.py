"""`dwconf compare ENV_A ENV_B`: two live environments side by side."""

from __future__ import annotations

from contextlib import closing

import click

from dwconf import compare, providers
from dwconf.cli import boundary, console, params
from dwconf.cli.env_cmds import _environment, _root, state_document
from dwconf.errors import DwconfError


@click.command("compare")
@click.argument("env_a")
@click.argument("env_b")
@params.output_format("text", "markdown", "json")
@click.option("--only-differences", is_flag=True, help="Leave out the rows that agree.")
@click.pass_context
def compare_command(
    ctx: click.Context, env_a: str, env_b: str, fmt: str, only_differences: bool
) -> None:
    """Show two live environments side by side, before promoting from one to the other.

    Solutions and versions, maps with their active version and run state, integration keys,
    legal entities and alert settings; rows that differ are marked ≠. Reads both
    environments, changes neither. Exit 0 whatever the differences (use --format json to act
    on them).

    \b
    Examples:
      dwconf compare test prod
      dwconf compare dev test --only-differences
      dwconf compare test prod --format markdown >> review.md
      dwconf compare dev test --format json | jq .differences
    """

    def body() -> int:
        if env_a == env_b:  # nothing to compare; most likely a mistyped name
            raise DwconfError(
                f"dwconf compare compares two environments; both are '{env_a}'",
                f"e.g. dwconf compare {env_a} OTHER, or dwconf env show {env_a}",
            )
        root = _root(ctx)
        docs = []
        for name in (env_a, env_b):
            env = _environment(root, name)
            with closing(providers.open_reader(root, env)) as reader:
                docs.append(state_document(env, reader.read()))
        result = compare.compare(docs[0], docs[1])
        if fmt == "json":
            console.plain(compare.as_json(result).rstrip("\n"))
        elif fmt == "markdown":
            console.plain(compare.markdown(result, only_differences).rstrip("\n"))
        else:
            console.plain(compare.text(result, only_differences).rstrip("\n"))
        return 0

    ctx.exit(boundary.run(body))
