"""The local environment the doctor tests start from: two maps, the second depending on the
first, both running with integration keys, two legal entities and one alert setting."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from dwconf.doctor import Context
from dwconf.live import AlertSetting, Environment, SolutionPackage
from dwconf.model import Environment as EnvironmentModel
from dwconf.model import TableMap

START = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
SOLUTION = "contoso_DoctorMaps"
CURRENCIES = "Currencies (transactioncurrencies)"
CUSTOMERS = "Customers V3 (accounts)"
ALERT = AlertSetting("app-errors", "application", 10, 15, "pause", ("ops@contoso.com",))
MakeContext = Callable[..., Context]
CONFIG = EnvironmentModel.model_validate(
    {"name": "dev", "stage": "dev", "link": {"legal_entities": ["USMF", "DEMF"]}}
)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def table_map(name: str, **extra: Any) -> dict[str, Any]:
    entity, _, table = name.partition(" (")
    model = TableMap(
        name=name,
        version="1.0.0.0",
        finops_entity=entity,
        dataverse_table=table.rstrip(")"),
        fields=[{"finops": "CODE", "dataverse": "msdyn_code", "direction": "both"}],
        **extra,
    )
    return model.model_dump(mode="json")


def package() -> SolutionPackage:
    maps = [table_map(CURRENCIES), table_map(CUSTOMERS, depends_on=[CURRENCIES])]
    return SolutionPackage(
        SOLUTION, "1.0.0.0", True, "contoso", {"DualWriteCore": ">=1.0.23084.0"}, maps
    )


def deploy(env: Environment) -> None:
    """Both maps running with keys, two legal entities and one alert setting."""
    env.import_solution(package())
    env.apply_solution(SOLUTION)
    for name in (CURRENCIES, CUSTOMERS):
        env.switch_version(name, "1.0.0.0")
    env.set_integration_keys("transactioncurrencies", ["isocurrencycode"])
    env.set_integration_keys("accounts", ["accountnumber"])
    env.set_legal_entities(["USMF", "DEMF"])
    env.set_alerts([ALERT])
    env.start_map(CURRENCIES)
    env.start_map(CUSTOMERS)
