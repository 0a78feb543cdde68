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
    assert data["format_version"] == "1.0"
    assert data["environments"] == {"a": "dev", "b": "test"}
    maps = {r["name"]: r for r in data["sections"]["maps"]}
    assert maps["Test customers"] == {
        "name": "Test customers",
        "a": {"active_version": "1.0.0.0", "state": "running"},
        "b": None,
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
    keys = {r["name"]: r for r in data["sections"]["integration_keys"]}
    assert keys["tst_customers"]["a"] == {"columns": ["tst_account"]}
    core = next(r for r in data["sections"]["solutions"] if r["name"] == "DualWriteCore")
    assert core["same"] and core["a"] == core["b"] and set(core["a"]) == {"version", "managed"}
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


def test_compare_json_keeps_environment_names_out_of_its_keys(
    dwconf: Callable[..., Result], make_repo: Callable[..., Path]
) -> None:
    """Environments called `name` and `same` are values in the JSON, so no field is lost."""
    env = "name: {0}\nstage: dev\nlink:\n  legal_entities: [{1}]\nsolutions:\n  base: workspace\n"
    repo = make_repo(
        {
            "environments/dev.yaml": None,
            "environments/name.yaml": env.format("name", "USMF"),
            "environments/same.yaml": env.format("same", "DEMF"),
        }
    )
    for name in ("name", "same"):
        assert dwconf("-C", str(repo), "apply", name, "--auto-approve").exit_code == 0
    shown = dwconf("-C", str(repo), "compare", "name", "same", "--format", "json")
    assert shown.exit_code == 0, shown.err
    data = json.loads(shown.out)
    assert data["environments"] == {"a": "name", "b": "same"}
    entities = {r["name"]: r for r in data["sections"]["legal_entities"]}
    assert entities == {
        "DEMF": {"name": "DEMF", "a": None, "b": {"linked": True}, "same": False},
        "USMF": {"name": "USMF", "a": {"linked": True}, "b": None, "same": False},
    }
    assert all(
        set(r) == {"name", "a", "b", "same"} for rows in data["sections"].values() for r in rows
    )
