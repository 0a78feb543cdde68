"""Templating: native types, positions of errors, and the sandbox."""

from __future__ import annotations

import pytest
from jinja2.exceptions import SecurityError, UndefinedError

from dwconf.templating import context_for, render_document, render_value
from dwconf.templating.limits import LimitExceeded
from dwconf.yaml import read

CTX = context_for("dev", "dev", ["USMF", "DEMF"], {"code": 3, "name": "Contoso", "on": True})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{{ vars.code }}", 3),
        ("  {{ vars.on }} ", True),
        ("{{ env.legal_entities }}", ["USMF", "DEMF"]),
        ("{{ env.name }}-maps", "dev-maps"),
        ("{{ vars.code }}{{ vars.code }}", "33"),
        ("{% if env.stage == 'dev' %}x{% else %}y{% endif %}", "x"),
        ("{{ vars.name | lower }}", "contoso"),
    ],
)
def test_values_render(text: str, expected: object) -> None:
    assert render_value(text, CTX) == expected


@pytest.mark.parametrize(
    "text",
    [
        "{{ ''.__class__.__mro__ }}",
        "{{ vars.__class__ }}",
        "{{ cycler.__init__.__globals__ }}",
        "{{ lipsum.__globals__ }}",
        "{% for i in range(3) %}{{ i }}{% endfor %}",
        "{% macro m() %}{{ m() }}{% endmacro %}{{ m() }}",
        "{% include 'x' %}",
        "{{ vars.update({'code': 4}) }}",
    ],
)
def test_the_sandbox_refuses_escapes(text: str) -> None:
    with pytest.raises((SecurityError, UndefinedError)):
        render_value(text, CTX)


@pytest.mark.parametrize(
    "text", ["{{ 'a' * 100000 }}", "{{ 9 ** 999 }}", "{{ range(100000) | list }}"]
)
def test_the_sandbox_refuses_runaways(text: str) -> None:
    with pytest.raises(LimitExceeded):
        render_value(text, CTX)


def test_document_rendering_reports_each_value_at_its_position() -> None:
    doc, _ = read(b"a: '{{ vars.code }}'\nb:\n  - '{{ vars.nope }}'\n  - '{{ x + 1 }}'\n", "m.yaml")
    data, problems = render_document(doc, CTX)
    assert data["a"] == 3
    assert [(str(p.span), p.code) for p in problems] == [
        ("m.yaml:3:5", "DW1201"),
        ("m.yaml:4:5", "DW1201"),
    ]
    assert doc.data["a"] == "{{ vars.code }}", "the parsed document itself is left unrendered"


def test_security_refusal_has_its_own_code() -> None:
    doc, _ = read(b"a: \"{{ ''.__class__ }}\"\n", "m.yaml")
    _, problems = render_document(doc, CTX)
    assert [p.code for p in problems] == ["DW1202"]
