"""`apply --resume` against an environment that moved after the interrupted apply stopped: what
someone else changed since is never overwritten by the remaining steps; what the interrupted
apply itself left half-way (a map stopped, a solution imported and not applied) is resumed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from dwconf.apply import operations
from dwconf.errors import ProviderError
from dwconf.live import AlertSetting, Environment
from dwconf.plan.order import Operation
from dwconf.providers import local
from tests.golden.scenarios import CUSTOMERS_FILE, ENV_FILE, replace_in
from tests.integration.test_apply_rules import Cli, fingerprint


def _interrupted_at_keys(repo: Path, dwconf: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    """A first apply whose integration key for the customers table fails: the rest of the
    plan ran, the key and the customers map's start are left to the resume."""

    def failing(writer: Any, step: Any, plan: Any) -> None:
        raise ProviderError("the service did not answer")

    with monkeypatch.context() as patched:
        patched.setitem(operations.OPERATIONS, Operation.SET_KEYS, failing)
        result = dwconf("-C", str(repo), "apply", "dev", "--auto-approve")
    assert result.exit_code == 1, result.out + result.err
    assert "Continue with: dwconf apply dev --resume" in result.out


def _by_hand(repo: Path) -> Environment:
    return Environment.open(local.state_path(repo, "dev"))


def test_a_change_someone_made_since_the_interruption_is_not_overwritten(
    repo: Path, dwconf: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before, the resume set the key the interrupted plan wanted over the one someone set
    in the meantime, and said nothing (exit 0)."""
    _interrupted_at_keys(repo, dwconf, monkeypatch)
    with _by_hand(repo) as env:
        env.set_integration_keys("tst_customers", ["tst_name"])
    before = fingerprint(repo)
    refused = dwconf("-C", str(repo), "apply", "dev", "--resume")
    assert refused.exit_code == 4, refused.out + refused.err
    assert "changed since the interrupted apply's plan" in refused.err
    assert "other than by that apply: key.tst_customers (columns.0);" in refused.err
    assert "dwconf plan dev" in refused.err
    assert fingerprint(repo) == before
    with _by_hand(repo) as env:
        assert env.integration_key("tst_customers") == ("tst_name",)


def test_a_change_to_an_object_the_apply_finished_is_named_too(
    repo: Path, dwconf: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The alert was set by the interrupted apply and changed by hand since: before, the
    resume ran the rest and then failed its verification (exit 1, a failed record)."""
    _interrupted_at_keys(repo, dwconf, monkeypatch)
    with _by_hand(repo) as env:
        env.set_alerts([AlertSetting("app-errors", "application", 99, 15, "pause", ())])
        records = len(env.records())
    refused = dwconf("-C", str(repo), "apply", "dev", "--resume")
    assert refused.exit_code == 4, refused.out + refused.err
    assert "alert.app-errors (threshold)" in refused.err
    with _by_hand(repo) as env:
        assert len(env.records()) == records


def test_the_same_change_made_by_hand_and_maps_left_stopped_still_resume(
    repo: Path, dwconf: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the plan wants, done by someone else, and what the plan's own steps left half-way
    (a map this apply stopped) are no reason to refuse."""
    _interrupted_at_keys(repo, dwconf, monkeypatch)
    with _by_hand(repo) as env:
        env.set_integration_keys("tst_customers", ["tst_account"])
    resumed = dwconf("-C", str(repo), "apply", "dev", "--resume")
    assert resumed.exit_code == 0, resumed.out + resumed.err
    assert dwconf("-C", str(repo), "plan", "dev", "--detailed-exitcode").exit_code == 0


def _interrupted_at(root: Path, dwconf: Cli, monkeypatch: pytest.MonkeyPatch, at: str) -> None:
    def failing(writer: Any, step: Any, plan: Any) -> None:
        raise ProviderError("the service did not answer")

    with monkeypatch.context() as patched:
        patched.setitem(operations.OPERATIONS, Operation(at), failing)
        result = dwconf("-C", str(root), "apply", "dev", "--auto-approve")
    assert result.exit_code == 1, result.out + result.err


def _new_release(root: Path) -> None:
    """A new version of the solution and of the customers map, a field's direction changed."""
    replace_in(CUSTOMERS_FILE, "direction: to_dataverse}", "direction: both}")(root)
    replace_in(CUSTOMERS_FILE, "version: 1.0.0.0", "version: 1.0.0.1")(root)
    replace_in("solutions/base/solution.yaml", "version: 1.0.0.0", "version: 1.0.0.1")(root)


@pytest.mark.parametrize(
    ("edit", "at"),
    [
        (replace_in(ENV_FILE, "[USMF, DEMF]", "[USMF, DEMF, FRRT]"), "set_keys"),
        (_new_release, "apply_solution"),
    ],
    ids=["after-reset-link", "solution-imported-not-applied"],
)
def test_what_the_interrupted_apply_left_half_way_is_resumed(
    applied: Path, dwconf: Cli, monkeypatch: pytest.MonkeyPatch, edit: Any, at: str
) -> None:
    """A Reset link that removed the maps and keys, a solution imported and not applied, the
    maps stopped for it: the plan's own steps put them there, so the resume goes on."""
    edit(applied)
    _interrupted_at(applied, dwconf, monkeypatch, at)
    resumed = dwconf("-C", str(applied), "apply", "dev", "--resume")
    assert resumed.exit_code == 0, resumed.out + resumed.err
    assert dwconf("-C", str(applied), "plan", "dev", "--detailed-exitcode").exit_code == 0
