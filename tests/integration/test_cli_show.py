"""`dwconf show PLAN_FILE` through the entry point: a saved plan reads back exactly as `dwconf
plan` printed it, and a file that was altered or not signed with DWCONF_PLAN_KEY is refused."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.golden.scenarios import CUSTOMERS_FILE, FILES, commit, replace_in, write
from tests.support import Result

Cli = Callable[..., Result]


@pytest.fixture
def changed(tmp_path: Path, dwconf: Cli) -> Path:
    """dev applied, then a field narrowed: a plan with a map change (and its mermaid graph)."""
    root = write(tmp_path / "repo", dict(FILES))
    commit(root, "base")
    assert dwconf("-C", str(root), "apply", "dev", "--auto-approve").exit_code == 0
    replace_in(
        CUSTOMERS_FILE,
        "{finops: NAME, dataverse: tst_name, direction: both}",
        "{finops: NAME, dataverse: tst_name, direction: to_dataverse}",
    )(root)
    return root


@pytest.mark.parametrize("fmt", ["text", "markdown", "json"])
def test_show_prints_what_plan_printed_when_it_saved_the_file(
    fmt: str, changed: Path, dwconf: Cli
) -> None:
    plan_file = changed / "dev.dwplan"
    planned = dwconf("-C", str(changed), "plan", "dev", "--format", fmt, "--out", str(plan_file))
    assert planned.exit_code == 0, planned.err
    # The configuration moves on after the plan was saved: show still prints the saved plan.
    replace_in(CUSTOMERS_FILE, "direction: to_dataverse}", "direction: both}")(changed)
    shown = dwconf("show", str(plan_file), "--format", fmt)
    assert shown.exit_code == 0, shown.err
    if fmt == "json":  # the same document; the file keeps its keys sorted
        assert json.loads(shown.out) == json.loads(planned.out)
    else:
        assert shown.out == planned.out
    assert "tst_name" in shown.out


def test_show_refuses_an_altered_file_and_names_a_missing_one(
    changed: Path, dwconf: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    plan_file = changed / "dev.dwplan"
    assert dwconf("-C", str(changed), "plan", "dev", "--out", str(plan_file)).exit_code == 0
    raw = json.loads(plan_file.read_text())
    raw["environment"] = "prod"
    altered = changed / "altered.dwplan"
    altered.write_text(json.dumps(raw))
    refused = dwconf("show", str(altered))
    assert refused.exit_code == 4 and refused.out == ""
    assert "was altered after it was written" in refused.err
    missing = dwconf("show", str(changed / "nope.dwplan"))
    assert missing.exit_code == 1 and "there is no plan file" in missing.err
    monkeypatch.setenv("DWCONF_PLAN_KEY", "k" * 32)
    unsigned = dwconf("show", str(plan_file), "--format", "json")
    assert unsigned.exit_code == 4 and "is not signed" in unsigned.err
    assert dwconf("-C", str(changed), "plan", "dev", "--out", str(plan_file)).exit_code == 0
    assert json.loads(dwconf("show", str(plan_file), "--format", "json").out)["has_changes"]
