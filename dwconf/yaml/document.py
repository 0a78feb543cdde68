"""`Document`: one YAML file's data and where each value and key stands in the file.

A document the fast reader (fast.py) read holds its text and works out positions on first use,
by reading it the careful way (careful.py): most files never have anything to report. Should
the careful reader then disagree with the data the fast one gave (a problem it finds, or other
values), the document raises `Disagreement` rather than give positions of another reading: the
loader reads that file the careful way and starts over (dwconf.load.project.settled), so the
careful reader's result is the one reported.
"""

from __future__ import annotations

import math
from typing import Any

from dwconf.diagnostics import Span
from dwconf.yaml import careful
from dwconf.yaml.careful import Positions, YamlPath


class Disagreement(Exception):
    """The fast reader read `path` differently from the careful one (a fast reader's bug)."""

    def __init__(self, path: str) -> None:
        super().__init__(f"{path}: the fast and careful YAML readers disagree")
        self.path = path


class Document:
    """One YAML file: plain data plus where each value and key stands in the file."""

    def __init__(
        self,
        path: str,
        data: Any = None,
        *,
        templates: list[YamlPath] | None = None,
        positions: Positions | None = None,
        text: str | None = None,
        partial: dict[str, str] | None = None,
    ) -> None:
        self.path = path
        self.data = data
        self.templates = templates if templates is not None else []
        # a file that does not parse: the top-level `key: value` texts read before the error
        self.partial = partial if partial is not None else {}
        self._text = text  # set when the fast reader read it: positions are worked out later
        self._where = positions if positions is not None or text is not None else Positions()

    @property
    def values(self) -> dict[YamlPath, tuple[int, int]]:
        return self._positions().values

    @property
    def keys(self) -> dict[YamlPath, tuple[int, int]]:
        return self._positions().keys

    @property
    def quoted(self) -> set[YamlPath]:
        return self._positions().quoted

    def _positions(self) -> Positions:
        if self._where is None:
            found = careful.parse(self._text or "", self.path)
            if found.problems or not same(found.data, self.data):
                raise Disagreement(self.path)
            self._where = found.positions
        return self._where

    def span(self, path: YamlPath = (), *, key: bool = False) -> Span:
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

    def text_span(self, path: YamlPath, offset: int) -> Span:
        """Position of character `offset` inside the string value at `path`."""
        start = self.span(path)
        return start.shifted(offset + (1 if tuple(path) in self.quoted else 0))

    def get(self, path: YamlPath) -> Any:
        value = self.data
        for part in path:
            value = value[part]
        return value


def same(a: Any, b: Any) -> bool:
    """Equal data of equal types throughout (`1`, `1.0` and `True` are three values here), in
    the same key order; NaN equals NaN."""
    if type(a) is not type(b):
        return False
    if type(a) is dict:
        return list(a) == list(b) and all(same(v, b[k]) for k, v in a.items())
    if type(a) is list:
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if type(a) is float and math.isnan(a):
        return math.isnan(b)
    return bool(a == b)
