"""The fast path of the YAML loader: plain data from a compiled YAML 1.2 parser (yaml-rs).

Only the data comes from here, and only for files the position-keeping loader (yaml12.py) would
accept without a single diagnostic and read to the same values. Anything this path cannot vouch
for returns None, and the caller parses the file the careful way: syntax errors, duplicate keys,
tags, anchors and aliases, document markers, unusual line breaks, number spellings outside the
YAML 1.2 core schema, non-text keys and deep nesting. Positions are computed later, and only for
files that have something to report (yaml12.Document). Characters YAML forbids are left to
the careful loader too.

tests/unit/load/test_fastyaml.py and tests/fuzz/test_fuzz_yaml.py check that both paths agree.
"""

from __future__ import annotations

import re
from typing import Any

from yaml.reader import Reader

try:
    import yaml_rs
except ImportError:  # no wheel for this platform: every file takes the careful path
    yaml_rs = None  # type: ignore[assignment]

MAX_DEPTH = 64

# Tags, anchors and aliases, reserved characters and block indicators inside flow collections;
# YAML 1.1 number spellings (0X1F, 0O17, 0b101, 1_000) that YAML 1.2 core reads as text; document
# markers and directives; tabs (libyaml is stricter about them); the line breaks YAML knows
# besides \n and \r. Plain `in` tests find the rare candidates first; the checks then look at
# their tokens.
_MARKS = "&*!@`|>"
_MARK = re.compile(r"(?:^|[\s\[{,])[&*!@`]|[\[{,]\s*[|>]")
_RADIX = re.compile(r"0[XOBb]")
_UNDERSCORE = re.compile(r"_(?<=[0-9]_)")  # led by the literal: a fast scan
_NUMBER_START = re.compile(r"[-+]?\.?[0-9]")
_PRINTABLE_ASCII = bytes([9, 10, 13, *range(0x20, 0x7F)])
_NON_PRINTABLE = Reader.NON_PRINTABLE
_LINE_STARTS = ("---", "...", "%")
_ELSEWHERE = ("\t", "\n---", "\n...", "\n%", "\x85", "\u2028", "\u2029")


def _unsure(text: str) -> bool:
    """Whether the file holds something the fast parser reads differently, or that only the
    careful loader reports (see the module's docstring)."""
    if not _printable(text) or text.startswith(_LINE_STARTS) or any(s in text for s in _ELSEWHERE):
        return True
    if any(c in text for c in _MARKS) and _MARK.search(text):
        return True
    if any(r in text for r in ("0X", "0O", "0B", "0b")) and _numbers(_RADIX, text):
        return True
    return "_" in text and _numbers(_UNDERSCORE, text)


def _printable(text: str) -> bool:
    """No character YAML forbids in a stream (control characters and the like)."""
    if text.isascii():
        return not text.encode("ascii").translate(None, _PRINTABLE_ASCII)
    return _NON_PRINTABLE.search(text) is None


def _numbers(pattern: re.Pattern[str], text: str) -> bool:
    return any(_number_like(text, m.start()) for m in pattern.finditer(text))


def _number_like(text: str, at: int) -> bool:
    """Whether the plain token holding position `at` starts the way a number does."""
    start = at
    while start and (text[start - 1].isalnum() or text[start - 1] in "_.+-"):
        start -= 1
    return _NUMBER_START.match(text, start) is not None


def available() -> bool:
    return yaml_rs is not None


def load(text: str) -> Any | None:
    """The file's data, or None when the careful loader must decide."""
    if yaml_rs is None or _unsure(text):
        return None
    try:
        data = yaml_rs.loads(text, parse_datetime=False)
    except (ValueError, TypeError, OverflowError, RecursionError):
        return None
    if type(data) not in _CONTAINERS or not _plain(data, 0):
        return None
    return data


def _plain(value: dict[Any, Any] | list[Any], depth: int) -> bool:
    """Text keys, plain scalars, and no deeper than the careful loader allows (a container at
    the limit is left to it, so the exact rule is applied in one place)."""
    if depth >= MAX_DEPTH:
        return False
    if type(value) is dict:
        if not _TEXT.issuperset(map(type, value)):
            return False
        items: Any = value.values()
    else:
        items = value
    for item in items:
        kind = type(item)
        if kind in _SCALARS:
            continue
        if kind not in _CONTAINERS or not _plain(item, depth + 1):
            return False
    return True


def templates(data: Any, markers: tuple[str, ...]) -> list[tuple[str | int, ...]]:
    """Paths of the text values holding a template marker, in document order."""
    found: list[tuple[str | int, ...]] = []

    def walk(value: Any, path: tuple[str | int, ...]) -> None:
        if type(value) is dict:
            for key, item in value.items():
                walk(item, (*path, key))
        elif type(value) is list:
            for index, item in enumerate(value):
                walk(item, (*path, index))
        elif type(value) is str and "{" in value and any(m in value for m in markers):
            found.append(path)

    walk(data, ())
    return found


_CONTAINERS = (dict, list)
_TEXT = frozenset({str})
_SCALARS = (str, int, float, bool, type(None))
