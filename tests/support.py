"""Helpers shared by tests (fixtures live in conftest.py)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Result:
    """What one `dwconf` run produced."""

    exit_code: int
    out: str
    err: str
