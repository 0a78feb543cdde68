"""Limits on what a template may compute: the size of every value it makes, the size of its
integers, the total work of one value and its time.

A template value is a short computed string or number, so every operation the sandbox runs
(an operator, a call, a filter, a `~`, an output) is measured twice: its result's size is
estimated from its inputs *before* it runs, so a gigabyte string is refused before it is
allocated, and measured *after*, so no filter, method or chain of them makes a value past the
limit, whichever one it is. Sizes are counted the way the value would be written out: the
characters of a string, about the digits of a number, and the items of a list or mapping with
their contents. Everything made while rendering one value is added up and bounded too (a
filter applied to every item of a list), and the time the value takes.

The estimates need to be right only within a small factor: an operation whose result can't be
much larger than its inputs is estimated by their sizes; those that multiply (a width, a
repetition count, a replacement per occurrence, an exponent) have their own estimate.

No jinja2 here (the templating module, `dwconf/templating/__init__.py`, is its only importer):
these are plain functions over values.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import ItemsView, Iterator, KeysView, Mapping, ValuesView
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

MAX_SIZE = 65_536  # characters (or items) of any value a template takes or makes
MAX_INT_BITS = 1_024  # about 308 decimal digits
MAX_RANGE = 1_000  # items of range()
MAX_WORK = 16 * MAX_SIZE  # the sizes of everything made while rendering one value
TIME_BUDGET_SECONDS = 2.0  # per value
_MAX_DEPTH = 200
_HUGE = 10**18  # stands for "larger than any limit" in estimates
# Containers measured item by item. Not "any Collection": an undefined name is one, and
# measuring it would raise the undefined-name error where `default` should catch it.
_CONTAINERS = (list, tuple, set, frozenset, range, KeysView, ValuesView, ItemsView)


class LimitExceeded(Exception):
    """A template would make a value (or do work) past one of the limits."""

    code = "DW1203"


class TooSlow(Exception):
    """A template took longer than its time budget."""

    code = "DW1204"


@dataclass
class Budget:
    """What rendering one value has used so far."""

    deadline: float
    work: int = 0
    output: int = 0

    def tick(self) -> None:
        if time.monotonic() > self.deadline:
            raise TooSlow(
                f"rendering took longer than its time budget of {TIME_BUDGET_SECONDS:g} s"
            )

    def charge(self, size: int) -> None:
        self.work += size
        if self.work > MAX_WORK:
            raise LimitExceeded(
                f"rendering made more than {MAX_WORK:,} characters of values in all"
            )


_CURRENT: ContextVar[Budget | None] = ContextVar("dwconf_render_budget", default=None)


@contextmanager
def budget() -> Iterator[Budget]:
    """The budget of one value's rendering, in force inside the block."""
    current = Budget(time.monotonic() + TIME_BUDGET_SECONDS)
    token = _CURRENT.set(current)
    try:
        yield current
    finally:
        _CURRENT.reset(token)


def _budget() -> Budget:
    """The budget in force; outside `budget()` each operation is measured on its own."""
    current = _CURRENT.get()
    return current if current is not None else Budget(time.monotonic() + TIME_BUDGET_SECONDS)


# Measuring ------------------------------------------------------------------------------------


def size_of(value: Any, cap: int = MAX_SIZE) -> int:
    """About how many characters `value` takes written out; `cap + 1` as soon as it is more.
    Iterators are not consumed (they count 0: what they yield is measured where it is made)."""
    total = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > _MAX_DEPTH:
            return cap + 1
        total += _own_size(item)
        if isinstance(item, Mapping):
            stack.extend((k, depth + 1) for k in item)
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, _CONTAINERS):
            stack.extend((v, depth + 1) for v in item)
        if total > cap:
            return cap + 1
    return total


def _own_size(item: Any) -> int:
    """The size of `item` without its contents (the separators of a container)."""
    if isinstance(item, str | bytes | bytearray):
        return len(item)
    if isinstance(item, bool) or item is None:
        return 5
    if isinstance(item, int):
        return item.bit_length() * 30103 // 100000 + 2
    if isinstance(item, float):
        return 24
    if isinstance(item, (Mapping, *_CONTAINERS)):
        try:
            return 2 + 4 * len(item)
        except OverflowError:  # a range too long to count
            return _HUGE
    return 0


def _sizes(*values: Any) -> int:
    return sum(size_of(v) for v in values)


def _refuse_size(size: int, what: str) -> None:
    if size > MAX_SIZE:
        measured = MAX_SIZE + 1 < size < _HUGE  # size_of stops counting past the limit
        shown = f"about {size:,}" if measured else f"more than {MAX_SIZE:,}"
        raise LimitExceeded(
            f"{what}: a value of {shown} characters; values are limited to {MAX_SIZE:,}"
        )


def made(value: Any, what: str = "the template") -> Any:
    """`value` once measured: refused past the size limits, charged to the budget."""
    current = _budget()
    current.tick()
    if isinstance(value, int) and value.bit_length() > MAX_INT_BITS:
        raise LimitExceeded(
            f"{what} would make a {value.bit_length():,}-bit number; numbers are limited to "
            f"{MAX_INT_BITS:,} bits"
        )
    size = size_of(value)
    _refuse_size(size, what)
    current.charge(size)
    return value


def tick() -> None:
    """A check of the time budget, for operations that make nothing (attribute reads)."""
    _budget().tick()


def output(piece: str) -> None:
    """One piece of a template's output: the whole output is a value too (each piece was
    measured and charged when it was made)."""
    current = _budget()
    current.output += len(piece)
    _refuse_size(current.output, "the template's output")


# Estimates before an operation ----------------------------------------------------------------


def before_binop(operator: str, left: Any, right: Any) -> None:
    """Refuse an operator whose result would pass a limit, before it is computed."""
    _budget().tick()
    if operator == "**":
        _power(left, right)
    elif operator == "*":
        _repeat(left, right)
        _repeat(right, left)
    elif operator == "%" and isinstance(left, str | bytes):
        _refuse_size(printf_size(left, right), "this % formatting")
        return
    _refuse_size(_sizes(left, right), f"'{operator}'")


def _power(base: Any, exponent: Any) -> None:
    if not (isinstance(base, int) and isinstance(exponent, int)) or exponent < 0:
        return  # floats overflow on their own, quickly; a negative exponent makes a float
    bits = math.log2(abs(base)) * exponent if abs(base) > 1 else 0
    if bits > MAX_INT_BITS:
        raise LimitExceeded(
            f"'**' would make a number of about {bits:,.0f} bits; numbers are limited to "
            f"{MAX_INT_BITS:,} bits"
        )


def _repeat(sequence: Any, times: Any) -> None:
    if isinstance(times, int) and isinstance(sequence, str | bytes | list | tuple):
        _refuse_size(size_of(sequence, _HUGE) * max(times, 0), "'*' repetition")


_PRINTF = re.compile(
    r"%(?:\([^)]*\))?[-#0 +]*(?P<width>\*|\d+)?(?:\.(?P<precision>\*|\d*))?[hlL]?[a-zA-Z%]"
)


def printf_size(template: str | bytes, arguments: Any) -> int:
    """The most a printf-style formatting can make: the template, the arguments and every
    width and precision it asks for."""
    text = template.decode("latin-1") if isinstance(template, bytes) else template
    size = len(text) + size_of(arguments)
    for match in _PRINTF.finditer(text):
        for part in (match["width"], match["precision"]):
            if part == "*":
                raise LimitExceeded("'*' widths in % formatting are not supported in values")
            size += _number(part or "0")
    return size


def _number(digits: str) -> int:
    return int(digits) if len(digits) <= 18 else _HUGE


def format_field(spec: str, made_so_far: int, value: Any) -> int:
    """Before one `{…}` field of str.format is formatted: the size made so far plus this
    field's, refused past the limit (a width or precision counts as its size)."""
    _budget().tick()
    widths = [_number(d) for d in re.findall(r"\d+", spec)]
    total = made_so_far + max([size_of(value), *widths])
    _refuse_size(total, "this format()")
    return total


def before_concat(pieces: tuple[Any, ...]) -> None:
    _budget().tick()
    _refuse_size(_sizes(*pieces), "'~'")


def before_call(function: Any, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> None:
    """Refuse a call whose result would pass a limit: a method of a string, bytes or number
    that multiplies (by a width, a tab size, a replacement, a join), or any call whose inputs
    are already past it."""
    _budget().tick()
    owner = getattr(function, "__self__", None)
    name = getattr(function, "__name__", "")
    estimate = _METHODS.get(name) if isinstance(owner, str | bytes | int) else None
    inputs = _sizes(*args, *kwargs.values()) + (size_of(owner) if owner is not None else 0)
    size = estimate(owner, args, kwargs) if estimate is not None else inputs
    _refuse_size(size, f"{name or 'this call'}()")


def _arg(args: tuple[Any, ...], kwargs: Mapping[str, Any], at: int, name: str, default: Any) -> Any:
    if len(args) > at:
        return args[at]
    return kwargs.get(name, default)


def _width(owner: Any, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> int:
    width = _arg(args, kwargs, 0, "width", 0)
    return size_of(owner) + (width if isinstance(width, int) else 0)


def _tabs(owner: Any, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> int:
    tab_size = _arg(args, kwargs, 0, "tabsize", 8)
    tabs: int = owner.count("\t" if isinstance(owner, str) else b"\t")
    return len(owner) + tabs * (tab_size if isinstance(tab_size, int) else 0)


def _replace(owner: Any, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> int:
    old, new = _arg(args, kwargs, 0, "old", ""), _arg(args, kwargs, 1, "new", "")
    count = _arg(args, kwargs, 2, "count", -1)
    return replaced_size(owner, old, new, count)


def replaced_size(text: Any, old: Any, new: Any, count: Any) -> int:
    """The length of `text.replace(old, new, count)` (the filter's `str()` of each), without
    making it."""
    text, old, new = _as_text(text), _as_text(old), _as_text(new)
    if text is None or old is None or new is None:
        return _HUGE
    if type(old) is not type(text):
        return len(text)  # str.replace refuses to mix str and bytes
    found = text.count(old) if old else len(text) + 1
    if isinstance(count, int) and count >= 0:
        found = min(found, count)
    return len(text) + found * max(len(new) - len(old), 0)


def _as_text(value: Any) -> str | bytes | None:
    """`value` as the text a filter makes of it; None when that would be past the limit."""
    if isinstance(value, str | bytes):
        return value
    return str(value) if size_of(value) <= MAX_SIZE else None


def _join(owner: Any, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> int:
    items = _arg(args, kwargs, 0, "iterable", ())
    return joined_size(items, owner)


def joined_size(items: Any, separator: Any) -> int:
    """The length of `separator.join(items)` (templating makes a list of an iterator first)."""
    if not isinstance(items, (str, Mapping, *_CONTAINERS)):
        return size_of(items)  # not joinable: the join raises its own error
    return size_of(items) + size_of(separator) * len(items)


def _translate(owner: Any, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> int:
    table = _arg(args, kwargs, 0, "table", None)
    values = table.values() if isinstance(table, Mapping) else table
    measured = isinstance(values, (str, *_CONTAINERS))
    longest = max((size_of(v) for v in values), default=1) if measured else _HUGE
    return len(owner) * max(longest, 1)


def _to_bytes(owner: Any, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> int:
    length = _arg(args, kwargs, 0, "length", 1)
    return length if isinstance(length, int) else 0


_METHODS = {
    "center": _width,
    "ljust": _width,
    "rjust": _width,
    "zfill": _width,
    "expandtabs": _tabs,
    "replace": _replace,
    "join": _join,
    "translate": _translate,
    "to_bytes": _to_bytes,
}


def before_filter(name: str, arguments: Mapping[str, Any]) -> None:
    """Refuse a filter whose result would pass a limit; `arguments` are bound to the names of
    the filter's parameters (`value` or `s` first)."""
    _budget().tick()
    estimate = _FILTERS.get(name)
    size = estimate(arguments) if estimate is not None else _sizes(*arguments.values())
    _refuse_size(size, f"the {name} filter")


def _f_center(a: Mapping[str, Any]) -> int:
    width = a.get("width", 80)
    return size_of(a.get("value")) + (width if isinstance(width, int) else 0)


def _f_indent(a: Mapping[str, Any]) -> int:
    text, width = a.get("s", ""), a.get("width", 4)
    lines = (text.count("\n") if isinstance(text, str) else size_of(text)) + 2
    per_line = width if isinstance(width, int) else size_of(width)
    return size_of(text) + lines * max(per_line, 0)


def _f_fill(count_name: str) -> Any:
    def estimate(a: Mapping[str, Any]) -> int:
        count = a.get(count_name, 0)
        count = count if isinstance(count, int) else 0
        return size_of(a.get("value")) + max(count, 0) * (4 + size_of(a.get("fill_with")))

    return estimate


def _f_tojson(a: Mapping[str, Any]) -> int:
    """json.dumps makes its indent string first, whatever the value, then writes it once per
    level on every line."""
    indent = a.get("indent")
    per_level = max(indent if isinstance(indent, int) else size_of(indent), 0)
    value = a.get("value")
    return per_level + size_of(value) * (2 + per_level * min(_depth(value), 64))


def _depth(value: Any, level: int = 0) -> int:
    if level > _MAX_DEPTH:
        return level
    if isinstance(value, Mapping):
        value = value.values()
    if isinstance(value, _CONTAINERS):
        return max((_depth(v, level + 1) for v in value), default=level + 1)
    return level


def _f_format(a: Mapping[str, Any]) -> int:
    template = a.get("value", "")
    rest = (a.get("args", ()), a.get("kwargs", {}))
    return printf_size(template, rest) if isinstance(template, str) else size_of((template, rest))


def _f_join(a: Mapping[str, Any]) -> int:
    return joined_size(a.get("value", ()), a.get("d", ""))


def _f_replace(a: Mapping[str, Any]) -> int:
    return replaced_size(a.get("s", ""), a.get("old"), a.get("new"), a.get("count"))


def _f_wordwrap(a: Mapping[str, Any]) -> int:
    text, width = a.get("s", ""), a.get("width", 79)
    if not isinstance(text, str):
        return size_of(text)
    lines = len(text) // max(width if isinstance(width, int) else 1, 1) + text.count(" ") + 1
    return len(text) + lines * (size_of(a.get("wrapstring")) + 1)


def _f_urlize(a: Mapping[str, Any]) -> int:
    text = a.get("value", "")
    if not isinstance(text, str):
        return size_of(text)
    per_link = 80 + size_of(a.get("target")) + size_of(a.get("rel"))
    return 2 * len(text) + (text.count(" ") + 1) * per_link


_FILTERS = {
    "center": _f_center,
    "indent": _f_indent,
    "batch": _f_fill("linecount"),
    "slice": _f_fill("slices"),
    "tojson": _f_tojson,
    "format": _f_format,
    "join": _f_join,
    "replace": _f_replace,
    "wordwrap": _f_wordwrap,
    "urlize": _f_urlize,
}


def limited_range(*args: int) -> range:
    """range() for templates: at most MAX_RANGE items."""
    try:
        values = range(*args)
        length = len(values)
    except OverflowError:
        length = _HUGE
    if length > MAX_RANGE:
        raise LimitExceeded(f"range() is limited to {MAX_RANGE:,} items in values")
    return values
