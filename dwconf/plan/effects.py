"""What a change does to the running integration: its category and the reason, in a reviewer's
words ("direction narrowed: Dataverse no longer writes NAME").

The category follows from what runs: a definition change restarts a map only when the map runs
(or is paused) now, a legal entity added to the link restarts nothing while no map runs, and a
new map starts (with or without an initial sync) rather than restarts. Reasons are for display
only; apply never reads them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, assert_never

from dwconf.objects import Object
from dwconf.plan.actions import Category

_SIDE = {"finops": "F&O", "dataverse": "Dataverse"}
RUNNING = ("running", "paused")


@dataclass(frozen=True)
class Effect:
    category: Category
    reason: str = ""


def _sides(key: str) -> tuple[str, str]:
    """The two names of a field from its key (`NAME : tst_name`; `none` for a side left out)."""
    finops, _, dataverse = key.partition(" : ")
    return finops, dataverse


def _field(key: str) -> str:
    finops, dataverse = _sides(key)
    return " / ".join(n for n in (finops, dataverse) if n != "none") or key


def direction(key: str, before: str, after: str) -> Effect:
    """A field's direction changes: narrowed or reversed loses a flow (destructive)."""
    finops, dataverse = _sides(key)
    # what each side writes: to_dataverse means F&O writes the Dataverse column
    writes = {
        "both": {"finops", "dataverse"},
        "to_dataverse": {"finops"},
        "to_finops": {"dataverse"},
    }
    had, has = writes.get(before, set()), writes.get(after, set())
    target = {"finops": dataverse, "dataverse": finops}  # what a side writes into
    lost = sorted(had - has)
    if lost and has - had:
        gone, new = lost[0], sorted(has - had)[0]
        return Effect(
            Category.DESTRUCTIVE,
            f"direction reversed: {_SIDE[gone]} no longer writes {target[gone]}; "
            f"{_SIDE[new]} writes {target[new]} instead",
        )
    if lost:
        return Effect(
            Category.DESTRUCTIVE,
            f"direction narrowed: {_SIDE[lost[0]]} no longer writes {target[lost[0]]}",
        )
    gained = sorted(has - had)
    if gained:
        return Effect(
            Category.RESTART,
            f"direction widened: {_SIDE[gained[0]]} now writes {target[gained[0]]} too",
        )
    return Effect(Category.RESTART, "direction changes")


_RESTART = "the map restarts; records queue meanwhile"


def map_detail(parts: list[str], action: str, before: Any, after: Any) -> Effect:
    """The effect of one difference inside a map definition, for a map that runs."""
    top = parts[0] if parts else ""
    if top in ("name", "description", "depends_on"):
        return Effect(Category.METADATA)
    if top == "integration_key":
        return Effect(
            Category.DESTRUCTIVE,
            "integration key changes: rows synced before are matched by the old key",
        )
    if top in ("finops_entity", "dataverse_table"):
        side = "F&O entity" if top == "finops_entity" else "Dataverse table"
        return Effect(Category.DESTRUCTIVE, f"the map moves to another {side}: it is replaced")
    if top == "fields" and len(parts) == 2 and action == "removed":
        return Effect(Category.DESTRUCTIVE, f"field removed: {_field(parts[1])} no longer syncs")
    if top == "fields" and len(parts) == 2 and action == "added":
        return Effect(Category.RESTART, f"new field {_field(parts[1])}; {_RESTART}")
    if parts[-1:] == ["direction"] and len(parts) == 3:
        return direction(parts[1], str(before), str(after))
    if top == "filters":
        side = _SIDE.get(parts[1], "") if len(parts) > 1 else ""
        what = f"the {side} filter changes" if side else "the filters change"
        return Effect(Category.RESTART, f"{what} which rows sync; {_RESTART}")
    if top == "version":
        return Effect(Category.RESTART, f"new map version; {_RESTART}")
    if top == "fields" and len(parts) >= 3:
        what = parts[2].replace("_", " ")
        return Effect(Category.RESTART, f"{what} of {_field(parts[1])} changes; {_RESTART}")
    return Effect(Category.RESTART, _RESTART)


def map_state(before: Any, after: Any) -> Effect:
    """The run state of a map changes."""
    if after == "stopped":
        return Effect(Category.DESTRUCTIVE, "the map stops: its records no longer sync")
    if before == "paused" and after == "running":
        return Effect(Category.START, "the map resumes and writes the records queued meanwhile")
    if after == "paused" and before == "running":
        return Effect(
            Category.RESTART, "the map pauses: records queue until it resumes (7 days, 1 GB)"
        )
    then = ", then pauses" if after == "paused" else ""
    return Effect(Category.START, f"the map starts (live sync{then}); rows are not copied")


def legal_entity(code: str, added: bool, maps_run: bool) -> Effect:
    if not added:
        return Effect(Category.DESTRUCTIVE, f"legal entity {code} removed: its rows stop syncing")
    if maps_run:
        return Effect(Category.RESTART, f"legal entity {code} added while maps run")
    return Effect(Category.METADATA, f"legal entity {code} added; no map runs yet")


def key_change(table: str, removed: bool = False) -> Effect:
    if removed:
        return Effect(
            Category.DESTRUCTIVE,
            f"no configured map uses {table} any more: its integration key is removed",
        )
    return Effect(
        Category.DESTRUCTIVE,
        f"integration key of {table} changes: rows synced before are matched by the old key",
    )


def created(obj: Object, initial_sync: bool) -> Effect:
    """A new object: nothing restarts; a new map that runs starts, with or without copying."""
    if obj["kind"] != "map":
        return Effect(Category.METADATA)
    if obj["state"] not in RUNNING:
        return Effect(Category.METADATA, "new map, stopped: nothing syncs until it starts")
    if initial_sync:
        master = ((obj["definition"] or {}).get("initial_sync") or {}).get("master", "dataverse")
        return Effect(
            Category.INITIAL_SYNC,
            f"new map: an initial sync copies existing rows ({master} is the master)",
        )
    return Effect(
        Category.START,
        "new map starts live sync; existing rows are not copied (initial_sync: skip)",
    )


def deleted(obj: Object, address: str) -> Effect:
    """An object removed: what stops with it (every kind named, so a new kind must say)."""
    if obj["kind"] == "alert":
        return Effect(Category.METADATA)
    if obj["kind"] == "map":
        name = (obj["definition"] or {}).get("name") or address
        return Effect(Category.DESTRUCTIVE, f"map removed: {name} stops syncing")
    if obj["kind"] == "key":
        return key_change(address.removeprefix("key."), removed=True)
    if obj["kind"] == "solution":
        return Effect(Category.DESTRUCTIVE, "solution removed with the maps it carries")
    if obj["kind"] == "link":
        return Effect(Category.DESTRUCTIVE, "link removed")
    assert_never(obj)
