"""The apply engine's parts: journal, lease, executor and stale-plan reasons, with test doubles."""

from __future__ import annotations

import errno
import json
import os
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from dwconf.apply import lease as leases
from dwconf.apply.executor import run_steps
from dwconf.apply.journal import Journal, journals, resumable
from dwconf.apply.stale import moved
from dwconf.errors import LockHeldError, ProviderError
from dwconf.live.errors import LockHeld
from dwconf.live.state import Lease
from dwconf.plan.definition import Plan
from dwconf.plan.order import Operation, Step


def lease(lease_id: str = "L1", age: float = 75, ttl: float = 120) -> Lease:
    created = datetime.now(UTC) - timedelta(seconds=age)
    return Lease(lease_id, "ana@ci", "apply", "p1", created, created + timedelta(seconds=ttl))


# journal ---------------------------------------------------------------------------------------


def test_done_steps_forget_a_stop_that_was_undone_by_a_restart(tmp_path: Path) -> None:
    journal = Journal.new(tmp_path, "dev", "p1")
    journal.write("done", "stop_map:map.a")
    journal.write("done", "stop_map:map.b")
    journal.write("restarted", "stop_map:map.a")
    assert journal.done_steps() == {"stop_map:map.b"}


def test_a_line_cut_short_by_a_crash_is_skipped(tmp_path: Path) -> None:
    journal = Journal.new(tmp_path, "dev", "p1")
    journal.write("done", "a")
    with journal.path.open("a") as handle:
        handle.write('{"event": "done", "st')
    assert journal.done_steps() == {"a"}


def test_resumable_is_the_newest_run_unless_it_succeeded(tmp_path: Path) -> None:
    assert resumable(tmp_path, "dev") is None
    old = Journal(tmp_path / ".dwconf/journal/dev/20250101T000000000000-p1.jsonl")
    old.write("finished", status="failed")
    assert resumable(tmp_path, "dev") == old
    new = Journal(tmp_path / ".dwconf/journal/dev/20250102T000000000000-p2.jsonl")
    new.write("finished", status="succeeded")
    assert resumable(tmp_path, "dev") is None
    assert journals(tmp_path, "dev") == [new, old]


def test_journal_entries_are_redacted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MY_API_TOKEN", "tok-0123456789")
    journal = Journal.new(tmp_path, "dev", "p1")
    journal.write("failed", "a", error="401: tok-0123456789")
    assert "tok-0123456789" not in journal.path.read_text()
    assert journal.events()[0]["error"] == "401: ***"


# lease -----------------------------------------------------------------------------------------


def test_durations() -> None:
    assert [leases.duration(s) for s in (0, 59, 61, 3599, 3600 + 5 * 60)] == [
        "0s",
        "59s",
        "1m01s",
        "59m59s",
        "1h05m",
    ]


def test_describe_names_owner_operation_age_and_id() -> None:
    text = leases.describe(lease(age=75))
    assert text.startswith("ana@ci (apply, plan p1), held for 1m15s, expires in 4")
    assert text.endswith("lock ID L1")


class Locked:
    """A writer whose lock is held by someone else for the first `busy` attempts."""

    def __init__(self, busy: int) -> None:
        self.busy, self.attempts = busy, 0
        self.unlocked: list[str] = []
        self.held: Lease | None = lease("theirs")

    def acquire_lock(self, owner: str, operation: str, plan_id: str | None, ttl: float) -> Lease:
        self.attempts += 1
        if self.attempts <= self.busy:
            raise LockHeld(lease("theirs"))
        return lease("mine")

    def lock_status(self) -> Lease | None:
        return self.held

    def force_unlock(self, lease_id: str) -> Lease:
        self.unlocked.append(lease_id)
        return lease(lease_id)


def _acquire(writer: Locked, timeout: float, waited: list[Any]) -> Lease:
    return leases.acquire(
        writer,  # type: ignore[arg-type]
        env="dev",
        owner="me",
        operation="apply",
        plan_id="p",
        ttl=60,
        timeout=timeout,
        on_wait=waited.append,
        sleep=lambda s: None,
    )


def test_acquire_refuses_at_once_without_a_timeout() -> None:
    with pytest.raises(LockHeldError) as refused:
        _acquire(Locked(busy=1), 0, [])
    assert "dev is locked by ana@ci (apply, plan p1), held for" in refused.value.message
    assert "dwconf lock force-unlock dev theirs" in refused.value.hint


def test_acquire_retries_until_the_lease_is_free() -> None:
    writer, waited = Locked(busy=3), []
    assert _acquire(writer, 30, waited).id == "mine"
    assert writer.attempts == 4
    assert len(waited) == 1, "says once that it waits"


def test_take_over_removes_only_the_interrupted_runs_own_lease() -> None:
    writer = Locked(busy=0)
    assert not leases.take_over(writer, "dev", {"lease": "other"})  # type: ignore[arg-type]
    assert leases.take_over(writer, "dev", {"lease": "theirs"})  # type: ignore[arg-type]
    assert writer.unlocked == ["theirs"]


def test_take_over_refuses_while_that_apply_still_runs() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        begin = {"lease": "theirs", "pid": child.pid, "host": socket.gethostname()}
        with pytest.raises(LockHeldError, match="still running"):
            leases.take_over(Locked(busy=0), "dev", begin)  # type: ignore[arg-type]
    finally:
        child.kill()
        child.wait()
    assert not leases.process_alive(child.pid)
    assert leases.process_alive(os.getpid())


# executor --------------------------------------------------------------------------------------


class Recorder:
    """A writer that records calls and fails one map's start."""

    def __init__(self, fail: str = "") -> None:
        self.calls: list[tuple[str, str]] = []
        self.fail = fail

    def stop_map(self, name: str) -> None:
        self.calls.append(("stop", name))

    def switch_version(self, name: str, version: str, author: str | None = None) -> None:
        self.calls.append(("switch", name))

    def start_map(self, name: str, initial_sync: bool = False, master: Any = None) -> None:
        if name == self.fail:
            raise ProviderError(f"cannot start {name}")
        self.calls.append(("start", name))

    def wait(self, name: str, timeout_s: float | None = None) -> None:
        return None


def _map(name: str, depends_on: list[str] = ()) -> dict[str, Any]:  # type: ignore[assignment]
    definition = {"name": name, "version": "1.0.0.1", "depends_on": list(depends_on)}
    return {"kind": "map", "state": "running", "definition": definition, "solution": "s"}


def _steps_for(*names: str) -> list[Step]:
    steps = []
    for name in names:
        address = f"map.{name}"
        stop, switch = f"stop_map:{address}", f"switch_version:{address}"
        steps += [
            Step(stop, Operation.STOP_MAP, address, (), {"name": name}),
            Step(
                switch, Operation.SWITCH_VERSION, address, (stop,), {"name": name, "version": "1"}
            ),
        ]
    return steps


def _plan(steps: list[Step], desired: dict[str, Any]) -> Plan:
    return Plan("dev", "h", "f", (), tuple(steps), desired)


def test_a_failure_skips_dependents_lets_others_finish_and_restarts_in_order(
    tmp_path: Path,
) -> None:
    desired = {"map.a": _map("a"), "map.b": _map("b", ["a"]), "map.c": _map("c")}
    steps = _steps_for("a", "b", "c")
    starts = [
        Step(
            "start_map:map.a",
            Operation.START_MAP,
            "map.a",
            ("switch_version:map.a",),
            {"name": "a"},
        ),
        Step(
            "start_map:map.b",
            Operation.START_MAP,
            "map.b",
            ("switch_version:map.b", "start_map:map.a"),
            {"name": "b"},
        ),
        Step(
            "start_map:map.c",
            Operation.START_MAP,
            "map.c",
            ("switch_version:map.c",),
            {"name": "c"},
        ),
    ]
    for step in starts:
        step.args.update({"initial_sync": False, "master": None})  # type: ignore[attr-defined]
    writer = Recorder(fail="a")
    journal = Journal.new(tmp_path, "dev", "p")
    outcome = run_steps(_plan(steps + starts, desired), writer, journal, parallelism=1)  # type: ignore[arg-type]
    status = {s.step.id: s.status for s in outcome.steps}
    assert status["start_map:map.a"] == "failed"
    assert status["start_map:map.b"] == "skipped"
    assert status["start_map:map.c"] == "done"
    assert outcome.restarted == ["b"], "a fails to start again too"
    assert ("start", "c") in writer.calls
    assert [e["step"] for e in journal.events() if e["event"] == "restart_failed"] == [
        "stop_map:map.a"
    ]


def test_restarts_follow_prerequisites(tmp_path: Path) -> None:
    desired = {"map.a": _map("a"), "map.b": _map("b", ["a"])}
    steps = _steps_for("b", "a")
    fail_switch = Step("switch_version:map.x", Operation.SWITCH_VERSION, "map.x", (), {"name": "x"})
    writer = Recorder()

    def boom(name: str, version: str, author: str | None = None) -> None:
        if name == "x":
            raise ProviderError("no")

    journal = Journal.new(tmp_path, "dev", "p")
    plan = _plan([*steps, fail_switch], {**desired, "map.x": _map("x")})
    writer.switch_version = boom  # type: ignore[method-assign]
    outcome = run_steps(plan, writer, journal)  # type: ignore[arg-type]
    assert outcome.restarted == ["a", "b"]
    assert journal.done_steps() == {"switch_version:map.a", "switch_version:map.b"}


def test_steps_done_earlier_are_not_run_again(tmp_path: Path) -> None:
    steps = _steps_for("a")
    journal = Journal.new(tmp_path, "dev", "p")
    journal.write("done", "stop_map:map.a")
    writer = Recorder()
    outcome = run_steps(_plan(steps, {"map.a": {**_map("a"), "state": "stopped"}}), writer, journal)  # type: ignore[arg-type]
    assert [s.status for s in outcome.steps] == ["resumed", "done"]
    assert writer.calls == [("switch", "a")]


def test_an_unexpected_exception_fails_its_step_only(tmp_path: Path) -> None:
    writer = Recorder()

    def bug(name: str, version: str, author: str | None = None) -> None:
        raise KeyError("oops")

    writer.switch_version = bug  # type: ignore[method-assign]
    steps = _steps_for("a")
    plan = _plan(steps, {"map.a": _map("a")})
    outcome = run_steps(plan, writer, Journal.new(tmp_path, "dev", "p"))  # type: ignore[arg-type]
    assert [s.status for s in outcome.steps] == ["done", "failed"]
    assert outcome.steps[1].error == "internal error: KeyError: 'oops'"
    assert outcome.restarted == ["a"]


# stale -----------------------------------------------------------------------------------------


def test_moved_ignores_field_order_but_not_content() -> None:
    fields = [{"finops": "A", "dataverse": "a"}, {"finops": "B", "dataverse": "b"}]
    one = {"map.x": {"kind": "map", "definition": {"fields": fields}}}
    reordered = {"map.x": {"kind": "map", "definition": {"fields": fields[::-1]}}}
    changed = {"map.x": {"kind": "map", "definition": {"fields": fields[:1]}}}
    assert moved(one, reordered) == []
    assert moved(one, changed) == ["map.x"]
    assert moved(one, {}) == ["map.x"]


# requirements ----------------------------------------------------------------------------------


def test_the_requirements_step_carries_what_the_solutions_require() -> None:
    from dwconf.plan.definition import make_plan

    solution = {
        "kind": "solution",
        "unique_name": "tst_Base",
        "version": "1.0.0.0",
        "maps": [],
        "content": "c",
        "requires": {"DualWriteCore": ">=1.0.99999.1"},
        "depends_on": [],
    }
    plan = make_plan("dev", {"solution.tst_Base": solution}, "h", {}, "f")
    check = next(s for s in plan.steps if s.operation is Operation.CHECK_REQUIREMENTS)
    assert check.args["requires"] == {"DualWriteCore": [">=1.0.99999.1"]}


def test_unmet_requirements_are_the_live_models_refusals() -> None:
    from dwconf.live import versions
    from dwconf.live.errors import MissingDependency, VersionMismatch

    installed = {"DualWriteCore": "1.0.24062.1"}.get
    found = versions.unmet(
        {"DualWriteCore": [">=1.0.99999.1"], "Other": [">=2.0"], "Ok": []}, installed, "tst_Base"
    )
    assert [type(e) for e in found] == [VersionMismatch, MissingDependency]
    assert found[0].message == (
        "Dynamics 365 for Sales solution 'DualWriteCore' has version mismatch. "
        "Version: '1.0.24062.1' Required version: '1.0.99999.1'"
    )
    assert "solution 'Other' version '2.0' or later is required" in found[1].message
    assert versions.unmet({"DualWriteCore": [">=1.0.0.0, <2"]}, installed) == []
    assert versions.satisfies("1.5", ">=1.0, <1.4") == (False, "1.4")


def test_a_torn_last_line_is_fenced_off_when_the_journal_is_opened_again(tmp_path: Path) -> None:
    journal = Journal.new(tmp_path, "dev", "p1")
    journal.write("done", "a")
    with journal.path.open("a") as handle:  # the disk filled up in the middle of a line
        handle.write('{"event": "done", "st')
    resumed = Journal(journal.path)
    resumed.write("begin", lease="L2")
    assert resumed.last_begin() is not None
    assert resumed.last_begin()["lease"] == "L2"  # type: ignore[index]
    assert resumed.done_steps() == {"a"}
    Journal(journal.path)  # a journal that ends whole is left as it is
    assert journal.path.read_text().count("\n") == 3


def test_an_unreachable_environment_halts_the_apply_and_restarts_nothing(tmp_path: Path) -> None:
    from dwconf.apply.executor import StepStatus
    from dwconf.errors import UnreachableError

    class Dead(Recorder):
        def switch_version(self, name: str, version: str, author: str | None = None) -> None:
            raise UnreachableError("connection refused")

        def start_map(self, name: str, initial_sync: bool = False, master: Any = None) -> None:
            raise AssertionError("no write after the environment was found unreachable")

    desired = {"map.a": _map("a"), "map.b": _map("b")}
    writer = Dead()
    journal = Journal.new(tmp_path, "dev", "p")
    steps = _steps_for("a", "b")
    outcome = run_steps(_plan(steps, desired), writer, journal, parallelism=1)  # type: ignore[arg-type]
    status = {s.step.id: s.status for s in outcome.steps}
    assert status["switch_version:map.a"] is StepStatus.FAILED
    assert status["switch_version:map.b"] is StepStatus.SKIPPED
    assert outcome.halted == "connection refused"
    assert outcome.restarted == [] and outcome.left_stopped == ["a", "b"]
    assert [e["event"] for e in journal.events()].count("halted") == 1


def test_a_plan_the_journal_could_not_keep_whole_is_not_left_to_resume(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def torn(plan: Any, path: Path, key: Any = None) -> None:
        path.write_text('{"format_version": "1.0", "chan')
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("dwconf.apply.journal.saved.save", torn)
    journal = Journal.new(tmp_path, "dev", "p1")
    journal.keep_plan(Plan("dev", "d", "f", (), (), {}))
    assert not journal.plan_path.exists()
    assert "No space left on device" in journal.broken


def test_take_over_is_not_stopped_by_a_process_that_holds_no_lease_of_the_journal() -> None:
    """The id of a killed apply's process is given to another process later: resuming was
    refused as 'still running' for as long as that process lived."""
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        begin = {"lease": "theirs", "pid": child.pid, "host": socket.gethostname()}
        expired = Locked(busy=0)
        expired.held = lease("theirs", age=200, ttl=120)
        assert leases.take_over(expired, "dev", begin)  # type: ignore[arg-type]
        assert expired.unlocked == ["theirs"]
        released = Locked(busy=0)
        released.held = None
        assert not leases.take_over(released, "dev", begin)  # type: ignore[arg-type]
    finally:
        child.kill()
        child.wait()


def test_a_saved_plan_follows_its_derivation_also_where_redaction_changed_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The quick comparison sees a difference where the file has '***': the slow one decides."""
    from dwconf.apply.verify import _follows
    from dwconf.plan import saved
    from dwconf.plan.definition import make_plan
    from tests.unit.plan.test_plan_parts import a_map

    monkeypatch.setenv("GATEWAY_SECRET", "Customers of the moon")
    plan = make_plan(
        "dev", {"map.a": a_map("a", description="Customers of the moon")}, "h", {}, "f"
    )
    saved.save(plan, tmp_path / "p.dwplan")
    back = saved.load(tmp_path / "p.dwplan")
    assert "***" in json.dumps(back.changes[0].as_dict())
    assert _follows(back, plan)
    other = make_plan(
        "dev", {"map.a": a_map("a", description="Customers of the sun")}, "h", {}, "f"
    )
    assert not _follows(back, other)


def test_one_step_at_a_time_runs_the_steps_in_the_plan_order(tmp_path: Path) -> None:
    """Steps made ready together start in the order of the steps that made them ready, not
    in the order a set of finished futures happens to iterate."""
    names = [f"m{i:02}" for i in range(40)]
    desired = {f"map.{n}": _map(n) for n in names}
    writer = Recorder()
    journal = Journal.new(tmp_path, "dev", "p")
    run_steps(_plan(_steps_for(*names), desired), writer, journal, parallelism=1)  # type: ignore[arg-type]
    switched = [name for call, name in writer.calls if call == "switch"]
    assert switched == names


def test_no_step_is_journaled_as_started_after_the_halt(tmp_path: Path) -> None:
    """A step that found the apply not halted and was about to journal its start, while
    another step's failure halted the apply: its start came after "halted" in the journal,
    so the journal said a step started once none could."""
    import threading

    from dwconf.errors import UnreachableError

    checked = threading.Event()

    class Slow(Journal):
        def write(self, event: str, step: str = "", **extra: Any) -> None:
            if (event, step) == ("start", "stop_map:map.b"):
                checked.set()
                time.sleep(0.3)  # the thread is descheduled between its check and the write
            super().write(event, step, **extra)

    class Halting(Recorder):
        def stop_map(self, name: str) -> None:
            if name == "a":
                assert checked.wait(10)
                raise UnreachableError("connection refused")

    desired = {"map.a": _map("a"), "map.b": _map("b")}
    journal = Slow(Journal.new(tmp_path, "dev", "p").path)
    steps = [s for s in _steps_for("a", "b") if s.operation is Operation.STOP_MAP]
    run_steps(_plan(steps, desired), Halting(), journal, parallelism=2)  # type: ignore[arg-type]
    events = [(e["event"], e["step"]) for e in journal.events()]
    halted = events.index(("halted", "stop_map:map.a"))
    assert ("start", "stop_map:map.b") in events[:halted], events
