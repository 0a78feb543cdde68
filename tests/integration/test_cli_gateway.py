"""Apply through the CLI as the gateway's rules make it: a request that fails (state 3) fails
its step and `apply --resume` finishes the job; a change of legal entities is Reset link, a
destructive step refused without --allow-destroy and refused outright when the reset would
remove what dwconf can't set up again; maps pause and resume together in one step."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

import pytest

from dwconf.emulator.serve import Running
from tests.golden.scenarios import CURRENCIES, SCHEMA
from tests.providers.support import TestApi, provider_block
from tests.support import Result

Cli = Callable[..., Result]
CUSTOMERS = """\
name: Test customers
version: 1.0.0.0
finops_entity: Test customers
dataverse_table: tst_customers
depends_on: [Test currencies]
integration_key: [tst_account]
fields:
  - {finops: ACCOUNT, dataverse: tst_account}
"""
MAPS = {
    "solutions/base/schema/test.yaml": SCHEMA,
    "solutions/base/maps/currencies.yaml": CURRENCIES,
    "solutions/base/maps/customers.yaml": CUSTOMERS,
}


def environment(provider: str, *, protect: bool = True, state: str = "running") -> str:
    return f"""\
name: dev
stage: dev
{provider}link:
  legal_entities: [USMF, DEMF]
solutions:
  base: workspace
maps:
  default_state: {state}
  initial_sync: skip
protect:
  prevent_destroy: {str(protect).lower()}
"""


def edit(repo: Path, old: str, new: str) -> None:
    path = repo / "environments" / "dev.yaml"
    path.write_text(path.read_text().replace(old, new))


@pytest.fixture
def remote(make_repo: Callable[..., Path], emulated: tuple[Running, TestApi]) -> Path:
    server, api = emulated
    api.call("set_legal_entities", codes=["USMF", "DEMF"])  # as the pair was linked
    block = provider_block(server, "dev")
    return make_repo({"environments/dev.yaml": environment(block), **MAPS})


def test_a_failed_request_fails_its_step_and_resume_finishes(
    remote: Path, dwconf: Cli, emulated: tuple[Running, TestApi]
) -> None:
    _, api = emulated
    message = "Couldn't resolve the guid for the field tst_account"
    failing = api.http.post(
        f"/env/dev/maps/{quote('Test customers')}/fail", json={"message": message}
    )
    assert failing.status_code == 200
    applied = dwconf("-C", str(remote), "apply", "dev", "--auto-approve")
    assert applied.exit_code == 1, applied.out + applied.err
    # the first request naming the map is its initialization (action 8), in the switch step
    assert "FAILED       switch_version map.test-customers" in applied.out
    assert f"The request to initialize failed: map.test-customers: {message}" in applied.out
    assert "skipped      start_map map.test-customers" in applied.out
    assert "Continue with: dwconf apply dev --resume" in applied.out
    resumed = dwconf("-C", str(remote), "apply", "dev", "--resume")
    assert resumed.exit_code == 0, resumed.out + resumed.err
    assert "done earlier" in resumed.out
    again = dwconf("-C", str(remote), "plan", "dev", "--detailed-exitcode")
    assert again.exit_code == 0, again.out


def test_a_legal_entity_change_is_a_reset_refused_without_allow_destroy(
    remote: Path, dwconf: Cli, emulated: tuple[Running, TestApi]
) -> None:
    _, api = emulated
    assert dwconf("-C", str(remote), "apply", "dev", "--auto-approve").exit_code == 0
    edit(remote, "[USMF, DEMF]", "[USMF, FRRT]")
    planned = dwconf("-C", str(remote), "plan", "dev")
    assert "-/+ link.legal_entities  (replace, destructive)" in planned.out
    assert "legal entities change only through Reset link" in planned.out
    assert "-/+ map.test-customers  (replace, destructive)" in planned.out
    steps = planned.out.split("Steps:")[1]
    assert steps.index("stop_map") < steps.index("reset_link") < steps.index("apply_solution")
    refused = dwconf("-C", str(remote), "apply", "dev", "--auto-approve")
    assert refused.exit_code == 4, refused.out + refused.err
    assert "link.legal_entities: a destructive change (replace" in refused.err
    assert "--allow-destroy" in refused.err
    assert sorted(api.state()["state"]["legal_entities"]) == ["DEMF", "USMF"]  # untouched
    applied = dwconf("-C", str(remote), "apply", "dev", "--auto-approve", "--allow-destroy")
    assert applied.exit_code == 0, applied.out + applied.err
    state = api.state()["state"]
    assert sorted(state["legal_entities"]) == ["FRRT", "USMF"]
    assert {m["name"]: m["state"] for m in state["maps"]} == {
        "Test currencies": "running",
        "Test customers": "running",
    }
    again = dwconf("-C", str(remote), "plan", "dev", "--detailed-exitcode")
    assert again.exit_code == 0, again.out


def test_a_reset_that_would_lose_alert_settings_is_refused(
    remote: Path, dwconf: Cli, emulated: tuple[Running, TestApi]
) -> None:
    _, api = emulated
    assert dwconf("-C", str(remote), "apply", "dev", "--auto-approve").exit_code == 0
    alert = {"name": "ops", "error_type": "any", "threshold": 5, "window_minutes": 10}
    api.call("set_alerts", alerts=[alert])  # made in the workspace: dwconf can't set it again
    edit(remote, "[USMF, DEMF]", "[USMF]")
    planned = dwconf("-C", str(remote), "plan", "dev", "--format", "json")
    (block,) = [b for b in json.loads(planned.out)["blocked_by"] if b["kind"] == "unsafe"]
    assert block["address"] == "link.legal_entities"
    assert block["reason"].startswith("Reset link would remove alert.ops")
    result = dwconf("-C", str(remote), "apply", "dev", "--auto-approve", "--allow-destroy")
    assert result.exit_code == 4, result.out + result.err
    assert "nothing was changed" in result.err and "Reset link would remove alert.ops" in result.err
    state = api.state()["state"]
    assert {m["state"] for m in state["maps"]} == {"running"}, "nothing was stopped"
    assert sorted(state["legal_entities"]) == ["DEMF", "USMF"]


def test_maps_pause_and_resume_together(make_repo: Callable[..., Path], dwconf: Cli) -> None:
    repo = make_repo({"environments/dev.yaml": environment("", protect=False), **MAPS})
    assert dwconf("-C", str(repo), "apply", "dev", "--auto-approve").exit_code == 0
    edit(repo, "default_state: running", "default_state: paused")
    paused = dwconf("-C", str(repo), "apply", "dev", "--auto-approve")
    assert paused.exit_code == 0, paused.out + paused.err
    assert "ok           pause_maps maps" in paused.out and "pause_map " not in paused.out
    edit(repo, "default_state: paused", "default_state: running")
    resumed = dwconf("-C", str(repo), "apply", "dev", "--auto-approve")
    assert resumed.exit_code == 0, resumed.out + resumed.err
    assert "ok           resume_maps maps" in resumed.out
    assert dwconf("-C", str(repo), "plan", "dev", "--detailed-exitcode").exit_code == 0
