"""YAML with a source position for every node.

Data comes from the fast path (fastyaml.py) when it can vouch for the file; otherwise, and for
positions, PyYAML's C parser builds the node graph and construction here is our own so that every
value keeps its line and column, duplicate keys are errors, scalars follow the YAML 1.2 core
schema (`no` and `yes` stay strings, as value maps need), and alias bombs and absurd nesting are
refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from dwconf.diagnostics import Diagnostic, Span, error
from dwconf.load import fastyaml

Path = tuple[str | int, ...]

MAX_FILE_BYTES = 8 * 1024 * 1024
MAX_DEPTH = fastyaml.MAX_DEPTH
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


for _tag, _pattern, _first in (
    (_NULL, r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""]),
    (_BOOL, r"^(?:true|True|TRUE|false|False|FALSE)$", list("tTfF")),
    (_INT, r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$", list("-+0123456789")),
    (
        _FLOAT,
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
        list("-+.0123456789"),
    ),
):
    _Loader.add_implicit_resolver(_tag, re.compile(_pattern), _first)


@dataclass
class _Where:
    values: dict[Path, tuple[int, int]] = field(default_factory=dict)
    keys: dict[Path, tuple[int, int]] = field(default_factory=dict)
    quoted: set[Path] = field(default_factory=set)


class Document:
    """One YAML file: plain data plus where each value and key stands in the file.

    A file read by the fast path (fastyaml.py) keeps its text and works out positions on first
    use, by parsing it again the careful way: most files never have anything to report.
    """

    def __init__(self, path: str, data: Any = None, *, text: str | None = None) -> None:
        self.path = path
        self.data = data
        # a file that does not parse: the top-level `key: value` texts read before the error,
        # so that other files' references to it (a map's `name`) are known to be broken
        self.partial: dict[str, str] = {}
        self.templates: list[Path] = []
        self._text = text
        self._where = _Where() if text is None else None

    @property
    def values(self) -> dict[Path, tuple[int, int]]:
        return self._positions().values

    @property
    def keys(self) -> dict[Path, tuple[int, int]]:
        return self._positions().keys

    @property
    def quoted(self) -> set[Path]:
        return self._positions().quoted

    def _positions(self) -> _Where:
        if self._where is None:
            careful, problems = _parse_careful(self._text or "", self.path)
            if problems:
                raise AssertionError(  # a bug of the fast path: never report wrong positions
                    f"{self.path}: the fast and careful YAML readers disagree; please report it"
                )
            self._where = careful._positions()
        return self._where

    def span(self, path: Path = (), *, key: bool = False) -> Span:
        """Position of the value at `path` (or of its key), else of the nearest parent."""
        table = self.keys if key else self.values
        probe = tuple(path)
        while probe:
            where = table.get(probe) or self.values.get(probe)
            if where:
                return Span(self.path, *where)
            probe = probe[:-1]
        where = self.values.get(())
        return Span(self.path, *where) if where else Span(self.path, 1, 1)

    def text_span(self, path: Path, offset: int) -> Span:
        """Position of character `offset` inside the string value at `path`."""
        start = self.span(path)
        return start.shifted(offset + (1 if tuple(path) in self.quoted else 0))

    def get(self, path: Path) -> Any:
        value = self.data
        for part in path:
            value = value[part]
        return value


class _Refused(Exception):
    def __init__(self, diagnostic: Diagnostic) -> None:
        self.diagnostic = diagnostic


def _position(mark: Any) -> tuple[int, int]:
    return (mark.line + 1, mark.column + 1)


class _Builder:
    def __init__(self, doc: Document, budget: int) -> None:
        self.doc = doc
        self.values = doc.values
        self.keys = doc.keys
        self.quoted = doc.quoted
        self.budget = budget
        self.diagnostics: list[Diagnostic] = []

    def build(self, node: yaml.Node, path: Path, depth: int) -> Any:
        self.budget -= 1
        if self.budget < 0:
            raise _Refused(
                error(
                    "DW1006",
                    "aliases expand to far more values than the file holds (an alias bomb?)",
                    self.doc.span(path),
                    "write the values out, or use fewer nested aliases",
                )
            )
        if depth > MAX_DEPTH:
            raise _Refused(
                error(
                    "DW1007",
                    f"values nested more than {MAX_DEPTH} levels deep",
                    Span(self.doc.path, *_position(node.start_mark)),
                    "flatten the structure; no dwconf file needs this depth",
                )
            )
        mark = node.start_mark
        self.values[path] = (mark.line + 1, mark.column + 1)
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path, depth)
        if isinstance(node, yaml.SequenceNode):
            if node.tag != _SEQ:
                self._bad_tag(node, path)
            return [self.build(item, (*path, i), depth + 1) for i, item in enumerate(node.value)]
        assert isinstance(node, yaml.ScalarNode)
        return self._scalar(node, path)

    def _mapping(self, node: yaml.MappingNode, path: Path, depth: int) -> dict[str, Any]:
        if node.tag != _MAP:
            self._bad_tag(node, path)
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                self.diagnostics.append(
                    error(
                        "DW1008",
                        "a mapping key must be a plain name, not a list or mapping",
                        Span(self.doc.path, *_position(key_node.start_mark)),
                        "write the key as text",
                    )
                )
                continue
            key = str(key_node.value)
            child = (*path, key)
            if key in result:
                first = self.keys[child]
                self.diagnostics.append(
                    error(
                        "DW1005",
                        f"duplicate key '{key}' (first at line {first[0]})",
                        Span(self.doc.path, *_position(key_node.start_mark)),
                        "keep one of the two; YAML would silently drop the first",
                    )
                )
                continue
            mark = key_node.start_mark
            self.keys[child] = (mark.line + 1, mark.column + 1)
            result[key] = self.build(value_node, child, depth + 1)
        return result

    def _scalar(self, node: yaml.ScalarNode, path: Path) -> Any:
        text = node.value
        tag = node.tag
        if tag == _STR:
            if node.style in ("'", '"'):
                self.quoted.add(path)
            if "{" in text and any(m in text for m in TEMPLATE_MARKERS):
                self.doc.templates.append(path)
            return text
        if tag == _INT:
            return int(text.replace("0o", "0o"), 0) if text[:2] in ("0o", "0x") else int(text)
        if tag == _FLOAT:
            return float(text.lower().replace(".inf", "inf").replace(".nan", "nan"))
        if tag == _BOOL:
            return text.lower() == "true"
        if tag == _NULL:
            return None
        self._bad_tag(node, path)
        return text

    def _bad_tag(self, node: yaml.Node, path: Path) -> None:
        self.diagnostics.append(
            error(
                "DW1004",
                f"unsupported YAML tag '{node.tag}'",
                self.doc.span(path),
                "remove the tag; dwconf files hold plain text, numbers, booleans, lists and maps",
            )
        )


def _decode(raw: bytes, display: str) -> str | Diagnostic:
    if b"\x00" in raw[:8192]:
        return error(
            "DW1001",
            "the file is binary, not YAML text",
            Span(display, 1, 1),
            "dwconf reads UTF-8 YAML files only",
        )
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        before = raw[: exc.start]
        line = before.count(b"\n") + 1
        column = exc.start - (before.rfind(b"\n") + 1) + 1
        return error(
            "DW1001",
            f"the file is not UTF-8 text (byte 0x{raw[exc.start]:02x})",
            Span(display, line, column),
            "save the file as UTF-8",
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
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
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


def fast_data(raw: bytes) -> Any | None:
    """The data `parse` takes from the fast path for these bytes, or None when it does not."""
    if len(raw) > MAX_FILE_BYTES or b"\x00" in raw[:8192]:
        return None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None
    return fastyaml.load(text)


class _Unknown:
    """`parse` works out the fast path's data itself."""


UNKNOWN: Any = _Unknown()


def parse(raw: bytes, display: str, known: Any = UNKNOWN) -> tuple[Document, list[Diagnostic]]:
    """Parse one file's bytes; `display` is the path shown in diagnostics. `known` is what
    `fast_data(raw)` returned when it was worked out elsewhere (a child process, the cache)."""
    doc = Document(display)
    if len(raw) > MAX_FILE_BYTES:
        size = len(raw) // (1024 * 1024)
        return doc, [
            error(
                "DW1002",
                f"the file is {size} MiB; dwconf files are limited to "
                f"{MAX_FILE_BYTES // (1024 * 1024)} MiB",
                Span(display, 1, 1),
                "split the content over several files (one map per file)",
            )
        ]
    text = _decode(raw, display)
    if isinstance(text, Diagnostic):
        return doc, [text]
    data = fastyaml.load(text) if known is UNKNOWN else known
    if data is None:
        return _parse_careful(text, display)
    doc = Document(display, data, text=text)
    # an escape or an escaped line break can spell a marker the raw text does not show
    if "\\" in text or any(marker in text for marker in TEMPLATE_MARKERS):
        doc.templates = fastyaml.templates(data, TEMPLATE_MARKERS)
    return doc, []


def _parse_careful(text: str, display: str) -> tuple[Document, list[Diagnostic]]:
    """PyYAML's composer and our construction: positions, and every problem diagnosed. Aliases
    may expand to about as many values as the file has bytes."""
    doc = Document(display)
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
    except yaml.YAMLError as exc:
        doc.partial = _top_level_scalars(text)
        return doc, [_yaml_error(exc, text, display)]
    except RecursionError:
        return doc, [
            error("DW1007", "values nested too deeply", Span(display, 1, 1), "flatten the file")
        ]
    finally:
        loader.dispose()
    if node is None:
        return doc, [
            error("DW1009", "the file is empty", Span(display, 1, 1), "add content or delete it")
        ]
    builder = _Builder(doc, budget=len(text.encode()) + 1000)
    try:
        doc.data = builder.build(node, (), 0)
    except _Refused as refused:
        doc.data = None
        return doc, [refused.diagnostic]
    return doc, builder.diagnostics


def load_plain(text: str) -> Any:
    """Plain data from trusted YAML (package data), with the same YAML 1.2 scalars."""
    data = fastyaml.load(text)
    if data is not None:
        return data
    doc, problems = _parse_careful(text, "<text>")
    refused = [p for p in problems if p.code != "DW1009"]  # an empty text is None
    if refused:
        raise yaml.YAMLError(f"{refused[0].span}: {refused[0].message}")
    return doc.data
