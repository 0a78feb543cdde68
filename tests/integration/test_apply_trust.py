"""What apply writes and records follows from what was reviewed, also on its less travelled
paths: a plan without steps, an interrupted apply resumed from its journal, the record's git
commit, and a signed plan applied where the key is missing."""

from __future__ import annotations

import errno
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from dwconf import planning
from dwconf.apply import operations
from dwconf.apply.run import Options, record_if_moved
from dwconf.errors import ProviderError, RefusedError
from dwconf.live import Environment
from dwconf.plan.order import Operation
from dwconf.providers import local
from tests.golden.scenarios import CUSTOMERS_FILE, ENV_FILE, commit, replace_in
from tests.integration.test_apply_rules import (
    Cli,
    _rewrite,
    _saved_field_added,
    fingerprint,
)

CUSTOMERS = "Test customers"
STOPPED = "  initial_sync: run\n  state: {Test customers: stopped}\n"


def history(dwconf: Cli, root: Path) -> list[dict[str, Any]]:
    result = dwconf("-C", str(root), "history", "dev", "--format", "json")
    return json.loads(result.out)["records"]  # type: ignore[no-any-return]


def journal_files(root: Path) -> tuple[Path, Path]:
    """The newest apply journal of dev and the plan it keeps."""
    newest = sorted((root / ".dwconf/journal/dev").glob("*.jsonl"))[-1]
    return newest, newest.with_suffix(".plan.json")


# A plan without steps ---------------------------------------------------------------------------


def test_a_plan_file_emptied_by_an_edit_is_refused_and_records_nothing(
    applied: Path, dwconf: Cli, tmp_path: Path
) -> None:
    """Nothing runs under the lease for a plan without steps, yet apply wrote a record saying
    the environment runs the configuration: a forger could make a record lie."""
    out = tmp_path / "dev.dwplan"
    _saved_field_added(applied, dwconf, out)
    _rewrite(out, lambda raw: raw.update(changes=[], steps=[]))
    records = history(dwconf, applied)
    result = dwconf("-C", str(applied), "apply", "dev", str(out))
    assert result.exit_code == 4, result.out + result.err
    assert "changes nothing, but dev differs from it now: map.test-customers" in result.err
    assert history(dwconf, applied) == records
    assert dwconf("-C", str(applied), "plan", "dev", "--detailed-exitcode").exit_code == 2


def test_a_plan_file_whose_steps_were_removed_is_refused(
    applied: Path, dwconf: Cli, tmp_path: Path
) -> None:
    out = tmp_path / "dev.dwplan"
    _saved_field_added(applied, dwconf, out)
    _rewrite(out, lambda raw: raw.update(steps=[]))
    result = dwconf("-C", str(applied), "apply", "dev", str(out))
    assert result.exit_code == 4, result.out + result.err
    assert "Nothing to apply" not in result.out


def _stopped_by_hand_and_configured(root: Path) -> None:
    """The configuration now asks for what someone already did by hand: nothing to change,
    but what dwconf would record moved."""
    replace_in(ENV_FILE, "  initial_sync: run\n", STOPPED)(root)
    with Environment.open(local.state_path(root, "dev")) as env:
        env.stop_map(CUSTOMERS)


def test_a_saved_plan_without_changes_is_refused_once_the_environment_moved(
    applied: Path, dwconf: Cli, tmp_path: Path
) -> None:
    _stopped_by_hand_and_configured(applied)
    out = tmp_path / "dev.dwplan"
    assert dwconf("-C", str(applied), "plan", "dev", "--out", str(out)).exit_code == 0
    assert json.loads(out.read_text())["has_changes"] is False
    with Environment.open(local.state_path(applied, "dev")) as env:
        env.start_map(CUSTOMERS)
    records = history(dwconf, applied)
    result = dwconf("-C", str(applied), "apply", "dev", str(out))
    assert result.exit_code == 4, result.out + result.err
    assert "map.test-customers" in result.err
    assert history(dwconf, applied) == records


def test_recording_checks_under_the_lease_that_the_plan_still_holds(
    applied: Path, dwconf: Cli
) -> None:
    _stopped_by_hand_and_configured(applied)
    plan = planning.plan(applied, "dev")
    assert not plan.has_changes
    with local.LocalProvider.open(applied, "dev") as provider:
        provider.environment.start_map(CUSTOMERS)
        with pytest.raises(RefusedError, match="changes nothing, but dev differs"):
            record_if_moved(plan, provider, Options())
    assert len(history(dwconf, applied)) == 1


# Resuming an interrupted apply -------------------------------------------------------------------


def _interrupted(repo: Path, dwconf: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    """A first apply whose start of the customers map fails: it leaves a journal to resume."""
    real = operations.OPERATIONS[Operation.START_MAP]

    def failing(writer: Any, step: Any, plan: Any) -> None:
        if step.args["name"] == CUSTOMERS:
            raise ProviderError("the service did not answer")
        real(writer, step, plan)

    with monkeypatch.context() as patched:
        patched.setitem(operations.OPERATIONS, Operation.START_MAP, failing)
        result = dwconf("-C", str(repo), "apply", "dev", "--auto-approve")
    assert result.exit_code == 1, result.out + result.err
    assert "Continue with: dwconf apply dev --resume" in result.out


def test_a_journaled_plan_edited_before_a_resume_is_refused(
    repo: Path, dwconf: Cli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The journal keeps the plan it runs, and a resume runs its steps as they are: an edit
    (its checksum recomputed) would start the customers map with Dataverse as the initial
    sync's master, which nobody reviewed."""
    _interrupted(repo, dwconf, monkeypatch)
    _, plan_file = journal_files(repo)
    kept = shutil.copy(plan_file, tmp_path / "kept.plan.json")

    def forge(raw: dict[str, Any]) -> None:
        start = next(s for s in raw["steps"] if s["id"] == "start_map:map.test-customers")
        assert start["args"]["master"] == "finops"
        start["args"]["master"] = "dataverse"

    _rewrite(plan_file, forge)
    before = fingerprint(repo)
    refused = dwconf("-C", str(repo), "apply", "dev", "--resume")
    assert refused.exit_code == 4, refused.out + refused.err
    assert "plan file was edited" in refused.err
    assert fingerprint(repo) == before
    shutil.copy(kept, plan_file)
    resumed = dwconf("-C", str(repo), "apply", "dev", "--resume")
    assert resumed.exit_code == 0, resumed.out + resumed.err
    assert dwconf("-C", str(repo), "plan", "dev", "--detailed-exitcode").exit_code == 0


def test_a_resume_of_an_apply_stopped_after_its_record_says_already_applied(
    applied: Path, dwconf: Cli
) -> None:
    """An apply killed between writing its deployment record and journaling that it finished:
    the resume wrote a second record for the same apply."""
    journal, _ = journal_files(applied)
    lines = journal.read_text().splitlines(keepends=True)
    assert json.loads(lines[-1])["event"] == "finished"
    journal.write_text("".join(lines[:-1]))
    resumed = dwconf("-C", str(applied), "apply", "dev", "--resume")
    assert resumed.exit_code == 0, resumed.out + resumed.err
    assert "already applied" in resumed.out
    assert len(history(dwconf, applied)) == 1
    finished = json.loads(journal.read_text().splitlines()[-1])
    assert (finished["event"], finished["earlier"]) == ("finished", True)
    assert finished["record"] == history(dwconf, applied)[0]["id"]
    again = dwconf("-C", str(applied), "apply", "dev", "--resume")
    assert again.exit_code == 1 and "no interrupted apply" in again.err


# The record's provenance and signatures --------------------------------------------------------


def test_the_record_keeps_the_commit_apply_read_not_the_one_the_plan_file_claims(
    applied: Path, dwconf: Cli, tmp_path: Path
) -> None:
    out = tmp_path / "dev.dwplan"
    _saved_field_added(applied, dwconf, out)
    commit(applied, "add the opened field")
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=applied, capture_output=True, text=True, check=True
    ).stdout.strip()
    _rewrite(out, lambda raw: raw.update(git={"commit": "f" * 40, "dirty": False}))
    result = dwconf("-C", str(applied), "apply", "dev", str(out))
    assert result.exit_code == 0, result.out + result.err
    newest = history(dwconf, applied)[0]
    assert (newest["git_commit"], newest["git_dirty"]) == (head, False)


def test_a_signed_plan_is_refused_where_the_key_is_missing(
    applied: Path, dwconf: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DWCONF_PLAN_KEY", "k1-0123456789abcdef")
    out = tmp_path / "dev.dwplan"
    _saved_field_added(applied, dwconf, out)
    monkeypatch.delenv("DWCONF_PLAN_KEY")
    result = dwconf("-C", str(applied), "apply", "dev", str(out))
    assert result.exit_code == 4, result.out + result.err
    assert "is signed, and DWCONF_PLAN_KEY is not set" in result.err


# --target and --exclude -----------------------------------------------------------------------

NARROWED = (
    "{finops: NAME, dataverse: tst_name, direction: both}",
    "{finops: NAME, dataverse: tst_name, direction: to_dataverse}",
)


@pytest.mark.parametrize(
    "selection",
    [("--target", "solution.tst_Base"), ("--exclude", "map.test-customers")],
    ids=["target-solution", "exclude-map"],
)
def test_a_solution_selected_alone_brings_the_changes_of_the_maps_it_carries(
    applied: Path, dwconf: Cli, tmp_path: Path, selection: tuple[str, str]
) -> None:
    """Importing the solution changes the definitions of its maps: selected without them, a
    destructive change went live as a 'metadata' plan, past protect.prevent_destroy."""
    replace_in(ENV_FILE, "alerts:", "protect: {prevent_destroy: true}\nalerts:")(applied)
    replace_in(CUSTOMERS_FILE, *NARROWED)(applied)
    out = tmp_path / "dev.dwplan"
    planned = dwconf("-C", str(applied), "plan", "dev", *selection, "--out", str(out))
    assert planned.exit_code == 0, planned.err
    data = json.loads(out.read_text())
    addresses = {c["address"]: c["category"] for c in data["changes"]}
    assert addresses == {"solution.tst_Base": "metadata", "map.test-customers": "destructive"}
    assert data["applyable"] is False
    assert [b["kind"] for b in data["blocked_by"]] == ["protection"]
    before = fingerprint(applied)
    result = dwconf("-C", str(applied), "apply", "dev", str(out))
    assert result.exit_code == 4, result.out + result.err
    assert fingerprint(applied) == before


# A journal that can't be written -----------------------------------------------------------------


class FullDisk:
    """The journal's folder fills up: opening a file there to write fails once `room` files
    were opened (the plan file is the first, then each journal line)."""

    def __init__(self, room: int) -> None:
        self.room, self.opened = room, 0

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        real = Path.open

        def opening(path: Path, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
            if "journal" in path.parts and mode[0] in "wa":
                self.opened += 1
                if self.opened > self.room:
                    raise OSError(errno.ENOSPC, "No space left on device")
            return real(path, mode, *args, **kwargs)

        monkeypatch.setattr(Path, "open", opening)


@pytest.mark.parametrize("room", [0, 5], ids=["from-the-start", "mid-way"])
def test_a_journal_that_cannot_be_written_does_not_stop_the_apply(
    repo: Path, dwconf: Cli, monkeypatch: pytest.MonkeyPatch, room: int
) -> None:
    """A full disk made the apply crash (exit 3) in the middle, without a summary and with maps
    it had stopped left stopped: the journal only serves --resume, and steps are idempotent."""
    disk = FullDisk(room)
    with monkeypatch.context() as patched:
        disk.install(patched)
        result = dwconf("-C", str(repo), "apply", "dev", "--auto-approve")
    assert disk.opened > room
    assert result.exit_code == 0, result.out + result.err
    assert "0 failed, 0 skipped" in result.out
    assert "Warning: the apply journal could not be written" in result.out
    assert "No space left on device" in result.out
    assert dwconf("-C", str(repo), "plan", "dev", "--detailed-exitcode").exit_code == 0
    assert len(history(dwconf, repo)) == 1


def test_a_plan_replayed_after_a_rollback_is_refused_and_says_why(
    applied: Path, dwconf: Cli, tmp_path: Path
) -> None:
    out, back = tmp_path / "dev.dwplan", tmp_path / "back.dwplan"
    _saved_field_added(applied, dwconf, out)
    assert dwconf("-C", str(applied), "apply", "dev", str(out)).exit_code == 0
    assert dwconf("-C", str(applied), "rollback", "dev", "--out", str(back)).exit_code == 0
    assert dwconf("-C", str(applied), "apply", "dev", str(back)).exit_code == 0
    replayed = dwconf("-C", str(applied), "apply", "dev", str(out))
    assert replayed.exit_code == 4, replayed.out + replayed.err
    assert "was applied already" in replayed.err and "rolled back since" in replayed.err


# A fresh apply after an interrupted one ------------------------------------------------------------


def test_a_fresh_apply_after_one_stopped_between_import_and_apply_of_a_solution_converges(
    repo: Path, dwconf: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The solution was imported and not applied: it looked like the configuration, so a new
    plan switched its maps to versions the service did not have yet ('Table map ... was not
    found') on every try, until someone found the journal to resume."""

    def stopped(writer: Any, step: Any, plan: Any) -> None:
        raise ProviderError("the service did not answer")

    with monkeypatch.context() as patched:
        patched.setitem(operations.OPERATIONS, Operation.APPLY_SOLUTION, stopped)
        assert dwconf("-C", str(repo), "apply", "dev", "--auto-approve").exit_code == 1
    shutil.rmtree(repo / ".dwconf/journal")  # another machine, or a new checkout
    data = json.loads(dwconf("-C", str(repo), "plan", "dev", "--format", "json").out)
    solution = next(c for c in data["changes"] if c["address"] == "solution.tst_Base")
    assert solution["before"]["content"] == "imported, not applied"
    result = dwconf("-C", str(repo), "apply", "dev", "--auto-approve")
    assert result.exit_code == 0, result.out + result.err
    assert dwconf("-C", str(repo), "plan", "dev", "--detailed-exitcode").exit_code == 0


# Plan files of any shape ---------------------------------------------------------------------------

SHAPES = {
    "no-action": lambda raw: raw["changes"][0].update(actions=[]),
    "unknown-action": lambda raw: raw["changes"][0].update(actions=["explode"]),
    "desired-a-list": lambda raw: raw.update(desired=[]),
    "desired-object-a-number": lambda raw: raw["desired"].update({"map.test-customers": 5}),
    "origin-null": lambda raw: raw.update(origin=None),
}


@pytest.mark.parametrize("edit", SHAPES.values(), ids=SHAPES.keys())
def test_a_plan_file_of_another_shape_is_an_error_not_a_crash(
    applied: Path, dwconf: Cli, tmp_path: Path, edit: Any
) -> None:
    out = tmp_path / "dev.dwplan"
    _saved_field_added(applied, dwconf, out)
    _rewrite(out, edit)
    result = dwconf("-C", str(applied), "apply", "dev", str(out))
    assert result.exit_code == 1, result.out + result.err
    assert "is not a dwconf plan file" in result.err


def test_a_plan_file_nested_too_deeply_is_an_error_not_a_crash(
    repo: Path, dwconf: Cli, tmp_path: Path
) -> None:
    out = tmp_path / "deep.dwplan"
    out.write_text("[" * 100_000 + "]" * 100_000)
    result = dwconf("-C", str(repo), "apply", "dev", str(out))
    assert result.exit_code == 1, result.out + result.err
    assert "is not a dwconf plan file" in result.err


def test_a_resume_keeps_the_protections_the_environment_sets_now(
    applied: Path, dwconf: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An apply removing a map stopped after the map was stopped; then the environment was
    protected. The resume ran the removal nobody allowed."""
    (applied / CUSTOMERS_FILE).unlink()

    def failing(writer: Any, step: Any, plan: Any) -> None:
        raise ProviderError("the service did not answer")

    with monkeypatch.context() as patched:
        patched.setitem(operations.OPERATIONS, Operation.IMPORT_SOLUTION, failing)
        assert dwconf("-C", str(applied), "apply", "dev", "--auto-approve").exit_code == 1
    replace_in(ENV_FILE, "alerts:", "protect: {prevent_destroy: true}\nalerts:")(applied)
    before = fingerprint(applied)
    refused = dwconf("-C", str(applied), "apply", "dev", "--resume")
    assert refused.exit_code == 4, refused.out + refused.err
    assert "sets protect.prevent_destroy" in refused.err
    assert fingerprint(applied) == before
    allowed = dwconf("-C", str(applied), "apply", "dev", "--resume", "--allow-destroy")
    assert allowed.exit_code == 0, allowed.out + allowed.err


def test_a_lock_that_cannot_be_released_is_reported_also_when_nothing_ran(
    applied: Path, dwconf: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """'Already applied' was said before the lease was released, so its failure was lost."""
    out = tmp_path / "dev.dwplan"
    _saved_field_added(applied, dwconf, out)
    assert dwconf("-C", str(applied), "apply", "dev", str(out)).exit_code == 0

    def gone(provider: Any, lease_id: str) -> bool:
        raise ProviderError("connection refused")

    monkeypatch.setattr(local.LocalProvider, "release_lock", gone)
    again = dwconf("-C", str(applied), "apply", "dev", str(out))
    assert again.exit_code == 0, again.out + again.err
    assert "already applied" in again.out
    assert "could not release the lock (connection refused)" in again.out
