"""Explicit core tags (`!!int`, `!!float`, `!!bool`, `!!null`) on a text the tag can't read:
a diagnostic at the value, never an internal error and never a silently different value
(`!!bool yes` is not false; YAML 1.2's booleans are true and false)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from bench.generate import generate
from dwconf.yaml import read
from tests.support import Result


@pytest.mark.parametrize(
    "value",
    [
        "!!int x",
        "!!int ''",
        "!!int 0b101",
        "!!int 0o8",
        "!!int 0x",
        "!!int 1.5",
        "!!int 1_000",
        "!!int -0x1F",
        "!!float x",
        "!!float ''",
        "!!float 1:20",
        "!!bool yes",
        "!!bool on",
        "!!bool 1",
        "!!null x",
        "!!null false",
    ],
)
def test_a_core_tag_on_a_text_it_cannot_read_is_a_diagnostic(value: str) -> None:
    problems = read(f"a: 1\nk: {value}\n".encode(), "f.yaml").diagnostics
    assert [(p.code, p.span.line, p.span.column) for p in problems] == [("DW1004", 2, 4)]
    assert value.split(" ", 1)[1] in problems[0].message


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("!!int 17", 17),
        ("!!int 0o17", 15),
        ("!!float 1", 1.0),
        ("!!float -.inf", float("-inf")),
        ("!!bool True", True),
        ("!!bool false", False),
        ("!!null ~", None),
        ("!!null ''", None),
        ("!!str 5", "5"),
    ],
)
def test_a_core_tag_on_a_text_it_reads_is_that_value(value: str, expected: object) -> None:
    doc, problems = read(f"k: {value}\n".encode(), "f.yaml")
    assert problems == []
    assert doc.data == {"k": expected} and type(doc.data["k"]) is type(expected)


def test_validate_reports_a_bad_tag_with_exit_1(
    tmp_path: Path, dwconf: Callable[..., Result]
) -> None:
    repo = generate(tmp_path / "repo", maps=2, fields=3, solutions=1)
    crafted = repo / "solutions" / "bench-0" / "maps" / "map-1.yaml"
    crafted.write_text(crafted.read_text().replace("version: 1.0.0.0", "version: !!int x"))
    done = dwconf("-C", str(repo), "validate")
    assert done.exit_code == 1, done.err
    assert "internal error" not in done.err
    assert "map-1.yaml:2:10: error DW1004" in done.out
