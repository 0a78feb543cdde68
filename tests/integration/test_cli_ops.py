"""`dwconf drift`, `history`, `rollback` and `lock` on the local provider."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from dwconf.live import Environment
from dwconf.live.state import RunState
from dwconf.providers import local
from tests.golden.scenarios import CUSTOMERS_FILE, ENV_FILE, FILES, commit, replace_in, write
from tests.support import Result

Cli = Callable[..., Result]


@pytest.fixture
def applied(tmp_path: Path, dwconf: Cli) -> Path:
    root = write(tmp_path / "repo", dict(FILES))
    commit(root, "base")
    assert dwconf("-C", str(root), "apply", "dev", "--auto-approve").exit_code == 0
    return root


def live(root: Path) -> Environment:
    return Environment.open(local.state_path(root, "dev"))


# drift -----------------------------------------------------------------------------------------


def test_no_drift_right_after_apply(applied: Path, dwconf: Cli) -> None:
    result = dwconf("-C", str(applied), "drift", "dev")
    assert result.exit_code == 0
    assert "No drift" in result.out


def test_drift_after_an_out_of_band_change(applied: Path, dwconf: Cli) -> None:
    with live(applied) as env:
        env.stop_map("Test customers")
        env.set_legal_entities(["USMF"])
        env.set_integration_keys("tst_currencies", ["tst_code", "tst_name"])
    result = dwconf("-C", str(applied), "drift", "dev")
    assert result.exit_code == 2
    assert "~ map.test-customers  (changed outside dwconf)" in result.out
    assert "~ state: running -> stopped" in result.out
    assert "- legal_entities[DEMF]: DEMF" in result.out
    assert "~ key.tst_currencies  (changed outside dwconf)" in result.out
    data = json.loads(dwconf("-C", str(applied), "drift", "dev", "--format", "json").out)
    assert data["has_drift"] is True
    assert [d["address"] for d in data["drift"]] == [
        "key.tst_currencies",
        "link.legal_entities",
        "map.test-customers",
    ]
    state = next(d for d in data["drift"] if d["address"] == "map.test-customers")["details"]
    assert state == [
        {
            "path": "state",
            "action": "changed",
            "before": "running",
            "after": "stopped",
            "category": "destructive",
            "reason": "the map stops: its records no longer sync",
        }
    ]


def test_drift_as_markdown(applied: Path, dwconf: Cli) -> None:
    with live(applied) as env:
        env.stop_map("Test customers")
    result = dwconf("-C", str(applied), "drift", "dev", "--format", "markdown")
    assert result.exit_code == 2, result.err
    out = result.out
    assert out.startswith("### dwconf drift: `dev`\n")
    assert "**1 object(s) changed outside dwconf.**" in out
    assert "| changed outside dwconf | `map.test-customers` | `destructive` |" in out
    assert "| | path | before | after | effect |" in out
    assert "| ~ | `state` | running | stopped | `destructive`: the map stops" in out


def test_drift_ignores_addresses_and_paths(applied: Path, dwconf: Cli) -> None:
    with live(applied) as env:
        env.stop_map("Test customers")
        env.set_legal_entities(["USMF"])
    args = ["-C", str(applied), "drift", "dev", "--ignore", "map.*:state"]
    assert dwconf(*args).exit_code == 2
    result = dwconf(*args, "--ignore", "link.legal_entities")
    assert result.exit_code == 0, result.out
    assert "Ignored: map.*:state, link.legal_entities" in result.out


def test_drift_is_read_only_and_needs_a_record(tmp_path: Path, dwconf: Cli) -> None:
    root = write(tmp_path / "repo", dict(FILES))
    result = dwconf("-C", str(root), "drift", "dev")
    assert result.exit_code == 1
    assert "no successful deployment record" in result.err


def test_an_apply_puts_drift_back(applied: Path, dwconf: Cli) -> None:
    with live(applied) as env:
        env.stop_map("Test customers")
    assert dwconf("-C", str(applied), "drift", "dev").exit_code == 2
    assert dwconf("-C", str(applied), "apply", "dev", "--auto-approve").exit_code == 0
    assert dwconf("-C", str(applied), "drift", "dev").exit_code == 0


# history and rollback --------------------------------------------------------------------------


def _second_deployment(root: Path, dwconf: Cli) -> None:
    replace_in(CUSTOMERS_FILE, "organization: 2, none: 3", "organization: 3, none: 2")(root)
    replace_in(ENV_FILE, "[USMF, DEMF]", "[USMF, DEMF, FRRT]")(root)
    commit(root, "second")
    assert dwconf("-C", str(root), "apply", "dev", "--auto-approve").exit_code == 0


def test_history_lists_records_newest_first(applied: Path, dwconf: Cli) -> None:
    _second_deployment(applied, dwconf)
    data = json.loads(dwconf("-C", str(applied), "history", "dev", "--format", "json").out)
    records = data["records"]
    assert len(records) == 2
    assert {r["status"] for r in records} == {"succeeded"}
    assert set(records[0]) == {
        "id",
        "created",
        "who",
        "status",
        "plan_id",
        "git_commit",
        "git_dirty",
        "solution_versions",
        "sources",
        "applied_hash",
    }
    assert records[0]["git_commit"] != records[1]["git_commit"]
    assert records[0]["solution_versions"] == {"tst_Base": "1.0.0.0"}
    assert records[0]["sources"] == {"tst_Base": "workspace"}
    assert [r["git_dirty"] for r in records] == [False, False]
    text = dwconf("-C", str(applied), "history", "dev").out
    assert records[0]["id"] in text.splitlines()[0]


def test_a_record_says_the_tree_was_dirty_and_where_each_solution_came_from(
    applied: Path, dwconf: Cli
) -> None:
    """An uncommitted edit applied: the record keeps the same commit as the one before, and
    says that the tree held changes the commit does not."""
    replace_in(ENV_FILE, "[USMF, DEMF]", "[USMF, DEMF, FRRT]")(applied)
    assert dwconf("-C", str(applied), "apply", "dev", "--auto-approve").exit_code == 0
    data = json.loads(dwconf("-C", str(applied), "history", "dev", "--format", "json").out)
    newest, first = data["records"]
    assert newest["git_commit"] == first["git_commit"]
    assert (newest["git_dirty"], first["git_dirty"]) == (True, False)
    assert newest["applied_hash"] and newest["applied_hash"] != first["applied_hash"]
    text = dwconf("-C", str(applied), "history", "dev").out.splitlines()
    assert "with uncommitted changes" in text[1] and "with uncommitted changes" not in text[3]
    assert "tst_Base 1.0.0.0 (workspace)" in text[1]


def test_rollback_returns_to_the_previous_deployment(applied: Path, dwconf: Cli) -> None:
    _second_deployment(applied, dwconf)
    result = dwconf("-C", str(applied), "rollback", "dev", "--auto-approve")
    assert result.exit_code == 0, result.out + result.err
    assert "~ fields[KIND : tst_kind].value_map.none: 2 -> 3" in result.out
    assert "- legal_entities[FRRT]: FRRT" in result.out
    with live(applied) as env:
        assert env.read().legal_entities == ("DEMF", "USMF") or set(env.read().legal_entities) == {
            "DEMF",
            "USMF",
        }
        assert env.get_map("Test customers").state is RunState.RUNNING
    assert dwconf("-C", str(applied), "drift", "dev").exit_code == 0
    # the configuration still asks for the second deployment
    assert dwconf("-C", str(applied), "plan", "dev", "--detailed-exitcode").exit_code == 2


def test_rollback_to_a_record_as_a_saved_plan(applied: Path, dwconf: Cli, tmp_path: Path) -> None:
    first = json.loads(dwconf("-C", str(applied), "history", "dev", "--format", "json").out)
    first_id = first["records"][0]["id"]
    _second_deployment(applied, dwconf)
    out = tmp_path / "rollback.dwplan"
    saved = dwconf("-C", str(applied), "rollback", "dev", "--to", first_id[:8], "--out", str(out))
    assert saved.exit_code == 0, saved.err
    assert json.loads(out.read_text())["origin"] == f"record:{first_id}"
    applied_plan = dwconf("-C", str(applied), "apply", "dev", str(out))
    assert applied_plan.exit_code == 0, applied_plan.out + applied_plan.err


def test_rollback_keeps_a_higher_installed_solution_version(applied: Path, dwconf: Cli) -> None:
    replace_in("solutions/base/solution.yaml", "version: 1.0.0.0", "version: 1.1.0.0")(applied)
    replace_in(CUSTOMERS_FILE, "organization: 2, none: 3", "organization: 3, none: 2")(applied)
    assert dwconf("-C", str(applied), "apply", "dev", "--auto-approve").exit_code == 0
    result = dwconf("-C", str(applied), "rollback", "dev", "--auto-approve")
    assert result.exit_code == 0, result.out + result.err
    assert "solution.tst_Base stays at version 1.1.0.0" in result.out
    assert dwconf("-C", str(applied), "drift", "dev").exit_code == 0


def test_rollback_needs_an_earlier_deployment(applied: Path, dwconf: Cli) -> None:
    result = dwconf("-C", str(applied), "rollback", "dev", "--auto-approve")
    assert result.exit_code == 1
    assert "no earlier successful deployment" in result.err


# lock ------------------------------------------------------------------------------------------


def test_lock_status_and_force_unlock(applied: Path, dwconf: Cli) -> None:
    assert dwconf("-C", str(applied), "lock", "status", "dev").out == "dev is not locked.\n"
    with live(applied) as env:
        lease = env.acquire_lock("ci@runner-7", "apply", "f00d", 3600)
    status = dwconf("-C", str(applied), "lock", "status", "dev", "--format", "json")
    lock = json.loads(status.out)["lock"]
    assert (lock["id"], lock["owner"], lock["operation"], lock["expired"]) == (
        lease.id,
        "ci@runner-7",
        "apply",
        False,
    )
    wrong = dwconf("-C", str(applied), "lock", "force-unlock", "dev", "not-the-id")
    assert wrong.exit_code == 1
    done = dwconf("-C", str(applied), "lock", "force-unlock", "dev", lease.id)
    assert done.exit_code == 0 and "ci@runner-7" in done.out
    assert dwconf("-C", str(applied), "apply", "dev", "--auto-approve").exit_code == 0
