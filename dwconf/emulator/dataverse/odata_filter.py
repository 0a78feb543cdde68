"""A small `$filter` evaluator: comparisons (`eq ne gt ge lt le`), `contains`, `startswith`,
`endswith`, `and`, `or`, `not` and parentheses over string, number, boolean, null and GUID
literals — the forms live-api.md §6.2 lists. String comparison ignores case, as Dataverse's
collation does. Anything else is a `QueryError` (400).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from typing import Any

Row = dict[str, Any]
Predicate = Callable[[Row], bool]

_TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<guid>[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
    r"[0-9a-fA-F]{4}-[0-9a-fA-F]{12})|(?P<num>-?\d+(?:\.\d+)?)|(?P<word>[A-Za-z_][\w/.]*)"
    r"|(?P<punct>[(),]))"
)
_COMPARE = {"eq", "ne", "gt", "ge", "lt", "le"}
_FUNCTIONS = {"contains", "startswith", "endswith"}


class QueryError(ValueError):
    """A query option the emulator can't evaluate."""


def _tokens(text: str) -> list[tuple[str, Any]]:
    found: list[tuple[str, Any]] = []
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            if text[position:].strip():
                raise QueryError(f"Syntax error at position {position} in '{text}'.")
            break
        position = match.end()
        kind = match.lastgroup or ""
        value = match.group(kind)
        if kind == "str":
            found.append(("lit", value[1:-1].replace("''", "'")))
        elif kind == "guid":
            found.append(("lit", value.lower()))
        elif kind == "num":
            found.append(("lit", float(value) if "." in value else int(value)))
        elif kind == "word" and value in ("true", "false", "null"):
            found.append(("lit", {"true": True, "false": False, "null": None}[value]))
        else:
            found.append((kind, value))
    return found


def _fold(value: Any) -> Any:
    return value.casefold() if isinstance(value, str) else value


def _compare(op: str, left: Any, right: Any) -> bool:
    left, right = _fold(left), _fold(right)
    if op == "eq":
        return bool(left == right)
    if op == "ne":
        return bool(left != right)
    if left is None or right is None:
        return False
    try:
        checks: dict[str, Callable[[], bool]] = {
            "gt": lambda: bool(left > right),
            "ge": lambda: bool(left >= right),
            "lt": lambda: bool(left < right),
            "le": lambda: bool(left <= right),
        }
        return checks[op]()
    except TypeError:
        return False


def _either(a: Predicate, b: Predicate) -> Predicate:
    return lambda row: a(row) or b(row)


def _both(a: Predicate, b: Predicate) -> Predicate:
    return lambda row: a(row) and b(row)


class _Parser:
    def __init__(self, text: str, columns: Collection[str], entity: str) -> None:
        self.tokens = _tokens(text)
        self.position = 0
        self.columns = columns
        self.entity = entity

    def peek(self) -> tuple[str, Any] | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def take(self) -> tuple[str, Any]:
        token = self.peek()
        if token is None:
            raise QueryError("The $filter ends too early.")
        self.position += 1
        return token

    def expect(self, kind: str, value: Any = None) -> Any:
        token = self.take()
        if token[0] != kind or (value is not None and token[1] != value):
            raise QueryError(f"Syntax error in $filter near '{token[1]}'.")
        return token[1]

    def keyword(self, word: str) -> bool:
        token = self.peek()
        if token is not None and token == ("word", word):
            self.position += 1
            return True
        return False

    def column(self, name: str) -> str:
        if name not in self.columns:
            raise QueryError(
                f"Could not find a property named '{name}' on type "
                f"'Microsoft.Dynamics.CRM.{self.entity}'."
            )
        return name

    def parse(self) -> Predicate:
        predicate = self.disjunction()
        if self.peek() is not None:
            raise QueryError(f"Syntax error in $filter near '{self.take()[1]}'.")
        return predicate

    def disjunction(self) -> Predicate:
        left = self.conjunction()
        while self.keyword("or"):
            left = _either(left, self.conjunction())
        return left

    def conjunction(self) -> Predicate:
        left = self.unary()
        while self.keyword("and"):
            left = _both(left, self.unary())
        return left

    def unary(self) -> Predicate:
        if self.keyword("not"):
            inner = self.unary()
            return lambda row: not inner(row)
        if self.peek() == ("punct", "("):
            self.take()
            inner = self.disjunction()
            self.expect("punct", ")")
            return inner
        return self.comparison()

    def comparison(self) -> Predicate:
        name = self.expect("word")
        if name in _FUNCTIONS:
            return self.function(name)
        column = self.column(name)
        op = self.expect("word")
        if op not in _COMPARE:
            raise QueryError(f"The operator '{op}' is not supported in $filter.")
        value = self.expect("lit")
        return lambda row: _compare(op, row.get(column), value)

    def function(self, name: str) -> Predicate:
        self.expect("punct", "(")
        column = self.column(self.expect("word"))
        self.expect("punct", ",")
        value = _fold(self.expect("lit"))
        self.expect("punct", ")")
        if not isinstance(value, str):
            raise QueryError(f"{name}() needs a string.")

        def test(row: Row) -> bool:
            text = _fold(row.get(column))
            if not isinstance(text, str):
                return False
            if name == "contains":
                return value in text
            return text.startswith(value) if name == "startswith" else text.endswith(value)

        return test


def compile_filter(text: str, columns: Collection[str], entity: str) -> Predicate:
    """A predicate over rows for `$filter=text`; columns are the names the set has."""
    return _Parser(text, columns, entity).parse()
