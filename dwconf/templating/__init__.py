"""Templating: Jinja2 expressions in string values, rendered per environment.

The only module that imports jinja2. Rendering happens after YAML parsing, value by value, so
line numbers stay true and a template can never inject YAML. The environment is sandboxed and
immutable, undefined names are errors, and statements that loop, recurse or reach other files are
refused. Every operation a template runs — operators, calls, filters, `~`, output — goes through
the limits of `dwconf.templating.limits` (the size of what it makes, integers, total work, time),
so a value can only compute, never run away.
"""

from __future__ import annotations

import copy
import functools
import inspect
import re
from collections.abc import Callable, Collection, Mapping
from typing import Any

from jinja2 import StrictUndefined, TemplateError, nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.exceptions import SecurityError, UndefinedError
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment, SandboxedFormatter
from markupsafe import EscapeFormatter, Markup

from dwconf.diagnostics import Diagnostic, error
from dwconf.templating import limits
from dwconf.yaml import Document, YamlPath

MAX_RANGE = limits.MAX_RANGE
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


class _CodeGenerator(CodeGenerator):
    """Jinja's code generator, except that `a ~ b` is measured like every other operation."""

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        self.write("environment.concat_checked((")
        for arg in node.nodes:
            self.visit(arg, frame)
            self.write(", ")
        self.write("))")


class _Formatter(SandboxedFormatter):
    """str.format for templates: each field's width and the total are measured first."""

    def __init__(self, env: _Sandbox, **kwargs: Any) -> None:
        super().__init__(env, **kwargs)  # EscapeFormatter takes `escape` (cooperatively)
        self._made = 0

    def format_field(self, value: Any, format_spec: str) -> Any:
        self._made = limits.format_field(format_spec, self._made, value)
        return super().format_field(value, format_spec)


class _EscapeFormatter(_Formatter, EscapeFormatter):
    """The same for a Markup string (what `tojson` or `safe` make)."""


class _Sandbox(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset(["+", "-", "*", "/", "//", "%", "**"])
    code_generator_class = _CodeGenerator

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        limits.before_binop(operator, left, right)
        return limits.made(super().call_binop(context, operator, left, right), f"'{operator}'")

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        if getattr(__obj, "__name__", "") == "join":  # measure what an iterator yields first
            args = tuple(_listed(a) for a in args)
        limits.before_call(__obj, args, kwargs)
        return limits.made(super().call(__context, __obj, *args, **kwargs), "this call")

    def getattr(self, obj: Any, attribute: str) -> Any:
        limits.tick()
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        limits.tick()
        return super().getitem(obj, argument)

    def wrap_str_format(self, value: Any) -> Callable[..., Any] | None:
        """str.format and format_map through `_Formatter` (Jinja's own wrapper, with the
        field widths measured)."""
        if super().wrap_str_format(value) is None:
            return None
        text = value.__self__
        markup = isinstance(text, Markup)
        formatter = _EscapeFormatter(self, escape=text.escape) if markup else _Formatter(self)
        is_map = value.__name__ == "format_map"

        def bounded(*args: Any, **kwargs: Any) -> Any:
            if is_map:
                if kwargs or len(args) != 1:
                    raise TypeError("format_map() takes exactly one argument")
                kwargs = dict(args[0])
                args = ()
            return type(text)(formatter.vformat(text, args, kwargs))

        return functools.update_wrapper(bounded, value)

    def concat_checked(self, pieces: tuple[Any, ...]) -> str:
        limits.before_concat(pieces)
        return str(limits.made("".join(str(p) for p in pieces), "'~'"))


def _listed(value: Any) -> Any:
    """An iterator as a list, so that what it holds can be measured; anything else as is."""
    if isinstance(value, Collection):
        return value
    return list(value) if hasattr(value, "__next__") else value


_PASSED = frozenset(["context", "eval_ctx", "environment", "env"])


def _bounded_filter(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    """`function` with its result estimated before and measured after it runs.

    A filter Jinja passes a context or environment to (`jinja_pass_arg`, which `wraps` copies)
    gets it first; it is left out of what is measured. The parameters are those of the
    function the filter wraps (`inspect.signature` follows `__wrapped__`), without the passed
    one when that function names it.
    """
    passes = hasattr(function, "jinja_pass_arg")
    signature = inspect.signature(function)
    parameters = list(signature.parameters.values())
    if passes and parameters and parameters[0].name in _PASSED:
        signature = signature.replace(parameters=parameters[1:])

    @functools.wraps(function)
    def bounded(*args: Any, **kwargs: Any) -> Any:
        passed, rest = (args[:1], args[1:]) if passes else ((), args)
        try:
            bound = signature.bind(*rest, **kwargs)
        except TypeError:
            return function(*args, **kwargs)  # raises the filter's own error
        if name == "join" and "value" in bound.arguments:
            bound.arguments["value"] = _listed(bound.arguments["value"])
        limits.before_filter(name, bound.arguments)
        result = function(*passed, *bound.args, **bound.kwargs)
        return limits.made(result, f"the {name} filter")

    return bounded


def _finalize(value: Any) -> Any:
    """Every `{{ … }}` of a template's output (also inside `{% set %}…{% endset %}`)."""
    limits.made(value, "this output")
    return value


def _environment() -> _Sandbox:
    env = _Sandbox(
        undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True, finalize=_finalize
    )
    env.globals = {"range": limits.limited_range}
    env.filters = {name: _bounded_filter(name, f) for name, f in env.filters.items()}
    return env


_ENV = _environment()


def context_for(
    name: str, stage: str, legal_entities: list[str], variables: Mapping[str, Any]
) -> dict[str, Any]:
    """The template context of one environment: `env` and `vars`."""
    env = {"name": name, "stage": stage, "legal_entities": list(legal_entities), "vars": variables}
    return {"env": env, "vars": variables}


def render_value(text: str, context: Mapping[str, Any]) -> Any:
    """Render one string; a value that is exactly one expression keeps its native type.
    Past a limit, a `limits.LimitExceeded` or `TooSlow`."""
    with limits.budget():
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
            return limits.made(value, "the template")
        pieces = []
        for piece in _ENV.from_string(parsed).generate(**context):
            limits.output(piece)
            pieces.append(piece)
        return "".join(pieces)


def _set(data: Any, path: YamlPath, value: Any) -> Any:
    """`data` with the value at `path` replaced, copying only the containers along the path."""
    if not path:
        return value
    head, rest = path[0], path[1:]
    shallow = copy.copy(data)
    shallow[head] = _set(data[head], rest, value)
    return shallow


_LIMIT_HINTS = {
    "DW1203": "templates compute short values; write long text in the YAML itself",
    "DW1204": "simplify the expression; templates compute short values",
}


def _problem(exc: Exception, doc: Document, path: YamlPath) -> Diagnostic:
    """The diagnostic for a value that did not render."""
    span = doc.span(path)
    if isinstance(exc, limits.LimitExceeded | limits.TooSlow):
        return error(exc.code, f"template refused: {exc}", span, _LIMIT_HINTS[exc.code])
    if isinstance(exc, SecurityError):
        hint = "values may use expressions, filters and if/set only"
        return error("DW1202", f"template refused: {exc}", span, hint)
    if isinstance(exc, UndefinedError):
        hint = "define it under the environment's vars:, or fix the name"
        return error("DW1201", f"template error: {exc.message}", span, hint)
    message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    return error("DW1201", f"template error: {message}", span, "fix the expression")


_RENDER_ERRORS = (
    limits.LimitExceeded,
    limits.TooSlow,
    TemplateError,
    RecursionError,
    ArithmeticError,
    TypeError,
    ValueError,
    AttributeError,  # a filter given a value of the wrong type: `[1]|wordwrap`
    LookupError,
)


def render_document(doc: Document, context: Mapping[str, Any]) -> tuple[Any, list[Diagnostic]]:
    """The document's data with every templated string rendered; errors at each value."""
    data = doc.data
    problems: list[Diagnostic] = []
    for path in doc.templates:
        try:
            value = render_value(doc.get(path), context)
        except _RENDER_ERRORS as exc:
            problems.append(_problem(exc, doc, path))
            continue
        data = _set(data, path, value)
    return data, problems
