"""`dwconf plan` and `dwconf apply` on the local provider: convergence, saved plans and their
staleness, protections, the lease, failures mid-way and `--resume`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from dwconf.apply import operations
from dwconf.errors import ProviderError
from dwconf.live import Environment
from dwconf.live.state import RunState
from dwconf.providers import local
from tests.golden.scenarios import (
    CUSTOMERS_FILE,
    ENV_FILE,
    SCENARIOS,
    commit,
    remove,
    replace_in,
)
from tests.support import Result

Cli = Callable[..., Result]


def env_file(root: Path) -> Path:
    return local.state_path(root, "dev")


def journal_events(root: Path) -> list[dict[str, Any]]:
    events = []
    for path in sorted((root / ".dwconf/journal/dev").glob("*.jsonl")):
        events += [json.loads(line) for line in path.read_text().splitlines()]
    return events


def no_changes(dwconf: Cli, root: Path) -> bool:
    return dwconf("-C", str(root), "plan", "dev", "--detailed-exitcode").exit_code == 0


# Convergence ------------------------------------------------------------------------------------


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_apply_then_plan_is_empty(scenario: str, applied: Path, dwconf: Cli) -> None:
    for edit in SCENARIOS[scenario][1]:
        edit(applied)
    result = dwconf("-C", str(applied), "apply", "dev", "--auto-approve")
    assert result.exit_code == 0, result.out + result.err
    assert "0 failed, 0 skipped" in result.out or not SCENARIOS[scenario][1]
    assert no_changes(dwconf, applied)


def test_a_removed_map_is_stopped_and_its_solution_no_longer_carries_it(
    applied: Path, dwconf: Cli
) -> None:
    remove(CUSTOMERS_FILE)(applied)
    assert dwconf("-C", str(applied), "apply", "dev", "--auto-approve").exit_code == 0
    with Environment.open(env_file(applied)) as env:
        assert env.get_map("Test customers").state is RunState.NOT_RUNNING
        assert "tst_customers" not in env.read().integration_keys


# Saved plans -----------------------------------------------------------------------------------


def test_saved_plan_applies_exactly(applied: Path, dwconf: Cli, tmp_path: Path) -> None:
    SCENARIOS["field-added"][1][0](applied)
    out = tmp_path / "dev.dwplan"
    planned = dwconf("-C", str(applied), "plan", "dev", "--out", str(out))
    assert planned.exit_code == 0 and out.exists()
    result = dwconf("-C", str(applied), "apply", "dev", str(out))
    assert result.exit_code == 0, result.err
    assert "ok           start_map map.test-customers" in result.out
    assert no_changes(dwconf, applied)


def test_stale_plan_configuration_changed(applied: Path, dwconf: Cli, tmp_path: Path) -> None:
    out = tmp_path / "dev.dwplan"
    SCENARIOS["field-added"][1][0](applied)
    dwconf("-C", str(applied), "plan", "dev", "--out", str(out))
    replace_in(ENV_FILE, "[USMF, DEMF]", "[USMF, DEMF, FRRT]")(applied)
    result = dwconf("-C", str(applied), "apply", "dev", str(out))
    assert result.exit_code == 4
    assert "the configuration changed since the plan was made: link.legal_entities" in result.err
    assert "environment changed" not in result.err


def _head(root: Path) -> str:
    found = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True
    )
    return found.stdout.strip()


def test_a_plan_made_before_a_commit_says_what_changed_and_what_to_run(
    applied: Path, dwconf: Cli, tmp_path: Path
) -> None:
    """The plan was made, then the configuration was changed and committed: the refusal names
    the commits on both sides, what changed in each object, and the commands that fit, with
    the plan file the user gave."""
    out = tmp_path / "dev.dwplan"
    made_at = _head(applied)
    assert dwconf("-C", str(applied), "plan", "dev", "--out", str(out)).exit_code == 0
    replace_in(ENV_FILE, "[USMF, DEMF]", "[USMF, DEMF, FRRT]")(applied)
    commit(applied, "FRRT")
    now = _head(applied)
    result = dwconf("-C", str(applied), "apply", "dev", str(out))
    assert result.exit_code == 4
    err = " ".join(result.err.split())
    assert "the configuration changed since the plan was made" in err
    assert f"The plan was made at commit {made_at[:7]}" in err
    assert f"the configuration is now at commit {now[:7]}" in err
    assert "link.legal_entities (legal_entities[FRRT] added)" in err
    assert f"dwconf diff {made_at[:7]} {now[:7]} --env dev" in err
    assert f"dwconf plan dev --out {out}" in err and f"dwconf apply dev {out}" in err
    assert "hint: nothing was changed." in err


def test_stale_plan_environment_changed(applied: Path, dwconf: Cli, tmp_path: Path) -> None:
    out = tmp_path / "dev.dwplan"
    SCENARIOS["field-added"][1][0](applied)
    dwconf("-C", str(applied), "plan", "dev", "--out", str(out))
    with Environment.open(env_file(applied)) as env:
        env.stop_map("Test currencies")
    result = dwconf("-C", str(applied), "apply", "dev", str(out))
    assert result.exit_code == 4
    assert "the environment changed since the plan was made: map.test-currencies" in result.err
    assert "configuration changed" not in result.err
    assert dwconf("-C", str(applied), "lock", "status", "dev").out.startswith("dev is not locked")


def test_altered_plan_file_is_refused(applied: Path, dwconf: Cli, tmp_path: Path) -> None:
    out = tmp_path / "dev.dwplan"
    SCENARIOS["field-added"][1][0](applied)
    dwconf("-C", str(applied), "plan", "dev", "--out", str(out))
    out.write_text(out.read_text().replace('"tst_opened"', '"tst_name"', 1))
    result = dwconf("-C", str(applied), "apply", "dev", str(out))
    assert result.exit_code == 4
    assert "altered after it was written (checksum mismatch)" in result.err


def test_refresh_only_plan_is_not_applied(applied: Path, dwconf: Cli, tmp_path: Path) -> None:
    out = tmp_path / "dev.dwplan"
    SCENARIOS["field-added"][1][0](applied)
    dwconf("-C", str(applied), "plan", "dev", "--refresh-only", "--out", str(out))
    refused = dwconf("-C", str(applied), "apply", "dev", str(out))
    assert refused.exit_code == 4
    assert "a refresh-only plan shows drift; it has nothing to apply" in refused.err
    still = dwconf("-C", str(applied), "plan", "dev", "--detailed-exitcode")
    assert still.exit_code == 2, "the field is still to be added: nothing was applied"


# Protections -----------------------------------------------------------------------------------


def test_destructive_changes_need_allow_destroy(applied: Path, dwconf: Cli) -> None:
    protect = replace_in(ENV_FILE, "alerts:", "protect: {prevent_destroy: true}\nalerts:")
    for edit in (protect, remove(CUSTOMERS_FILE)):
        edit(applied)
    refused = dwconf("-C", str(applied), "apply", "dev", "--auto-approve")
    assert refused.exit_code == 4
    assert "key.tst_customers: a destructive change (delete)" in refused.err
    assert "map.test-customers: a destructive change (delete)" in refused.err
    assert "prevent_destroy" in refused.err
    assert "--allow-destroy" in refused.err
    allowed = dwconf("-C", str(applied), "apply", "dev", "--auto-approve", "--allow-destroy")
    assert allowed.exit_code == 0
    assert no_changes(dwconf, applied)


def test_a_blocked_plan_says_so_where_a_reviewer_looks_first_and_last(
    applied: Path, dwconf: Cli
) -> None:
    """Markdown (a pull-request comment) puts the refusal under its summary line, before the
    changes; the text plan ends with it, under the summary a terminal shows last."""
    protect = replace_in(ENV_FILE, "alerts:", "protect: {prevent_destroy: true}\nalerts:")
    for edit in (protect, remove(CUSTOMERS_FILE)):
        edit(applied)
    markdown = dwconf("-C", str(applied), "plan", "dev", "--format", "markdown").out
    refusal = markdown.index("Apply would refuse this plan")
    assert markdown.index("Plan: ") < refusal < markdown.index("| change | address | effect |")
    text = dwconf("-C", str(applied), "plan", "dev").out.rstrip("\n").splitlines()
    assert text[-2].startswith("Plan: ")
    assert text[-1] == "Apply would refuse this plan: 2 problem(s), listed above."


def test_apply_without_approval_and_no_terminal_is_refused(repo: Path, dwconf: Cli) -> None:
    result = dwconf("-C", str(repo), "apply", "dev")
    assert result.exit_code == 4 and "--auto-approve" in result.err


# The lease -------------------------------------------------------------------------------------


def _hold(root: Path, ttl: float, now: datetime | None = None) -> str:
    clock = (lambda: now) if now else None
    with Environment.open(env_file(root), now=clock) as env:
        return env.acquire_lock("someone@elsewhere", "apply", "abc123", ttl).id


def test_someone_elses_lease_exits_5_with_owner_operation_and_age(repo: Path, dwconf: Cli) -> None:
    lock_id = _hold(repo, 600)
    result = dwconf("-C", str(repo), "apply", "dev", "--auto-approve")
    assert result.exit_code == 5
    assert "locked by someone@elsewhere (apply, plan abc123), held for 0s" in result.err
    assert lock_id in result.err
    status = dwconf("-C", str(repo), "lock", "status", "dev").out
    assert "someone@elsewhere" in status and lock_id in status


def test_lock_timeout_waits_for_the_lease_to_expire(repo: Path, dwconf: Cli) -> None:
    _hold(repo, 1.0)
    result = dwconf("-C", str(repo), "apply", "dev", "--auto-approve", "--lock-timeout", "20s")
    assert result.exit_code == 0, result.err
    assert "Waiting for the lock held by someone@elsewhere" in result.err


@pytest.mark.parametrize("command", [("apply", "dev"), ("rollback", "dev")])
def test_lock_timeout_is_a_duration_as_the_configuration_writes_one(
    repo: Path, dwconf: Cli, command: tuple[str, ...]
) -> None:
    result = dwconf("-C", str(repo), *command, "--lock-timeout", "5x")
    assert result.exit_code == 1  # a usage error (2 means changes)
    assert "Invalid value for '--lock-timeout': '5x' is not a duration" in result.err
    _hold(repo, 1.0)
    waited = dwconf("-C", str(repo), "apply", "dev", "--auto-approve", "--lock-timeout", "0.01d")
    assert waited.exit_code == 0, waited.err


def test_an_expired_lease_is_taken_over(repo: Path, dwconf: Cli) -> None:
    _hold(repo, 60, now=datetime(2020, 1, 1, tzinfo=UTC))
    assert "expired" in dwconf("-C", str(repo), "lock", "status", "dev").out
    assert dwconf("-C", str(repo), "apply", "dev", "--auto-approve").exit_code == 0
    assert dwconf("-C", str(repo), "lock", "status", "dev").out.startswith("dev is not locked")


# A step that fails mid-way ---------------------------------------------------------------------


class FailingSwitch:
    """The local provider, except that switching one map's version fails."""

    def __init__(self, inner: local.LocalProvider, name: str) -> None:
        self._inner, self._name = inner, name
        self.calls: list[str] = []

    def switch_version(self, map_name: str, version: str, author: str | None = None) -> Any:
        if map_name == self._name:
            raise ProviderError(f"Injected failure switching {map_name}")
        return self._inner.switch_version(map_name, version, author)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


@pytest.fixture
def failing(monkeypatch: pytest.MonkeyPatch) -> dict[str, bool]:
    """While `failing["on"]`, apply's provider fails to switch Test currencies."""
    import dwconf.apply.session as commands

    real = commands.open_writer
    switch = {"on": True}

    def opened(root: Path, env: Any) -> Any:
        writer = real(root, env)
        return FailingSwitch(writer, "Test currencies") if switch["on"] else writer

    monkeypatch.setattr(commands, "open_writer", opened)
    return switch


def _bump_both(root: Path) -> None:
    replace_in(CUSTOMERS_FILE, "version: 1.0.0.0", "version: 1.0.0.1")(root)
    replace_in("solutions/base/maps/currencies.yaml", "version: 1.0.0.0", "version: 1.0.0.1")(root)


def test_a_failed_step_stops_its_dependents_restarts_maps_and_resume_converges(
    applied: Path, dwconf: Cli, failing: dict[str, bool]
) -> None:
    _bump_both(applied)
    result = dwconf("-C", str(applied), "apply", "dev", "--auto-approve")
    assert result.exit_code == 1
    assert "FAILED       switch_version map.test-currencies" in result.out
    assert "Injected failure switching Test currencies" in result.out
    assert "Apply: 6 done, 0 done earlier, 1 failed, 2 skipped." in result.out
    assert "Left undone: start_map map.test-currencies" in result.out
    assert "Started again (this apply had stopped them): Test currencies, Test customers" in (
        result.out
    )
    with Environment.open(env_file(applied)) as env:
        assert env.get_map("Test currencies").state is RunState.RUNNING
        assert env.get_map("Test customers").state is RunState.RUNNING
    assert [r.status for r in env_records(applied)] == ["succeeded", "failed"]

    failing["on"] = False
    resumed = dwconf("-C", str(applied), "apply", "dev", "--resume")
    assert resumed.exit_code == 0, resumed.out + resumed.err
    assert "done earlier" in resumed.out
    assert "ok           switch_version map.test-currencies" in resumed.out
    assert no_changes(dwconf, applied)


def test_resume_is_refused_when_the_configuration_moved(
    applied: Path, dwconf: Cli, failing: dict[str, bool]
) -> None:
    _bump_both(applied)
    assert dwconf("-C", str(applied), "apply", "dev", "--auto-approve").exit_code == 1
    failing["on"] = False
    replace_in(ENV_FILE, "[USMF, DEMF]", "[USMF, FRRT]")(applied)
    result = dwconf("-C", str(applied), "apply", "dev", "--resume")
    assert result.exit_code == 4
    assert "the configuration changed since the plan was made: link.legal_entities" in result.err
    assert dwconf("-C", str(applied), "apply", "dev", "--auto-approve").exit_code == 0
    assert no_changes(dwconf, applied)


def env_records(root: Path) -> list[Any]:
    with Environment.open(env_file(root)) as env:
        return list(env.records())


def test_resume_with_nothing_to_resume(applied: Path, dwconf: Cli) -> None:
    result = dwconf("-C", str(applied), "apply", "dev", "--resume")
    assert result.exit_code == 1 and "no interrupted apply" in result.err


def test_verification_failure_exits_1_with_the_remaining_diff(
    applied: Path, dwconf: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(operations.OPERATIONS, "reset_link", lambda w, s, p: None)
    replace_in(ENV_FILE, "[USMF, DEMF]", "[USMF, DEMF, FRRT]")(applied)
    result = dwconf("-C", str(applied), "apply", "dev", "--auto-approve")
    assert result.exit_code == 1
    assert "Verification failed" in result.out
    assert "+ legal_entities[FRRT]: FRRT" in result.out


def test_secrets_never_reach_the_output(
    applied: Path, dwconf: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DWCONF_CLIENT_SECRET", "FRRT")  # too short to count as a secret
    monkeypatch.setenv("DWCONF_CLIENT_SECRET", "s3cr3t-value-123")

    def leak(w: Any, s: Any, p: Any) -> None:
        raise ProviderError("401 from the gateway with s3cr3t-value-123 in it")

    monkeypatch.setitem(operations.OPERATIONS, "reset_link", leak)
    replace_in(ENV_FILE, "[USMF, DEMF]", "[USMF, DEMF, FRRT]")(applied)
    result = dwconf("-C", str(applied), "apply", "dev", "--auto-approve")
    assert result.exit_code == 1
    assert "s3cr3t-value-123" not in result.out + result.err
    assert "401 from the gateway with *** in it" in result.out
    journals = (applied / ".dwconf/journal").rglob("*")
    assert all("s3cr3t-value-123" not in p.read_text() for p in journals if p.is_file())


# Killed with SIGKILL during apply -------------------------------------------------------------

SLOW_APPLY = """
import sys, time
from dwconf.apply import operations
from dwconf.cli.main import main

real = operations.OPERATIONS["start_map"]

def slow(writer, step, plan):
    if step.address == "map.test-customers":
        time.sleep(120)
    real(writer, step, plan)

operations.OPERATIONS["start_map"] = slow
sys.argv = ["dwconf", "-C", sys.argv[1], "apply", "dev", "--auto-approve"]
main()
"""


def _wait_for(root: Path, event: str, step: str, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        folder = root / ".dwconf/journal/dev"
        if folder.exists() and any(
            e["event"] == event and e["step"] == step for e in journal_events(root)
        ):
            return
        time.sleep(0.05)
    raise AssertionError(f"the apply never journaled {event} {step}")


@pytest.mark.slow
def test_sigkill_during_apply_then_resume_converges_without_repeating_steps(
    repo: Path, dwconf: Cli
) -> None:
    env = {**os.environ, "NO_COLOR": "1"}
    process = subprocess.Popen(
        [sys.executable, "-c", SLOW_APPLY, str(repo)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_for(repo, "start", "start_map:map.test-customers", process)
        concurrent = dwconf("-C", str(repo), "apply", "dev", "--auto-approve")
        assert concurrent.exit_code == 5
        assert "(apply, plan" in concurrent.err and "held for" in concurrent.err
    finally:
        process.send_signal(signal.SIGKILL)
        process.communicate()
    before_kill = {e["step"] for e in journal_events(repo) if e["event"] == "done"}
    assert "start_map:map.test-currencies" in before_kill
    assert "start_map:map.test-customers" not in before_kill

    resumed = subprocess.run(
        [sys.executable, "-m", "dwconf", "-C", str(repo), "apply", "dev", "--resume"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert "took over the lock" in resumed.stdout
    events = journal_events(repo)
    begins = [i for i, e in enumerate(events) if e["event"] == "begin"]
    assert len(begins) == 2
    after_resume = [e["step"] for e in events[begins[1] :] if e["event"] == "start"]
    assert after_resume == ["start_map:map.test-customers"]
    done = [e["step"] for e in events if e["event"] == "done"]
    assert len(done) == len(set(done)), "a step ran twice"
    with Environment.open(env_file(repo)) as live:
        customers = live.get_map("Test customers").last_request
        assert customers is not None and customers.action == "initial_sync"
    assert no_changes(dwconf, repo)
