"""Fuzzing the loader's two paths: whenever the fast path (fastyaml) accepts a file, the careful
loader reads the same data from it, finds the same templates and reports nothing.

Inputs are configuration files (valid and mutated) and short texts over YAML's punctuation,
where the two parsers' corner cases live.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from dwconf.load import yaml12
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
    """Through the loader's own entry point: when it took the fast path, the careful one agrees."""
    doc, problems = yaml12.parse(raw, "f.yaml")
    if doc._where is not None:
        return  # read the careful way
    text = raw.decode("utf-8-sig")
    careful, careful_problems = yaml12._parse_careful(text, "f.yaml")
    assert (problems, careful_problems) == ([], []), text
    assert repr(careful.data) == repr(doc.data), text  # repr: nan equals nan
    assert doc.templates == careful.templates, text


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
