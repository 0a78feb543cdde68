"""`dwconf compare ENV_A ENV_B` through the entry point, on two local environments."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from tests.conftest import TEST_MAP
from tests.support import Result


def test_compare_marks_what_differs_in_every_format(
    dwconf: Callable[..., Result], make_repo: Callable[..., Path]
) -> None:
    schema = (Path(__file__).parents[1] / "unit/validate/cases/_schema.yaml").read_text()
    repo = make_repo(
        {
            "solutions/base/schema/test.yaml": schema,
            "solutions/base/maps/customers.yaml": TEST_MAP,
            "environments/test.yaml": (
                "name: test\nstage: test\nlink:\n  legal_entities: [USMF, DEMF]\n"
                "solutions:\n  base: workspace\nvars:\n  code: 3\n"
            ),
        }
    )
    assert dwconf("-C", str(repo), "apply", "dev", "--auto-approve").exit_code == 0
    shown = dwconf("-C", str(repo), "compare", "dev", "test")
    assert shown.exit_code == 0, shown.err
    assert shown.out.startswith("dev and test: ")
    assert "≠ Test customers" in shown.out
    assert "1.0.0.0 running" in shown.out
    data = json.loads(dwconf("-C", str(repo), "compare", "dev", "test", "--format", "json").out)
    assert data["format_version"] == "1.0" and data["environments"] == ["dev", "test"]
    maps = {r["name"]: r for r in data["sections"]["maps"]}
    assert maps["Test customers"] == {
        "name": "Test customers",
        "dev": "1.0.0.0 running",
        "test": None,
        "same": False,
    }
    assert data["differences"] == sum(
        not r["same"] for rows in data["sections"].values() for r in rows
    )
    assert list(data["sections"]) == [
        "solutions",
        "maps",
        "integration_keys",
        "legal_entities",
        "alerts",
    ], "the section names of dwconf env show --format json"
    entities = {r["name"]: r["same"] for r in data["sections"]["legal_entities"]}
    assert entities == {"USMF": False}, "dev linked USMF; test was never applied"
    assert "legal entities (1 differ)" in shown.out
    same = {r["name"] for r in data["sections"]["solutions"] if r["same"]}
    assert "DualWriteCore" in same, "both are seeded with the same Microsoft solutions"
    short = dwconf(
        "-C", str(repo), "compare", "dev", "test", "--format", "markdown", "--only-differences"
    )
    assert "| ≠ | Test customers | 1.0.0.0 running | - |" in short.out
    assert "DualWriteCore" not in short.out
    unknown = dwconf("-C", str(repo), "compare", "dev", "nope")
    assert unknown.exit_code == 1 and "unknown environment 'nope'" in unknown.err
    itself = dwconf("-C", str(repo), "compare", "dev", "dev", "--format", "json")
    assert itself.exit_code == 1 and itself.out == ""
    assert "compares two environments" in itself.err
