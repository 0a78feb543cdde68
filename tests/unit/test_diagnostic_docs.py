"""Every diagnostic code the code can emit is documented, and nothing documented is stale."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CODE = re.compile(r"\bDW\d{4}\b")


def emitted() -> set[str]:
    found: set[str] = set()
    for path in (ROOT / "dwconf").rglob("*.py"):
        found.update(re.findall(r'"(DW\d{4})"', path.read_text(encoding="utf-8")))
    return found


def documented() -> set[str]:
    text = (ROOT / "docs/diagnostics.md").read_text(encoding="utf-8")
    return {
        m for line in text.splitlines() if line.startswith("| DW") for m in CODE.findall(line)[:1]
    }


def test_every_emitted_code_is_documented() -> None:
    assert emitted() - documented() == set()


def test_every_documented_code_is_emitted() -> None:
    assert documented() - emitted() == set()
