"""Canonical JSON: sorted keys, no spaces, UTF-8 as is, so equal values give equal text.

Hashes, fingerprints and the local environment's stored definitions all go through here.
orjson writes the same text as `json.dumps(sort_keys=True, separators=(",", ":"),
ensure_ascii=False)` about ten times faster; what it refuses (integers beyond 64 bits, keys
that are not text) goes the standard library's way, so every value still has one spelling.

A large document whose parts rarely change can be written from parts written earlier
(`part`, then `joined_bytes`): the result is byte for byte what `canonical_bytes` gives for
the document with the values themselves in place of the parts.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import orjson

_OPTIONS = orjson.OPT_SORT_KEYS
# orjson reads an integer beyond 64 bits as a float; a run of 19 digits may be one. Mapping
# every digit to 0 and looking for 19 zeros finds such a run far faster than a regex.
_DIGITS_TO_ZERO = bytes.maketrans(b"123456789", b"000000000")
_LONG_RUN = b"0" * 19
PART_DEPTH = 8


def canonical_bytes(value: Any, default: Callable[[Any], Any] | None = None) -> bytes:
    """The canonical JSON of `value` as UTF-8; `default` converts what JSON cannot hold."""
    try:
        return orjson.dumps(value, default=default, option=_OPTIONS)
    except (TypeError, orjson.JSONEncodeError):
        text = json.dumps(
            value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=default
        )
        return text.encode("utf-8")


def part(value: Any) -> orjson.Fragment | None:
    """`value` written once, to be placed in documents given to `joined_bytes`; None when only
    the standard library can write it (then place the value itself: the document as a whole
    goes that way). `value` may sit up to `PART_DEPTH` levels deep in those documents.
    """
    try:
        wrapped = orjson.dumps(_wrap(value), option=_OPTIONS)
    except (TypeError, orjson.JSONEncodeError):
        return None
    return orjson.Fragment(wrapped[PART_DEPTH:-PART_DEPTH])


def joined_bytes(document: Any) -> bytes | None:
    """`canonical_bytes` of `document` with its parts read as their values, or None when
    something in it needs the standard library (then write the document of plain values)."""
    try:
        return orjson.dumps(document, option=_OPTIONS)
    except (TypeError, orjson.JSONEncodeError):
        return None


def _wrap(value: Any) -> Any:
    # orjson refuses nesting beyond a fixed depth (the standard library writes on) and doesn't
    # count a part's own depth: written inside as many lists as it may sit deep, a part is
    # refused whenever the document holding its value would be.
    for _ in range(PART_DEPTH):
        value = [value]
    return value


def canonical_text(value: Any, default: Callable[[Any], Any] | None = None) -> str:
    return canonical_bytes(value, default).decode("utf-8")


def parse_json(text: str | bytes) -> Any:
    """JSON text to Python values, exactly as `json.loads` reads them."""
    data = text.encode("utf-8") if isinstance(text, str) else text
    if _LONG_RUN in data.translate(_DIGITS_TO_ZERO):
        return json.loads(data)
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return json.loads(data)
