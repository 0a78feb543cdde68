"""An apply from start to end: take the lease, run the steps, verify, write the record."""

from __future__ import annotations

import getpass
import json
import os
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dwconf.apply.executor import Outcome, Progress, run_steps
from dwconf.apply.journal import Journal
from dwconf.errors import DwconfError
from dwconf.live.state import Lease
from dwconf.plan.definition import Plan, make_plan
from dwconf.plan.diff import Change
from dwconf.plan.live_view import live_objects
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

    @property
    def ok(self) -> bool:
        return not self.outcome.failed and not self.remaining


class Heartbeat:
    """Renews the lease while the apply runs, so a long apply never loses its lock."""

    def __init__(self, writer: LiveWriter, lease: Lease, ttl: float) -> None:
        self._writer, self._lease, self._ttl = writer, lease, ttl
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, daemon=True)

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
            except DwconfError:
                return


def verify(plan: Plan, writer: LiveWriter) -> list[Change]:
    """Changes still needed after the apply, from a fresh read (not a guess)."""
    state = writer.read()
    managed = {o["unique_name"] for o in plan.desired.values() if o["kind"] == "solution"}
    again = make_plan(
        plan.environment,
        plan.desired,
        plan.desired_hash,
        live_objects(state, managed),
        state.fingerprint,
    )
    return list(again.changes)


def apply_plan(
    plan: Plan,
    writer: LiveWriter,
    root: Path,
    *,
    parallelism: int = 4,
    progress: Progress | None = None,
    journal: Journal | None = None,
    lease_seconds: float = LEASE_SECONDS,
    on_locked: Callable[[Lease], None] | None = None,
) -> Result:
    """Apply `plan` under the environment's lease; resume from `journal` when given."""
    journal = journal or Journal.at(root, plan.environment, plan.id)
    if not journal.plan_path.exists():
        journal.plan_path.write_text(json.dumps(plan_file(plan), default=str), encoding="utf-8")
    lease = writer.acquire_lock(who(), "apply", plan.id, lease_seconds)
    if on_locked:
        on_locked(lease)
    journal.write("begin", lease=lease.id)
    try:
        with Heartbeat(writer, lease, lease_seconds):
            outcome = run_steps(plan, writer, journal, parallelism=parallelism, progress=progress)
            remaining = [] if outcome.failed else verify(plan, writer)
            result = Result(outcome, remaining)
            status = "succeeded" if result.ok else "failed"
            record = writer.add_record(
                who=who(),
                plan_hash=plan.id,
                git_commit=plan.git.commit,
                solution_versions={
                    o["unique_name"]: o["version"]
                    for o in plan.desired.values()
                    if o["kind"] == "solution"
                },
                desired=dict(plan.desired),
                status=status,
            )
            result.record_id = record.id
        journal.write("finished", status=status, record=record.id)
        return result
    finally:
        writer.release_lock(lease.id)


def plan_file(plan: Plan) -> dict[str, Any]:
    """What a saved plan holds: the JSON plan plus the desired state apply needs."""
    return {**plan.as_dict(), "desired": plan.desired}
