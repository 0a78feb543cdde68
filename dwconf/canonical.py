"""Canonical JSON: sorted keys, no spaces, UTF-8 as is, so equal values give equal text.

Hashes, fingerprints and the local environment's stored definitions all go through here.
orjson writes the same text as `json.dumps(sort_keys=True, separators=(",", ":"),
ensure_ascii=False)` about ten times faster; what it refuses (integers beyond 64 bits, keys
that are not text) goes the standard library's way, so every value still has one spelling.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

import orjson

_OPTIONS = orjson.OPT_SORT_KEYS
# orjson reads an integer beyond 64 bits as a float; a run of 19 digits may be one. Mapping
# every digit to 0 and looking for 19 zeros finds such a run far faster than a regex.
_DIGITS_TO_ZERO = bytes.maketrans(b"123456789", b"000000000")
_LONG_RUN = b"0" * 19


def canonical_bytes(value: Any, default: Callable[[Any], Any] | None = None) -> bytes:
    """The canonical JSON of `value` as UTF-8; `default` converts what JSON cannot hold."""
    try:
        return orjson.dumps(value, default=default, option=_OPTIONS)
    except (TypeError, orjson.JSONEncodeError):
        text = json.dumps(
            value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=default
        )
        return text.encode("utf-8")


def digest(value: Any) -> str:
    """The sha256 of the canonical JSON of `value`, in hex."""
    return hashlib.sha256(canonical_bytes(value)).hexdigest()


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
