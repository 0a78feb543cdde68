"""Canonical JSON: one spelling per value, read back exactly."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from dwconf.canonical import canonical_bytes, canonical_text, digest, parse_json

# Integers of any size (beyond 64 bits too), text with any characters, no floats.
_EXACT = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)
_FLOATS = st.floats(allow_nan=False, allow_infinity=False)
_ANY = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text() | _FLOATS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


def _standard(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


@given(_EXACT)
def test_same_text_as_the_standard_library_without_floats(value: Any) -> None:
    assert canonical_text(value) == _standard(value)


@given(_ANY)
def test_every_value_reads_back_exactly(value: Any) -> None:
    assert parse_json(canonical_bytes(value)) == value
    assert parse_json(canonical_text(value)) == value


def test_integers_beyond_64_bits_are_read_as_integers() -> None:
    big = 2**70 + 1
    assert parse_json(canonical_text({"default": big})) == {"default": big}
    assert parse_json(f"[{-(2**64)}, 12345678901234567890123]") == [
        -(2**64),
        12345678901234567890123,
    ]
    assert type(parse_json("[1234567890123456789]")[0]) is int


def test_keys_that_are_not_text_take_the_standard_spelling() -> None:
    assert canonical_text({2: "a", 1: "b"}) == _standard({2: "a", 1: "b"}) == '{"1":"b","2":"a"}'


def test_default_converts_what_json_cannot_hold() -> None:
    assert canonical_text({"when": object}, default=lambda _: "x") == '{"when":"x"}'


@given(_ANY, _ANY)
def test_a_digest_is_the_hash_of_one_spelling(first: Any, second: Any) -> None:
    assert digest(first) == hashlib.sha256(canonical_bytes(first)).hexdigest()
    assert (digest(first) == digest(second)) == (canonical_bytes(first) == canonical_bytes(second))
