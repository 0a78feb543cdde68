"""Fuzzing `validate`: on any file, valid or mutated, it never raises and every diagnostic about
the file points inside it (line <= number of lines, column <= the line's length + 1).

One small repository is reused across examples: each example rewrites one file and validates.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dwconf.diagnostics import Diagnostic
from dwconf.validate.engine import validate
from dwconf.yaml import read
from tests.conftest import BASE_FILES, write_tree
from tests.fuzz.strategies import env_docs, map_docs, mutated, solution_docs

FUZZ = settings(
    max_examples=600, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
LINE_BREAK = re.compile("\r\n|[\r\n\x85\u2028\u2029]")
NEWLINE = re.compile("\n")
MAP_FILE = "solutions/base/maps/fuzz.yaml"


@pytest.fixture(scope="module")
def repo() -> Iterator[Path]:
    where = Path(tempfile.mkdtemp(prefix="dwconf-fuzz-"))
    yield write_tree(where, dict(BASE_FILES))
    shutil.rmtree(where)


def lines_of(raw: bytes, breaks: re.Pattern[str] = LINE_BREAK) -> list[str]:
    return breaks.split(raw.decode("utf-8", errors="replace"))


def outside(diagnostic: Diagnostic, raw: bytes) -> str | None:
    """Why the diagnostic's position is not inside the file, or None when it is. A position
    counts as inside under YAML's line breaks or under newlines only (DW1001, the decoding
    error, counts lines by newline alone and columns in bytes)."""
    problems = [_outside(diagnostic, lines_of(raw, b)) for b in (LINE_BREAK, NEWLINE)]
    if diagnostic.code == "DW1001":  # columns of undecodable files count bytes, not characters
        problems.append(_outside(diagnostic, [line.decode("latin-1") for line in raw.split(b"\n")]))
    return None if None in problems else problems[0]


def _outside(diagnostic: Diagnostic, lines: list[str]) -> str | None:
    span = diagnostic.span
    if span.line == 0:
        return None  # about the file as a whole
    if not 1 <= span.line <= len(lines):
        return f"line {span.line} of {len(lines)}: {diagnostic}"
    if not 1 <= span.column <= len(lines[span.line - 1]) + 1:
        return f"column {span.column} of {len(lines[span.line - 1]) + 1}: {diagnostic}"
    return None


def check(repo: Path, name: str, raw: bytes) -> None:
    path = repo / name
    path.parent.mkdir(parents=True, exist_ok=True)
    original = path.read_bytes() if path.exists() else None
    path.write_bytes(raw)
    try:
        report = validate(repo)
    finally:
        if original is None:
            path.unlink()
        else:
            path.write_bytes(original)
    for diagnostic in report.diagnostics:
        if Path(diagnostic.span.file).as_posix().endswith(name):
            problem = outside(diagnostic, raw)
            assert problem is None, problem


@FUZZ
@given(raw=mutated(map_docs()))
def test_map_files(repo: Path, raw: bytes) -> None:
    check(repo, MAP_FILE, raw)


@settings(FUZZ, max_examples=400)
@given(raw=mutated(env_docs()))
def test_environment_files(repo: Path, raw: bytes) -> None:
    check(repo, "environments/dev.yaml", raw)


@settings(FUZZ, max_examples=400)
@given(raw=mutated(solution_docs()))
def test_solution_files(repo: Path, raw: bytes) -> None:
    check(repo, "solutions/base/solution.yaml", raw)


@settings(FUZZ, max_examples=400)
@given(raw=st.binary(max_size=200))
def test_parse_any_bytes(raw: bytes) -> None:
    _, found = read(raw, "any.yaml")
    for diagnostic in found:
        problem = outside(diagnostic, raw)
        assert problem is None, problem


def test_syntax_error_at_end_of_file_points_inside() -> None:
    """Found by this fuzzing: the end-of-stream mark was one line past the last line."""
    raw = b"name: Fuzz map A\nv"
    _, found = read(raw, "map.yaml")
    assert found and all(d.span.line <= len(lines_of(raw)) for d in found), found
