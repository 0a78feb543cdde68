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
SCHEMA_FILE = "_schema.yaml"  # metadata every case validates against, not cases
SCHEMA = (CASES / SCHEMA_FILE).read_text(encoding="utf-8")
MAP_FILE = "solutions/base/maps/case.yaml"


def _case_files() -> dict[str, list[dict[str, Any]]]:
    """The cases of each file in cases/ but the shared schema, by file name."""
    return {
        path.name: yaml.safe_load(path.read_text(encoding="utf-8"))["cases"]
        for path in sorted(CASES.glob("[!_]*.yaml"))
    }


def _cases() -> list[Any]:
    return [
        pytest.param(case, id=f"{name.removesuffix('.yaml')}: {case['name']}")
        for name, cases in _case_files().items()
        for case in cases
    ]


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
    """Every file in cases/ is read (a `.yml`, or any other name the glob misses, would be left
    out silently), and each gives at least one case to `test_rule_case`."""
    read = _case_files()
    assert set(read) == {p.name for p in CASES.iterdir()} - {SCHEMA_FILE}
    assert [name for name, cases in read.items() if not cases] == []
    assert len(_cases()) == sum(len(cases) for cases in read.values())


def test_an_unknown_entity_or_table_stays_a_warning_with_a_did_you_mean(
    make_repo: Callable[..., Path],
) -> None:
    map_text = (
        "name: Customers\nversion: 1.0.0.0\nfinops_entity: Customers V33\n"
        "dataverse_table: acounts\nintegration_key: [accountnumber]\n"
        "fields:\n  - {finops: CUSTOMERACCOUNT, dataverse: accountnumber}\n"
    )
    far = map_text.replace("Customers V33", "Zebra crossings").replace("acounts", "zz_qq")
    for text, hints in (
        (map_text, ("did you mean 'Customers V3'?", "did you mean 'accounts'?")),
        (far, ("check the name, or describe", "use the entity set name (e.g. accounts)")),
    ):
        report = validate(make_repo({MAP_FILE: text}))
        found = {d.code: d for d in report.diagnostics if d.code in ("DW2003", "DW2004")}
        assert {d.severity for d in found.values()} == {Severity.WARNING}
        assert report.errors == 0
        assert found["DW2003"].hint.startswith(hints[0]), found["DW2003"].hint
        assert found["DW2004"].hint.startswith(hints[1]), found["DW2004"].hint


@pytest.mark.parametrize(
    ("written", "shown", "hint"),
    [
        ("to_dv", "'to_dv'", "did you mean 'to_dataverse'?"),
        ("'>>'", "'>>'", "did you mean '>' (to_dataverse)? write symbols quoted: direction: '>'"),
        (">", "''", "a bare > or | starts a YAML block scalar"),
        ("sideways", "'sideways'", "write one of both (or '='), to_dataverse (or '>')"),
    ],
)
def test_a_bad_direction_shows_the_value_and_the_fix(
    written: str, shown: str, hint: str, make_repo: Callable[..., Path]
) -> None:
    text = (
        "name: Test customers\nversion: 1.0.0.0\nfinops_entity: Test customers\n"
        "dataverse_table: tst_customers\nintegration_key: [tst_account]\nfields:\n"
        "  - finops: ACCOUNT\n    dataverse: tst_account\n"
        f"    direction: {written}\n"
        "  - {finops: NAME, dataverse: tst_name}\n"
    )
    report = validate(make_repo({"solutions/base/schema/test.yaml": SCHEMA, MAP_FILE: text}))
    (found,) = [d for d in report.diagnostics if d.code == "DW1104"]
    assert (found.span.line, found.span.column) == (9, 16)
    assert found.message == (
        f"'fields.0.direction': {shown} is not a direction: "
        "use both (or '='), to_dataverse (or '>'), to_finops (or '<')"
    )
    assert found.hint.startswith(hint), found.hint
