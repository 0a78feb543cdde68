"""Validation asks for a file's positions only to report something: a clean configuration is
validated without any file being parsed a second time (dwconf.yaml.Document works positions out
on demand, and that second parse is most of the cost of the careful reader)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.generate import generate
from dwconf.validate.engine import validate
from dwconf.yaml.careful import Positions
from dwconf.yaml.document import Document


def test_a_clean_configuration_needs_no_positions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = generate(tmp_path / "config", maps=30, fields=8, solutions=3)
    asked: list[str] = []
    original = Document._positions

    def spy(doc: Document) -> Positions:
        if doc._where is None:
            asked.append(doc.path)
        return original(doc)

    monkeypatch.setattr(Document, "_positions", spy)
    found = validate(root)
    assert found.diagnostics == [] and asked == []


def test_a_problem_is_still_reported_at_its_position(tmp_path: Path) -> None:
    root = generate(tmp_path / "config", maps=3, fields=8, solutions=1)
    target = root / "solutions/bench-0/maps/map-2.yaml"
    target.write_text(target.read_text().replace("depends_on: [Bench map 1]", "depends_on: [Nope]"))
    found = validate(root)
    assert [(str(d.span), d.code) for d in found.diagnostics] == [
        ("solutions/bench-0/maps/map-2.yaml:6:14", "DW2601")
    ]
