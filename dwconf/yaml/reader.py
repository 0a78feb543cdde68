"""`Reader`: bytes and a display name in, a document with positions and diagnostics out.

The fast reader (fast.py) gives the data of most files; the careful one (careful.py) reads the
others, and every file positions are asked for. The parse cache (cache.py) remembers the fast
reader's data of the files the caller offers it. A reader serves one command: its cache is
opened when the reader is and written when it closes.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, NamedTuple

import yaml

from dwconf import speedups
from dwconf.diagnostics import Diagnostic, Span, error
from dwconf.yaml import careful, fast
from dwconf.yaml.cache import ParseCache
from dwconf.yaml.careful import TEMPLATE_MARKERS
from dwconf.yaml.document import Document

MAX_FILE_BYTES = 8 * 1024 * 1024
"""The largest file read: ten times the largest map of Microsoft's templates at 1,000 fields."""


class Read(NamedTuple):
    document: Document
    diagnostics: list[Diagnostic]


class Reader:
    """Reads YAML files. `careful` names files (by display name) read the careful way only:
    those the fast reader was found to read wrongly. `fast` off reads every file carefully."""

    def __init__(
        self,
        cache: ParseCache | None = None,
        *,
        careful: frozenset[str] = frozenset(),
        fast: bool = True,
    ) -> None:
        self._cache = cache
        self._careful = careful
        self._fast = fast and speedups.enabled()

    @classmethod
    @contextmanager
    def opened(cls, careful: frozenset[str] = frozenset()) -> Iterator[Reader]:
        """A reader with the parse cache, unless speed-ups or the cache are turned off."""
        cache = ParseCache.open() if speedups.enabled() else None
        try:
            yield cls(cache, careful=careful)
        finally:
            if cache is not None:
                cache.close()

    def read(self, raw: bytes, display: str, *, cacheable: bool = False) -> Read:
        """One file's bytes; `display` is the path shown in diagnostics. The fast reader's data
        of a `cacheable` file is remembered by its content."""
        if len(raw) > MAX_FILE_BYTES:
            return Read(Document(display), [too_large(display, len(raw))])
        text = _decode(raw, display)
        if isinstance(text, Diagnostic):
            return Read(Document(display), [text])
        data = None
        if self._fast and display not in self._careful:
            data = self._fast_data(raw, text, cacheable)
        if data is None:
            found = careful.parse(text, display)
            document = Document(
                display,
                found.data,
                templates=found.templates,
                positions=found.positions,
                partial=found.partial,
            )
            return Read(document, found.problems)
        templates = []
        # an escape or an escaped line break can spell a marker the raw text does not show
        if "\\" in text or any(marker in text for marker in TEMPLATE_MARKERS):
            templates = fast.templates(data, TEMPLATE_MARKERS)
        return Read(Document(display, data, templates=templates, text=text), [])

    def _fast_data(self, raw: bytes, text: str, cacheable: bool) -> Any | None:
        if self._cache is None or not cacheable:
            return fast.load(text)
        key = self._cache.key(raw)
        found = self._cache.get(key)
        if found is None:
            found = fast.load(text)
            if found is not None:
                self._cache.put(key, found)
        return found


def read(raw: bytes, display: str) -> Read:
    """One file read on its own (no cache)."""
    return Reader().read(raw, display)


def too_large(display: str, size: int) -> Diagnostic:
    limit = MAX_FILE_BYTES // (1024 * 1024)
    return error(
        "DW1002",
        f"the file is {size // (1024 * 1024)} MiB; dwconf files are limited to {limit} MiB",
        Span(display, 1, 1),
        "split the content over several files (one map per file)",
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


def load_plain(text: str) -> Any:
    """Plain data from trusted YAML (package data), with the same YAML 1.2 scalars; raises
    yaml.YAMLError on a problem."""
    data = fast.load(text) if speedups.enabled() else None
    if data is not None:
        return data
    found = careful.parse(text, "<text>")
    refused = [p for p in found.problems if p.code != "DW1009"]  # an empty text is None
    if refused:
        raise yaml.YAMLError(f"{refused[0].span}: {refused[0].message}")
    return found.data
