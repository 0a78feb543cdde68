"""The desired state `dwconf plan` works from: built while the maps are checked, the same as
built after; its hash independent of field order, however the fields are named. A local
environment that exists is read meanwhile too; nothing is made or reached for a configuration
with errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bench.generate import generate
from dwconf import desired, planning
from dwconf.desired import normal_definition, state_hash
from dwconf.errors import ConfigError, ProviderError
from dwconf.live import snapshot
from dwconf.load.project import Loader
from dwconf.model import Environment
from dwconf.providers import open_reader_if_local
from dwconf.providers.local import LocalProvider
from tests.support import fork_from, forked_children


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return generate(tmp_path / "repo", maps=30, fields=5, solutions=1)


def _built_after_checking(root: Path) -> desired.DesiredState:
    loader = Loader.at(root)
    return desired.build(loader.project(loader.environments()["dev"]))


def _count_builds(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    builds: list[int] = []
    real = desired.build

    def counted(project: Any) -> desired.DesiredState:
        builds.append(1)
        return real(project)

    monkeypatch.setattr(desired, "build", counted)
    return builds


def test_the_state_built_while_two_cores_check_the_maps_is_the_one_built_after(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fork_from(monkeypatch, 10)
    children = forked_children(monkeypatch)
    builds = _count_builds(monkeypatch)
    want = planning.load_desired(repo, "dev")
    assert children and builds == [1]  # built once, while the maps were checked
    after = _built_after_checking(repo)
    assert want.state.objects == after.objects
    assert want.state.hash == after.hash == state_hash(after.objects)


def test_a_build_that_fails_while_the_maps_are_checked_is_done_again(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fork_from(monkeypatch, 10)
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


def _events(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """ "read" for each read of a local environment, "loaded" when the configuration is."""
    events: list[str] = []
    real_read, real_load = snapshot.read, planning.load_desired

    def read(*args: Any, **kwargs: Any) -> Any:
        events.append("read")
        return real_read(*args, **kwargs)

    def load(*args: Any, **kwargs: Any) -> Any:
        found = real_load(*args, **kwargs)
        events.append("loaded")
        return found

    monkeypatch.setattr(snapshot, "read", read)
    monkeypatch.setattr(planning, "load_desired", load)
    return events


def test_an_existing_local_environment_is_read_once_while_the_maps_are_checked(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    LocalProvider.open(repo, "dev").close()
    want = planning.load_desired(repo, "dev")
    with LocalProvider.open(repo, "dev") as provider:
        expected = planning.plan_against(want, provider)
    fork_from(monkeypatch, 10)
    events = _events(monkeypatch)
    found = planning.plan(repo, "dev")
    assert events == ["read", "loaded"]
    assert found.changes == expected.changes and found.steps == expected.steps
    assert found.live_fingerprint == expected.live_fingerprint


def test_an_environment_is_neither_made_nor_read_for_a_configuration_with_errors(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fork_from(monkeypatch, 10)
    first = sorted((repo / "solutions").glob("*/maps/*.yaml"))[0]
    first.write_text(first.read_text().replace("finops: F1,", "finops: NOPE,"))
    events = _events(monkeypatch)
    with pytest.raises(ConfigError):
        planning.plan(repo, "dev")
    assert events == [] and not (repo / ".dwconf").exists()
    first.write_text(first.read_text().replace("finops: NOPE,", "finops: F1,"))
    planning.plan(
        repo, "dev"
    )  # a new environment: read (in memory) once the configuration is valid
    assert events == ["loaded", "read"] and not (repo / ".dwconf").exists()


def test_an_existing_environment_is_not_read_for_a_configuration_that_loads_with_errors(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    LocalProvider.open(repo, "dev").close()
    fork_from(monkeypatch, 10)
    first = sorted((repo / "solutions").glob("*/maps/*.yaml"))[0]
    first.write_text(first.read_text().replace("direction: both", "direction: sideways", 1))
    events = _events(monkeypatch)
    with pytest.raises(ConfigError):
        planning.plan(repo, "dev")
    assert events == []


def test_on_one_core_the_environment_is_read_after_the_configuration(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    LocalProvider.open(repo, "dev").close()
    monkeypatch.setenv("DWCONF_JOBS", "1")
    events = _events(monkeypatch)
    planning.plan(repo, "dev")
    assert events == ["loaded", "read"]


def test_an_environment_read_early_is_not_written(repo: Path) -> None:
    LocalProvider.open(repo, "dev").close()
    path = repo / ".dwconf" / "dev.sqlite"
    before = path.read_bytes()
    reader = open_reader_if_local(repo, Environment.model_validate({"name": "dev", "stage": "dev"}))
    assert reader is not None
    reader.read()
    reader.close()
    assert path.read_bytes() == before
    assert sorted(p.name for p in path.parent.iterdir() if p.is_file()) == ["dev.sqlite"]


def test_a_local_environment_that_cannot_be_read_early_reports_as_it_always_did(
    repo: Path,
) -> None:
    path = repo / ".dwconf" / "dev.sqlite"
    path.parent.mkdir()
    path.write_bytes(b"not a database" * 100)
    with pytest.raises(ProviderError, match="is damaged: file is not a database"):
        planning.plan(repo, "dev")


def test_only_an_existing_local_environment_is_opened_early(repo: Path) -> None:
    env = Environment.model_validate({"name": "dev", "stage": "dev"})
    assert open_reader_if_local(repo, env) is None  # not made yet
    LocalProvider.open(repo, "dev").close()
    reader = open_reader_if_local(repo, env)
    assert reader is not None
    reader.close()
    remote = Environment.model_validate(
        {"name": "dev", "stage": "dev", "provider": {"type": "dynamics"}}
    )
    assert open_reader_if_local(repo, remote) is None


def test_an_early_read_that_fails_is_done_again_the_usual_way(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    LocalProvider.open(repo, "dev").close()
    fork_from(monkeypatch, 10)
    real, calls = snapshot.read, []

    def fails_first(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("a table the early connection does not have")
        return real(*args, **kwargs)

    monkeypatch.setattr(snapshot, "read", fails_first)
    assert planning.plan(repo, "dev").live_fingerprint
    assert len(calls) == 2
