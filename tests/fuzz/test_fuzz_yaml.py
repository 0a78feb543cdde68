"""Fuzzing the two YAML readers: whenever the fast reader (dwconf/yaml/fast.py) accepts a file, the careful
loader reads the same data from it, finds the same templates and reports nothing.

Inputs are configuration files (valid and mutated) and short texts over YAML's punctuation,
where the two parsers' corner cases live.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from dwconf.yaml import careful, read
from dwconf.yaml.document import same
from tests.fuzz.strategies import env_docs, map_docs, mutated, solution_docs

AGREE = settings(max_examples=700, deadline=None)
PUNCTUATION = " \n\n\n  :-[]{},'\"#&*!|>?%@`\t\r\ufeff\\0123456789abcxyzXOb_.+eE~iInNfé"
YAMLISH = st.text(alphabet=PUNCTUATION, max_size=60)
SCALARS = st.sampled_from(
    [
        "1",
        "-1",
        "+1",
        "007",
        "0x1F",
        "0X1F",
        "0o17",
        "0O17",
        "0b101",
        "1_000",
        "1.5",
        "1.",
        ".5",
        "-.5",
        "1e5",
        ".inf",
        "-.inf",
        ".NaN",
        "inf",
        "nan",
        "true",
        "True",
        "FALSE",
        "yes",
        "no",
        "on",
        "off",
        "null",
        "Null",
        "~",
        "2024-01-01",
        "12:30",
        "1.0.0.0",
        "-0",
        "0.0",
        "''",
        '""',
        "x_1",
        "-0x1F",
        "0x_1F",
        "_1",
        "1e_5",
        ".iNf",
        "+.nan",
        "._5",
        ">",
        "|",
        "a1_0",
    ]
)


def key_lines(draw: st.DrawFn) -> str:
    pairs = draw(st.lists(st.tuples(SCALARS, SCALARS), min_size=1, max_size=6))
    block = "".join(f"{k}: {v}\n" for k, v in pairs)
    flow = "m: {" + ", ".join(f"{k}: {v}" for k, v in pairs) + "}\n"
    listed = "l: [" + ", ".join(v for _, v in pairs) + "]\n"
    return draw(st.sampled_from([block, flow, listed]))


SCALAR_FILES = st.composite(key_lines)()


def check_agreement(raw: bytes) -> None:
    """Through the reader's own entry point: when the fast reader read it, the careful one
    agrees, with the same types throughout (`same`: 1, 1.0 and True differ)."""
    doc, problems = read(raw, "f.yaml")
    if doc._text is None:
        return  # read the careful way
    text = raw.decode("utf-8-sig")
    found = careful.parse(text, "f.yaml")
    assert (problems, found.problems) == ([], []), text
    assert same(found.data, doc.data), text
    assert doc.templates == found.templates, text


@AGREE
@given(st.one_of(mutated(map_docs()), mutated(env_docs()), mutated(solution_docs())))
def test_configuration_files(raw: bytes) -> None:
    check_agreement(raw)


@AGREE
@given(YAMLISH)
def test_yaml_punctuation(text: str) -> None:
    check_agreement(text.encode())


@AGREE
@given(SCALAR_FILES)
def test_scalar_spellings(text: str) -> None:
    check_agreement(text.encode())
