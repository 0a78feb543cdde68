"""Templates that would build gigabyte values or burn CPU: every one is refused, quickly and at
the value's position, whichever operator, filter or method would make the value
(dwconf/templating/limits.py). The hostile corpus renders in a child process whose memory is capped
at 2 GiB (tests/security/render_child.py), so a template that gets through fails its test
instead of exhausting the machine; the generated chains (`test_generated_chains_stay_bounded`)
run 300 templates by default and 5,000 with `pytest -m long`."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from dwconf.templating import context_for, render_document, render_value
from dwconf.templating import limits as template_limits
from dwconf.yaml import read
from tests.support import Result

MEMORY = 2 * 2**30
CTX = context_for("dev", "dev", ["USMF", "DEMF"], {"code": 3, "name": "Contoso"})

# (template, what it attacks); each is refused with DW1203
HOSTILE = [
    ("{{ 'a'|center(10**9) }}", "a width"),
    ("{{ 'a'|center(1000000000) }}", "a width folded at compile time"),
    ("{{ '%1000000000s'|format('a') }}", "the format filter's width"),
    ("{{ '%.1000000000f'|format(1.0) }}", "the format filter's precision"),
    ("{{ '%1000000000s' % 'a' }}", "% formatting"),
    ("{{ ('%60000s' * 1000) % (('a',) * 1000) }}", "many fields under the limit each"),
    ("{{ '{:1000000000}'.format('a') }}", "str.format"),
    ("{{ '{0:{1}}'.format('a', 10**9) }}", "a nested str.format width"),
    ("{{ '{:>60000}{:>60000}'.format('a', 'b') }}", "str.format fields adding up"),
    ("{{ ('{:1000000000}'|safe).format('a') }}", "str.format of a Markup string"),
    ("{{ 'x'.format_map({'a': 1}) ~ '{a:>1000000000}'.format_map({'a': 1}) }}", "format_map"),
    ("{{ ('a' * 10000)|replace('a', 'aaaaaaaaaa')|replace('a', 'aaaaaaaaaa') }}", "replace"),
    ("{{ 'ab'|replace('', 'x' * 60000) }}", "replace of the empty string"),
    ("{{ ('1' * 60000)|replace(1, 'x' * 60000) }}", "replace of a number"),
    ("{{ ('a' * 60000).replace('a', 'bb') }}", "str.replace"),
    ("{{ ((2**60)**60)**60 }}", "chained **"),
    ("{{ 9 ** 999 }}", "**"),
    ("{{ (2**1000) * (2**1000) }}", "a product of big numbers"),
    ("{{ 'a'.center(10**9) }}", "str.center"),
    ("{{ 'a'.ljust(10**9) }}", "str.ljust"),
    ("{{ 'a'.zfill(10**9) }}", "str.zfill"),
    ("{{ ('\\t' * 1000).expandtabs(10**6) }}", "str.expandtabs"),
    ("{{ (1).to_bytes(10**9, 'big') }}", "int.to_bytes"),
    ("{{ ('x' * 1000).join(['a'] * 1000) }}", "str.join"),
    ("{{ ('x' * 1000).join(range(1000)|map('string')) }}", "str.join of an iterator"),
    ("{{ (['a' * 1000] * 60)|join('b' * 1000) }}", "the join filter"),
    ("{{ ('a' * 60000).translate({97: 'b' * 60000}) }}", "str.translate"),
    ("{% set a = 'x' * 60000 %}{% set b = a~a~a~a~a~a~a~a~a~a %}{{ b|length }}", "~"),
    (
        "{% set a = 'x' * 6000 %}{% set b %}" + "{{ a }}" * 12 + "{% endset %}{{ b|length }}",
        "a block set",
    ),
    ("{% set a = 'x' * 6000 %}" + "{{ a }}" * 100, "the template's output"),
    ("{{ range(1000)|map('center', 60000)|list|length }}", "a filter over every item"),
    ("{{ range(1000)|map('center', 60000)|join }}", "the same, joined"),
    ("{{ [1]|batch(10**9, 'x')|list }}", "batch"),
    ("{{ [1]|slice(10**9)|list }}", "slice"),
    ("{{ vars|tojson(10**9) }}", "tojson's indent"),
    ("{{ 7|tojson(10**9) }}", "tojson's indent, on a value without levels"),
    ("{{ ('a ' * 30000)|wordwrap(1, wrapstring='x' * 1000) }}", "wordwrap"),
    ("{{ ('a.co ' * 10000)|urlize(target='x' * 1000) }}", "urlize"),
    ("{{ ('a\\n' * 30000)|indent(10**6) }}", "indent"),
    ("{{ {}.fromkeys(range(1000), 'x' * 60000)|length }}", "dict.fromkeys"),
    ("{{ [1] * 10**8 }}", "list repetition"),
    ("{{ 'a' * 10**9 }}", "string repetition"),
    ("{{ range(10**100)|list }}", "range"),
    ("{{ ('a' * 40000 ~ 'b' * 40000)|upper }}", "a value made past the limit"),
]


def run_child(templates: list[str], timeout: float) -> list[dict[str, Any]]:
    """Outcomes of rendering `templates` in a child whose memory is capped."""
    done = subprocess.run(
        [sys.executable, "-m", "tests.security.render_child", str(MEMORY)],
        input=json.dumps(templates),
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=Path(__file__).resolve().parents[2],
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return [json.loads(line) for line in done.stdout.splitlines()]


@pytest.fixture(scope="module")
def outcomes() -> dict[str, dict[str, Any]]:
    texts = [text for text, _ in HOSTILE]
    return dict(zip(texts, run_child(texts, timeout=120), strict=True))


@pytest.mark.parametrize(("text", "attack"), HOSTILE, ids=[a for _, a in HOSTILE])
def test_hostile_template_is_refused(
    text: str, attack: str, outcomes: dict[str, dict[str, Any]]
) -> None:
    found = outcomes[text]
    assert found["code"] == "DW1203", (attack, found)
    limits = ("65,536", "1,024 bits", "1,000 items", "1,048,576")
    assert any(figure in found["message"] for figure in limits), found


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{{ ('a' * 65536)|length }}", 65536),
        ("{{ (2 ** 1023)|string|length }}", 308),
        ("{{ vars.name|center(100)|length }}", 100),
        ("{{ '{:>10}|{:.3f}'.format(vars.name, 1) }}", "   Contoso|1.000"),
        ("{{ '%05d-%s' % (vars.code, vars.name) }}", "00003-Contoso"),
        ("{{ env.legal_entities|join(', ') }}", "USMF, DEMF"),
        ("{{ ', '.join(env.legal_entities|map('lower')) }}", "usmf, demf"),
        ("{{ vars.name|replace('o', '0') }}", "C0nt0s0"),
        ("{{ vars.missing|default(806380000) }}", 806380000),
        ("{{ [1, 2, 3]|batch(2, 0)|list }}", [[1, 2], [3, 0]]),
        ("{{ vars|tojson(2) }}", json.dumps(CTX["vars"], indent=2, sort_keys=True)),
        ("{% set x %}{{ vars.name }}-{{ env.name }}{% endset %}{{ x|upper }}", "CONTOSO-DEV"),
        ("{{ range(1000)|map('string')|join|length }}", 2890),
    ],
)
def test_templates_within_the_limits_still_render(text: str, expected: object) -> None:
    assert render_value(text, CTX) == expected


def test_the_limits_are_as_documented() -> None:
    """docs/diagnostics.md and the README state these figures."""
    docs = (Path(__file__).resolve().parents[2] / "docs/diagnostics.md").read_text()
    line = next(x for x in docs.splitlines() if x.startswith("| DW1203"))
    for figure in (
        template_limits.MAX_SIZE,
        template_limits.MAX_INT_BITS,
        template_limits.MAX_RANGE,
        template_limits.MAX_WORK,
    ):
        assert f"{figure:,}" in line, figure
    assert f"({template_limits.TIME_BUDGET_SECONDS:g} s)" in docs


def test_a_refusal_points_at_the_value() -> None:
    doc, _ = read(b"a: ok\nb:\n  - x\n  - \"{{ 'a'|center(10**9) }}\"\n", "m.yaml")
    _, problems = render_document(doc, CTX)
    assert [(str(p.span), p.code) for p in problems] == [("m.yaml:4:5", "DW1203")]
    assert "center filter" in problems[0].message
    assert "write long text in the YAML" in problems[0].hint


def test_rendering_past_its_time_budget_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """The clock is checked by every operation (a spent budget stands for a slow template)."""
    doc, _ = read(b"a: '{{ vars.code + 1 }}'\nb: '{{ env.name }}'\n", "m.yaml")
    monkeypatch.setattr(template_limits, "TIME_BUDGET_SECONDS", -1.0)
    _, problems = render_document(doc, CTX)
    assert [(str(p.span), p.code) for p in problems] == [
        ("m.yaml:1:4", "DW1204"),
        ("m.yaml:2:4", "DW1204"),
    ]
    monkeypatch.setattr(template_limits, "TIME_BUDGET_SECONDS", 2.0)
    data, problems = render_document(doc, CTX)
    assert (data, problems) == ({"a": 4, "b": "dev"}, [])


def test_validate_reports_a_runaway_template(
    make_repo: Callable[..., Path], dwconf: Callable[..., Result]
) -> None:
    bad = "name: Runaway\nversion: 1.0.0.0\ndescription: \"{{ vars.code ~ 'b'.center(10**9) }}\"\n"
    root = make_repo({"solutions/base/maps/runaway.yaml": bad})
    result = dwconf("-C", str(root), "validate")
    assert result.exit_code == 1, result.out + result.err
    assert "solutions/base/maps/runaway.yaml:3:14: error DW1203" in result.out + result.err


# Generated chains -----------------------------------------------------------------------------

ATOMS = ["'a'", "vars.name", "env.legal_entities", "('ab' * 300)", "range(50)|list", "7"]
SIZES = ["0", "3", "100", "60000", "70000", "10**6", "10**9", "2**64"]
STEPS = [
    "({x})|center({n})",
    "({x})|indent({n})",
    "'%{n}s'|format({x})",
    "({x})|replace('a', 'aaa')",
    "({x})|join('--')",
    "({x}) ~ ({x})",
    "({x}) * {n}",
    "({x}) ** {n}",
    "({x})|batch({n}, 'x')|list",
    "({x})|slice({n})|list",
    "({x})|string",
    "({x})|list",
    "({x})|tojson({n})",
    "({x})|wordwrap(3, wrapstring='<>')",
    "'{{:{n}}}'.format({x})",
    "'%s-%s' % (({x}), ({x}))",
    "({x})|map('string')|map('center', {n})|list",
    "({x})|string|center({n})",
    "({x})|unique|list",
    "({x})|sort",
    "[({x}), ({x}), ({x})]",
    "({x})|sum",
]


def generated(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    texts = []
    for _ in range(count):
        expression = rng.choice(ATOMS)
        for _ in range(rng.randint(1, 6)):
            expression = rng.choice(STEPS).format(x=expression, n=rng.choice(SIZES))
        texts.append("{{ " + expression + " }}")
    return texts


@pytest.mark.parametrize(
    "count", [pytest.param(300, id="300"), pytest.param(5000, id="5000", marks=pytest.mark.long)]
)
def test_generated_chains_stay_bounded(count: int) -> None:
    """Random chains of the operations that grow values, with sizes around and far past the
    limits: each renders a value within the limit or is refused with a DW12xx diagnostic;
    none runs out of memory (2 GiB) or hangs."""
    texts = generated(count, seed=count)
    found = run_child(texts, timeout=60 + count * 0.2)
    assert len(found) == count
    wrong = [
        (text, result)
        for text, result in zip(texts, found, strict=True)
        if not (result["code"].startswith("DW12") or result["code"] == "ok")
        or result["size"] > template_limits.MAX_SIZE
    ]
    assert not wrong, wrong[:5]
    codes = {r["code"] for r in found}
    assert {"ok", "DW1203"} <= codes, codes
    slowest = max(r["seconds"] for r in found)
    print(f"{count} generated templates: {sorted(codes)}; slowest {slowest:.3f} s")
