"""Byte-for-byte golden comparison of zips: `pytest --update-golden` rewrites the files."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

GOLDEN = Path(__file__).resolve().parents[2] / "golden" / "zips"
GoldenBytes = Callable[[str, bytes], None]


@pytest.fixture
def golden_bytes(request: pytest.FixtureRequest) -> GoldenBytes:
    """Compare bytes with tests/golden/zips/NAME; `pytest --update-golden` rewrites the file."""
    update = bool(request.config.getoption("--update-golden"))

    def check(name: str, actual: bytes) -> None:
        path = GOLDEN / name
        if update:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(actual)
            return
        assert path.exists(), f"{path} is missing: run pytest --update-golden"
        assert actual == path.read_bytes(), f"{name} differs (pytest --update-golden rewrites it)"

    return check
