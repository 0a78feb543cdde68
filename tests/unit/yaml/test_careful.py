"""The YAML reader: positions, YAML 1.2 scalars, and clean refusals."""

from __future__ import annotations

import pytest

from dwconf.yaml import MAX_FILE_BYTES, read


def codes(raw: bytes) -> list[str]:
    return [f"{d.span.line}:{d.span.column} {d.code}" for d in read(raw, "f.yaml")[1]]


def test_values_and_keys_keep_their_positions() -> None:
    doc, problems = read(b"name: A\nfields:\n  - {finops: X, dataverse: y}\n", "f.yaml")
    assert problems == []
    assert doc.values[("fields", 0, "dataverse")] == (3, 28)
    assert doc.keys[("fields",)] == (2, 1)
    assert str(doc.span(("fields", 0, "missing"))) == "f.yaml:3:5"


def test_yaml_1_2_core_schema_keeps_no_and_yes_as_text() -> None:
    doc, _ = read(b"m: {no: 1, yes: on, off: True, v: 1.0.0.5, n: ~, f: 1.5, h: 0x1f}\n", "f")
    assert doc.data["m"] == {
        "no": 1,
        "yes": "on",
        "off": True,
        "v": "1.0.0.5",
        "n": None,
        "f": 1.5,
        "h": 31,
    }


def test_templates_are_recorded() -> None:
    doc, _ = read(b"a: '{{ vars.x }}'\nb: plain\nc: ['x{% if 1 %}y{% endif %}']\n", "f")
    assert doc.templates == [("a",), ("c", 0)]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"a: 1\na: 2\n", ["2:1 DW1005"]),
        (b"a:\n\tb: 1\n", ["2:1 DW1003"]),
        (b"a: [1, 2\n", ["1:9 DW1003"]),  # end of stream: the end of the last line
        (b"", ["1:1 DW1009"]),
        (b"# only a comment\n", ["1:1 DW1009"]),
        (b"a: !!python/object:os.system x\n", ["1:4 DW1004"]),
        (b"\xff\xfe\x00a", ["1:1 DW1001"]),
        (b"a: caf\xe9\n", ["1:7 DW1001"]),
        (b"? [a, b]\n: 1\n", ["1:3 DW1008"]),
        (b"a: 1\n---\nb: 2\n", ["2:1 DW1003"]),
        (b"a: *nothing\n", ["1:4 DW1003"]),
    ],
)
def test_broken_input_gives_a_positioned_diagnostic(raw: bytes, expected: list[str]) -> None:
    assert codes(raw) == expected


def test_alias_bomb_is_refused() -> None:
    lines = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for i, name in enumerate("bcdefgh"):
        prev = "abcdefgh"[i]
        lines.append(f"{name}: &{name} [{', '.join(['*' + prev] * 10)}]")
    found = codes("\n".join(lines).encode())
    assert [c.split()[1] for c in found] == ["DW1006"]


def test_ordinary_aliases_are_fine() -> None:
    doc, problems = read(b"base: &b {x: 1}\nother: *b\n", "f")
    assert problems == [] and doc.data["other"] == {"x": 1}


def test_deep_nesting_is_refused() -> None:
    assert codes(b"a: " + b"[" * 100 + b"]" * 100 + b"\n")[0].endswith("DW1007")


def test_files_over_the_limit_are_refused_without_parsing() -> None:
    raw = b"a: " + b"x" * (MAX_FILE_BYTES + 1)
    assert codes(raw) == ["1:1 DW1002"]


def test_an_unclosed_list_at_the_end_does_not_suggest_quoting() -> None:
    (problem,) = read(b"x: [1\n", "f.yaml")[1]
    assert problem.code == "DW1003" and "quote" not in problem.hint
