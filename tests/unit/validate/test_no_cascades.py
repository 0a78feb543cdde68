"""One syntax error is one error: files that refer to what failed to load (a map's name, a
solution's dependencies, a schema's fields) report nothing about it until it loads."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from dwconf.validate.engine import validate
from tests.golden.scenarios import CURRENCIES
from tests.unit.validate.test_rules import SCHEMA

Repo = Callable[..., Path]

CUSTOMERS = """\
name: Test customers
version: 1.0.0.0
finops_entity: Test customers
dataverse_table: tst_customers
depends_on: [Test currencies]
integration_key: [tst_account]
fields:
  - {finops: ACCOUNT, dataverse: tst_account, direction: both}
  - {finops: LOYALTY, dataverse: tst_loyalty, direction: both}
"""
LOYALTY = """\
finops_entities:
  Test customers:
    fields:
      LOYALTY: {type: string}
dataverse_tables:
  tst_customers:
    columns:
      tst_loyalty: {type: string}
"""
REFERENCE = "solutions/reference"
CUSTOMERS_DIR = "solutions/base"


def _repo(make_repo: Repo, **changed: str) -> Path:
    files = {
        f"{REFERENCE}/solution.yaml": (
            "unique_name: tst_Reference\nversion: 1.0.0.0\n"
            "publisher: {unique_name: tst, prefix: tst, option_value_prefix: 10000}\n"
        ),
        f"{REFERENCE}/schema/test.yaml": SCHEMA,
        f"{REFERENCE}/maps/currencies.yaml": CURRENCIES,
        f"{CUSTOMERS_DIR}/solution.yaml": (
            "unique_name: tst_Base\nversion: 1.0.0.0\n"
            "publisher: {unique_name: tst, prefix: tst, option_value_prefix: 10000}\n"
            "depends_on: [reference]\n"
        ),
        f"{CUSTOMERS_DIR}/schema/loyalty.yaml": LOYALTY,
        f"{CUSTOMERS_DIR}/maps/customers.yaml": CUSTOMERS,
        "environments/dev.yaml": (
            "name: dev\nstage: dev\nlink:\n  legal_entities: [USMF]\n"
            "solutions:\n  reference: workspace\n  base: workspace\n"
        ),
    }
    files.update(changed)
    return make_repo(files)


def _errors(root: Path) -> list[str]:
    return sorted(f"{d.span.file} {d.code}" for d in validate(root).diagnostics if d.code < "DW3")


def test_the_repository_is_valid_to_start_with(make_repo: Repo) -> None:
    assert _errors(_repo(make_repo)) == []


def test_a_map_with_a_syntax_error_after_its_name(make_repo: Repo) -> None:
    broken = CURRENCIES.replace("direction: both}", "direction: both", 1)
    root = _repo(make_repo, **{f"{REFERENCE}/maps/currencies.yaml": broken})
    assert _errors(root) == [f"{REFERENCE}/maps/currencies.yaml DW1003"]


def test_a_wrong_name_is_still_reported_next_to_a_syntax_error(make_repo: Repo) -> None:
    broken = CURRENCIES.replace("direction: both}", "direction: both", 1)
    typo = CUSTOMERS.replace("[Test currencies]", "[Test currencies, Test curencies]")
    root = _repo(
        make_repo,
        **{
            f"{REFERENCE}/maps/currencies.yaml": broken,
            f"{CUSTOMERS_DIR}/maps/customers.yaml": typo,
        },
    )
    assert _errors(root) == [
        f"{CUSTOMERS_DIR}/maps/customers.yaml DW2601",
        f"{REFERENCE}/maps/currencies.yaml DW1003",
    ]


def test_a_solution_file_with_a_syntax_error(make_repo: Repo) -> None:
    broken = "unique_name: tst_Base\nversion: 1.0.0.0\npublisher: {unique_name: tst\n"
    root = _repo(make_repo, **{f"{CUSTOMERS_DIR}/solution.yaml": broken})
    assert _errors(root) == [f"{CUSTOMERS_DIR}/solution.yaml DW1003"]


def test_a_schema_file_with_a_syntax_error(make_repo: Repo) -> None:
    broken = LOYALTY.replace("{type: string}", "{type: string", 1)
    root = _repo(make_repo, **{f"{CUSTOMERS_DIR}/schema/loyalty.yaml": broken})
    assert _errors(root) == [f"{CUSTOMERS_DIR}/schema/loyalty.yaml DW1003"]
