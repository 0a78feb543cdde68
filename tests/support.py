"""Helpers shared by tests (fixtures live in conftest.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dwconf.load.sources import Sources


@dataclass
class Result:
    """What one `dwconf` run produced."""

    exit_code: int
    out: str
    err: str


def sources_summary(found: Sources) -> list[Any]:
    """Everything reading a repository produced: each file's data, templates and whether the
    fast path read it, and the diagnostics."""
    docs = [found.settings, *found.environments]
    for files in found.solutions.values():
        docs += [files.solution, *files.maps, *files.schemas]
    return [
        [(d.path, d.data, d.templates, d._where is None) for d in docs if d is not None],
        [(str(d.span), d.code, d.message) for d in found.diagnostics],
    ]
