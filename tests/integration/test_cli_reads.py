"""Commands that only read never make an environment: a local environment that was never
applied reads as the freshly linked one a first apply would start from, and no file is written.
Only apply and the commands that write (env reset, import) make `.dwconf/ENV.sqlite`."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.golden.scenarios import ENVIRONMENT, commit
from tests.golden.scenarios import write as write_files
from tests.support import Result

Cli = Callable[..., Result]

# each read and its exit code on an environment never applied
READS = {
    "plan dev": 0,
    "plan dev --format json": 0,
    "plan dev --detailed-exitcode": 2,
    "drift dev": 1,  # no record to measure drift from
    "history dev": 0,
    "history dev --format json": 0,
    "env show dev": 0,
    "lock status dev": 0,
    "doctor dev": 1,  # a freshly linked environment has findings
    "compare dev test": 0,
    "probe dev": 1,  # the embedded provider has no service to probe
    "graph dev": 0,
    "render dev": 0,
    "diff HEAD": 0,
    "validate": 0,
}


def _files(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if ".git" not in p.parts)


@pytest.fixture
def two_envs(repo: Path) -> Path:
    """The test configuration with a second local environment, `test`, committed."""
    test_env = ENVIRONMENT.replace("name: dev", "name: test").replace("stage: dev", "stage: test")
    write_files(repo, {"environments/test.yaml": test_env})
    commit(repo, "test")
    return repo


@pytest.mark.parametrize("command", READS)
def test_a_read_of_an_environment_never_applied_writes_nothing(
    two_envs: Path, dwconf: Cli, command: str
) -> None:
    before = _files(two_envs)
    result = dwconf("-C", str(two_envs), *command.split())
    assert result.exit_code == READS[command], (result.out, result.err)
    assert _files(two_envs) == before, "a read wrote files"
    assert not (two_envs / ".dwconf").exists()


def test_a_plan_of_an_environment_never_applied_is_the_one_apply_runs(
    repo: Path, dwconf: Cli, tmp_path: Path
) -> None:
    """The plan reads the environment a first apply makes: its saved plan is not stale."""
    out = tmp_path / "dev.dwplan"
    planned = dwconf("-C", str(repo), "plan", "dev", "--out", str(out), "--format", "json")
    assert planned.exit_code == 0, planned.err
    assert not (repo / ".dwconf").exists()
    applied = dwconf("-C", str(repo), "apply", "dev", str(out))
    assert applied.exit_code == 0, applied.out + applied.err
    assert (repo / ".dwconf" / "dev.sqlite").exists()
    again = json.loads(dwconf("-C", str(repo), "plan", "dev", "--format", "json").out)
    assert again["has_changes"] is False


def test_a_plan_of_an_environment_never_applied_shows_what_apply_would_create(
    repo: Path, dwconf: Cli
) -> None:
    found = json.loads(dwconf("-C", str(repo), "plan", "dev", "--format", "json").out)
    assert found["has_changes"] is True
    assert {"map.test-customers", "map.test-currencies"} <= {c["address"] for c in found["changes"]}
