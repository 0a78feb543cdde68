"""Problems in a solution's schema file are placed and explained like those of any file."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from dwconf.validate.engine import validate

SCHEMA = """\
finops_entities:
  Custom entity:
    fields:
      CODE: {type: enum, valeus: [a, b], max_length: 0}
dataverse_tables:
  tst_custom:
    columns:
      tst_code: {type: choice}
"""


def test_column_keys_get_did_you_mean_and_values_are_checked(
    make_repo: Callable[..., Path],
) -> None:
    root = make_repo({"solutions/base/schema/custom.yaml": SCHEMA})
    found = {
        (d.span.line, d.span.column, d.code): (d.message, d.hint)
        for d in validate(root).diagnostics
    }
    assert found[(4, 26, "DW1101")] == ("unknown key 'valeus'", "did you mean 'values'?")
    assert found[(4, 54, "DW1104")][0].endswith("Input should be greater than or equal to 1")
    message, hint = found[(8, 24, "DW1104")]
    assert "columns.tst_code.type': invalid value" in message and "'optionset'" in hint
