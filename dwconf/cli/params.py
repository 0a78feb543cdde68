"""Arguments and options more than one command takes, defined once, so each reads, parses and
explains itself the same wherever it appears (the habit of dbt's `cli/params.py`).

Commands put these on as decorators: `@params.ENV`, `@params.AUTO_APPROVE`,
`@params.output_format("text", "json")`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from dwconf.model.environment import seconds

F = TypeVar("F", bound=Callable[..., Any])


def _seconds(ctx: click.Context, param: click.Parameter, value: str) -> float:
    """A duration written as the configuration writes one (`90`, `30s`, `5m`, `6h`, `1d`),
    given to the command in seconds."""
    try:
        return seconds(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), ctx, param) from exc


# The environment a command works on: a file environments/ENV.yaml defines it
# (`Loader.environment` finds it, or says which names are known).
ENV = click.argument("env", metavar="ENV")

# What each output format is for, said once for every --format.
_FORMAT_USE = {
    "text": "text for people",
    "yaml": "yaml for people",
    "markdown": "markdown for a pull-request comment",
    "json": "json for tools",
    "github": "github for workflow annotations",
}


def output_format(*choices: str, said: str | None = None) -> Callable[[F], F]:
    """`--format` with these choices, the first one the default; `said` replaces the help
    sentence made from `_FORMAT_USE`."""
    said = said or ", ".join(_FORMAT_USE[c] for c in choices if c in _FORMAT_USE) + "."
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(choices),
        default=choices[0],
        show_default=True,
        help=said,
    )


DETAILED_EXITCODE = click.option(
    "--detailed-exitcode",
    is_flag=True,
    help="Exit 2 when there are changes, 0 when there are none.",
)

# Saving a plan instead of applying it (plan, rollback): `dwconf apply ENV FILE` applies it.
SAVE_PLAN = click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Save the plan to this file for `dwconf apply ENV FILE`; nothing is applied.",
)

# Planning and applying (plan, apply, rollback).
AUTO_APPROVE = click.option("--auto-approve", is_flag=True, help="Apply without asking.")
ALLOW_DESTROY = click.option(
    "--allow-destroy",
    is_flag=True,
    help="Allow destructive changes where the environment prevents them (protect.prevent_destroy).",
)
PARALLELISM = click.option(
    "--parallelism",
    default=4,
    show_default=True,
    type=click.IntRange(1, 32),
    help="How many steps may run at once (steps still wait for those they depend on).",
)
LOCK_TIMEOUT = click.option(
    "--lock-timeout",
    default="0s",
    show_default=True,
    metavar="DURATION",
    callback=_seconds,
    help="Wait this long for ENV's lock when someone holds it (30s, 5m).",
)

# Choosing environments (validate, diff): none given means every one.
ENVS = click.option(
    "--env",
    "envs",
    multiple=True,
    metavar="ENV",
    help="Only this environment (repeatable; default: every one).",
)
