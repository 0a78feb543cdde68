"""How `dwconf apply` ends when it does not apply: a plan made for another environment, and the
JSON document a tool reads on stdout whatever the ending."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from dwconf.providers import local
from tests.golden.scenarios import CUSTOMERS_FILE, ENV_FILE, FILES, commit, replace_in, write
from tests.integration.test_apply_rules import MISMATCH
from tests.integration.test_cli_json import ROOT, _keys, _section
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


# The JSON document, whatever the ending ---------------------------------------------------------

TOO_NEW = 'requires: {DualWriteCore: ">=1.0.99999.1"}\npublisher:'


def _blocked(root: Path, dwconf: Cli, tmp_path: Path) -> list[str]:
    replace_in("solutions/base/solution.yaml", "publisher:", TOO_NEW)(root)
    return ["apply", "dev", "--auto-approve"]


def _locked(root: Path, dwconf: Cli, tmp_path: Path) -> list[str]:
    with local.LocalProvider.open(root, "dev") as provider:
        provider.acquire_lock("ana@ci", "apply", "p1", 600)
    return ["apply", "dev", "--auto-approve"]


def _other_environment(root: Path, dwconf: Cli, tmp_path: Path) -> list[str]:
    out = tmp_path / "test.dwplan"
    assert dwconf("-C", str(root), "plan", "test", "--out", str(out)).exit_code == 0
    return ["apply", "dev", str(out)]


def _invalid(root: Path, dwconf: Cli, tmp_path: Path) -> list[str]:
    replace_in(CUSTOMERS_FILE, "direction: to_dataverse}", "direction: sideways}")(root)
    return ["apply", "dev", "--auto-approve"]


def _stale(root: Path, dwconf: Cli, tmp_path: Path) -> list[str]:
    out = tmp_path / "dev.dwplan"
    assert dwconf("-C", str(root), "plan", "dev", "--out", str(out)).exit_code == 0
    with local.LocalProvider.open(root, "dev") as provider:
        provider.set_integration_keys("tst_customers", ["tst_name"])
    return ["apply", "dev", str(out)]


ENDINGS = {
    "refused-blocked": (_blocked, "refused", 4, MISMATCH),
    "refused-stale": (_stale, "refused", 4, "the environment changed since the plan was made"),
    "locked": (_locked, "locked", 5, "dev is locked by ana@ci"),
    "error-other-environment": (_other_environment, "error", 1, "is for test, not dev"),
    "error-configuration": (_invalid, "error", 1, "DW"),
}


@pytest.mark.parametrize("case", ENDINGS.values(), ids=ENDINGS.keys())
def test_apply_prints_its_json_document_whatever_the_ending(
    two_envs: Path, dwconf: Cli, tmp_path: Path, case: Any
) -> None:
    """A tool reading stdout got nothing when apply refused or failed early."""
    make, ending, code, reason = case
    args = make(two_envs, dwconf, tmp_path)
    result = dwconf("-C", str(two_envs), *args, "--format", "json")
    assert result.exit_code == code, result.out + result.err
    data = json.loads(result.out)
    assert next(iter(data)) == "format_version" and data["format_version"] == "1.0"
    assert (data["ending"], data["exit_code"], data["ok"]) == (ending, code, False)
    assert data["environment"] == "dev"
    assert data["reasons"] and any(reason in r for r in data["reasons"]), data
    assert data["message"] and data["steps"] == [] and data["resume"] is None
    assert list(data) == list(_applied_document(tmp_path, dwconf)), "one shape for every ending"
    assert "error:" in result.err, "people still read why on stderr"


def _applied_document(tmp_path: Path, dwconf: Cli) -> dict[str, Any]:
    root = write(tmp_path / "fresh", dict(FILES))
    result = dwconf("-C", str(root), "apply", "dev", "--auto-approve", "--format", "json")
    assert result.exit_code == 0, result.err
    data: dict[str, Any] = json.loads(result.out)
    assert (data["ending"], data["exit_code"], data["reasons"], data["hint"]) == (
        "applied",
        0,
        [],
        "",
    )
    return data


def test_a_blocked_plan_lists_each_reason_and_the_hint(two_envs: Path, dwconf: Cli) -> None:
    _blocked(two_envs, dwconf, two_envs)
    args = ["apply", "dev", "--auto-approve", "--format", "json"]
    data = json.loads(dwconf("-C", str(two_envs), *args).out)
    assert data["reasons"] == [f"solution.tst_Base: {MISMATCH}"]
    assert (
        data["hint"] == "Upgrade DualWriteCore to 1.0.99999.1 or later. It is required by tst_Base."
    )
    assert data["message"].startswith("apply would fail or is not allowed; nothing was changed")


def test_docs_json_names_every_field_of_a_refusal(two_envs: Path, dwconf: Cli) -> None:
    _blocked(two_envs, dwconf, two_envs)
    args = ["apply", "dev", "--auto-approve", "--format", "json"]
    data = json.loads(dwconf("-C", str(two_envs), *args).out)
    section = _section((ROOT / "docs/json.md").read_text(encoding="utf-8"), "## `dwconf apply")
    missing = [key for key in _keys(data) if f'"{key}"' not in section]
    assert not missing, f"docs/json.md does not name {missing} of a refused apply"
    for ending in ("refused", "locked", "error", "internal_error", "interrupted"):
        assert f"`{ending}`" in section
