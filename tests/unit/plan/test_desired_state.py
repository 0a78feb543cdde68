"""The desired state `dwconf plan` works from: its hash independent of field order, however the
fields are named; the environment is read only once the configuration is valid, and nothing is
made or reached for a configuration with errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bench.generate import generate
from dwconf import desired, planning
from dwconf.desired import normal_definition
from dwconf.errors import ConfigError, ProviderError
from dwconf.live import snapshot
from dwconf.providers.local import LocalProvider


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return generate(tmp_path / "repo", maps=30, fields=5, solutions=1)


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


def test_an_environment_is_neither_made_nor_read_for_a_configuration_with_errors(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
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
    first = sorted((repo / "solutions").glob("*/maps/*.yaml"))[0]
    first.write_text(first.read_text().replace("direction: both", "direction: sideways", 1))
    events = _events(monkeypatch)
    with pytest.raises(ConfigError):
        planning.plan(repo, "dev")
    assert events == []


def test_a_local_environment_that_cannot_be_read_is_reported(
    repo: Path,
) -> None:
    path = repo / ".dwconf" / "dev.sqlite"
    path.parent.mkdir()
    path.write_bytes(b"not a database" * 100)
    with pytest.raises(ProviderError, match="is damaged: file is not a database"):
        planning.plan(repo, "dev")
