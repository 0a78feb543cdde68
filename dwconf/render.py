"""Templating: Jinja2 expressions in string values, rendered per environment.

The only module that imports jinja2. Rendering happens after YAML parsing, value by value, so
line numbers stay true and a template can never inject YAML. The environment is sandboxed and
immutable, undefined names are errors, and statements that loop, recurse or reach other files are
refused, so a value can only compute, never run away.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from typing import Any

from jinja2 import StrictUndefined, TemplateError, nodes
from jinja2.exceptions import SecurityError, UndefinedError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from dwconf.diagnostics import Diagnostic, error
from dwconf.load.yaml12 import Document, Path

MAX_RANGE = 1000
MAX_REPEAT = 10_000
_ONE_EXPRESSION = re.compile(r"^\s*\{\{(?P<expr>(?:(?!\{\{|\}\}).)*)\}\}\s*$", re.DOTALL)
_REFUSED_NODES = (
    nodes.For,
    nodes.Macro,
    nodes.CallBlock,
    nodes.Include,
    nodes.Import,
    nodes.FromImport,
    nodes.Extends,
    nodes.Block,
    nodes.FilterBlock,
)


def _limited_range(*args: int) -> range:
    values = range(*args)
    if len(values) > MAX_RANGE:
        raise SecurityError(f"range() is limited to {MAX_RANGE} items in dwconf values")
    return values


class _Sandbox(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset(["*", "**"])

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "**" and isinstance(right, int) and abs(right) > 64:
            raise SecurityError("exponents above 64 are refused in dwconf values")
        if operator == "*":
            sized, times = (left, right) if isinstance(right, int) else (right, left)
            repeats = isinstance(times, int) and isinstance(sized, str | list | tuple)
            if repeats and len(sized) * times > MAX_REPEAT:
                raise SecurityError("repetition beyond 10,000 items is refused")
        return super().call_binop(context, operator, left, right)


def _environment() -> _Sandbox:
    env = _Sandbox(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)
    env.globals = {"range": _limited_range}
    return env


_ENV = _environment()


def context_for(
    name: str, stage: str, legal_entities: list[str], variables: Mapping[str, Any]
) -> dict[str, Any]:
    """The template context of one environment: `env` and `vars`."""
    env = {"name": name, "stage": stage, "legal_entities": list(legal_entities), "vars": variables}
    return {"env": env, "vars": variables}


def render_value(text: str, context: Mapping[str, Any]) -> Any:
    """Render one string; a value that is exactly one expression keeps its native type."""
    parsed = _ENV.parse(text)
    for node in parsed.find_all(_REFUSED_NODES):
        kind = type(node).__name__.lower()
        raise SecurityError(f"'{kind}' statements are not allowed in values")
    whole = _ONE_EXPRESSION.match(text)
    if whole:
        expression = _ENV.compile_expression(whole.group("expr"), undefined_to_none=False)
        value = expression(**context)
        if isinstance(value, StrictUndefined):
            str(value)  # raises UndefinedError with the name
        return value
    return _ENV.from_string(parsed).render(**context)


def _set(data: Any, path: Path, value: Any) -> Any:
    """`data` with the value at `path` replaced, copying only the containers along the path."""
    if not path:
        return value
    head, rest = path[0], path[1:]
    shallow = copy.copy(data)
    shallow[head] = _set(data[head], rest, value)
    return shallow


def render_document(doc: Document, context: Mapping[str, Any]) -> tuple[Any, list[Diagnostic]]:
    """The document's data with every templated string rendered; errors at each value."""
    data = doc.data
    problems: list[Diagnostic] = []
    for path in doc.templates:
        try:
            value = render_value(doc.get(path), context)
        except SecurityError as exc:
            problems.append(
                error(
                    "DW1202",
                    f"template refused: {exc}",
                    doc.span(path),
                    "values may use expressions, filters and if/set only",
                )
            )
            continue
        except UndefinedError as exc:
            problems.append(
                error(
                    "DW1201",
                    f"template error: {exc.message}",
                    doc.span(path),
                    "define it under the environment's vars:, or fix the name",
                )
            )
            continue
        except (TemplateError, RecursionError, ArithmeticError, TypeError, ValueError) as exc:
            message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
            problems.append(
                error("DW1201", f"template error: {message}", doc.span(path), "fix the expression")
            )
            continue
        data = _set(data, path, value)
    return data, problems
