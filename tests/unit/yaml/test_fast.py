"""The fast reader: the same data as the careful reader, positions worked out on demand, every
file it cannot vouch for left to the careful reader, and screening in linear time."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from dwconf.yaml import Document, careful, fast, read

REPO = Path(__file__).resolve().parents[3]
CORPUS = sorted(
    p
    for pattern in ("*.yaml", "environments/*.yaml", "solutions/**/*.yaml", "dwconf/**/*.yaml")
    for p in REPO.glob(pattern)
)


def took_fast_path(doc: Document) -> bool:
    return doc._where is None


def test_the_repository_files_read_the_same_on_both_paths() -> None:
    quick = 0
    for path in CORPUS:
        raw = path.read_bytes()
        doc, problems = read(raw, path.name)
        found = careful.parse(raw.decode("utf-8-sig"), path.name)
        assert (problems, doc.data, doc.templates) == (
            found.problems,
            found.data,
            found.templates,
        ), path
        quick += took_fast_path(doc)
    # The example configuration and the catalog are ordinary YAML: nearly all of it is fast.
    assert len(CORPUS) > 250 and quick >= 0.9 * len(CORPUS), (quick, len(CORPUS))


def test_positions_are_worked_out_on_first_use() -> None:
    raw = b"name: A\nfields:\n  - {finops: X, dataverse: 'y'}\n"
    doc, problems = read(raw, "f.yaml")
    assert problems == [] and took_fast_path(doc)
    assert doc.values[("fields", 0, "dataverse")] == (3, 28)
    assert doc.keys[("fields",)] == (2, 1)
    assert doc.quoted == {("fields", 0, "dataverse")}
    assert str(doc.text_span(("fields", 0, "dataverse"), 0)) == "f.yaml:3:29"
    assert not took_fast_path(doc)


@pytest.mark.parametrize(
    "text",
    [
        "a: &x {b: 1}\nc: *x\n",  # anchors and aliases: the careful loader budgets them
        "k: !!str 5\n",  # tags
        "---\na: 1\n",  # document markers
        "a:\n  b: 1\n\tc: 2\n",  # tabs
        "k: 1_000\n",  # YAML 1.1 spellings read as numbers by the fast parser
        "k: 0X1F\n",
        "k: 0b101\n",
        "1: x\n",  # keys that are not text
        "? [a]\n: x\n",
        ": v\n",
        "a: 1\na: 2\n",  # duplicates
        "a: [1\n",  # syntax errors
        "{>}\n",
        "",  # empty
        "just text\n",  # not a mapping or a list
        "k: \x01\n",  # characters YAML forbids
        "k: a\u2028b\n",
        "a: " + "[" * 70 + "]" * 70 + "\n",  # deeper than the careful loader allows
        # found by review: number spellings, block scalars at the end, flow corner cases,
        # line breaks, byte-order marks, escaped surrogates
        *(f"k: {n}\n" for n in ("-0x1F", "+0o17", "0x_1F", "_1", "-_1", "._5", "1._5", "1e_5")),
        *(f"k: {n}\n" for n in (".iNf", "-.INf", ".nAn", ".Nan", "+.nan")),
        "k: [-0x1F, 1]\n",
        "a: |\n  x",
        "a: |\n",
        "a: >\n\n\n",
        "a: |+\n  x\n\n",
        "f: [{d: >}]\n",
        "f: {d: |}\n",
        "m: {k: ?x}\n",
        "l: [:x]\n",
        "a: {b:}\n",
        "a: [x, y:]\n",
        "a: {b\n  c: 1}\n",
        "l: [?x]\n",
        "a: 1\r---\rb: 2\r",
        "a: 1\n\ufeffb: 2\n",
        'a: "\\ud83d\\ude00"\n',
        # found by a mutation run: a value starting with `:` in a flow collection (PyYAML
        # refuses it; YAML 1.2 and the fast parser allow it)
        "a: {b: :c}\n",
        "- {b: ::c, d: e}\n",
        "a: {b:  :c}\n",
    ],
)
def test_what_the_fast_path_leaves_to_the_careful_loader(text: str) -> None:
    assert fast.load(text) is None


@pytest.mark.parametrize(
    "text",
    [
        "k: address1_line1\n",
        "k: a0b1\n",
        "e: x@y.com\n",
        "d: >\n  folded\n",
        "f: 'a > b'\n",
        "k: [1.0.0.5, x_1, 0x1F, .inf, -.Inf, .NaN]\n",
        "fields:\n  - {finops: A_B, dataverse: address1_city, direction: both}\n",
    ],
)
def test_ordinary_text_that_looks_unusual_stays_fast(text: str) -> None:
    assert fast.load(text) is not None


@pytest.mark.parametrize("raw", [b'k: "\\x7b{ x }}"\n', b'k: "{\\\n  { x }}"\n', b"k: '{{ x }}'\n"])
def test_templates_spelled_with_escapes_are_found(raw: bytes) -> None:
    doc, problems = read(raw, "f")
    assert problems == [] and doc.data == {"k": "{{ x }}"} and doc.templates == [("k",)]


def test_long_tokens_are_screened_in_linear_time() -> None:
    # a token of 400,000 characters with an underscore every other one: each looked at once
    assert fast.load("k: x" + "1_" * 200_000 + "\n") == {"k": "x" + "1_" * 200_000}


def test_without_the_fast_parser_everything_reads_the_careful_way(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(fast, "yaml_rs", None)
    doc, problems = read(b"m: {no: 1, v: 1.0.0.5, t: '{{ x }}'}\n", "f")
    assert problems == [] and not took_fast_path(doc)
    assert doc.data == {"m": {"no": 1, "v": "1.0.0.5", "t": "{{ x }}"}}
    assert doc.templates == [("m", "t")]


PATHOLOGICAL = {
    "nested braces": lambda n: "k: " + "{" * (n // 2) + "}" * (n // 2) + "\n",
    "nested brackets": lambda n: "k: " + "[" * (n // 2) + "]" * (n // 2) + "\n",
    "open braces": lambda n: "k: " + "{" * n + "\n",
    "closed pairs": lambda n: "k: '" + "[]" * (n // 2) + "'\nb: '|'\n",
    "pairs then an indicator": lambda n: "k: [" + "{}" * (n // 2) + ", |]\n",
    "flow items": lambda n: "k: [" + "a, " * (n // 3) + "b]\n",
    "a colon, then spaces": lambda n: "k: [x:" + " " * n + "y]\n",
}


def _best_seconds(text: str, tries: int) -> float:
    """The least CPU time of `tries` reads: CPU time, not wall time, so other processes of a
    busy machine count for little."""
    raw = text.encode()
    best = float("inf")
    for _ in range(tries):
        start = time.process_time()
        read(raw, "f.yaml")
        best = min(best, time.process_time() - start)
    return best


@pytest.mark.parametrize("shape", PATHOLOGICAL)
def test_reading_a_pathological_line_grows_linearly(shape: str) -> None:
    """Four times the text may take about four times as long, never sixteen (square time:
    80 KB of `{` once took 14 s). Best of many runs, and a generous bound, so a busy machine
    does not fail it; the first run of the large text that keeps within it ends the test."""
    make = PATHOLOGICAL[shape]
    small = _best_seconds(make(16_000), tries=15)
    bound = 8 * max(small, 1e-4)
    large = make(64_000)  # an 80 KB line or so
    assert any(_best_seconds(large, tries=1) <= bound for _ in range(15)), (shape, small)
