"""An apply from start to end once its plan is settled: the lease, the steps, the verification,
the deployment record.

The journal's `begin` event names the lease, the process and the machine, so `apply --resume`
can take over the lease of an apply that was killed and tell one that is still running. Every
write goes through the lease's fence (`dwconf.apply.fence`). Whatever fails after the steps ran
(the verifying read, the record, releasing the lock) is kept in the result, so the summary and
the resume hint are always shown.
"""

from __future__ import annotations

import getpass
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from dwconf.apply import lease as leases
from dwconf.apply.executor import Outcome, Watcher, run_steps
from dwconf.apply.fence import Fenced, Keeper, lease_clock
from dwconf.apply.journal import Journal
from dwconf.apply.stale import listed
from dwconf.desired import state_hash
from dwconf.errors import DwconfError, RefusedError
from dwconf.live import Provenance
from dwconf.objects import SolutionObject, solution_names, solutions
from dwconf.plan.definition import Plan, canonical_json, make_plan
from dwconf.plan.diff import Change
from dwconf.plan.live_view import last_succeeded, live_objects, recorded_state
from dwconf.providers.base import LiveWriter

LEASE_SECONDS = 120.0


def who() -> str:
    user = os.environ.get("GITHUB_ACTOR") or getpass.getuser()
    return f"{user}@{socket.gethostname()}"


@dataclass(frozen=True)
class Options:
    """How to run an apply; every field has the CLI's default."""

    parallelism: int = 4
    lease_seconds: float = LEASE_SECONDS
    lock_timeout: float = 0.0


@dataclass
class Result:
    outcome: Outcome
    remaining: list[Change] = field(default_factory=list)
    record_id: str | None = None
    took_over: bool = False
    lease_lost: str = ""  # why the lease could not be counted on, when it could not
    problems: list[str] = field(default_factory=list)  # after the steps: read, record, release
    journal_error: str = ""  # the journal could not be written (the apply went on)

    @property
    def ok(self) -> bool:
        failed = self.outcome.failed or self.outcome.halted
        return not (failed or self.remaining or self.lease_lost or self.problems)

    @property
    def interrupted(self) -> bool:
        return self.outcome.interrupted


@dataclass
class Held:
    """The lease this apply holds, and the writer whose writes pass its fence."""

    keeper: Keeper
    writer: Fenced
    release_error: str = ""


@contextmanager
def leased(
    writer: LiveWriter,
    *,
    env: str,
    operation: str,
    plan_id: str | None,
    options: Options,
    on_wait: leases.OnWait | None = None,
) -> Iterator[Held]:
    """Hold `env`'s lease (renewed, fenced) for the block; released at the end, and a failure
    to release it is kept in `Held.release_error` instead of hiding what the block did."""
    taken_at = lease_clock()
    lease = leases.acquire(
        writer,
        env=env,
        owner=who(),
        operation=operation,
        plan_id=plan_id,
        ttl=options.lease_seconds,
        timeout=options.lock_timeout,
        on_wait=on_wait,
    )
    keeper = Keeper(writer, lease, options.lease_seconds, taken_at=taken_at)
    writer.fence(lease.id)  # where it can, the environment refuses writes once it isn't ours
    held = Held(keeper, Fenced(writer, keeper))
    try:
        with keeper:
            yield held
    finally:
        writer.fence(None)
        try:
            writer.release_lock(lease.id)
        except DwconfError as exc:
            held.release_error = exc.message


def verify(plan: Plan, writer: LiveWriter) -> list[Change]:
    """Changes still needed after the apply, from a fresh read (not a guess)."""
    state = writer.read()
    recorded = recorded_state(state, writer)
    again = make_plan(
        plan.environment,
        plan.desired,
        plan.desired_hash,
        live_objects(state, solution_names(plan.desired, recorded)),
        state.fingerprint,
        recorded=recorded,
    )
    return list(again.changes)


def provenance(plan: Plan) -> Provenance:
    """Where the plan's desired state came from: the tree's state and each solution's source."""
    sources = {o["unique_name"]: _source(o) for o in solutions(plan.desired).values()}
    return Provenance(plan.git.dirty, sources, state_hash(dict(plan.desired)))


def _source(solution: SolutionObject) -> str:
    if solution.get("source", "workspace") == "workspace":
        return "workspace"
    return f"tag:{solution.get('folder')}/v{solution.get('version')}"


def write_record(plan: Plan, writer: LiveWriter, status: str) -> str:
    record = writer.add_record(
        who=who(),
        plan_hash=plan.id,
        git_commit=plan.git.commit,
        solution_versions={
            o["unique_name"]: o["version"] for o in solutions(plan.desired).values()
        },
        desired=dict(plan.desired),
        status=status,
        provenance=provenance(plan),
    )
    return record.id


def take_over(env: str, writer: LiveWriter, journal: Journal) -> bool:
    """`apply --resume`: remove the lease the interrupted run left, unless it still runs."""
    begin = journal.last_begin()
    return bool(begin) and leases.take_over(writer, env, begin or {})


def run(
    plan: Plan,
    held: Held,
    journal: Journal,
    options: Options,
    watcher: Watcher | None = None,
) -> Result:
    """Run `plan` under the lease `held`, journaled in `journal`; verify and record."""
    if not journal.plan_path.exists():  # the journal keeps the plan it runs, for --resume
        journal.keep_plan(plan)
    journal.write("begin", lease=held.keeper.lease.id, pid=os.getpid(), host=socket.gethostname())
    outcome = run_steps(
        plan, held.writer, journal, parallelism=options.parallelism, watcher=watcher
    )
    result = Result(outcome)
    _finish(plan, held, result)
    status = "succeeded" if result.ok else "failed"
    journal.write("finished", status=status, record=result.record_id)
    result.journal_error = journal.broken
    return result


def _finish(plan: Plan, held: Held, result: Result) -> None:
    """Verify and write the record; what fails here is kept, not raised. A halted apply
    (interrupted, say) is not verified: what it left undone is known."""
    try:
        if not (result.outcome.failed or result.outcome.halted):
            result.remaining = verify(plan, held.writer)
        if not held.keeper.lost:
            status = "succeeded" if result.ok else "failed"
            result.record_id = write_record(plan, held.writer, status)
    except DwconfError as exc:
        result.problems.append(exc.message)
    result.lease_lost = held.keeper.lost


def record_if_moved(plan: Plan, writer: LiveWriter, options: Options) -> str | None:
    """When the environment already matches but what dwconf would record moved (a pin now reads
    a release tag instead of the working tree, for example), write a deployment record under the
    lease, so promotion's gate sees what this environment runs. Returns the record id."""
    last = last_succeeded(writer.records())
    if last is not None and canonical_json(writer.record_desired(last.id)) == canonical_json(
        dict(plan.desired)
    ):
        return None
    with leased(
        writer, env=plan.environment, operation="record", plan_id=plan.id, options=options
    ) as held:
        moved = verify(plan, held.writer)  # read under the lease: the plan must still hold
        if moved:
            raise RefusedError(
                f"plan {plan.id} changes nothing, but {plan.environment} differs from it now: "
                f"{listed([c.address for c in moved])}; nothing was recorded",
                f"make and review a new plan: dwconf plan {plan.environment}",
            )
        return write_record(plan, held.writer, "succeeded")
