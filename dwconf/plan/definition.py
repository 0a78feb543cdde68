"""The plan: immutable data that `apply` executes and every renderer reads.

A plan is bound to the desired state it was made from (its hash) and the live state it was
made against (the environment's fingerprint), so a saved plan applied later can tell what moved.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from dwconf import __version__
from dwconf.git import GitInfo
from dwconf.jsonout import FORMAT_VERSION
from dwconf.objects import Object, as_map
from dwconf.plan import reset
from dwconf.plan.actions import Action, Category
from dwconf.plan.blocks import Allowance, Block
from dwconf.plan.diff import Change, diff
from dwconf.plan.order import Step, build_steps


@dataclass(frozen=True)
class Plan:
    environment: str
    desired_hash: str
    live_fingerprint: str
    changes: tuple[Change, ...]
    steps: tuple[Step, ...]
    desired: Mapping[str, Object]
    live: Mapping[str, Object] = field(default_factory=dict)
    unmanaged: tuple[str, ...] = ()
    git: GitInfo = field(default_factory=GitInfo)
    refresh_only: bool = False
    dwconf_version: str = __version__
    origin: str = "configuration"  # or "record:<id>" for a rollback to a deployment record
    blocked_by: tuple[Block, ...] = ()  # what apply would refuse (dwconf.plan.blocks)
    allowances: tuple[Allowance, ...] = ()  # what the plan was made to allow (--allow-destroy)

    @property
    def from_record(self) -> bool:
        """A rollback: the desired state comes from a deployment record, not the files."""
        return self.origin.startswith("record:")

    @property
    def has_changes(self) -> bool:
        return bool(self.changes)

    @property
    def applyable(self) -> bool:
        return bool(self.steps) and not self.refresh_only and not self.blocked_by

    @property
    def id(self) -> str:
        text = f"{self.environment}:{self.desired_hash}:{self.live_fingerprint}"
        return hashlib.sha256(text.encode()).hexdigest()[:12]

    def summary(self) -> dict[str, int]:
        counts = {a.word: 0 for a in Action}
        for change in self.changes:
            counts[change.action.word] += 1
        return counts

    def categories(self) -> dict[str, int]:
        """How many changes of each category, mildest first (every category, zeros too)."""
        return category_counts(self.changes)

    def as_dict(self) -> dict[str, Any]:
        """The JSON form (config-format.md, "Machine-readable outputs")."""
        return {
            "format_version": FORMAT_VERSION,
            "environment": self.environment,
            "has_changes": self.has_changes,
            "applyable": self.applyable,
            "plan_id": self.id,
            "desired_hash": self.desired_hash,
            "live_fingerprint": self.live_fingerprint,
            "git": {"commit": self.git.commit, "dirty": self.git.dirty},
            "dwconf_version": self.dwconf_version,
            "origin": self.origin,
            "summary": self.summary(),
            "categories": self.categories(),
            "changes": [c.as_dict() for c in self.changes],
            "unmanaged": list(self.unmanaged),
            "steps": [s.as_dict() for s in self.steps],
            "blocked_by": [b.as_dict() for b in self.blocked_by],
            "allowances": [a.value for a in self.allowances],
        }


def category_counts(changes: Iterable[Change]) -> dict[str, int]:
    counts = {c.value: 0 for c in Category}
    for change in changes:
        counts[change.category.value] += 1
    return counts


def make_plan(
    environment: str,
    desired: Mapping[str, Object],
    desired_hash: str,
    live: Mapping[str, Object],
    live_fingerprint: str,
    *,
    recorded: Mapping[str, Object] | None = None,
    initial_sync: bool = True,
    git: GitInfo | None = None,
    targets: tuple[str, ...] = (),
    excludes: tuple[str, ...] = (),
    addresses: Collection[str] | None = None,
    origin: str = "configuration",
    read_only: Mapping[str, str] | None = None,
) -> Plan:
    """The plan that takes `live` to `desired` (a pure function of its arguments); with
    `addresses`, only the changes of exactly those addresses.

    A change of legal entities is planned as Reset link (`dwconf.plan.reset`); changes of the
    kinds `read_only` names (those the provider can't write) say why, and their steps will
    be refused unless the environment already matches."""
    found = diff(desired, live, recorded, initial_sync=initial_sync)
    changes = _chosen(found.changes, targets, excludes)
    if addresses is not None:
        changes = tuple(c for c in changes if c.address in addresses)
    if reset.link_change(changes) is not None:
        planned = reset.plan_reset(desired, live, read_only)
        after = reset.after_reset(desired, live)
        rebuilt = diff(desired, after, recorded, initial_sync=initial_sync).changes
        steps = build_steps(rebuilt, desired, after, initial_sync=initial_sync, reset=planned)
        changes = reset.reset_changes(changes, desired, live, planned)
    else:
        steps = build_steps(changes, desired, live, initial_sync=initial_sync)
    changes = _marked(changes, read_only or {})
    return Plan(
        environment=environment,
        desired_hash=desired_hash,
        live_fingerprint=live_fingerprint,
        changes=changes,
        steps=steps,
        desired=dict(desired),
        live=dict(live),
        unmanaged=found.unmanaged,
        git=git or GitInfo(),
        origin=origin,
    )


def _marked(changes: tuple[Change, ...], read_only: Mapping[str, str]) -> tuple[Change, ...]:
    """Changes of a kind the provider can't write carry the reason."""
    if not read_only:
        return changes
    found = []
    for change in changes:
        why = read_only.get(change.kind)
        note = f"{change.reason}; {why}" if change.reason and why else why or change.reason
        found.append(replace(change, reason=note))
    return tuple(found)


def _chosen(
    changes: tuple[Change, ...], targets: tuple[str, ...], excludes: tuple[str, ...]
) -> tuple[Change, ...]:
    """The changes `--target` and `--exclude` select, and with a solution's change those of
    the maps it carries, whatever was excluded: importing the solution changes their
    definitions, so their changes (categories, protections) must show in the plan."""
    chosen = {c.address for c in changes if _selected(c.address, targets, excludes)}
    solutions = {a.removeprefix("solution.") for a in chosen if a.startswith("solution.")}
    return tuple(c for c in changes if c.address in chosen or _carried(c, solutions))


def _carried(change: Change, solutions: set[str]) -> bool:
    """A map change whose map a solution in `solutions` carries, before or after."""
    sides = (as_map(change.before), as_map(change.after))
    return any(side is not None and side["solution"] in solutions for side in sides)


def _selected(address: str, targets: tuple[str, ...], excludes: tuple[str, ...]) -> bool:
    def matches(pattern: str) -> bool:
        return address == pattern or address.startswith(pattern.rstrip("*"))

    if targets and not any(matches(t) for t in targets):
        return False
    return not any(matches(e) for e in excludes)


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
