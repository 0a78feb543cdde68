"""An apply from start to end: take the lease, run the steps, verify, write the record.

The journal's `begin` event names the lease, the process and the machine, so `apply --resume`
can take over the lease of an apply that was killed and tell one that is still running.
"""

from __future__ import annotations

import getpass
import os
import socket
import threading
from dataclasses import dataclass, field

from dwconf.apply import lease as leases
from dwconf.apply.executor import Outcome, Progress, run_steps
from dwconf.apply.journal import Journal
from dwconf.errors import DwconfError
from dwconf.live.state import Lease
from dwconf.plan import saved
from dwconf.plan.definition import Plan, canonical_json, make_plan
from dwconf.plan.diff import Change
from dwconf.plan.live_view import live_objects, recorded_state
from dwconf.providers.base import LiveWriter

LEASE_SECONDS = 120.0


def who() -> str:
    user = os.environ.get("GITHUB_ACTOR") or getpass.getuser()
    return f"{user}@{socket.gethostname()}"


@dataclass
class Result:
    outcome: Outcome
    remaining: list[Change] = field(default_factory=list)
    record_id: str | None = None
    took_over: bool = False
    lease_lost: str = ""  # why the heartbeat could not renew the lease, if it could not

    @property
    def ok(self) -> bool:
        return not self.outcome.failed and not self.remaining


@dataclass(frozen=True)
class Options:
    """How to run an apply; every field has the CLI's default."""

    parallelism: int = 4
    lease_seconds: float = LEASE_SECONDS
    lock_timeout: float = 0.0
    resume: bool = False
    progress: Progress | None = None
    on_wait: leases.OnWait | None = None


class Heartbeat:
    """Renews the lease while the apply runs, so a long apply never loses its lock."""

    def __init__(self, writer: LiveWriter, lease: Lease, ttl: float) -> None:
        self._writer, self._lease, self._ttl = writer, lease, ttl
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, daemon=True)
        self.lost = ""

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _beat(self) -> None:
        while not self._stop.wait(self._ttl / 3):
            try:
                self._writer.renew_lock(self._lease.id, self._ttl)
            except DwconfError as exc:
                self.lost = exc.message
                return


def managed_solutions(*states: dict[str, dict[str, object]]) -> set[str]:
    return {str(o["unique_name"]) for s in states for o in s.values() if o["kind"] == "solution"}


def verify(plan: Plan, writer: LiveWriter) -> list[Change]:
    """Changes still needed after the apply, from a fresh read (not a guess)."""
    state = writer.read()
    recorded = recorded_state(state)
    again = make_plan(
        plan.environment,
        plan.desired,
        plan.desired_hash,
        live_objects(state, managed_solutions(dict(plan.desired), recorded)),
        state.fingerprint,
        recorded=recorded,
    )
    return list(again.changes)


def _record(plan: Plan, writer: LiveWriter, status: str) -> str:
    record = writer.add_record(
        who=who(),
        plan_hash=plan.id,
        git_commit=plan.git.commit,
        solution_versions={
            o["unique_name"]: o["version"] for o in plan.desired.values() if o["kind"] == "solution"
        },
        desired=dict(plan.desired),
        status=status,
    )
    return record.id


def _acquire(plan: Plan, writer: LiveWriter, options: Options, operation: str) -> Lease:
    return leases.acquire(
        writer,
        env=plan.environment,
        owner=who(),
        operation=operation,
        plan_id=plan.id,
        ttl=options.lease_seconds,
        timeout=options.lock_timeout,
        on_wait=options.on_wait,
    )


def _take_over(plan: Plan, writer: LiveWriter, journal: Journal, options: Options) -> bool:
    begin = journal.last_begin() if options.resume else None
    return bool(begin) and leases.take_over(writer, plan.environment, begin or {})


def apply_plan(
    plan: Plan, writer: LiveWriter, journal: Journal, options: Options | None = None
) -> Result:
    """Apply `plan` under the environment's lease, journaled in `journal` (with
    `options.resume`, the journal of the run being continued)."""
    options = options or Options()
    if not journal.plan_path.exists():
        saved.save(plan, journal.plan_path)
    took_over = _take_over(plan, writer, journal, options)
    lease = _acquire(plan, writer, options, "apply")
    journal.write("begin", lease=lease.id, pid=os.getpid(), host=socket.gethostname())
    try:
        with Heartbeat(writer, lease, options.lease_seconds) as heartbeat:
            outcome = run_steps(
                plan,
                writer,
                journal,
                parallelism=options.parallelism,
                progress=options.progress,
            )
            remaining = [] if outcome.failed else verify(plan, writer)
            result = Result(outcome, remaining, took_over=took_over)
            status = "succeeded" if result.ok else "failed"
            result.record_id = _record(plan, writer, status)
        result.lease_lost = heartbeat.lost
        journal.write("finished", status=status, record=result.record_id)
        return result
    finally:
        writer.release_lock(lease.id)


def record_if_moved(plan: Plan, writer: LiveWriter, options: Options) -> str | None:
    """When the environment already matches but what dwconf would record moved (a pin now reads
    a release tag instead of the working tree, for example), write a deployment record under the
    lease, so promotion's gate sees what this environment runs. Returns the record id."""
    last = next((r for r in reversed(writer.records()) if r.status == "succeeded"), None)
    if last is not None and canonical_json(last.desired) == canonical_json(dict(plan.desired)):
        return None
    lease = _acquire(plan, writer, options, "record")
    try:
        return _record(plan, writer, "succeeded")
    finally:
        writer.release_lock(lease.id)
