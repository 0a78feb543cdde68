"""End to end through the CLI: an environment file with `provider.type: dynamics` pointing at the
emulator (TLS, its CA in `ca_file`, a client secret from environment variables) —
`dwconf plan`, `dwconf apply --auto-approve`, `dwconf plan` with no changes left."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from dwconf.emulator.serve import Running
from tests.golden.scenarios import CURRENCIES, SCHEMA
from tests.providers.support import SECRET, TestApi, provider_block
from tests.support import Result

Cli = Callable[..., Result]
CUSTOMERS = """\
name: Test customers
version: 1.0.0.0
finops_entity: Test customers
dataverse_table: tst_customers
depends_on: [Test currencies]
integration_key: [tst_account]
initial_sync: {master: finops}
fields:
  - {finops: ACCOUNT, dataverse: tst_account}
  - {finops: NAME, dataverse: tst_name, direction: to_dataverse}
"""


def environment_file(server: Running) -> str:
    return f"""\
name: dev
stage: dev
{provider_block(server, "dev")}link:
  legal_entities: [USMF, DEMF]
solutions:
  base: workspace
alerts:
  - {{name: app-errors, error_type: application, threshold: 10, window_minutes: 15, action: pause}}
"""


@pytest.fixture
def repo(make_repo: Callable[..., Path], emulated: tuple[Running, TestApi]) -> Path:
    return make_repo(
        {
            "environments/dev.yaml": environment_file(emulated[0]),
            "solutions/base/schema/test.yaml": SCHEMA,
            "solutions/base/maps/currencies.yaml": CURRENCIES,
            "solutions/base/maps/customers.yaml": CUSTOMERS,
        }
    )


ALERT = {"name": "app-errors", "error_type": "application", "threshold": 10,
         "window_minutes": 15, "action": "pause"}  # fmt: skip


def test_plan_apply_plan_against_the_emulator(
    repo: Path, dwconf: Cli, emulated: tuple[Running, TestApi]
) -> None:
    _, api = emulated
    api.call("set_legal_entities", codes=["USMF", "DEMF"])  # chosen when the pair was linked
    api.call("set_alerts", alerts=[ALERT])  # set in the Dual-write workspace: dwconf can't
    planned = dwconf("-C", str(repo), "plan", "dev", "--detailed-exitcode")
    assert planned.exit_code == 2, planned.out + planned.err
    assert "+ map.test-customers" in planned.out and "+ solution.tst_Base" in planned.out
    assert "alert.app-errors" not in planned.out

    applied = dwconf("-C", str(repo), "apply", "dev", "--auto-approve")
    assert applied.exit_code == 0, applied.out + applied.err
    assert "0 failed, 0 skipped" in applied.out

    again = dwconf("-C", str(repo), "plan", "dev", "--detailed-exitcode")
    assert again.exit_code == 0, again.out + again.err
    assert "No changes." in again.out

    state = api.state()["state"]
    assert {m["name"]: m["state"] for m in state["maps"]} == {
        "Test currencies": "running",
        "Test customers": "running",
    }
    assert sorted(state["legal_entities"]) == ["DEMF", "USMF"]
    assert [r["status"] for r in state["records"]] == ["succeeded"] and state["lock"] is None
    for result in (planned, applied, again):
        assert SECRET not in result.out + result.err and "eyJ" not in result.out + result.err


def test_env_show_reads_the_emulated_environment(repo: Path, dwconf: Cli) -> None:
    shown = dwconf("-C", str(repo), "env", "show", "dev")
    assert shown.exit_code == 0, shown.out + shown.err
    assert "DualWriteCore" in shown.out


def test_a_missing_secret_is_named(
    repo: Path, dwconf: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DWCONF_CLIENT_SECRET")
    result = dwconf("-C", str(repo), "plan", "dev")
    assert result.exit_code == 1
    assert "environment variable DWCONF_CLIENT_SECRET" in result.err


def test_alert_settings_are_read_only_on_a_real_environment(
    repo: Path, dwconf: Cli, emulated: tuple[Running, TestApi]
) -> None:
    _, api = emulated
    api.call("set_legal_entities", codes=["USMF", "DEMF"])
    planned = dwconf("-C", str(repo), "plan", "dev")
    assert "+ alert.app-errors" in planned.out
    assert "note: dwconf can't write alert settings to a real environment" in planned.out
    applied = dwconf("-C", str(repo), "apply", "dev", "--auto-approve")
    assert applied.exit_code == 1, applied.out + applied.err
    assert "FAILED       set_alerts alerts" in applied.out
    assert "no public client of the dual-write gateway" in applied.out
    assert "Set them in the Dual-write workspace" in applied.out
    assert "Continue with: dwconf apply dev --resume" in applied.out
    assert {m["state"] for m in api.state()["state"]["maps"]} == {"running"}, "the rest was done"
    api.call("set_alerts", alerts=[ALERT])  # someone sets them in the workspace
    resumed = dwconf("-C", str(repo), "apply", "dev", "--resume")
    assert resumed.exit_code == 0, resumed.out + resumed.err
    again = dwconf("-C", str(repo), "plan", "dev", "--detailed-exitcode")
    assert again.exit_code == 0, again.out
