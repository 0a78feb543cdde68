"""What moved since a plan was made, by address: between two desired states, or in the
environment.

Terraform can only say "Saved plan is stale"; dwconf names what moved, so a reviewer knows
whether a fresh plan needs a fresh review (`dwconf.apply.verify` decides; this module words it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dwconf.desired import normal_object
from dwconf.live import LiveState
from dwconf.objects import Object, maps, solution_names
from dwconf.plan.definition import Plan
from dwconf.plan.details import diff_objects
from dwconf.plan.diff import Change, compared
from dwconf.plan.live_view import NOT_APPLIED, live_objects


def moved(before: Mapping[str, Object], after: Mapping[str, Object]) -> list[str]:
    """Addresses whose object differs between two states (added, removed or changed)."""
    return sorted(
        a for a in set(before) | set(after) if _normal(before.get(a)) != _normal(after.get(a))
    )


def changed_paths(before: Mapping[str, Object], after: Mapping[str, Object]) -> list[str]:
    """`moved`, each address with what changed in it: `map.x (fields[NAME] added)`,
    `map.y (added)`; the first three paths of an object, then how many more."""
    found = []
    for address in moved(before, after):
        old, new = before.get(address), after.get(address)
        if old is None or new is None:
            found.append(f"{address} ({'added' if old is None else 'removed'})")
            continue
        paths = [f"{d.path} {d.action}" for d in diff_objects(old, new)]
        more = f", {len(paths) - 3} more" if len(paths) > 3 else ""
        found.append(f"{address} ({', '.join(paths[:3])}{more})" if paths else address)
    return found


def _normal(obj: Object | None) -> Object | None:
    return None if obj is None else normal_object(obj)


def listed(addresses: list[str], limit: int = 20) -> str:
    """Addresses for a message, the first `limit` of them."""
    shown = ", ".join(addresses[:limit])
    more = len(addresses) - limit
    return shown + (f" and {more} more" if more > 0 else "")


def environment_reason(plan: Plan, state: LiveState) -> str:
    if state.fingerprint == plan.live_fingerprint:
        return ""
    addresses = sorted(_moved_live(plan, live_objects(state, _managed(plan))))
    what = listed(addresses) if addresses else f"fingerprint {state.fingerprint[:12]}"
    return f"the environment changed since the plan was made: {what}"


def _moved_live(plan: Plan, now: Mapping[str, Object]) -> set[str]:
    """Addresses whose live object differs from the one the plan was made against."""
    return {
        a for a in set(now) | set(plan.live) if compared(now.get(a)) != compared(plan.live.get(a))
    }


def moved_by_others(plan: Plan, derived: Plan, state: LiveState) -> list[str]:
    """What moved in the environment since `plan` was made, other than by the plan's own
    steps: `address`, or `address (path)`. `derived` is the plan made now, from the same
    desired state, for the addresses `plan` changes (`dwconf.apply.verify.derive`).

    Path by path, an object may hold what the plan found there, what the plan wants, or a
    value the plan's own steps pass through (`_Passing`); anything else was put there by
    someone else after the plan was made, and running the plan's steps would overwrite it
    unreviewed."""
    planned = {c.address: c for c in plan.changes}
    now = {c.address: c for c in derived.changes}
    passing = _Passing.of(plan)
    live = live_objects(state, _managed(plan))
    found: list[str] = []
    for address in sorted(_moved_live(plan, live)):
        change = planned.get(address)
        if change is None:  # the plan leaves it alone: only its Reset link may remove it
            was = plan.live.get(address)
            removed = (
                address not in live and passing.reset and was is not None and was["kind"] in _RESET
            )
            found += [] if removed else [address]
        elif address in now:  # not yet as the plan wants it
            found += passing.unexplained(change, now[address])
    return found


_RESET = ("map", "key", "alert")  # what Reset link removes
_NOT_SET: tuple[Any, ...] = (None, {}, [])  # a value not set yet (a map without a definition)


@dataclass(frozen=True)
class _Passing:
    """The values a plan's own steps leave an object in on their way to the plan's end: a map
    stopped (or paused) by the plan, or created and not started yet; a solution imported and
    not applied yet; a value not yet set on an object the plan creates; the maps, keys and
    alerts its Reset link removes."""

    stopped: frozenset[str]
    paused: frozenset[str]
    imported: frozenset[str]
    reset: bool

    @classmethod
    def of(cls, plan: Plan) -> _Passing:
        ops = {o: [s for s in plan.steps if s.operation == o] for o in _OPERATIONS}
        named = {
            str((o["definition"] or {}).get("name")): a
            for part in (plan.live, plan.desired)
            for a, o in maps(part).items()
        }
        paused = {s.address for s in ops["pause_map"]}
        paused |= {named[n] for s in ops["pause_maps"] for n in s.args["names"] if n in named}
        return cls(
            stopped=frozenset(s.address for s in ops["stop_map"]),
            paused=frozenset(paused),
            imported=frozenset(s.address for s in ops["import_solution"]),
            reset=bool(ops["reset_link"]),
        )

    def unexplained(self, change: Change, now: Change) -> list[str]:
        """`change` of the plan against `now`, the change still needed for the same address:
        what moved there since the plan was made and is neither what the plan wants nor a
        value its steps pass through."""
        address, found, there = change.address, change.before, now.before
        if there is None:  # not there now: not made yet, or removed by the Reset link
            made = found is None or (self.reset and change.kind in _RESET)
            return [] if made else [address]
        if now.after is None:  # the plan removes it: only its own steps may have moved it
            if found is None:
                return [address]
            left = [(d.path, d.after) for d in diff_objects(found, there)]
        else:
            moved = [d.path for d in diff_objects(found, there)] if found else None
            left = [
                (d.path, d.before)
                for d in now.details
                if moved is None or any(_overlap(d.path, m) for m in moved)
            ]
        return [
            f"{address} ({path})"
            for path, value in left
            if not self._passed(change, there, path, value)
        ]

    def _passed(self, change: Change, there: Object, path: str, value: Any) -> bool:
        address = change.address
        if change.before is None and value in _NOT_SET:  # on an object the plan creates
            return True
        if path == "state":
            stopped = address in self.stopped or change.before is None  # or not started yet
            if value == "stopped":
                return stopped
            return value == "paused" and address in self.paused
        imported = address in self.imported and there.get("content") == NOT_APPLIED
        return imported and path.startswith("content")


def _overlap(one: str, other: str) -> bool:
    """Two detail paths name the same value or one holds the other ("" is the whole)."""
    short, long = sorted((one, other), key=len)
    return not short or long == short or long.startswith((f"{short}.", f"{short}["))


_OPERATIONS = ("stop_map", "pause_map", "pause_maps", "import_solution", "reset_link")


def _managed(plan: Plan) -> set[str]:
    return {n for n in solution_names(plan.desired, plan.live) if n}
