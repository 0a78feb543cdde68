"""`dwconf emulator serve` without the `emulator` extra says how to install it."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from typing import Any

import pytest

from tests.support import Result


def test_serve_without_the_extra_names_it(
    dwconf: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    real = importlib.util.find_spec

    def without_uvicorn(name: str, *args: Any) -> Any:
        return None if name == "uvicorn" else real(name, *args)

    monkeypatch.setattr(importlib.util, "find_spec", without_uvicorn)
    result = dwconf("emulator", "serve", "--port", "0")
    assert result.exit_code == 1
    assert "the emulator needs uvicorn (not installed)" in result.err
    assert "pip install 'dwconf[emulator]'" in result.err
