"""The fast reader: plain data from a compiled YAML 1.2 parser (yaml-rs).

Only the data comes from here, and only for files the careful reader (careful.py) would
accept without a single diagnostic and read to the same values. Anything this path cannot vouch
for returns None, and the caller parses the file the careful way: syntax errors, duplicate keys,
tags, anchors and aliases, document markers, unusual line breaks, number spellings outside the
YAML 1.2 core schema, non-text keys and deep nesting. Positions are computed later, and only for
files that have something to report (document.py), and a disagreement found then is settled
in the careful reader's favour. Characters YAML forbids are left to the careful reader too.

The screening below runs in time linear in the text: every pattern can match at a position in
one way only, or is led by a literal, so a pathological line (80 KB of `{`) costs what any
80 KB costs. tests/unit/yaml/test_fast.py and tests/fuzz/test_fuzz_yaml.py check that both
readers agree and that screening stays linear.
"""

from __future__ import annotations

import re
from typing import Any

from yaml.reader import Reader

from dwconf.yaml import careful

try:
    import yaml_rs
except ImportError:  # no wheel for this platform: every file takes the careful path
    yaml_rs = None  # type: ignore[assignment]

MAX_DEPTH = careful.MAX_DEPTH

# What makes a file unsure (see the module's docstring), found by plain `in` tests first and
# then by checks that look at the tokens around the rare candidates, each character at most twice:
# - tags, anchors and aliases, reserved characters, `?` keys, block indicators, empty values and
#   values starting with `:` inside flow collections, flow collections left open at the end of
#   a line;
# - number spellings YAML 1.2 core reads as text (0X1F, 0O17, 0b101, -0x1F, 1_000, _1, 1e_5)
#   and case-mixed .inf/.nan;
# - document markers and directives, tabs (libyaml is stricter about them), line breaks other
#   than \n and \r\n, a byte-order mark inside the text, escaped surrogates;
# - a block scalar at the very end of the file or with "keep" chomping, and a file that does not
#   end with a line break (the two parsers end the last value differently).
_MARK = re.compile(r"(?:^|[\s\[{,])[&*!@`]")
# The first opener of a line, then `:` or `,` and `|` or `>` later on it: the leading class
# excludes openers, so the opener found is the first, and each line is scanned once.
_FLOW_BLOCK_INDICATOR = re.compile(r"[\[{][ ]*[|>]|^[^\[{\n]*[\[{][^\n]*[:,][ ]*[|>]", re.MULTILINE)
_FLOW_EMPTY_KEY = re.compile(r"[\[{,][ ]*:")
# A plain value starting with `:` (`{b: :c}`): YAML 1.2 allows it, PyYAML refuses it in a flow
# collection. Led by a literal, and a run of spaces is scanned from the `:` before it only.
_FLOW_COLON_VALUE = re.compile(r":[ ]+:")
# An opener with no opener or closer after it on its line: the last opener, when no closer
# follows it. A run stops at the next opener, so no character is scanned from two openers.
_FLOW_OPEN = re.compile(r"[\[{][^\[{}\]\n]*\n")
_NUMBER_UNDERSCORE = re.compile(r"_(?:(?<=[0-9._+-]_)|(?=[0-9]))")  # led by a literal
_TOKEN_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.+-")
_NUMBER_START = re.compile(r"[-+]?[._]?[._0-9]")
_RADIX = re.compile(r"[-+]?0[XOBb]|[-+]0[xo]")
_SPECIAL = re.compile(r"[-+]?\.(?:inf|nan)", re.IGNORECASE)
_CORE_SPECIAL = re.compile(r"[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)")
_BLOCK_END = re.compile(r"[|>][-+0-9]{0,2}[ ]*(?:#.*)?$")
_SURROGATE = re.compile(r"\\u[dD][89abAB]")
_PRINTABLE_ASCII = bytes([9, 10, 13, *range(0x20, 0x7F)])
_NON_PRINTABLE = Reader.NON_PRINTABLE
_LINE_STARTS = ("---", "...", "%")
_ELSEWHERE = ("\t", "\n---", "\n...", "\n%", "\x85", "\u2028", "\u2029", "\ufeff", "?", "|+", ">+")


def _unsure(text: str) -> bool:
    """Whether the file holds something the fast parser reads differently, or that only the
    careful loader reports (see the comment above)."""
    if not text.endswith("\n") or text.startswith(_LINE_STARTS):
        return True
    if any(s in text for s in _ELSEWHERE) or not _printable(text) or _lone_cr(text):
        return True
    if any(c in text for c in "&*!@`") and _MARK.search(text):
        return True
    if ("[" in text or "{" in text) and _flow_unsure(text):
        return True
    if "\\u" in text and _SURROGATE.search(text):
        return True
    if ("|" in text or ">" in text) and _BLOCK_END.search(_last_line(text)):
        return True
    return _numbers_unsure(text)


def _lone_cr(text: str) -> bool:
    return "\r" in text and text.count("\r") != text.count("\r\n")


def _flow_unsure(text: str) -> bool:
    """`|`/`>` opening a value, an empty key or value, or a collection left open at a line's end,
    inside flow collections."""
    if any(s in text for s in (":,", ":]", ":}")) or _FLOW_OPEN.search(text):
        return True
    if any(s in text for s in ("[:", "{:", ",:", " :")) and _FLOW_EMPTY_KEY.search(text):
        return True
    if " :" in text and _FLOW_COLON_VALUE.search(text):
        return True
    return ("|" in text or ">" in text) and _FLOW_BLOCK_INDICATOR.search(text) is not None


def _last_line(text: str) -> str:
    return text.rstrip("\r\n").rpartition("\n")[2]


def _numbers_unsure(text: str) -> bool:
    """Plain tokens that look like numbers the two parsers read differently. An underscore can
    make one only next to a digit or after `.`, `_` or a sign (`1_000`, `_1`, `0x_1F`, `1e_5`,
    `._5`), so `bench_c0` is never looked at."""
    lowered = text.lower()
    if len(lowered) != len(text):
        return True  # a character whose lower case is longer: positions would not line up
    candidates = [m.start() for m in _NUMBER_UNDERSCORE.finditer(text)]
    for part in ("0x", "0o", "0b", ".inf", ".nan"):
        candidates += _find_all(lowered, part)
    checked_to = -1
    for at in sorted(candidates):
        if at < checked_to:
            continue  # inside a token already looked at
        start, checked_to = _token(text, at)
        if _token_unsure(text[start:checked_to]):
            return True
    return False


def _find_all(text: str, part: str) -> list[int]:
    found, at = [], text.find(part)
    while at != -1:
        found.append(at)
        at = text.find(part, at + 1)
    return found


def _token(text: str, at: int) -> tuple[int, int]:
    start = end = at
    while start and text[start - 1] in _TOKEN_CHARS:
        start -= 1
    while end < len(text) and text[end] in _TOKEN_CHARS:
        end += 1
    return start, end


def _token_unsure(token: str) -> bool:
    if _SPECIAL.fullmatch(token):
        return not _CORE_SPECIAL.fullmatch(token)
    if _RADIX.match(token):
        return True
    return "_" in token and _NUMBER_START.match(token) is not None


def _printable(text: str) -> bool:
    """No character YAML forbids in a stream (control characters and the like)."""
    if text.isascii():
        return not text.encode("ascii").translate(None, _PRINTABLE_ASCII)
    return _NON_PRINTABLE.search(text) is None


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
