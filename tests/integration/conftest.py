"""Fixtures of the CLI tests: the small test configuration in a git repository, applied or not
to its local dev environment; the shared TLS emulator, reset, with the client id and secret of
its environment in the process environment (as a pipeline sets them)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from dwconf.emulator.serve import Running
from tests.golden.scenarios import FILES, commit
from tests.golden.scenarios import write as write_files
from tests.providers.support import ENVIRON, TestApi, shared_emulator
from tests.support import Result


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = write_files(tmp_path / "repo", dict(FILES))
    commit(root, "base")
    return root


@pytest.fixture
def applied(repo: Path, dwconf: Callable[..., Result]) -> Path:
    result = dwconf("-C", str(repo), "apply", "dev", "--auto-approve")
    assert result.exit_code == 0, result.out + result.err
    return repo


@pytest.fixture
def emulated(monkeypatch: pytest.MonkeyPatch) -> tuple[Running, TestApi]:
    server, api = shared_emulator()
    api.reset()
    for name, value in ENVIRON.items():
        monkeypatch.setenv(name, value)
    return server, api
