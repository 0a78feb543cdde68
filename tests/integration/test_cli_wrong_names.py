"""Input a person mistypes, through the entry point: an environment name one letter off, a file
given as a plan that is not one. Each error says where and what to run instead."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support import Result

Cli = Callable[..., Result]


@pytest.mark.parametrize("command", [["plan"], ["history"], ["env", "show"]])
def test_an_environment_name_one_letter_off_is_suggested(
    command: list[str], make_repo: Callable[..., Path], dwconf: Cli
) -> None:
    repo = make_repo({"environments/prod.yaml": "name: prod\nstage: prod\n"})
    result = dwconf("-C", str(repo), *command, "prd")
    assert result.exit_code == 1
    assert "error: unknown environment 'prd'" in result.err
    assert "did you mean 'prod'?" in result.err
    assert "known environments: dev, prod" in result.err


@pytest.mark.parametrize("command", [["show"], ["apply", "dev"]])
def test_a_plan_file_that_is_not_json_gives_its_position_and_the_command_to_make_one(
    command: list[str], make_repo: Callable[..., Path], dwconf: Cli
) -> None:
    repo = make_repo()
    (repo / "p.dwplan").write_text('{"format_version": "1.0",\n  oops}\n', encoding="utf-8")
    result = dwconf("-C", str(repo), *command, str(repo / "p.dwplan"))
    assert result.exit_code == 1
    assert f"error: {repo / 'p.dwplan'}:2:3: not a dwconf plan file (not JSON: " in result.err
    assert "JSONDecodeError" not in result.err  # the reader's words, not its type's name
    assert "make one with: dwconf plan ENV --out FILE" in result.err


def test_a_version_of_three_parts_is_given_its_fourth(
    make_repo: Callable[..., Path], dwconf: Cli
) -> None:
    solution = (
        "unique_name: tst_Base\nversion: 1.2.0\n"
        "publisher: {unique_name: tst, prefix: tst, option_value_prefix: 10000}\n"
    )
    repo = make_repo({"solutions/base/solution.yaml": solution})
    result = dwconf("-C", str(repo), "validate")
    assert result.exit_code == 1
    assert "solutions/base/solution.yaml:2:10: error DW1104" in result.out + result.err
    assert "hint: did you mean '1.2.0.0'?" in result.out + result.err


def test_a_plan_out_path_that_cannot_be_written_says_so_without_a_crash_log(
    make_repo: Callable[..., Path], dwconf: Cli
) -> None:
    repo = make_repo()
    out = repo / "dwconf.yaml" / "p.dwplan"  # under a file, not a folder
    result = dwconf("-C", str(repo), "plan", "dev", "--out", str(out))
    assert result.exit_code == 1
    assert f"error: cannot write the plan file {out}: " in result.err
    assert "hint: choose a path in a folder you can write" in result.err
    assert "crash" not in result.err and "check that the file exists" not in result.err


@pytest.mark.parametrize("command", [["docs", "--out"], ["schema", "--out"]])
def test_an_out_folder_under_a_file_says_which_part_is_a_file(
    command: list[str], make_repo: Callable[..., Path], dwconf: Cli
) -> None:
    repo = make_repo()
    result = dwconf("-C", str(repo), *command, str(repo / "dwconf.yaml" / "site"))
    assert result.exit_code == 1
    assert "hint: a part of the path is a file, not a folder: choose another path" in result.err
