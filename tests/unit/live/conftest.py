"""Fixtures for the live model: a controllable clock, predictable ids, map definitions built
from real dwconf `TableMap`s, and solution packages that carry them."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from dwconf.live import Environment, SolutionPackage
from dwconf.model import TableMap

START = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)

MapFactory = Callable[..., dict[str, Any]]
PackageFactory = Callable[..., SolutionPackage]


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


class Ids:
    def __init__(self, prefix: str = "id") -> None:
        self._counter = itertools.count(1)
        self._prefix = prefix

    def __call__(self) -> str:
        return f"{self._prefix}-{next(self._counter)}"


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def env(clock: Clock) -> Iterator[Environment]:
    with Environment.memory(now=clock, new_id=Ids()) as environment:
        yield environment


@pytest.fixture
def env_path(tmp_path: Path) -> Path:
    return tmp_path / ".dwconf" / "dev.sqlite"


@pytest.fixture
def table_map() -> MapFactory:
    def build(name: str, version: str = "1.0.0.0", **extra: Any) -> dict[str, Any]:
        finops, _, rest = name.partition(" (")
        model = TableMap(
            name=name,
            version=version,
            finops_entity=finops,
            dataverse_table=rest.rstrip(")") or "accounts",
            fields=[{"finops": "CODE", "dataverse": "msdyn_code", "direction": "both"}],
            **extra,
        )
        return model.model_dump(mode="json")

    return build


@pytest.fixture
def package(table_map: MapFactory) -> PackageFactory:
    def build(
        unique_name: str = "contoso_Maps",
        version: str = "1.0.0.0",
        maps: list[dict[str, Any]] | None = None,
        requires: dict[str, str] | None = None,
        publisher: str = "contoso",
    ) -> SolutionPackage:
        carried = maps if maps is not None else [table_map("Currencies (transactioncurrencies)")]
        return SolutionPackage(unique_name, version, True, publisher, requires or {}, carried)

    return build


CURRENCIES = "Currencies (transactioncurrencies)"
COMPANIES = "Legal entities (cdm_companies)"
CUSTOMERS = "Customers V3 (accounts)"


@pytest.fixture
def linked(env: Environment, table_map: MapFactory, package: PackageFactory) -> Environment:
    """An environment with three applied maps: customers depend on currencies and companies."""
    maps = [
        table_map(CURRENCIES),
        table_map(COMPANIES),
        table_map(CUSTOMERS, depends_on=[CURRENCIES, COMPANIES]),
        table_map(CUSTOMERS, version="1.0.0.5", depends_on=[CURRENCIES, COMPANIES]),
    ]
    env.import_solution(package(maps=maps))
    env.apply_solution("contoso_Maps")
    for name in (CURRENCIES, COMPANIES, CUSTOMERS):
        env.switch_version(name, "1.0.0.0")
    return env
