"""The careful reader: PyYAML's C parser builds the node graph, and construction here is our own,
so that every value keeps its line and column, duplicate keys are errors, scalars follow the
YAML 1.2 core schema (`no` and `yes` stay strings, as value maps need), and alias bombs and
absurd nesting are refused. It decides about every file: the fast reader (fast.py) only ever
saves it work.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from dwconf.diagnostics import Diagnostic, Span, error

YamlPath = tuple[str | int, ...]
"""Where a value stands in a document: the keys and list indexes leading to it."""

MAX_DEPTH = 64
TEMPLATE_MARKERS = ("{{", "{%")

_STR = "tag:yaml.org,2002:str"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_BOOL = "tag:yaml.org,2002:bool"
_NULL = "tag:yaml.org,2002:null"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"

_BaseLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_BaseLoader):  # type: ignore[misc, valid-type]
    """A safe loader whose implicit scalar types are the YAML 1.2 core schema's."""

    yaml_implicit_resolvers: dict[str | None, list[tuple[str, re.Pattern[str]]]] = {}

    def resolve(self, kind: type[yaml.Node], value: str, implicit: tuple[bool, bool]) -> str:
        """The tag of a node: a faster path than PyYAML's for the common plain scalar."""
        if kind is yaml.ScalarNode:
            if not implicit[0]:
                return _STR
            candidates = self.yaml_implicit_resolvers.get(value[:1] or "")
            for tag, pattern in candidates or ():
                if pattern.match(value):
                    return tag
            return _STR
        return _SEQ if kind is yaml.SequenceNode else _MAP

    # dwconf registers no path resolvers: skip PyYAML's per-node bookkeeping for them.
    def descend_resolver(self, current_node: Any, current_index: Any) -> None:
        return None

    def ascend_resolver(self) -> None:
        return None


# The core schema's spellings of each scalar type: what a plain scalar resolves to, and what a
# value tagged explicitly (`!!int 17`) must spell.
_CORE = {
    _NULL: re.compile(r"^(?:~|null|Null|NULL|)$"),
    _BOOL: re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    _INT: re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$"),
    _FLOAT: re.compile(
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
    ),
}
for _tag, _first in (
    (_NULL, ["~", "n", "N", ""]),
    (_BOOL, list("tTfF")),
    (_INT, list("-+0123456789")),
    (_FLOAT, list("-+.0123456789")),
):
    _Loader.add_implicit_resolver(_tag, _CORE[_tag], _first)


@dataclass
class Positions:
    """Where each value and key of a document stands (line, column), and which texts were quoted."""

    values: dict[YamlPath, tuple[int, int]] = field(default_factory=dict)
    keys: dict[YamlPath, tuple[int, int]] = field(default_factory=dict)
    quoted: set[YamlPath] = field(default_factory=set)


@dataclass
class Careful:
    """What the careful reader made of one text: its data (None when it could not be read),
    positions, the paths of templated values, and every problem found. A text that does not
    parse keeps the top-level `key: value` texts read before the error in `partial`, so that
    other files' references to it (a map's `name`) are known to be broken."""

    data: Any
    positions: Positions
    templates: list[YamlPath]
    problems: list[Diagnostic]
    partial: dict[str, str] = field(default_factory=dict)


class _Refused(Exception):
    def __init__(self, diagnostic: Diagnostic) -> None:
        self.diagnostic = diagnostic


def _position(mark: Any) -> tuple[int, int]:
    return (mark.line + 1, mark.column + 1)


class _Builder:
    def __init__(self, display: str, budget: int) -> None:
        self.display = display
        self.where = Positions()
        self.templates: list[YamlPath] = []
        self.budget = budget
        self.diagnostics: list[Diagnostic] = []

    def _span(self, path: YamlPath) -> Span:
        probe = path
        while probe not in self.where.values and probe:
            probe = probe[:-1]
        found = self.where.values.get(probe)
        return Span(self.display, *found) if found else Span(self.display, 1, 1)

    def build(self, node: yaml.Node, path: YamlPath, depth: int) -> Any:
        self.budget -= 1
        if self.budget < 0:
            raise _Refused(
                error(
                    "DW1006",
                    "aliases expand to far more values than the file holds (an alias bomb?)",
                    self._span(path),
                    "write the values out, or use fewer nested aliases",
                )
            )
        if depth > MAX_DEPTH:
            raise _Refused(
                error(
                    "DW1007",
                    f"values nested more than {MAX_DEPTH} levels deep",
                    Span(self.display, *_position(node.start_mark)),
                    "flatten the structure; no dwconf file needs this depth",
                )
            )
        self.where.values[path] = _position(node.start_mark)
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path, depth)
        if isinstance(node, yaml.SequenceNode):
            if node.tag != _SEQ:
                self._bad_tag(node, path)
            return [self.build(item, (*path, i), depth + 1) for i, item in enumerate(node.value)]
        assert isinstance(node, yaml.ScalarNode)
        return self._scalar(node, path)

    def _mapping(self, node: yaml.MappingNode, path: YamlPath, depth: int) -> dict[str, Any]:
        if node.tag != _MAP:
            self._bad_tag(node, path)
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                self.diagnostics.append(
                    error(
                        "DW1008",
                        "a mapping key must be a plain name, not a list or mapping",
                        Span(self.display, *_position(key_node.start_mark)),
                        "write the key as text",
                    )
                )
                continue
            key = str(key_node.value)
            child = (*path, key)
            if key in result:
                first = self.where.keys[child]
                self.diagnostics.append(
                    error(
                        "DW1005",
                        f"duplicate key '{key}' (first at line {first[0]})",
                        Span(self.display, *_position(key_node.start_mark)),
                        "keep one of the two; YAML would silently drop the first",
                    )
                )
                continue
            self.where.keys[child] = _position(key_node.start_mark)
            result[key] = self.build(value_node, child, depth + 1)
        return result

    def _scalar(self, node: yaml.ScalarNode, path: YamlPath) -> Any:
        text = node.value
        tag = node.tag
        if tag == _STR:
            if node.style in ("'", '"'):
                self.where.quoted.add(path)
            if "{" in text and any(m in text for m in TEMPLATE_MARKERS):
                self.templates.append(path)
            return text
        core = _CORE.get(tag)
        if core is not None and not core.match(text):
            # only an explicit tag (`!!int x`) can give a scalar a type its text doesn't spell
            self.diagnostics.append(
                error(
                    "DW1004",
                    f"'{text[:40]}' is not a YAML 1.2 value of tag '{tag}'",
                    self._span(path),
                    "remove the tag, or write the value as that type spells it",
                )
            )
            return text
        if tag == _INT:
            return int(text, 0) if text[:2] in ("0o", "0x") else int(text)
        if tag == _FLOAT:
            return float(text.lower().replace(".inf", "inf").replace(".nan", "nan"))
        if tag == _BOOL:
            return text.lower() == "true"
        if tag == _NULL:
            return None
        self._bad_tag(node, path)
        return text

    def _bad_tag(self, node: yaml.Node, path: YamlPath) -> None:
        self.diagnostics.append(
            error(
                "DW1004",
                f"unsupported YAML tag '{node.tag}'",
                self._span(path),
                "remove the tag; dwconf files hold plain text, numbers, booleans, lists and maps",
            )
        )


def _inside(text: str, line: int, column: int) -> tuple[int, int]:
    """A position clamped into the file: the end of the stream is the end of the last line."""
    lines = text.splitlines() or [""]
    if line > len(lines):
        return len(lines), len(lines[-1]) + 1
    return line, min(column, len(lines[line - 1]) + 1)


def _yaml_error(exc: yaml.YAMLError, text: str, display: str) -> Diagnostic:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    where = Span(display, *_inside(text, *_position(mark))) if mark else Span(display, 1, 1)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    hint = "fix the YAML syntax at this position"
    char = text[mark.index] if mark is not None and mark.index < len(text) else ""
    if char == "\t":
        hint = "YAML indentation uses spaces, never tabs"
    elif char and char in "<>=|%@`":  # "" (the end of the stream) is in every string
        hint = "quote the value, e.g. direction: '>'"
    return error("DW1003", f"YAML syntax error: {problem}", where, hint)


def _top_level_scalars(text: str) -> dict[str, str]:
    """The plain `key: value` pairs of a document's top-level mapping, up to a syntax error."""
    found: dict[str, str] = {}
    depth, key = 0, None
    try:
        # the compiled parser when there is one: PyYAML's own scanner takes square time on
        # nested flow collections
        for event in yaml.parse(text, Loader=_BaseLoader):
            if isinstance(event, yaml.CollectionStartEvent):
                depth, key = depth + 1, (key if depth != 1 else None)
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
            elif depth == 1 and isinstance(event, yaml.ScalarEvent) and key is None:
                key = event.value
            elif depth == 1 and isinstance(event, yaml.NodeEvent):
                if isinstance(event, yaml.ScalarEvent) and key is not None:
                    found.setdefault(key, event.value)
                key = None
    except yaml.YAMLError:
        pass  # what came before the error is all there is
    return found


def parse(text: str, display: str) -> Careful:
    """PyYAML's composer and our construction: positions, and every problem diagnosed. Aliases
    may expand to about as many values as the file has bytes."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
    except yaml.YAMLError as exc:
        problem = _yaml_error(exc, text, display)
        return Careful(None, Positions(), [], [problem], _top_level_scalars(text))
    except RecursionError:
        where = Span(display, 1, 1)
        problem = error("DW1007", "values nested too deeply", where, "flatten the file")
        return Careful(None, Positions(), [], [problem])
    finally:
        loader.dispose()
    if node is None:
        hint = "add content or delete it"
        empty = error("DW1009", "the file is empty", Span(display, 1, 1), hint)
        return Careful(None, Positions(), [], [empty])
    builder = _Builder(display, budget=len(text.encode()) + 1000)
    try:
        data = builder.build(node, (), 0)
    except _Refused as refused:
        return Careful(None, builder.where, [], [refused.diagnostic])
    return Careful(data, builder.where, builder.templates, builder.diagnostics)
