r"""Parsers for the two filter languages of a dual-write table map.

A map has up to two filters: `filters.finops`, an X++ query-range expression that F&O evaluates,
and `filters.dataverse`, an OData v4 `$filter` expression that Dataverse evaluates. Each language
has a small hand-written tokenizer; both feed one recursive-descent parser, so that validation
can point at the exact character of a mistake and name every column a filter uses, and so that
`canonical` can tell a cosmetic edit from a real one in the plan diff. Nothing here raises: a
parse returns a `ParsedFilter` or a `FilterError` whose offset is the offending character (the
`(` of an unclosed group, the quote of an unterminated string, `len(text)` for a missing operand
at the end). Nesting is capped at `MAX_DEPTH` so no input can exhaust the stack.

Grammar (both languages; only the spellings differ):

    filter     := or
    or         := and (OR and)*
    and        := term (AND term)*
    term       := NOT negated | comparison
    negated    := NOT negated | primary        NOT binds tighter than a comparison
    comparison := primary (CMP primary)?       no chains such as `a eq 1 eq 2`
    primary    := '(' or ')' | column | literal | function '(' column ',' string ')'

A value alone (`3`, `'x'`) is not a condition; a column alone is (a boolean column).

X++ (F&O): `||`, `&&`, `!`; comparisons `== = != < <= > >= like` (`=` is equality, as some
templates write it); `like` takes a quoted pattern. Literals: "double" or 'single' quoted strings
(a backslash escapes the next character), numbers with an optional sign, `true`/`false`,
`Enum::Value`, dates `dd\mm\yyyy`. Keywords and names are case-insensitive. Range-value habits
accepted from the Dual-write UI: outer parentheses may be left out, `=` for `==`, single quotes.
Rejected with a hint, because a map filter has no range field to apply them to: value lists
(`"A", "B"`), ranges (`1..10`) and SQL/OData words (`and`, `<>`, `eq`).

OData (Dataverse): `or`, `and`, `not`; comparisons `eq ne gt ge lt le`; functions `contains`,
`startswith`, `endswith` (a column and a quoted string). Literals: 'single' quoted strings with
'' escaping, numbers, `true false null`, bare GUIDs, dates `2021-06-23` and date-times with a zone
`2021-06-23T10:00:00Z`. Keywords are lowercase, as OData requires. Paths (`a/b`) are refused:
filters cannot use nested lookups. A lookup-value column `_x_value` is reported as column `x`.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TypeAlias, assert_never

MAX_DEPTH = 50  # parentheses and negations; real filters nest a handful of levels


class Dialect(enum.Enum):
    """Which side of the map a filter belongs to; the value is its key under `filters`."""

    FINOPS = "finops"
    DATAVERSE = "dataverse"


class LiteralKind(enum.Enum):
    STRING = "string"
    NUMBER = "number"
    BOOLEAN = "boolean"
    NULL = "null"
    GUID = "guid"
    DATE = "date"
    DATETIME = "datetime"
    ENUM = "enum"


@dataclass(frozen=True)
class Field:
    name: str  # as written
    offset: int


@dataclass(frozen=True)
class Literal:
    kind: LiteralKind
    text: str  # canonical spelling in the filter's language
    offset: int


@dataclass(frozen=True)
class Call:
    function: str
    column: Field
    argument: Literal


@dataclass(frozen=True)
class Compare:
    op: str  # eq ne lt le gt ge like
    left: Node
    right: Node


@dataclass(frozen=True)
class Not:
    operand: Node


@dataclass(frozen=True)
class BoolOp:
    op: str  # and, or; nested runs of the same operator are flattened
    operands: tuple[Node, ...]


Node: TypeAlias = Field | Literal | Call | Compare | Not | BoolOp


@dataclass(frozen=True)
class FieldRef:
    name: str  # X++: as written; OData: the column (`_x_value` -> `x`)
    offset: int  # text[offset:offset + len(name)] == name


@dataclass(frozen=True)
class FilterError:
    message: str
    offset: int


@dataclass(frozen=True)
class ParsedFilter:
    fields: tuple[FieldRef, ...]
    expression: Node
    dialect: Dialect


def parse_xpp(text: str) -> ParsedFilter | FilterError:
    """Parse an F&O (X++ query-range) filter."""
    return _parse(text, _XPP)


def parse_odata(text: str) -> ParsedFilter | FilterError:
    """Parse a Dataverse (OData `$filter`) filter."""
    return _parse(text, _ODATA)


def canonical(parsed: ParsedFilter) -> str:
    """A comparison key: equal for filters that differ only in spacing, parentheses or spelling.

    It parses back to itself. X++ comes out fully parenthesised with `==`, double quotes and
    lowercase names (F&O names are case-insensitive); OData with the fewest parentheses and its
    names as written (Dataverse names are case-sensitive). String values keep their case.
    """
    if parsed.dialect is Dialect.FINOPS:
        return _xpp_top(parsed.expression)
    return _odata_text(parsed.expression, 0)


# --- tokens ---------------------------------------------------------------------------------


class _Kind(enum.Enum):
    LPAREN = "("
    RPAREN = ")"
    COMMA = ","
    OP = "operator"
    NAME = "name"
    LITERAL = "literal"
    END = "end"


@dataclass(frozen=True)
class _Token:
    kind: _Kind
    text: str  # as written
    offset: int
    value: str = ""  # OP: normalized operator; LITERAL: canonical spelling
    literal: LiteralKind = LiteralKind.STRING

    def is_op(self, *names: str) -> bool:
        return self.kind is _Kind.OP and self.value in names


class _Fail(Exception):
    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.message = message
        self.offset = offset


_COMPARISONS = ("eq", "ne", "lt", "le", "gt", "ge", "like")
_PUNCTUATION = {"(": _Kind.LPAREN, ")": _Kind.RPAREN, ",": _Kind.COMMA}
_OPERAND_START = (_Kind.NAME, _Kind.LITERAL, _Kind.LPAREN)
_OPERATOR_RUN = re.compile(r"[=!<>&|]{1,4}")  # bounded: a run of 10,000 `!` stays linear
_VALUE_START = re.compile(r"[+-]?[0-9]")
_VALUE_RUN = re.compile(r"[A-Za-z0-9_.:\\+-]+")
_CONTINUES = re.compile(r"[A-Za-z0-9_.:\\+-]")
_NUMBER = re.compile(r"[+-]?[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")

_OPERATOR_SUGGESTIONS = {"=>": ">=", "=<": "<=", "<>": "!=", "===": "==", "!==": "!=", "=!": "!="}
_OPERATOR_SUGGESTIONS |= {"&": "&&", "|": "||"}

_Scanner: TypeAlias = Callable[[str, int], _Token]
_Normalizer: TypeAlias = Callable[[re.Match[str]], str]
_ValuePattern: TypeAlias = tuple[LiteralKind, re.Pattern[str], _Normalizer]


def _tokens(text: str, scan: _Scanner) -> Iterator[_Token]:
    pos = 0
    while True:
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos == len(text):
            yield _Token(_Kind.END, "", pos)
            continue
        token = scan(text, pos)
        yield token
        pos = token.offset + len(token.text)


def _scan_value(
    text: str, pos: int, patterns: tuple[_ValuePattern, ...], hints: tuple[tuple[str, str], ...]
) -> _Token:
    """A number, date or GUID at `pos`, or a clear error for a malformed one."""
    for kind, pattern, normalize in patterns:
        match = pattern.match(text, pos)
        if match and not _CONTINUES.match(text, match.end()):
            try:
                return _Token(_Kind.LITERAL, match.group(), pos, normalize(match), kind)
            except ValueError:
                raise _Fail(f"invalid {kind.value} {_show(match.group())}", pos) from None
    run = _VALUE_RUN.match(text, pos)
    bad = run.group() if run else text[pos]
    hint = next((hint for marker, hint in hints if marker in bad), "")
    raise _Fail(f"malformed value {_show(bad)}{hint}", pos)


def _number(match: re.Match[str]) -> str:
    return match.group().lstrip("+").lower()


def _operator(text: str, pos: int, known: dict[str, str]) -> tuple[str, str | None]:
    """The operator run at `pos`: (as written, normalized name or None when unknown)."""
    match = _OPERATOR_RUN.match(text, pos)
    run = match.group() if match else text[pos]
    if run in known or run in _OPERATOR_SUGGESTIONS:
        return run, known.get(run)
    head = run.rstrip("!")  # `&&!x`: a known operator followed by negations
    if head in known:
        return head, known[head]
    if not head:
        return "!", known.get("!")
    return run, None


def _unknown_operator(run: str, suggestion: str | None, pos: int) -> _Fail:
    hint = f"; did you mean {suggestion!r}?" if suggestion else ""
    return _Fail(f"unknown operator {_show(run)}{hint}", pos)


def _show(text: str) -> str:
    """User text quoted for a message; long text is cut, invisible characters are escaped."""
    if len(text) > 40:
        text = text[:37] + "..."
    if not text.isprintable():
        return repr(text)
    quote = '"' if "'" in text else "'"
    return f"{quote}{text}{quote}"


def _followed_by(text: str, pos: int, char: str) -> bool:
    while pos < len(text) and text[pos].isspace():
        pos += 1
    return text.startswith(char, pos)


# --- X++ tokens -----------------------------------------------------------------------------

_XPP_OPERATORS = {"==": "eq", "=": "eq", "!=": "ne", "<": "lt", "<=": "le", ">": "gt"}
_XPP_OPERATORS |= {">=": "ge", "&&": "and", "||": "or", "!": "not"}
_XPP_FOREIGN_WORDS = {"and": "&&", "or": "||", "not": "!", "eq": "==", "ne": "!="}
_XPP_FOREIGN_WORDS |= {"lt": "<", "le": "<=", "gt": ">", "ge": ">="}
_XPP_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_XPP_ENUM_SEPARATOR = re.compile(r"\s*::\s*")
_XPP_DATE = re.compile(r"([0-9]{1,2})\\([0-9]{1,2})\\([0-9]{4})")


def _xpp_date(match: re.Match[str]) -> str:
    day, month, year = (int(part) for part in match.groups())
    dt.date(year, month, day)  # raises ValueError for 31\02\2021
    return f"{day:02}\\{month:02}\\{year:04}"


_XPP_VALUES: tuple[_ValuePattern, ...] = (
    (LiteralKind.DATE, _XPP_DATE, _xpp_date),
    (LiteralKind.NUMBER, _NUMBER, _number),
)

_XPP_DATE_HINT = " (dates are written dd\\mm\\yyyy)"
_XPP_VALUE_HINTS = (("\\", _XPP_DATE_HINT), ("-", _XPP_DATE_HINT))


def _scan_xpp(text: str, pos: int) -> _Token:
    char = text[pos]
    if char == ",":
        raise _Fail("value lists are not supported; write (A == x) || (A == y)", pos)
    if char in _PUNCTUATION:
        return _Token(_PUNCTUATION[char], char, pos)
    if char in "\"'":
        return _xpp_string(text, pos)
    if _OPERATOR_RUN.match(char):
        return _xpp_operator(text, pos)
    if _VALUE_START.match(text, pos):
        return _scan_value(text, pos, _XPP_VALUES, _XPP_VALUE_HINTS)
    if name := _XPP_NAME.match(text, pos):
        return _xpp_word(text, name)
    raise _Fail(f"unexpected character {_show(char)}", pos)


def _xpp_operator(text: str, pos: int) -> _Token:
    run, name = _operator(text, pos, _XPP_OPERATORS)
    if name is None:
        raise _unknown_operator(run, _OPERATOR_SUGGESTIONS.get(run), pos)
    return _Token(_Kind.OP, run, pos, name)


def _xpp_string(text: str, pos: int) -> _Token:
    quote, end = text[pos], pos + 1
    while end < len(text) and text[end] != quote:
        end += 2 if text[end] == "\\" else 1
    if end >= len(text):
        raise _Fail(f"unterminated string: no closing {quote}", pos)
    raw = text[pos : end + 1]
    return _Token(_Kind.LITERAL, raw, pos, _xpp_requote(raw[1:-1]), LiteralKind.STRING)


def _xpp_requote(body: str) -> str:
    """The string in double quotes, escapes kept as written except the needless `\\'`."""
    out, index = [], 0
    while index < len(body):
        pair = body[index : index + 2]
        if pair[0] == "\\":
            out.append("'" if pair == "\\'" else pair)
            index += 2
            continue
        out.append('\\"' if pair[0] == '"' else pair[0])
        index += 1
    return '"' + "".join(out) + '"'


def _xpp_word(text: str, match: re.Match[str]) -> _Token:
    word, pos, lower = match.group(), match.start(), match.group().lower()
    if separator := _XPP_ENUM_SEPARATOR.match(text, match.end()):
        return _xpp_enum(text, match, separator.end())
    if lower == "like":
        return _Token(_Kind.OP, word, pos, "like")
    if lower in ("true", "false"):
        return _Token(_Kind.LITERAL, word, pos, lower, LiteralKind.BOOLEAN)
    if lower in _XPP_FOREIGN_WORDS:
        raise _Fail(f"X++ uses {_XPP_FOREIGN_WORDS[lower]!r}, not {word!r}", pos)
    return _Token(_Kind.NAME, word, pos)


def _xpp_enum(text: str, match: re.Match[str], value_at: int) -> _Token:
    """`Enum::Value`; the enum name is a type, not a field."""
    word, pos, lower = match.group(), match.start(), match.group().lower()
    value = _XPP_NAME.match(text, value_at)
    if not value:
        raise _Fail(f"expected an enum value after '{word}::'", value_at)
    enum_text = f"{lower}::{value.group().lower()}"
    return _Token(_Kind.LITERAL, text[pos : value.end()], pos, enum_text, LiteralKind.ENUM)


# --- OData tokens ---------------------------------------------------------------------------

_NESTED = "filters can use only the table's own columns; nested lookups are not supported"
_ODATA_OPERATORS = frozenset({"eq", "ne", "gt", "ge", "lt", "le", "and", "or", "not"})
_ODATA_CONSTANTS = {"true": LiteralKind.BOOLEAN, "false": LiteralKind.BOOLEAN}
_ODATA_CONSTANTS |= {"null": LiteralKind.NULL}
_ODATA_FOREIGN = {"==": "eq", "=": "eq", "!=": "ne", "<>": "ne", "<": "lt", "<=": "le"}
_ODATA_FOREIGN |= {"=<": "le", ">": "gt", ">=": "ge", "=>": "ge", "&&": "and", "&": "and"}
_ODATA_FOREIGN |= {"||": "or", "|": "or", "!": "not"}
_ODATA_UNSUPPORTED = {"like": "OData has no 'like'; use contains, startswith or endswith"}
_ODATA_UNSUPPORTED |= {
    word: f"{word!r} is not supported in dual-write filters"
    for word in ("in", "has", "add", "sub", "mul", "div", "mod")
}
_ODATA_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")
_LOOKUP_VALUE = re.compile(r"_([A-Za-z0-9_]+)_value")
_HEX = "[0-9A-Fa-f]"
_GUID = re.compile(f"{_HEX}{{8}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{12}}")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_TIME = r"T[0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?(?:Z|[+-][0-9]{2}:[0-9]{2})"
_DATETIME = re.compile(_DATE.pattern + _TIME)


def _odata_date(match: re.Match[str]) -> str:
    dt.date.fromisoformat(match.group())
    return match.group()


def _odata_datetime(match: re.Match[str]) -> str:
    dt.datetime.fromisoformat(match.group())
    return match.group()


_ODATA_VALUES: tuple[_ValuePattern, ...] = (
    (LiteralKind.DATETIME, _DATETIME, _odata_datetime),
    (LiteralKind.DATE, _DATE, _odata_date),
    (LiteralKind.GUID, _GUID, lambda match: match.group().lower()),
    (LiteralKind.NUMBER, _NUMBER, _number),
)

_ODATA_VALUE_HINTS = (
    ("T", " (a date-time needs a zone, e.g. 2021-06-23T10:00:00Z)"),
    ("\\", " (dates are written yyyy-mm-dd)"),
)


def _scan_odata(text: str, pos: int) -> _Token:
    char = text[pos]
    if char in _PUNCTUATION:
        return _Token(_PUNCTUATION[char], char, pos)
    if char == "'":
        return _odata_string(text, pos)
    if char == "/":
        raise _Fail(_NESTED, pos)
    if char == '"':
        raise _Fail("OData strings use single quotes: 'text'", pos)
    if _OPERATOR_RUN.match(char):
        raise _odata_foreign_operator(text, pos)
    if _VALUE_START.match(text, pos) or _GUID.match(text, pos):
        return _scan_value(text, pos, _ODATA_VALUES, _ODATA_VALUE_HINTS)
    if name := _ODATA_NAME.match(text, pos):
        return _odata_word(text, name)
    raise _Fail(f"unexpected character {_show(char)}", pos)


def _odata_foreign_operator(text: str, pos: int) -> _Fail:
    run, _ = _operator(text, pos, _ODATA_FOREIGN)
    if run in _ODATA_FOREIGN and run not in _OPERATOR_SUGGESTIONS:
        return _Fail(f"{run!r} is X++ syntax; OData uses {_ODATA_FOREIGN[run]!r}", pos)
    if run in _ODATA_FOREIGN:
        return _Fail(f"unknown operator {run!r}; OData uses {_ODATA_FOREIGN[run]!r}", pos)
    return _unknown_operator(run, None, pos)


def _odata_string(text: str, pos: int) -> _Token:
    end = pos + 1
    while (end := text.find("'", end)) >= 0 and text.startswith("''", end):
        end += 2
    if end < 0:
        raise _Fail("unterminated string: no closing '", pos)
    raw = text[pos : end + 1]
    return _Token(_Kind.LITERAL, raw, pos, raw, LiteralKind.STRING)


def _odata_word(text: str, match: re.Match[str]) -> _Token:
    word, pos, lower = match.group(), match.start(), match.group().lower()
    if word in _ODATA_OPERATORS:
        return _Token(_Kind.OP, word, pos, word)
    if word in _ODATA_CONSTANTS:
        return _Token(_Kind.LITERAL, word, pos, word, _ODATA_CONSTANTS[word])
    if lower in _ODATA_OPERATORS or lower in _ODATA_CONSTANTS:
        raise _Fail(f"OData keywords are lowercase: write {lower!r}", pos)
    if lower in _ODATA_UNSUPPORTED:
        raise _Fail(_ODATA_UNSUPPORTED[lower], pos)
    if "." in word and not _followed_by(text, match.end(), "("):
        message = f"{word!r} is not a column name; filters can use only the table's own columns"
        raise _Fail(message, pos)
    return _Token(_Kind.NAME, word, pos)


def _odata_field(name: str, offset: int) -> FieldRef:
    lookup = _LOOKUP_VALUE.fullmatch(name)
    return FieldRef(lookup.group(1), offset + 1) if lookup else FieldRef(name, offset)


# --- parser ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Syntax:
    dialect: Dialect
    scan: _Scanner
    field: Callable[[str, int], FieldRef]
    functions: tuple[str, ...]
    conjunction: str  # how the language writes `and`


_XPP = _Syntax(Dialect.FINOPS, _scan_xpp, FieldRef, (), "&&")
_ODATA_FUNCTIONS = ("contains", "startswith", "endswith")
_ODATA = _Syntax(Dialect.DATAVERSE, _scan_odata, _odata_field, _ODATA_FUNCTIONS, "and")
_LEVELS = ("or", "and")  # loosest first


def _parse(text: str, syntax: _Syntax) -> ParsedFilter | FilterError:
    if not text.strip():
        key = syntax.dialect.value
        return FilterError(f"the filter is empty; leave `filters.{key}` out instead", 0)
    parser = _Parser(text, syntax)
    try:
        expression = parser.parse()
    except _Fail as fail:
        return FilterError(fail.message, fail.offset)
    return ParsedFilter(tuple(parser.fields), expression, syntax.dialect)


class _Parser:
    def __init__(self, text: str, syntax: _Syntax) -> None:
        self._syntax = syntax
        self._tokens = _tokens(text, syntax.scan)
        self._ahead: _Token | None = None  # one token of lookahead
        self._depth = 0
        self.fields: list[FieldRef] = []

    def parse(self) -> Node:
        node = self._logical(0, None)
        self._require_condition(node)
        end = self._advance()
        if end.kind is not _Kind.END:
            raise self._unexpected(end, None)
        return node

    def _peek(self) -> _Token:
        if self._ahead is None:
            self._ahead = next(self._tokens)
        return self._ahead

    def _advance(self) -> _Token:
        token, self._ahead = self._peek(), None
        return token

    def _enter(self, token: _Token) -> None:
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise _Fail(f"the filter nests deeper than {MAX_DEPTH} levels", token.offset)

    def _logical(self, level: int, after: _Token | None) -> Node:
        """`or` at level 0, `and` at level 1; a term below that."""
        if level == len(_LEVELS):
            return self._term(after)
        op = _LEVELS[level]
        operands = [self._logical(level + 1, after)]
        while self._peek().is_op(op):
            self._require_condition(operands[-1])
            operands.append(self._logical(level + 1, self._advance()))
        if len(operands) == 1:
            return operands[0]
        self._require_condition(operands[-1])
        return BoolOp(op, _flatten(op, operands))

    def _term(self, after: _Token | None) -> Node:
        if self._peek().is_op("not"):
            return self._negated(self._advance())
        return self._comparison(after)

    def _negated(self, not_token: _Token) -> Node:
        self._enter(not_token)
        if self._peek().is_op("not"):
            operand = self._negated(self._advance())
        else:
            operand = self._primary(not_token)
        self._depth -= 1
        follower = self._peek()
        if follower.is_op(*_COMPARISONS):
            message = f"{not_token.text!r} binds tighter than {follower.text!r}; "
            raise _Fail(message + "put the comparison in parentheses", follower.offset)
        self._require_condition(operand)
        return Not(operand)

    def _comparison(self, after: _Token | None) -> Node:
        left = self._primary(after)
        op = self._peek()
        if not op.is_op(*_COMPARISONS):
            if op.kind in _OPERAND_START:
                raise self._unexpected(op, None)
            return left
        self._advance()
        right_token = self._peek()
        right = self._primary(op)
        if op.value == "like" and not _is_string(right):
            raise _Fail(f'{op.text!r} needs a quoted pattern, e.g. "A*"', right_token.offset)
        if self._peek().is_op(*_COMPARISONS):
            message = f"comparisons cannot be chained; join them with {self._syntax.conjunction!r}"
            raise _Fail(message, self._peek().offset)
        return Compare(op.value, left, right)

    def _primary(self, after: _Token | None) -> Node:
        token = self._advance()
        if token.kind is _Kind.LPAREN:
            return self._group(token)
        if token.kind is _Kind.LITERAL:
            return Literal(token.literal, token.value, token.offset)
        if token.kind is _Kind.NAME and self._peek().kind is _Kind.LPAREN:
            return self._call(token)
        if token.kind is _Kind.NAME:
            return self._field(token)
        raise self._missing(token, after)

    def _group(self, lparen: _Token) -> Node:
        self._enter(lparen)
        node = self._logical(0, lparen)
        close = self._advance()
        if close.kind is not _Kind.RPAREN:
            raise self._unexpected(close, lparen)
        self._depth -= 1
        return node

    def _field(self, token: _Token) -> Field:
        self.fields.append(self._syntax.field(token.text, token.offset))
        return Field(token.text, token.offset)

    def _call(self, name: _Token) -> Call:
        function = self._function_name(name)
        lparen = self._advance()
        column = self._argument(lparen)
        if column.kind is not _Kind.NAME or self._peek().kind is _Kind.LPAREN:
            raise _Fail(f"the first argument of {function} must be a column", column.offset)
        self._separator(function, lparen)
        value = self._argument(lparen)
        if value.kind is not _Kind.LITERAL or value.literal is not LiteralKind.STRING:
            message = f"the second argument of {function} must be a quoted string"
            raise _Fail(message, value.offset)
        close = self._advance()
        if close.kind is _Kind.COMMA:
            raise _Fail(f"{function} takes exactly two arguments", close.offset)
        if close.kind is not _Kind.RPAREN:
            raise self._unexpected(close, lparen)
        argument = Literal(LiteralKind.STRING, value.value, value.offset)
        return Call(function, self._field(column), argument)

    def _function_name(self, name: _Token) -> str:
        functions = self._syntax.functions
        if name.text in functions:
            return name.text
        if name.text.lower() in functions:
            hint = f"function names are lowercase: write {name.text.lower()!r}"
        elif functions:
            hint = "use " + ", ".join(functions[:-1]) + f" or {functions[-1]}"
        else:
            hint = "X++ filters cannot call functions"
        raise _Fail(f"unknown function {name.text!r}; {hint}", name.offset)

    def _argument(self, lparen: _Token) -> _Token:
        token = self._advance()
        if token.kind is _Kind.END:
            raise self._unexpected(token, lparen)
        return token

    def _separator(self, function: str, lparen: _Token) -> None:
        token = self._advance()
        if token.kind is _Kind.RPAREN:
            message = f"{function} takes two arguments: a column and a quoted string"
            raise _Fail(message, token.offset)
        if token.kind is _Kind.END:
            raise self._unexpected(token, lparen)
        if token.kind is not _Kind.COMMA:
            raise _Fail(f"expected ',' between the arguments of {function}", token.offset)

    def _require_condition(self, node: Node) -> None:
        if isinstance(node, Literal) and node.kind is not LiteralKind.BOOLEAN:
            raise _Fail("a value alone is not a condition; compare a column with it", node.offset)

    def _missing(self, token: _Token, after: _Token | None) -> _Fail:
        what = "value" if after and after.is_op(*_COMPARISONS) else "condition"
        where = f"after {after.text!r}" if after else "at the start of the filter"
        if token.kind is _Kind.END:
            return _Fail(f"expected a {what} {where}", token.offset)
        return _Fail(f"expected a {what} {where}, found {_show(token.text)}", token.offset)

    def _unexpected(self, token: _Token, lparen: _Token | None) -> _Fail:
        """What to say when `token` follows a complete term."""
        if token.kind in _OPERAND_START or token.is_op("not"):
            return _Fail(f"missing operator before {_show(token.text)}", token.offset)
        if lparen is not None:
            message = f"expected ')' to close '(' at column {lparen.offset + 1}"
            if token.kind is _Kind.END:
                return _Fail(message, lparen.offset)
            return _Fail(f"{message}, found {_show(token.text)}", token.offset)
        if token.kind is _Kind.RPAREN:
            return _Fail("unmatched ')'", token.offset)
        return _Fail(f"unexpected {_show(token.text)}", token.offset)


def _is_string(node: Node) -> bool:
    return isinstance(node, Literal) and node.kind is LiteralKind.STRING


def _flatten(op: str, operands: list[Node]) -> tuple[Node, ...]:
    """`(a and b) and c` is `a and b and c`."""
    flat: list[Node] = []
    for operand in operands:
        if isinstance(operand, BoolOp) and operand.op == op:
            flat.extend(operand.operands)
        else:
            flat.append(operand)
    return tuple(flat)


# --- canonical text -------------------------------------------------------------------------

_OR, _AND, _COMPARE, _NOT, _PRIMARY = range(1, 6)  # OData precedence, loosest first


def _odata_precedence(node: Node) -> int:
    if isinstance(node, BoolOp):
        return _OR if node.op == "or" else _AND
    return {Compare: _COMPARE, Not: _NOT}.get(type(node), _PRIMARY)


def _odata_text(node: Node, minimum: int) -> str:
    text = _odata_render(node)
    return f"({text})" if _odata_precedence(node) < minimum else text


def _odata_render(node: Node) -> str:
    match node:
        case Field():
            return node.name
        case Literal():
            return node.text
        case Call():
            return f"{node.function}({node.column.name}, {node.argument.text})"
        case Compare():
            left, right = _odata_text(node.left, _PRIMARY), _odata_text(node.right, _PRIMARY)
            return f"{left} {node.op} {right}"
        case Not():
            return f"not {_odata_text(node.operand, _NOT)}"
        case BoolOp():
            inner = _odata_precedence(node) + 1
            return f" {node.op} ".join(_odata_text(operand, inner) for operand in node.operands)
        case _:
            assert_never(node)


_XPP_SPELLING = {"eq": "==", "ne": "!=", "lt": "<", "le": "<=", "gt": ">", "ge": ">="}
_XPP_SPELLING |= {"like": "like", "and": "&&", "or": "||"}


def _xpp_top(node: Node) -> str:
    text = _xpp_render(node)
    return text if isinstance(node, Compare | BoolOp) else f"({text})"


def _xpp_render(node: Node) -> str:
    match node:
        case Field():
            return node.name.lower()
        case Literal():
            return node.text
        case Call():
            return f"{node.function}({node.column.name.lower()}, {node.argument.text})"
        case Compare():
            left, right = _xpp_operand(node.left), _xpp_operand(node.right)
            return f"({left} {_XPP_SPELLING[node.op]} {right})"
        case Not():
            return f"!{_xpp_render(node.operand)}"
        case BoolOp():
            joiner = f" {_XPP_SPELLING[node.op]} "
            return "(" + joiner.join(_xpp_render(operand) for operand in node.operands) + ")"
        case _:
            assert_never(node)


def _xpp_operand(node: Node) -> str:
    text = _xpp_render(node)
    return f"({text})" if isinstance(node, Not) else text
