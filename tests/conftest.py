"""Shared fixtures: tiny configuration repositories and running the CLI through its entry point."""

from __future__ import annotations

import os
import sys
import textwrap
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

from dwconf.cli.main import main
from tests.support import Result

ROOT = Path(__file__).resolve().parent.parent

BASE_FILES = {
    "dwconf.yaml": "project: test\nstages: [dev, test, prod]\n",
    "environments/dev.yaml": (
        "name: dev\nstage: dev\nlink:\n  legal_entities: [USMF]\n"
        "solutions:\n  base: workspace\nvars:\n  code: 3\n"
    ),
    "solutions/base/solution.yaml": (
        "unique_name: tst_Base\nversion: 1.0.0.0\n"
        "publisher: {unique_name: tst, prefix: tst, option_value_prefix: 10000}\n"
    ),
}

# A map over the test schema (tests/unit/validate/cases/_schema.yaml) with one templated field.
TEST_MAP = """\
name: Test customers
version: 1.0.0.0
finops_entity: Test customers
dataverse_table: tst_customers
integration_key: [tst_account]
fields:
  - {finops: ACCOUNT, dataverse: tst_account}
  - {dataverse: tst_kind, direction: to_dataverse, default: "{{ vars.code }}"}
"""


@pytest.fixture(autouse=True, scope="session")
def _parse_cache_of_the_run(tmp_path_factory: pytest.TempPathFactory) -> None:
    """The tests' parse cache (dwconf/load/parsecache.py) is their own, never the user's."""
    os.environ["DWCONF_CACHE_DIR"] = str(tmp_path_factory.mktemp("parse-cache"))


def write_tree(root: Path, files: Mapping[str, str | bytes]) -> Path:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(textwrap.dedent(content), encoding="utf-8")
    return root


@pytest.fixture
def make_repo(tmp_path: Path) -> Callable[..., Path]:
    """A configuration repository from the base files plus (or minus, with None) others."""

    def make(files: Mapping[str, str | bytes | None] | None = None, base: bool = True) -> Path:
        merged: dict[str, str | bytes | None] = dict(BASE_FILES) if base else {}
        merged.update(files or {})
        kept = {k: v for k, v in merged.items() if v is not None}
        return write_tree(tmp_path / "repo", kept)

    return make


@pytest.fixture
def dwconf(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Callable[..., Result]:
    """Run `dwconf ARGS` through the console-script entry point, in-process."""
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "200")

    def run(*args: str) -> Result:
        monkeypatch.setattr(sys, "argv", ["dwconf", *args])
        with pytest.raises(SystemExit) as stop:
            main()
        captured = capsys.readouterr()
        code = stop.value.code
        return Result(code if isinstance(code, int) else 1, captured.out, captured.err)

    return run


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        default=False,
        help="Rewrite the golden files under tests/golden/ from the current output.",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Long variants (marker `long`) are deselected unless asked for: `pytest -m long`."""
    if "long" in (config.getoption("markexpr") or ""):
        return
    long = [item for item in items if "long" in item.keywords]
    if long:
        config.hook.pytest_deselected(items=long)
        items[:] = [item for item in items if "long" not in item.keywords]
