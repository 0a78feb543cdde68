"""What would make apply refuse a plan, found when the plan is made (ARCHITECTURE §5).

A reviewer approves the plan, so the plan must say what apply would refuse: a Microsoft
solution that is missing or too old for a solution the plan imports (the service's own
version-mismatch text), a map that would start while a map it depends on is not running, a
destructive change where the environment prevents them, a change dwconf can't carry out
safely (a reset of the link that would lose what dwconf can't set up again), and someone
else's lock. Each is a `Block` with the reason, the address and how to get past it; `apply`
finds them again against the environment as it is then, and refuses a blocked plan before it
changes anything. A held lock is shown but left to apply, which waits for it or exits 5.

`find` is a plain function of a plan and a live state, for every command that shows a plan.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from dwconf.live import LiveState, versions
from dwconf.live.errors import DependencyNotRunning
from dwconf.live.state import Lease, RunState
from dwconf.objects import MapObject, Object, as_map, as_solution, map_name, maps
from dwconf.plan.actions import Action, Category
from dwconf.plan.diff import Change


class BlockKind(enum.StrEnum):
    REQUIREMENT = "requirement"  # a required Microsoft solution is missing or too old
    DEPENDENCY = "dependency"  # a map would start before a map it depends on runs
    PROTECTION = "protection"  # a destructive change where protect.prevent_destroy is set
    LOCK = "lock"  # someone else holds the environment's lock
    UNSAFE = "unsafe"  # a change dwconf can't carry out safely (a reset that would lose data)


class Allowance(enum.StrEnum):
    """What a plan was made to allow, recorded in it so that a review sees it."""

    DESTROY = "destroy"  # destructive changes where the environment prevents them


@dataclass(frozen=True)
class Block:
    kind: BlockKind
    reason: str
    address: str
    hint: str

    def as_dict(self) -> dict[str, str]:
        return {
            "kind": self.kind.value,
            "reason": self.reason,
            "address": self.address,
            "hint": self.hint,
        }

    @classmethod
    def of(cls, data: Mapping[str, Any]) -> Block:
        return cls(BlockKind(data["kind"]), data["reason"], data["address"], data["hint"])

    @property
    def refuses_apply(self) -> bool:
        """A lock is apply's to wait for (or exit 5); every other block refuses it (exit 4)."""
        return self.kind is not BlockKind.LOCK


def find(
    environment: str,
    changes: tuple[Change, ...],
    desired: Mapping[str, Object],
    state: LiveState,
    *,
    prevent_destroy: bool,
    allowances: tuple[Allowance, ...] = (),
    now: datetime | None = None,
) -> tuple[Block, ...]:
    """Every reason apply would refuse these changes against `state`, by address."""
    found = [
        *_requirements(changes, desired, state),
        *_dependencies(changes, desired, state),
        *protections(environment, changes, prevent_destroy, allowances),
        *_lock(environment, state.lock, now or datetime.now(UTC)),
        *_unsafe(changes),
    ]
    return tuple(sorted(found, key=lambda b: (b.address, b.kind.value, b.reason)))


def _requirements(
    changes: tuple[Change, ...], desired: Mapping[str, Object], state: LiveState
) -> Iterator[Block]:
    def installed(name: str) -> str | None:
        found = state.solution(name)
        return found.version if found else None

    for change in changes:
        if change.kind != "solution" or change.action is Action.DELETE:
            continue
        solution = as_solution(desired[change.address])
        requires = {n: [c] for n, c in (solution.get("requires") or {}).items()}
        for error in versions.unmet(requires, installed, str(solution["unique_name"])):
            hint = f"{error.hint} It is required by {solution['unique_name']}.".strip()
            yield Block(BlockKind.REQUIREMENT, error.message, change.address, hint)


def _started(change: Change) -> bool:
    after = as_map(change.after)
    if after is None or after["state"] == "stopped":
        return False
    return change.action is not Action.DELETE


def _dependencies(
    changes: tuple[Change, ...], desired: Mapping[str, Object], state: LiveState
) -> Iterator[Block]:
    """Maps the plan starts (or restarts) whose prerequisite will not be running: it is
    neither running now nor started by dwconf (stopped in the configuration, or not managed)."""
    wanted = {map_name(o): o for o in maps(desired).values() if o["definition"]}
    for change in changes:
        after = as_map(change.after)
        if after is None or not _started(change):
            continue
        definition = after["definition"] or {}
        for dependency in definition.get("depends_on") or []:
            if _will_run(dependency, wanted, state):
                continue
            error = DependencyNotRunning(str(definition.get("name")), dependency)
            reason = f"'{dependency}' will not be running: {error.message}"
            yield Block(BlockKind.DEPENDENCY, reason, change.address, error.hint)


def _will_run(name: str, wanted: Mapping[str, MapObject], state: LiveState) -> bool:
    if name in wanted:
        return wanted[name]["state"] != "stopped"
    live = state.map(name)
    return live is not None and live.state in (RunState.RUNNING, RunState.INITIALIZING)


def protections(
    environment: str,
    changes: tuple[Change, ...],
    prevent_destroy: bool,
    allowances: tuple[Allowance, ...],
) -> Iterator[Block]:
    if not prevent_destroy or Allowance.DESTROY in allowances:
        return
    for change in changes:
        if change.category is not Category.DESTRUCTIVE:
            continue
        paths = [d.path for d in change.details if d.category is Category.DESTRUCTIVE]
        what = change.action.word + (f": {', '.join(paths)}" if paths else "")
        yield Block(
            BlockKind.PROTECTION,
            f"a destructive change ({what}) where {environment} sets protect.prevent_destroy",
            change.address,
            f"review it, then allow it in the plan: dwconf plan {environment} --allow-destroy "
            f"--out FILE (or dwconf apply {environment} --allow-destroy)",
        )


def _unsafe(changes: tuple[Change, ...]) -> Iterator[Block]:
    for change in changes:
        if change.refused:
            hint = "change it in the Dual-write workspace, or describe what it would remove"
            yield Block(BlockKind.UNSAFE, change.refused, change.address, hint)


def _lock(environment: str, lease: Lease | None, now: datetime) -> Iterator[Block]:
    if lease is None or lease.is_expired(now):
        return
    plan = f", plan {lease.plan_id}" if lease.plan_id else ""
    yield Block(
        BlockKind.LOCK,
        f"{environment} is locked by {lease.owner} ({lease.operation}{plan}) until "
        f"{lease.expires.isoformat(timespec='seconds')}; lock ID {lease.id}",
        "lock",
        f"apply waits for it with --lock-timeout; if that apply is gone: "
        f"dwconf lock force-unlock {environment} {lease.id}",
    )
