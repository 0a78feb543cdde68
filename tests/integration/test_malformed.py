"""A corpus of malformed inputs: each gives positioned diagnostics and exit 1, never a traceback."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support import Result

MAP = "solutions/base/maps/m.yaml"
ENV = "environments/dev.yaml"
SOL = "solutions/base/solution.yaml"
GOOD_MAP = (
    "name: M\nversion: 1.0.0.0\nfinops_entity: Currencies\ndataverse_table: transactioncurrencies\n"
    "fields:\n  - {finops: CURRENCYCODE, dataverse: isocurrencycode}\n"
)


def nested(depth: int) -> str:
    return "a: " + "[" * depth + "]" * depth + "\n"


def alias_bomb() -> str:
    lines = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for prev, name in zip("abcdefgh", "bcdefghi", strict=False):
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 10) + "]")
    return "\n".join(lines) + "\n"


CORPUS: list[tuple[str, str, str | bytes]] = [
    ("unclosed flow list", MAP, "name: [a, b\n"),
    ("unclosed flow map", MAP, "fields: {a: 1\n"),
    ("tab indentation", MAP, "name: M\nfields:\n\t- {finops: A}\n"),
    ("bad indentation", MAP, "name: M\n  version: 1\n"),
    ("unquoted direction symbol", MAP, GOOD_MAP + "  - {finops: A, direction: >}\n"),
    ("unterminated quote", MAP, "name: 'abc\n"),
    ("two documents", MAP, GOOD_MAP + "---\nname: N\n"),
    ("undefined alias", MAP, "name: *x\n"),
    ("python tag", MAP, "name: !!python/object/apply:os.system ['echo hi']\n"),
    ("binary tag", MAP, "name: !!binary aGVsbG8=\n"),
    ("custom tag", MAP, "name: !secret abc\n"),
    ("complex key", MAP, "? [a]\n: 1\n"),
    ("duplicate key", MAP, GOOD_MAP + "name: N\n"),
    ("duplicate nested key", MAP, GOOD_MAP + "  - {finops: A, finops: B}\n"),
    ("empty file", MAP, ""),
    ("only comments", MAP, "# nothing\n"),
    ("only whitespace", ENV, "   \n\n"),
    ("binary garbage", MAP, bytes(range(256)) * 4),
    ("latin-1 text", MAP, "name: Caf\xe9\n".encode("latin-1")),
    ("utf-16 text", MAP, "name: M\n".encode("utf-16")),
    ("ten megabyte file", MAP, "name: " + "x" * (10 * 1024 * 1024) + "\n"),
    ("deeply nested", MAP, nested(200)),
    ("very deeply nested", MAP, nested(5000)),
    ("alias bomb", MAP, alias_bomb()),
    ("list instead of mapping", MAP, "- name: M\n"),
    ("scalar instead of mapping", MAP, "just text\n"),
    ("fields not a list", MAP, GOOD_MAP.replace("fields:\n  - ", "fields: ")),
    ("field not a mapping", MAP, GOOD_MAP + "  - CURRENCYCODE\n"),
    ("unknown key", MAP, GOOD_MAP + "colour: blue\n"),
    ("missing required keys", MAP, "name: M\n"),
    ("wrong version form", MAP, GOOD_MAP.replace("1.0.0.0", "v1")),
    ("version as a number", MAP, GOOD_MAP.replace("1.0.0.0", "1.0")),
    ("invalid direction", MAP, GOOD_MAP + "  - {finops: A, dataverse: b, direction: up}\n"),
    ("value map not a mapping", MAP, GOOD_MAP + "  - {finops: A, dataverse: b, value_map: [1]}\n"),
    ("number as a name", MAP, GOOD_MAP.replace("name: M", "name: 12")),
    (
        "null fields",
        MAP,
        GOOD_MAP.replace(
            "fields:\n  - {finops: CURRENCYCODE, dataverse: isocurrencycode}", "fields:"
        ),
    ),
    ("template escape", MAP, GOOD_MAP.replace("name: M", "name: \"{{ ''.__class__.__mro__ }}\"")),
    ("template undefined", MAP, GOOD_MAP.replace("name: M", "name: '{{ vars.nope }}'")),
    ("template syntax", MAP, GOOD_MAP.replace("name: M", "name: '{{ vars.code '")),
    (
        "template recursion",
        MAP,
        GOOD_MAP.replace("name: M", "name: '{% macro m() %}{{ m() }}{% endmacro %}{{ m() }}'"),
    ),
    (
        "template loop",
        MAP,
        GOOD_MAP.replace("name: M", "name: '{% for i in range(10) %}{% endfor %}'"),
    ),
    ("template huge", MAP, GOOD_MAP.replace("name: M", "name: \"{{ 'x' * 100000000 }}\"")),
    ("environment wrong type", ENV, "name: dev\nstage: dev\nlink: [USMF]\n"),
    ("environment bad state", ENV, "name: dev\nstage: dev\nmaps: {default_state: sleeping}\n"),
    (
        "solution bad publisher",
        SOL,
        "unique_name: tst_Base\nversion: 1.0.0.0\npublisher: contoso\n",
    ),
    (
        "solution bad unique name",
        SOL,
        "unique_name: 'has spaces'\nversion: 1.0.0.0\npublisher: {unique_name: tst, prefix: tst, option_value_prefix: 10000}\n",
    ),
    ("settings wrong type", "dwconf.yaml", "stages: dev\n"),
]

POSITION = re.compile(r"^\S+:\d+:\d+: error DW\d{4} ", re.MULTILINE)


@pytest.mark.parametrize(("path", "content"), [pytest.param(p, c, id=n) for n, p, c in CORPUS])
def test_malformed_input_is_diagnosed(
    path: str,
    content: str | bytes,
    make_repo: Callable[..., Path],
    dwconf: Callable[..., Result],
) -> None:
    repo = make_repo({path: content})
    result = dwconf("validate", str(repo))
    assert result.exit_code == 1, result.out + result.err
    assert POSITION.search(result.out), result.out
    assert "Traceback" not in result.out + result.err
    assert "internal error" not in result.err


def test_corpus_is_large_enough() -> None:
    assert len(CORPUS) >= 40


def test_a_file_of_thousands_of_problems_shows_a_hundred_and_counts_the_rest(
    make_repo: Callable[..., Path], dwconf: Callable[..., Result]
) -> None:
    junk = "".join(f"k{i}: {i}\n" for i in range(2000))
    repo = make_repo({MAP: GOOD_MAP + junk})
    text = dwconf("-C", str(repo), "validate")
    assert text.exit_code == 1
    shown = [line for line in text.out.splitlines() if " error DW1101 " in line]
    assert len(shown) == 100 and shown[0].startswith(f"{MAP}:7:1: ")
    assert f"{MAP}: 1900 more diagnostic(s) not shown (all of them: --format json)" in text.out
    assert "2000 error(s)" in text.out
    listed = dwconf("-C", str(repo), "validate", "--format", "json")
    assert listed.out.count('"DW1101"') == 2000
