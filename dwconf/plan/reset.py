"""A change of the link's legal entities, planned as Reset link (pure functions).

The only public client of the gateway changes legal entities through Reset link
(ResetLinkEngine.cs), which removes every table map, integration key and alert setting and
keeps the installed solutions (the Dual-write docs: "Afterwards you Apply Solution again and
start over"). So such a plan stops the maps that run, resets the link with the wanted legal
entities, applies every solution again, sets the keys and switches and starts the maps, as for
an environment met for the first time. Every object the reset removes is a destructive change,
and so is the reset itself when it removes something or a legal entity goes; a link with nothing
on it yet (a fresh one) only gains legal entities, and no map runs to restart: metadata.

A reset that would remove what dwconf can't set up again (a map or key the configuration
doesn't describe, or alert settings the provider only reads) is refused: the link's change says
why (`refused`), which blocks the plan (`dwconf.plan.blocks`): apply changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from dwconf.objects import Object, map_name, maps, solutions
from dwconf.plan.actions import Action, Category
from dwconf.plan.diff import Change

ADDRESS = "link.legal_entities"
REMOVED_KINDS = ("map", "key", "alert")
REASON = (
    "legal entities change only through Reset link: it removes every table map, integration "
    "key and alert setting; dwconf then applies the solutions again, sets the keys and "
    "switches and starts the maps"
)
RECREATED = "removed by Reset link, then set up again"


@dataclass(frozen=True)
class Reset:
    """What the reset step and the steps around it need to know."""

    legal_entities: list[str]
    running: Mapping[str, str]  # address -> name of the maps to stop first
    solutions: tuple[str, ...]  # every dwconf solution to apply again, by address
    refused: str = ""


def link_change(changes: tuple[Change, ...]) -> Change | None:
    return next((c for c in changes if c.kind == "link"), None)


def after_reset(desired: Mapping[str, Object], live: Mapping[str, Object]) -> dict[str, Object]:
    """The environment as the reset leaves it: its solutions, the wanted legal entities."""
    kept: dict[str, Object] = dict(solutions(live))
    if ADDRESS in desired:
        kept[ADDRESS] = desired[ADDRESS]
    return kept


def _lost(
    desired: Mapping[str, Object], live: Mapping[str, Object], read_only: Mapping[str, str]
) -> list[str]:
    """What the reset removes that dwconf couldn't set up again: what the configuration
    doesn't describe, and objects of a kind the provider can't write."""
    return sorted(
        a
        for a, o in live.items()
        if o["kind"] in REMOVED_KINDS and (o["kind"] in read_only or a not in desired)
    )


def plan_reset(
    desired: Mapping[str, Object],
    live: Mapping[str, Object],
    read_only: Mapping[str, str] | None = None,
) -> Reset:
    lost = _lost(desired, live, read_only or {})
    refused = ""
    if lost:
        refused = (
            f"Reset link would remove {', '.join(lost)}, which dwconf couldn't set up again "
            "(the configuration doesn't describe it, or this environment lets dwconf only read "
            "it). Change the legal entities in the Dual-write workspace, or describe those "
            "objects in the configuration first."
        )
    running = {
        a: map_name(o)
        for a, o in sorted(maps(live).items())
        if o["state"] in ("running", "paused") and not refused
    }
    link = desired.get(ADDRESS)
    legal_entities = list(link["legal_entities"] or []) if link and link["kind"] == "link" else []
    return Reset(legal_entities, running, tuple(sorted(solutions(desired))), refused)


def reset_changes(
    changes: tuple[Change, ...],
    desired: Mapping[str, Object],
    live: Mapping[str, Object],
    reset: Reset,
) -> tuple[Change, ...]:
    """The plan's changes: the link's as a destructive replace, and every map, key and alert
    the reset removes as replaced (destructive), whether or not its definition changes."""
    by_address = {c.address: c for c in changes}
    removes = any(o["kind"] in REMOVED_KINDS for o in live.values())
    found: list[Change] = []
    for change in changes:
        if change.kind == "link":
            dropped = any(d.category is Category.DESTRUCTIVE for d in change.details)
            category = Category.DESTRUCTIVE if removes or dropped else Category.METADATA
            found.append(
                replace(
                    change,
                    action=Action.REPLACE,
                    category=category,
                    reason=REASON,
                    refused=reset.refused,
                )
            )
        elif change.address not in live or live[change.address]["kind"] not in REMOVED_KINDS:
            found.append(change)
    for address, obj in sorted(live.items()):
        if obj["kind"] not in REMOVED_KINDS:
            continue
        old = by_address.get(address)
        after = desired.get(address)
        action = Action.DELETE if after is None else Action.REPLACE
        found.append(
            Change(
                address,
                obj["kind"],
                action,
                Category.DESTRUCTIVE,
                obj,
                after,
                old.details if old else (),
                RECREATED if after is not None else "removed by Reset link",
            )
        )
    return tuple(sorted(found, key=lambda c: c.address))
