"""The Jinja sandbox escape corpus. tests/unit/test_templating.py covers the classic ones
(`''.__class__.__mro__`, `vars.__class__`, `cycler.__init__.__globals__`, `lipsum.__globals__`,
loops, macros, includes, runaways, `vars.update`); these are the others known from sandbox
escapes: template globals (`self`, `config`, `namespace`, `joiner`, `cycler`, `loop`),
attribute chains through filters, and format-string tricks. Each is refused, or renders to a
value that shows nothing of Python's internals.

Hostile solution zips are covered in tests/unit/package/test_package_hostile.py.
"""

from __future__ import annotations

import pytest
from jinja2.exceptions import SecurityError, TemplateError, UndefinedError

from dwconf.templating import context_for, render_document, render_value
from dwconf.templating.limits import LimitExceeded
from dwconf.yaml import read

CTX = context_for("dev", "dev", ["USMF"], {"code": 3, "name": "Contoso"})
CORPUS = [
    "{{ self }}",
    "{{ self.__init__.__globals__ }}",
    "{{ self._TemplateReference__context }}",
    "{{ config }}",
    "{{ config.__class__.__init__.__globals__ }}",
    "{{ request }}",
    "{{ namespace }}",
    "{{ namespace.__init__.__globals__ }}",
    "{% set ns = namespace(x=1) %}{{ ns.__class__ }}",
    "{{ joiner }}",
    "{{ joiner.__init__.__globals__.os }}",
    "{{ cycler }}",
    "{{ cycler.next.__globals__ }}",
    "{{ loop }}",
    "{{ loop.__class__ }}",
    "{{ lipsum }}",
    "{{ dict }}",
    "{{ range.__class__ }}",
    "{{ vars|attr('__class__') }}",
    "{{ vars|attr('__class__')|attr('__mro__') }}",
    "{{ ''|attr('__class__')|attr('__base__')|attr('__subclasses__')() }}",
    "{{ (vars|attr('items'))() }}",
    "{{ env.legal_entities|map(attribute='__class__')|list }}",
    "{{ env.legal_entities|map(attribute='__class__.__mro__')|list }}",
    "{{ env.legal_entities|selectattr('__class__')|list }}",
    "{{ [vars]|map(attribute='__class__')|first }}",
    "{{ '{0.__class__}'.format(vars) }}",
    "{{ '{0.__class__.__mro__}'.format('') }}",
    "{{ '{0.__init__.__globals__}'.format(cycler) }}",
    "{{ '%s'|format(vars.__class__) }}",
    "{{ 'x'.format_map(vars) }}",
    "{{ ''.__class__.__base__.__subclasses__() }}",
    "{{ vars.__getitem__('code') }}",
    "{{ vars['__class__'] }}",
    "{{ env['__class__'] }}",
    "{{ ''['__class__'] }}",
    "{{ (1).__class__ }}",
    "{{ [].__class__.__base__ }}",
    "{{ {}.__class__ }}",
    "{{ ().__class__.__base__.__subclasses__() }}",
    "{{ vars.pop('code') }}",
    "{{ vars.setdefault('x', 1) }}",
    "{{ env.legal_entities.append('X') }}",
    "{{ env.legal_entities.clear() }}",
    "{% set x = env.legal_entities.__setitem__(0, 'X') %}",
    "{% import 'os' as os %}",
    "{% extends 'base' %}",
    "{% from 'x' import y %}",
    "{{ 10**10**10 }}",
    "{{ 'a' * 10**9 }}",
    "{{ [1] * 10**8 }}",
]
LEAKS = ("<class", "<function", "<module", "<built-in", "__globals__", "<bound", "<jinja2")


def outcome(text: str) -> str:
    """'refused' or the rendered value as text."""
    try:
        return repr(render_value(text, CTX))
    except (SecurityError, UndefinedError, TemplateError, LimitExceeded, OverflowError):
        return "refused"


@pytest.mark.parametrize("text", CORPUS)
def test_escape_is_refused_or_harmless(text: str) -> None:
    shown = outcome(text)
    assert not any(marker in shown for marker in LEAKS), shown
    assert CTX["vars"] == {"code": 3, "name": "Contoso"}, "the context was changed"
    assert list(CTX["env"]["legal_entities"]) == ["USMF"], "the context was changed"


@pytest.mark.parametrize("text", CORPUS[:10])
def test_escape_in_a_document_is_a_diagnostic(text: str) -> None:
    doc, _ = read(f"a: {text!r}\n".encode(), "m.yaml")
    _, problems = render_document(doc, CTX)
    for problem in problems:
        assert problem.code.startswith("DW12"), problem
        assert not any(marker in problem.message for marker in LEAKS), problem.message
