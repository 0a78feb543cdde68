"""Validation rules, driven by YAML case files in cases/.

Each case file holds cases; a case writes a map (and optionally other files) into a small
repository, runs validation, and compares every error and warning, as `line:col CODE` for the
map file or `path:line:col CODE` for other files, with `expect`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from dwconf.diagnostics import Severity
from dwconf.validate.engine import validate

CASES = Path(__file__).parent / "cases"
SCHEMA = (CASES / "_schema.yaml").read_text(encoding="utf-8")
MAP_FILE = "solutions/base/maps/case.yaml"


def _cases() -> list[Any]:
    found = []
    for path in sorted(CASES.glob("[!_]*.yaml")):
        for case in yaml.safe_load(path.read_text(encoding="utf-8"))["cases"]:
            found.append(pytest.param(case, id=f"{path.stem}: {case['name']}"))
    return found


def _shown(line: str) -> str:
    return line.removeprefix(MAP_FILE + ":")


@pytest.mark.parametrize("case", _cases())
def test_rule_case(case: dict[str, Any], make_repo: Callable[..., Path]) -> None:
    files: dict[str, str | None] = {"solutions/base/schema/test.yaml": SCHEMA}
    if "map" in case:
        files[MAP_FILE] = case["map"]
    files.update(case.get("files", {}))
    report = validate(make_repo(files))
    got = sorted(
        _shown(f"{d.span} {d.code}") for d in report.diagnostics if d.severity is not Severity.INFO
    )
    assert got == sorted(case["expect"]), "\n".join(
        f"{d.span} {d.code} {d.message}" for d in report.diagnostics
    )


def test_every_case_file_is_used() -> None:
    assert len(_cases()) >= 60
