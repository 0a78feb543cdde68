"""The YAML dwconf writes reads back, through dwconf's own loader and templating, as the same
models; and it looks like config-format.md."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings

from dwconf.model import Environment, Solution, TableMap
from dwconf.package import yamlout
from dwconf.templating import context_for, render_document
from dwconf.yaml import read
from tests.unit.package.builders import currencies, customers, solution
from tests.unit.package.strategies import solutions, table_maps

CONTEXT = context_for("dev", "dev", [], {})


def load(text: str) -> Any:
    doc, problems = read(text.encode("utf-8"), "file.yaml")
    assert problems == [], text
    data, problems = render_document(doc, CONTEXT)
    assert problems == [], text
    return data


@settings(max_examples=150, deadline=None)
@given(table_maps())
def test_a_map_reads_back_as_itself(model: TableMap) -> None:
    assert TableMap.model_validate(load(yamlout.map_yaml(model))) == model


@settings(max_examples=60, deadline=None)
@given(solutions())
def test_a_solution_reads_back_as_itself(model: Solution) -> None:
    assert Solution.model_validate(load(yamlout.solution_yaml(model))) == model


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("Customers V3 (accounts)", "Customers V3 (accounts)"),
        ("1.0.0.5", "1.0.0.5"),
        ("806380000", "'806380000'"),
        ("no", "'no'"),
        ("1e3", "'1e3'"),
        ("", "''"),
        ("=", "'='"),
        ("a: b", "'a: b'"),
        ("it's", "it's"),
        ("'quoted'", "'''quoted'''"),
        ("line\nbreak", '"line\\nbreak"'),
        ("{{ vars.x }}", "'{% raw %}{{ vars.x }}{% endraw %}'"),
        (None, "null"),
        (True, "true"),
        (3, "3"),
        (1.5, "1.5"),
        (1e16, "1e+16"),
    ],
)
def test_scalars(value: Any, written: str) -> None:
    assert yamlout.scalar(value) == written


def test_a_template_marker_with_endraw_inside_still_reads_back() -> None:
    tricky = "a {{ b {% endraw %} c"
    assert load(f"x: {yamlout.scalar(tricky)}\n") == {"x": tricky}


def test_map_layout_follows_the_configuration_format() -> None:
    text = yamlout.map_yaml(customers(), ["Header line."])
    assert text == (
        "# Header line.\n"
        "name: Customers V3 (accounts)\n"
        "version: 1.0.0.5\n"
        "finops_entity: Customers V3\n"
        "dataverse_table: accounts\n"
        "description: Customers that are organizations\n"
        "depends_on:\n"
        "  - Currencies (transactioncurrencies)\n"
        "integration_key: [accountnumber, msdyn_company.cdm_companycode]\n"
        "filters:\n"
        "  finops: '((PartyType == \"Organization\"))'\n"
        "  dataverse: customertypecode eq 3\n"
        "fields:\n"
        "  - {finops: CUSTOMERACCOUNT, dataverse: accountnumber, direction: both}\n"
        "  - {finops: CREDITLIMIT, dataverse: creditlimit, direction: both}\n"
        "  - {finops: SALESCURRENCYCODE, dataverse: transactioncurrencyid.isocurrencycode, "
        "direction: both}\n"
        "  - finops: ONHOLDSTATUS\n"
        "    dataverse: msdyn_onholdstatus\n"
        "    direction: both\n"
        "    value_map:\n"
        "      no: 806380000\n"
        "      invoice: 806380001\n"
        "      all: 806380002\n"
        "      payment: 806380003\n"
        "      requisition: 806380004\n"
        "      never: 806380005\n"
        "  - {dataverse: customertypecode, direction: to_dataverse, default: 3}\n"
        "  - {finops: PARTYTYPE, direction: to_finops, default: Organization}\n"
    )


def test_initial_sync_is_written_only_when_not_the_default() -> None:
    assert "initial_sync:\n  master: finops\n" in yamlout.map_yaml(currencies())
    assert "initial_sync" not in yamlout.map_yaml(customers())


def test_solution_layout() -> None:
    assert yamlout.solution_yaml(solution()) == (
        "unique_name: contoso_CustomerMaps\n"
        "display_name: Contoso customer maps\n"
        "version: 1.4.0.0\n"
        "publisher: {unique_name: contoso, prefix: cnt, option_value_prefix: 10000, "
        "display_name: Contoso}\n"
        "requires:\n"
        "  DualWriteCore: '>=1.0.23084.0'\n"
        "  Dynamics365FinanceExtended: '>=2.0.227'\n"
    )


def test_environment_reads_back_with_pin_comments() -> None:
    env = Environment.model_validate(
        {
            "name": "test",
            "stage": "test",
            "promote_from": "dev",
            "provider": {"type": "dynamics", "dataverse_url": "https://x.crm.dynamics.com"},
            "link": {"legal_entities": ["USMF", "DEMF"]},
            "solutions": {"contoso-customer-maps": "workspace"},
            "maps": {"default_state": "running", "state": {"Customers V3 (accounts)": "stopped"}},
            "alerts": [{"name": "app-errors", "threshold": 10, "window_minutes": 15}],
            "vars": {"code": 3, "nested": {"list": [1, "two"]}, "text": "{{ kept as is }}"},
            "protect": {"prevent_destroy": True},
        }
    )
    text = yamlout.environment_yaml(env, ["Head."], {"contoso-customer-maps": "installed 1.4.0.0"})
    assert "  contoso-customer-maps: workspace  # installed 1.4.0.0\n" in text
    assert "  legal_entities: [USMF, DEMF]\n" in text
    assert "  text: '{{ kept as is }}'\n" in text  # environment files are never templated
    doc, problems = read(text.encode(), "environments/test.yaml")
    assert problems == []
    assert Environment.model_validate(doc.data) == env
