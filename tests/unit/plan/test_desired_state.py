"""The desired state `dwconf plan` works from: built while the maps are checked, the same as
built after; its hash independent of field order, however the fields are named."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bench.generate import generate
from dwconf import desired, planning
from dwconf.desired import normal_definition, state_hash
from dwconf.errors import ConfigError
from dwconf.load.project import Loader
from tests.support import fork_from, forked_children


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return generate(tmp_path / "repo", maps=30, fields=5, solutions=1)


def _built_after_checking(root: Path) -> desired.DesiredState:
    loader = Loader.at(root)
    return desired.build(loader.project(loader.environments()["dev"]))


def test_the_state_built_while_two_cores_check_the_maps_is_the_one_built_after(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fork_from(monkeypatch, 10)
    children = forked_children(monkeypatch)
    want = planning.load_desired(repo, "dev")
    assert children  # the maps were checked on two cores meanwhile
    after = _built_after_checking(repo)
    assert want.state.objects == after.objects
    assert want.state.hash == after.hash == state_hash(after.objects)


def test_a_build_that_fails_while_the_maps_are_checked_is_done_again(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = desired.build
    calls: list[int] = []

    def fails_first(project: Any) -> desired.DesiredState:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("half-made project")
        return real(project)

    monkeypatch.setattr(desired, "build", fails_first)
    want = planning.load_desired(repo, "dev")
    assert len(calls) == 2
    assert want.state.objects == real(want.project).objects


def test_the_rules_report_what_is_wrong_when_the_project_does_not_build(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = sorted((repo / "solutions").glob("*/maps/*.yaml"))[0]
    first.write_text(first.read_text().replace("finops: F1,", "finops: NOPE,"))

    def cannot_build(project: Any) -> desired.DesiredState:
        raise RuntimeError("half-made project")

    monkeypatch.setattr(desired, "build", cannot_build)
    with pytest.raises(ConfigError) as raised:
        planning.load_desired(repo, "dev")
    assert any("NOPE" in d.message for d in raised.value.diagnostics)


@pytest.mark.parametrize(
    "names",
    [
        [("B", "b"), ("A", "z"), ("A", "a")],
        [("B", "b"), (None, "c"), ("A", None)],  # fields without one side
        [(None, "b"), (None, "a")],
        [("A", "b"), ("A", None), ("A", "a")],  # None met only among equal F&O names
        [("A", "x")],
    ],
)
def test_fields_are_put_in_one_order_however_they_are_named(
    names: list[tuple[str | None, str | None]],
) -> None:
    fields = [{"finops": f, "dataverse": d, "direction": "both"} for f, d in names]
    expected = sorted(fields, key=lambda f: (f["finops"] or "", f["dataverse"] or ""))
    for order in (fields, list(reversed(fields))):
        assert normal_definition({"name": "m", "fields": order})["fields"] == expected
