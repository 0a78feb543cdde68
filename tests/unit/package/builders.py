"""The solution and maps the package tests build zips from (config-format.md's examples)."""

from __future__ import annotations

from typing import Any

from dwconf.model import Solution, TableMap


def solution(**extra: Any) -> Solution:
    data: dict[str, Any] = {
        "unique_name": "contoso_CustomerMaps",
        "display_name": "Contoso customer maps",
        "version": "1.4.0.0",
        "publisher": {
            "unique_name": "contoso",
            "prefix": "cnt",
            "option_value_prefix": 10000,
            "display_name": "Contoso",
        },
        "requires": {"DualWriteCore": ">=1.0.23084.0", "Dynamics365FinanceExtended": ">=2.0.227"},
    }
    data.update(extra)
    return Solution.model_validate(data)


def customers(**extra: Any) -> TableMap:
    """Customers V3 (accounts) as config-format.md writes it."""
    data: dict[str, Any] = {
        "name": "Customers V3 (accounts)",
        "version": "1.0.0.5",
        "finops_entity": "Customers V3",
        "dataverse_table": "accounts",
        "description": "Customers that are organizations",
        "depends_on": ["Currencies (transactioncurrencies)"],
        "integration_key": ["accountnumber", "msdyn_company.cdm_companycode"],
        "filters": {
            "finops": '((PartyType == "Organization"))',
            "dataverse": "customertypecode eq 3",
        },
        "initial_sync": {"master": "dataverse"},
        "fields": [
            {"finops": "CUSTOMERACCOUNT", "dataverse": "accountnumber", "direction": "both"},
            {"finops": "CREDITLIMIT", "dataverse": "creditlimit", "direction": "both"},
            {
                "finops": "SALESCURRENCYCODE",
                "dataverse": "transactioncurrencyid.isocurrencycode",
                "direction": "both",
            },
            {
                "finops": "ONHOLDSTATUS",
                "dataverse": "msdyn_onholdstatus",
                "direction": "both",
                "value_map": {
                    "no": 806380000,
                    "invoice": 806380001,
                    "all": 806380002,
                    "payment": 806380003,
                    "requisition": 806380004,
                    "never": 806380005,
                },
            },
            {"dataverse": "customertypecode", "direction": "to_dataverse", "default": 3},
            {"finops": "PARTYTYPE", "direction": "to_finops", "default": "Organization"},
        ],
    }
    data.update(extra)
    return TableMap.model_validate(data)


def currencies(**extra: Any) -> TableMap:
    data: dict[str, Any] = {
        "name": "Currencies (transactioncurrencies)",
        "version": "1.0.0.1",
        "finops_entity": "Currencies",
        "dataverse_table": "transactioncurrencies",
        "integration_key": ["isocurrencycode"],
        "initial_sync": {"master": "finops"},
        "fields": [
            {"finops": "CURRENCYCODE", "dataverse": "isocurrencycode", "direction": "to_dataverse"},
            {"finops": "NAME", "dataverse": "currencyname", "direction": "to_dataverse"},
        ],
    }
    data.update(extra)
    return TableMap.model_validate(data)
