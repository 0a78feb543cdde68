"""The rules `dwconf apply` keeps whoever calls it: plans that say what apply would refuse,
refusals before anything changes, plan files that can't be forged (and signatures), plans
applied twice, the lease's fence, and the end of an apply always shown."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from dwconf.apply import run
from dwconf.canonical import canonical_text
from dwconf.cli import plan_cmds
from dwconf.errors import ProviderError
from dwconf.live import Environment
from dwconf.providers import local
from tests.golden.scenarios import CUSTOMERS_FILE, ENV_FILE, remove, replace_in
from tests.support import Result

Cli = Callable[..., Result]
SOLUTION_FILE = "solutions/base/solution.yaml"
TOO_NEW = 'requires: {DualWriteCore: ">=1.0.99999.1"}\npublisher:'
MISMATCH = (
    "Dynamics 365 for Sales solution 'DualWriteCore' has version mismatch. "
    "Version: '1.0.24062.1' Required version: '1.0.99999.1'"
)


def fingerprint(root: Path) -> str:
    with Environment.open(local.state_path(root, "dev")) as env:
        return env.read().fingerprint


def plan_json(dwconf: Cli, root: Path, *extra: str) -> dict[str, Any]:
    result = dwconf("-C", str(root), "plan", "dev", "--format", "json", *extra)
    assert result.exit_code == 0, result.err
    return json.loads(result.out)  # type: ignore[no-any-return]


# What apply would refuse, shown by the plan --------------------------------------------------


def test_an_unmet_solution_requirement_blocks_the_plan_and_apply_changes_nothing(
    repo: Path, dwconf: Cli
) -> None:
    replace_in(SOLUTION_FILE, "publisher:", TOO_NEW)(repo)
    data = plan_json(dwconf, repo)
    assert data["applyable"] is False
    assert data["blocked_by"] == [
        {
            "kind": "requirement",
            "reason": MISMATCH,
            "address": "solution.tst_Base",
            "hint": "Upgrade DualWriteCore to 1.0.99999.1 or later. It is required by tst_Base.",
        }
    ]
    check = next(s for s in data["steps"] if s["operation"] == "check_requirements")
    assert check["args"]["requires"] == {"DualWriteCore": [">=1.0.99999.1"]}
    text = dwconf("-C", str(repo), "plan", "dev").out
    assert "Apply would refuse this plan:" in text and MISMATCH in text
    markdown = dwconf("-C", str(repo), "plan", "dev", "--format", "markdown").out
    assert "Apply would refuse this plan" in markdown and MISMATCH in markdown

    before = fingerprint(repo)
    result = dwconf("-C", str(repo), "apply", "dev", "--auto-approve")
    assert result.exit_code == 4
    assert MISMATCH in result.err and "nothing was changed" in result.err
    assert fingerprint(repo) == before
    assert dwconf("-C", str(repo), "history", "dev").out.startswith("dev has no deployment")


def test_a_saved_plan_blocked_since_it_was_made_is_refused_before_any_step(
    repo: Path, dwconf: Cli, tmp_path: Path
) -> None:
    """A saved plan's own blocked_by is not trusted: apply finds the blocks again."""
    out = tmp_path / "dev.dwplan"
    assert dwconf("-C", str(repo), "plan", "dev", "--out", str(out)).exit_code == 0
    with Environment.open(local.state_path(repo, "dev")) as env:
        env.stop_map("Test currencies") if env.read().map("Test currencies") else None
    replace_in(SOLUTION_FILE, "publisher:", TOO_NEW)(repo)
    before = fingerprint(repo)
    result = dwconf("-C", str(repo), "apply", "dev", str(out))
    assert result.exit_code == 4
    assert fingerprint(repo) == before


def test_prevent_destroy_blocks_the_plan_and_plan_allow_destroy_records_the_allowance(
    applied: Path, dwconf: Cli, tmp_path: Path
) -> None:
    replace_in(ENV_FILE, "alerts:", "protect: {prevent_destroy: true}\nalerts:")(applied)
    remove(CUSTOMERS_FILE)(applied)
    data = plan_json(dwconf, applied)
    assert data["applyable"] is False and data["allowances"] == []
    blocked = {b["address"]: b for b in data["blocked_by"]}
    assert set(blocked) == {"key.tst_customers", "map.test-customers"}
    assert all(b["kind"] == "protection" for b in blocked.values())
    assert "dwconf plan dev --allow-destroy --out FILE" in blocked["map.test-customers"]["hint"]
    for fmt in ("text", "markdown"):
        shown = dwconf("-C", str(applied), "plan", "dev", "--format", fmt).out
        assert "Apply would refuse this plan" in shown and "--allow-destroy" in shown
        assert "sets protect.prevent_destroy" in shown

    refused_file = tmp_path / "refused.dwplan"
    dwconf("-C", str(applied), "plan", "dev", "--out", str(refused_file))
    assert dwconf("-C", str(applied), "apply", "dev", str(refused_file)).exit_code == 4

    allowed_file = tmp_path / "allowed.dwplan"
    allowed = plan_json(dwconf, applied, "--allow-destroy", "--out", str(allowed_file))
    assert allowed["applyable"] is True and allowed["allowances"] == ["destroy"]
    shown = dwconf("-C", str(applied), "plan", "dev", "--allow-destroy").out
    assert "This plan allows destructive changes (made with --allow-destroy)" in shown
    result = dwconf("-C", str(applied), "apply", "dev", str(allowed_file))
    assert result.exit_code == 0, result.out + result.err
    assert dwconf("-C", str(applied), "plan", "dev", "--detailed-exitcode").exit_code == 0


def test_someone_elses_lock_is_shown_by_the_plan(repo: Path, dwconf: Cli) -> None:
    dwconf("-C", str(repo), "plan", "dev")
    with Environment.open(local.state_path(repo, "dev")) as env:
        lock_id = env.acquire_lock("ana@ci", "apply", "p1", 600).id
    data = plan_json(dwconf, repo)
    assert [b["kind"] for b in data["blocked_by"]] == ["lock"]
    assert "ana@ci" in data["blocked_by"][0]["reason"] and lock_id in data["blocked_by"][0]["hint"]
    assert dwconf("-C", str(repo), "apply", "dev", "--auto-approve").exit_code == 5


# Plan files that can't be forged --------------------------------------------------------------


def _rewrite(path: Path, change: Callable[[dict[str, Any]], None]) -> None:
    """Edit a plan file and recompute its checksum, as a forger would."""
    raw = json.loads(path.read_text())
    raw.pop("checksum")
    raw.pop("signature", None)
    change(raw)
    text = canonical_text(raw)
    digest = hashlib.sha256(text.encode()).hexdigest()
    path.write_text(f'{text[:-1]},"checksum":"{digest}"}}\n')


def _saved_field_added(root: Path, dwconf: Cli, out: Path) -> None:
    replace_in(
        CUSTOMERS_FILE,
        "  - {finops: NAME,",
        "  - {finops: OPENED, dataverse: tst_opened}\n  - {finops: NAME,",
    )(root)
    assert dwconf("-C", str(root), "plan", "dev", "--out", str(out)).exit_code == 0


def test_an_edited_definition_with_a_recomputed_checksum_is_refused(
    applied: Path, dwconf: Cli, tmp_path: Path
) -> None:
    out = tmp_path / "dev.dwplan"
    _saved_field_added(applied, dwconf, out)

    def forge(raw: dict[str, Any]) -> None:
        fields = raw["desired"]["map.test-customers"]["definition"]["fields"]
        next(f for f in fields if f["dataverse"] == "tst_opened")["dataverse"] = "tst_credit"

    _rewrite(out, forge)
    before = fingerprint(applied)
    result = dwconf("-C", str(applied), "apply", "dev", str(out))
    assert result.exit_code == 4
    assert "does not follow from the configuration" in result.err
    assert "map.test-customers" in result.err
    assert fingerprint(applied) == before


def test_edited_steps_with_a_recomputed_checksum_are_refused(
    applied: Path, dwconf: Cli, tmp_path: Path
) -> None:
    out = tmp_path / "dev.dwplan"
    _saved_field_added(applied, dwconf, out)

    def forge(raw: dict[str, Any]) -> None:
        raw["steps"].append(dict(raw["steps"][-1], id="stop_map:map.test-currencies"))
        raw["steps"][-1].update(operation="stop_map", address="map.test-currencies")
        raw["steps"][-1]["args"] = {"name": "Test currencies"}

    _rewrite(out, forge)
    result = dwconf("-C", str(applied), "apply", "dev", str(out))
    assert result.exit_code == 4
    assert "don't follow from the configuration and the environment" in result.err
    assert dwconf("-C", str(applied), "plan", "dev", "--detailed-exitcode").exit_code == 2


KEYS = [
    ("k1-0123456789abcdef", "another-key-0123456789"),
    # bytes that are not UTF-8, as os.environ holds them (a key from /dev/urandom)
    ("k1-\udcff\udcfe-0123456789", "k1-\udcfe\udcff-0123456789"),
]


@pytest.mark.parametrize("keys", KEYS, ids=["text", "not text"])
def test_with_a_key_plans_must_be_signed_with_it(
    applied: Path,
    dwconf: Cli,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    keys: tuple[str, str],
) -> None:
    key, other = keys
    unsigned = tmp_path / "unsigned.dwplan"
    _saved_field_added(applied, dwconf, unsigned)
    monkeypatch.setenv("DWCONF_PLAN_KEY", key)
    signed = tmp_path / "signed.dwplan"
    assert dwconf("-C", str(applied), "plan", "dev", "--out", str(signed)).exit_code == 0
    assert '"signature":"hmac-sha256:' in signed.read_text()
    refused = dwconf("-C", str(applied), "apply", "dev", str(unsigned))
    assert refused.exit_code == 4 and "is not signed" in refused.err
    monkeypatch.setenv("DWCONF_PLAN_KEY", other)
    refused = dwconf("-C", str(applied), "apply", "dev", str(signed))
    assert refused.exit_code == 4 and "signature that does not match" in refused.err
    monkeypatch.setenv("DWCONF_PLAN_KEY", key)
    result = dwconf("-C", str(applied), "apply", "dev", str(signed))
    assert result.exit_code == 0, result.out + result.err


def test_a_failure_before_a_command_body_runs_is_a_crash_log_not_a_traceback(
    applied: Path, dwconf: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken() -> bytes:
        raise RuntimeError("reading the key failed")

    monkeypatch.setattr(plan_cmds, "plan_key", broken)
    result = dwconf("-C", str(applied), "apply", "dev", "--auto-approve")
    assert result.exit_code == 3
    assert "internal error: RuntimeError" in result.err and "crash-" in result.err


# Applied twice, missing files, JSON ------------------------------------------------------------


def test_an_applied_plan_applied_again_says_already_applied(
    applied: Path, dwconf: Cli, tmp_path: Path
) -> None:
    out = tmp_path / "dev.dwplan"
    _saved_field_added(applied, dwconf, out)
    assert dwconf("-C", str(applied), "apply", "dev", str(out)).exit_code == 0
    again = dwconf("-C", str(applied), "apply", "dev", str(out))
    assert again.exit_code == 0, again.err
    assert "already applied" in again.out and "environment changed" not in again.out + again.err
    with Environment.open(local.state_path(applied, "dev")) as env:
        env.stop_map("Test customers")
    moved = dwconf("-C", str(applied), "apply", "dev", str(out))
    assert moved.exit_code == 4
    assert "was applied already" in moved.err and "map.test-customers" in moved.err


def test_a_missing_plan_file_is_a_clear_error(repo: Path, dwconf: Cli, tmp_path: Path) -> None:
    result = dwconf("-C", str(repo), "apply", "dev", str(tmp_path / "nowhere.dwplan"))
    assert result.exit_code == 1
    assert "there is no plan file" in result.err and "Errno" not in result.err


def test_apply_format_json(repo: Path, dwconf: Cli) -> None:
    result = dwconf("-C", str(repo), "apply", "dev", "--auto-approve", "--format", "json")
    assert result.exit_code == 0, result.err
    data = json.loads(result.out)
    assert data["format_version"] == "1.0" and data["ending"] == "applied" and data["ok"]
    assert data["summary"]["done"] == len(data["steps"]) > 0
    assert data["summary"]["failed"] == 0 and data["resume"] is None
    assert {s["status"] for s in data["steps"]} == {"done"}
    history = json.loads(dwconf("-C", str(repo), "history", "dev", "--format", "json").out)
    assert data["record_id"] == history["records"][0]["id"]
    again = json.loads(dwconf("-C", str(repo), "apply", "dev", "--format", "json").out)
    assert again["ending"] == "nothing_to_do" and again["steps"] == []


# The lease's fence ----------------------------------------------------------------------------


class FailingRenewals:
    """Renewals of the local provider fail `times` times (None: always)."""

    def __init__(self, times: int | None) -> None:
        self.times, self.calls = times, 0

    def renew(self, provider: Any, lease_id: str, ttl: float) -> Any:
        self.calls += 1
        if self.times is None or self.calls <= self.times:
            raise ProviderError("the renewal was dropped")
        return provider.environment.renew_lock(lease_id, ttl)

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        def renew_lock(provider: Any, lease_id: str, ttl: float) -> Any:
            return self.renew(provider, lease_id, ttl)

        monkeypatch.setattr(local.LocalProvider, "renew_lock", renew_lock)


def _slow_starts(monkeypatch: pytest.MonkeyPatch, seconds: float) -> None:
    from dwconf.apply import operations
    from dwconf.plan.order import Operation

    real = operations.OPERATIONS[Operation.START_MAP]

    def slow(writer: Any, step: Any, plan: Any) -> None:
        import time

        time.sleep(seconds)
        real(writer, step, plan)

    monkeypatch.setitem(operations.OPERATIONS, Operation.START_MAP, slow)


def _short_lease(monkeypatch: pytest.MonkeyPatch, seconds: float) -> None:
    monkeypatch.setattr(run.Options, "__init__", _with_lease(run.Options.__init__, seconds))


def _with_lease(init: Any, seconds: float) -> Any:
    def patched(self: Any, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **{**kwargs, "lease_seconds": seconds})

    return patched


def test_a_lost_lease_stops_before_the_next_write_and_exits_5(
    repo: Path, dwconf: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    _short_lease(monkeypatch, 3.0)
    _slow_starts(monkeypatch, 2.0)
    FailingRenewals(None).install(monkeypatch)
    result = dwconf("-C", str(repo), "apply", "dev", "--auto-approve")
    assert result.exit_code == 5, result.out + result.err
    assert "The lock was lost" in result.out and "Warning" not in result.out
    assert "Continue with: dwconf apply dev --resume" in result.out
    journal = next((repo / ".dwconf/journal/dev").glob("*.jsonl"))
    events = [json.loads(line) for line in journal.read_text().splitlines()]
    halted = [e for e in events if e["event"] == "halted"]
    assert len(halted) == 1 and "lost the environment's lock" in halted[0]["reason"]
    after = [e for e in events[events.index(halted[0]) :] if e["event"] == "start"]
    assert after == [], "a step started after the lease was lost"
    assert dwconf("-C", str(repo), "history", "dev").out.startswith("dev has no deployment")
    monkeypatch.undo()
    resumed = dwconf("-C", str(repo), "apply", "dev", "--resume")
    assert resumed.exit_code == 0, resumed.out + resumed.err
    assert dwconf("-C", str(repo), "plan", "dev", "--detailed-exitcode").exit_code == 0


def test_a_dropped_renewal_is_retried_and_the_apply_ends_well(
    repo: Path, dwconf: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    _short_lease(monkeypatch, 3.0)
    _slow_starts(monkeypatch, 0.6)
    renewals = FailingRenewals(1)
    renewals.install(monkeypatch)
    result = dwconf("-C", str(repo), "apply", "dev", "--auto-approve")
    assert result.exit_code == 0, result.out + result.err
    assert renewals.calls >= 2 and "lock" not in result.out.lower().replace("unlock", "")


def test_a_lock_that_cannot_be_released_still_shows_the_summary(
    repo: Path, dwconf: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    def gone(provider: Any, lease_id: str) -> bool:
        raise ProviderError("connection refused")

    monkeypatch.setattr(local.LocalProvider, "release_lock", gone)
    result = dwconf("-C", str(repo), "apply", "dev", "--auto-approve")
    assert result.exit_code == 0, result.out + result.err
    assert "Apply: " in result.out and "0 failed" in result.out
    assert "could not release the lock (connection refused)" in result.out


def test_an_apply_whose_lock_was_taken_over_is_stopped_by_the_environment(
    repo: Path, dwconf: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another writer on the environment's file removes the apply's lease and takes the lock
    while the apply's keeper still trusts it (its next renewal is 40 s away): the environment
    refuses the apply's next write, and the apply stops with exit 5. Before, it went on
    writing under the other holder's lock, and exited 0."""
    from dwconf.apply import operations
    from dwconf.plan.order import Operation

    real = operations.OPERATIONS[Operation.START_MAP]
    theirs: list[str] = []

    def taken_over_then_start(writer: Any, step: Any, plan: Any) -> None:
        if not theirs:
            with Environment.open(local.state_path(repo, "dev")) as other:
                held = other.lock_status()
                assert held is not None
                other.force_unlock(held.id)
                theirs.append(other.acquire_lock("bob@ci", "apply", "p2", 600).id)
        real(writer, step, plan)

    monkeypatch.setitem(operations.OPERATIONS, Operation.START_MAP, taken_over_then_start)
    result = dwconf("-C", str(repo), "apply", "dev", "--auto-approve", "--parallelism", "1")
    assert result.exit_code == 5, result.out + result.err
    assert "The lock was lost: the environment refused a write" in result.out
    assert "Continue with: dwconf apply dev --resume" in result.out
    with Environment.open(local.state_path(repo, "dev")) as env:
        lease = env.lock_status()
        assert lease is not None and lease.id == theirs[0], "the other holder keeps the lock"
        assert {m.state.label for m in env.read().maps} == {"Not running"}
        assert env.records() == ()
        env.release_lock(theirs[0])
    monkeypatch.undo()
    resumed = dwconf("-C", str(repo), "apply", "dev", "--resume")
    assert resumed.exit_code == 0, resumed.out + resumed.err
    assert dwconf("-C", str(repo), "plan", "dev", "--detailed-exitcode").exit_code == 0
