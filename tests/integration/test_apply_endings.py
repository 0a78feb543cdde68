"""How `dwconf apply` ends when it does not apply: a plan made for another environment, and the
JSON document a tool reads on stdout whatever the ending."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from dwconf.providers import local
from tests.golden.scenarios import ENV_FILE, FILES, commit, write
from tests.support import Result

Cli = Callable[..., Result]


@pytest.fixture
def two_envs(tmp_path: Path) -> Path:
    test_env = FILES[ENV_FILE].replace("name: dev\nstage: dev", "name: test\nstage: test")
    root = write(tmp_path / "repo", {**FILES, "environments/test.yaml": test_env})
    commit(root, "base")
    return root


def test_a_plan_for_another_environment_is_wrong_input_with_the_command_that_fits(
    two_envs: Path, dwconf: Cli, tmp_path: Path
) -> None:
    out = tmp_path / "test.dwplan"
    assert dwconf("-C", str(two_envs), "plan", "test", "--out", str(out)).exit_code == 0
    result = dwconf("-C", str(two_envs), "apply", "dev", str(out))
    assert result.exit_code == 1, result.out + result.err
    assert f"the plan {out} is for test, not dev; nothing was changed" in result.err
    assert f"dwconf apply test {out}" in result.err
    assert "dwconf plan dev --out FILE" in result.err
    assert not local.state_path(two_envs, "dev").exists(), "dev was made to refuse the plan"
