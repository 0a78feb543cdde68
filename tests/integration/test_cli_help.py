"""Every command's --help teaches by example, through the entry point."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import click
import pytest

from dwconf.cli.main import cli
from tests.support import Result


def _leaves(group: click.Group, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    context = click.Context(group)
    for name in group.list_commands(context):
        command = group.get_command(context, name)
        if isinstance(command, click.Group):
            yield from _leaves(command, (*path, name))
        elif command is not None:
            yield (*path, name)


def _examples(path: tuple[str, ...], dwconf: Callable[..., Result]) -> str:
    """What `dwconf PATH --help` prints below its 'Examples:' heading."""
    shown = dwconf(*path, "--help")
    assert shown.exit_code == 0, shown.err
    heading = re.search(r"^  Examples:$", shown.out, re.M)
    assert heading, f"dwconf {' '.join(path)} --help has no 'Examples:' heading"
    return shown.out[heading.end() :]


@pytest.mark.parametrize("path", sorted(_leaves(cli)), ids=" ".join)
def test_every_command_help_has_examples_of_itself(
    path: tuple[str, ...], dwconf: Callable[..., Result]
) -> None:
    assert f"dwconf {' '.join(path)} " in _examples(path, dwconf)


def _command(path: tuple[str, ...]) -> click.Command:
    command: click.Command = cli
    for name in path:
        assert isinstance(command, click.Group)
        found = command.get_command(click.Context(command), name)
        assert found is not None
        command = found
    return command


@pytest.mark.parametrize("path", sorted(_leaves(cli)), ids=" ".join)
def test_every_option_says_what_it_is_for(path: tuple[str, ...]) -> None:
    options = [p for p in _command(path).params if isinstance(p, click.Option) and not p.hidden]
    silent = [p.opts[0] for p in options if not p.help]
    assert not silent, f"dwconf {' '.join(path)}: {silent} have no help"


def _groups(group: click.Group, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    yield path
    context = click.Context(group)
    for name in group.list_commands(context):
        command = group.get_command(context, name)
        if isinstance(command, click.Group):
            yield from _groups(command, (*path, name))


@pytest.mark.parametrize("path", sorted(_groups(cli)), ids=lambda p: " ".join(p) or "dwconf")
def test_every_group_help_has_examples_of_its_commands(
    path: tuple[str, ...], dwconf: Callable[..., Result]
) -> None:
    assert re.search(rf"dwconf {' '.join((*path, ''))}\w", _examples(path, dwconf))


def test_the_first_help_shows_the_whole_loop(dwconf: Callable[..., Result]) -> None:
    """What a person reads first: start a repository, validate, plan, apply."""
    examples = _examples((), dwconf).partition("Options:")[0]
    for command in ("dwconf init", "dwconf validate", "dwconf plan dev", "dwconf apply dev"):
        assert command in examples, command
