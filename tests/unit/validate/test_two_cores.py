"""The map rules on two cores report exactly what they report on one."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bench.generate import generate
from dwconf.diagnostics import Diagnostic
from dwconf.load import twocore
from dwconf.load.project import MapSpec, Project
from dwconf.validate import engine
from dwconf.validate.engine import validate
from tests.support import assert_one_child_reaped, fork_from, forked_children


def test_maps_checked_on_two_cores_report_what_one_core_reports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = generate(tmp_path / "repo", maps=30, fields=5, solutions=2)
    for n, path in enumerate(sorted((root / "solutions").glob("*/maps/*.yaml"))):
        text = path.read_text()
        if n % 4 == 0:  # broken maps in both halves: unknown fields, a bad direction
            path.write_text(text.replace("finops: F1,", "finops: NOPE,"))
        elif n % 7 == 3:
            path.write_text(text.replace("direction: both", "direction: sideways", 1))
    monkeypatch.setenv("DWCONF_JOBS", "1")
    one_core = validate(root).diagnostics
    monkeypatch.delenv("DWCONF_JOBS")
    fork_from(monkeypatch, 10)
    children: list[int] = []
    real = twocore.in_child
    monkeypatch.setattr(twocore, "in_child", lambda *a: children.append(1) or real(*a))
    two_cores = validate(root).diagnostics
    assert two_cores == one_core
    assert len(children) >= 1
    codes = {d.code for d in one_core}
    assert {"DW2001", "DW1104"} <= codes, codes


def test_a_failing_child_leaves_its_maps_to_the_parent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = generate(tmp_path / "repo", maps=30, fields=5, solutions=2)
    last = sorted((root / "solutions").glob("*/maps/*.yaml"))[-1]
    last.write_text(last.read_text().replace("finops: F1,", "finops: NOPE,"))
    monkeypatch.setenv("DWCONF_JOBS", "1")
    one_core = validate(root).diagnostics
    monkeypatch.delenv("DWCONF_JOBS")
    fork_from(monkeypatch, 10)
    real = engine._check_all
    parent = os.getpid()

    def fails_in_the_child(project: Project, specs: list[MapSpec]) -> list[Diagnostic]:
        if os.getpid() != parent:
            raise RuntimeError("the child fails")
        return real(project, specs)

    monkeypatch.setattr(engine, "_check_all", fails_in_the_child)
    assert validate(root).diagnostics == one_core
    assert any("NOPE" in d.message for d in one_core)


def test_the_child_is_waited_for_when_the_parents_half_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = generate(tmp_path / "repo", maps=30, fields=5, solutions=2)
    fork_from(monkeypatch, 10)
    children = forked_children(monkeypatch)
    parent = os.getpid()
    real = engine.check_map

    def fails_in_the_parent(project: Project, spec: MapSpec) -> list[Diagnostic]:
        if os.getpid() == parent:
            raise KeyboardInterrupt
        return real(project, spec)

    monkeypatch.setattr(engine, "check_map", fails_in_the_parent)
    with pytest.raises(KeyboardInterrupt):
        validate(root)
    assert_one_child_reaped(children)
