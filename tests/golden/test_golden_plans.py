"""The plan of each typical change, in text, markdown and JSON, against golden files.

Every scenario starts from the same committed repository; most apply it first (so the change is
planned against a running environment with a deployment record), then edit the files, commit
and plan. Outputs are deterministic: the repository is committed with fixed names and dates, the
local environment is seeded the same way everywhere, and nothing in a plan is a time or a path.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.golden.conftest import Golden
from tests.golden.scenarios import FILES, SCENARIOS, commit, write
from tests.support import Result

PLANS = Path(__file__).parent / "plans"
FORMATS = {"text": "txt", "markdown": "md", "json": "json"}


def _stable(text: str, fmt: str) -> str:
    """The output with the dwconf version masked, so a release doesn't churn every file."""
    if fmt != "json":
        return text
    data = json.loads(text)
    data["dwconf_version"] = "<version>"
    return json.dumps(data, indent=2) + "\n"


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_golden_plan(
    scenario: str, tmp_path: Path, dwconf: Callable[..., Result], golden: Golden
) -> None:
    apply_first, edits = SCENARIOS[scenario]
    root = write(tmp_path / "repo", dict(FILES))
    commit(root, "base")
    if apply_first:
        assert dwconf("-C", str(root), "apply", "dev", "--auto-approve").exit_code == 0
    for edit in edits:
        edit(root)
    commit(root, scenario)
    for fmt, suffix in FORMATS.items():
        result = dwconf("-C", str(root), "plan", "dev", "--format", fmt, "--detailed-exitcode")
        assert result.exit_code == (0 if scenario == "nothing-changed" else 2), result.err
        golden(PLANS / f"{scenario}.{suffix}", _stable(result.out, fmt))
