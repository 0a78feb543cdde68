"""What one read of the environment built from its stored rows, kept for the next read.

A read after a single write then decodes (and hashes, for the fingerprint) only what the write
changed: a value is found again by the stored text (or row) it came from, which is also what
keeps it right, since a write stores new text. Each `reading` is one generation: what it
doesn't use is dropped when it ends, so the memo never holds more than the latest snapshot
does.

Values are shared between the snapshots that read them, like one snapshot is shared by
everyone who reads it while nothing changes: they are read-only.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from dwconf.canonical import digest
from dwconf.live.store import loads

T = TypeVar("T")
_MISSING = object()


class Memo:
    """Values by the stored text or row they were built from; one generation per read."""

    def __init__(self) -> None:
        self._kept: dict[Hashable, Any] = {}
        self._used: dict[Hashable, Any] | None = None

    def __len__(self) -> int:
        return len(self._kept)

    @contextmanager
    def reading(self) -> Iterator[None]:
        """One read: afterwards the memo holds what this read used, and nothing else. A read
        that fails leaves what the read before it kept."""
        self._used = {}
        try:
            yield
            self._kept = self._used
        finally:
            self._used = None

    def get(self, key: Hashable, build: Callable[[], T]) -> T:
        """The value built for `key`, built now if no read kept it. Outside `reading`, what
        the latest read kept is found, and nothing is added."""
        found = self._kept.get(key, _MISSING)
        if found is _MISSING and self._used is not None:
            found = self._used.get(key, _MISSING)
        if found is _MISSING:
            found = build()
        if self._used is not None:
            self._used[key] = found
        return found  # type: ignore[no-any-return]

    def json(self, text: str) -> Any:
        """The value of stored JSON text."""
        return self.get(("json", text), lambda: loads(text))

    def definition(self, text: str) -> tuple[Any, str]:
        """A stored definition's value and its digest (`dwconf.canonical.digest`)."""
        return self.get(("definition", text), lambda: _with_digest(text))


def _with_digest(text: str) -> tuple[Any, str]:
    value = loads(text)
    return value, digest(value)


def json_of(memo: Memo | None, text: str) -> Any:
    """Stored JSON text's value, through `memo` when there is one."""
    return loads(text) if memo is None else memo.json(text)


def definition_of(memo: Memo | None, text: str) -> tuple[Any, str]:
    """A stored definition's value and its digest; without `memo`, the digest is left to
    whoever needs it ("")."""
    return (loads(text), "") if memo is None else memo.definition(text)
