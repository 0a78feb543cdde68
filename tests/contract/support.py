"""The solution package the contract tests deploy: two maps, the second depending on the first."""

from __future__ import annotations

from typing import Any

from dwconf.live import AlertSetting, SolutionPackage
from dwconf.model import TableMap

SOLUTION = "contoso_ContractMaps"
CURRENCIES = "Currencies (transactioncurrencies)"
CUSTOMERS = "Customers V3 (accounts)"
ALERT = AlertSetting("app-errors", "application", 10, 60, "pause", ("ops@contoso.com",))


def table_map(name: str, version: str = "1.0.0.0", **extra: Any) -> dict[str, Any]:
    entity, _, table = name.partition(" (")
    model = TableMap(
        name=name,
        version=version,
        finops_entity=entity,
        dataverse_table=table.rstrip(")"),
        fields=[{"finops": "CODE", "dataverse": "msdyn_code", "direction": "both"}],
        **extra,
    )
    return model.model_dump(mode="json")


def package(
    version: str = "1.0.0.0", extra_maps: tuple[dict[str, Any], ...] = ()
) -> SolutionPackage:
    """Two maps, customers depending on currencies, shipped in one solution."""
    maps = [table_map(CURRENCIES), table_map(CUSTOMERS, depends_on=[CURRENCIES]), *extra_maps]
    requires = {"DualWriteCore": ">=1.0.23084.0"}
    return SolutionPackage(SOLUTION, version, True, "contoso", requires, maps)


UPGRADE = package("1.1.0.0", (table_map(CUSTOMERS, "1.1.0.0", depends_on=[CURRENCIES]),))
