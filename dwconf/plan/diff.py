"""Desired against live, by address: the changes a plan is made of (pure functions)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, cast

from dwconf.desired import normal_definition
from dwconf.filters import ParsedFilter, canonical, parse_odata, parse_xpp
from dwconf.objects import Definition, Kind, MapObject, Object, map_name, maps
from dwconf.plan import effects
from dwconf.plan.actions import Action, Category, worst
from dwconf.plan.details import Detail, diff_objects

# What of each kind the environment can hold; the rest of a desired object (pins, folders,
# publisher details) is configuration, not state.
COMPARED: dict[Kind, tuple[str, ...]] = {
    "solution": ("version", "maps", "content"),
    "map": ("solution", "state", "definition"),
    "key": ("columns",),
    "link": ("legal_entities",),
    "alert": ("error_type", "threshold", "window_minutes", "action", "notify"),
}


@dataclass(frozen=True)
class Change:
    address: str
    kind: Kind
    action: Action
    category: Category
    before: Object | None
    after: Object | None
    details: tuple[Detail, ...] = ()
    reason: str = ""  # for display only; apply never reads it
    refused: str = ""  # why apply can't carry it out safely (a block: dwconf.plan.blocks)

    def as_dict(self) -> dict[str, Any]:
        found = {
            "address": self.address,
            "kind": self.kind,
            "actions": [self.action.word],
            "category": self.category.value,
            "before": self.before,
            "after": self.after,
            "details": [d.as_dict() for d in self.details],
            "reason": self.reason,
        }
        return {**found, "refused": self.refused} if self.refused else found


@dataclass(frozen=True)
class Diff:
    changes: tuple[Change, ...]
    unmanaged: tuple[str, ...] = field(default=())


def compared(obj: Object | None) -> Object | None:
    """The part of an object the environment holds, in canonical form."""
    if obj is None:
        return None
    keep = COMPARED[obj["kind"]]
    # the same kind with fewer keys: those of other forms are NotRequired (dwconf.objects)
    return cast(Object, {"kind": obj["kind"], **{k: obj.get(k) for k in keep}})


def _comparable(want: Object | None, have: Object | None) -> tuple[Object | None, Object | None]:
    """An alert whose recipients one side can't know (the gateway doesn't show them) is
    compared without them."""
    if want is None or have is None or want["kind"] != "alert" or have["kind"] != "alert":
        return want, have
    if want["notify"] is None or have["notify"] is None:
        return {**want, "notify": None}, {**have, "notify": None}
    return want, have


def _equal(want: Object, have: Object) -> bool:
    """Equal, with filters compared in their canonical form (spacing, parentheses, `=`/`==`)."""
    if want == have:
        return True
    if want["kind"] != "map" or have["kind"] != "map":
        return False
    if not want["definition"] or not have["definition"]:
        return False
    return _normalized(want, want["definition"]) == _normalized(have, have["definition"])


def _normalized(obj: MapObject, definition: Definition) -> MapObject:
    definition = normal_definition(definition)
    filters = dict(definition.get("filters") or {})
    for side, parse in (("finops", parse_xpp), ("dataverse", parse_odata)):
        text = filters.get(side)
        parsed = parse(text) if text else None
        if isinstance(parsed, ParsedFilter):
            filters[side] = canonical(parsed)
    definition["filters"] = filters
    return {**obj, "definition": definition}


def _created(address: str, after: Object, initial_sync: bool) -> Change:
    e = effects.created(after, initial_sync)
    return Change(address, after["kind"], Action.CREATE, e.category, None, after, reason=e.reason)


def _updated(address: str, before: Object, after: Object, maps_run: bool) -> Change:
    found = diff_objects(before, after, maps_run=maps_run)
    details = tuple(sorted(found, key=lambda d: (d.path, d.action)))
    if after["kind"] == "key":
        e = effects.key_change(address.removeprefix("key."))
        details = tuple(replace(d, reason=e.reason) for d in details)
    if (
        after["kind"] == "map"
        and before["kind"] == "map"
        and before["state"] not in effects.RUNNING
    ):
        details = tuple(_not_running(d) for d in details)
    category = worst([d.category for d in details])
    replace_map = after["kind"] == "map" and any(
        d.path in ("finops_entity", "dataverse_table") for d in details
    )
    action = Action.REPLACE if replace_map else Action.UPDATE
    reason = next((d.reason for d in details if d.category is category and d.reason), "")
    return Change(address, after["kind"], action, category, before, after, details, reason)


def _not_running(d: Detail) -> Detail:
    """A map that doesn't run now restarts nothing when its definition changes."""
    if d.category is not Category.RESTART or d.path == "state":
        return d
    return replace(d, category=Category.METADATA, reason="the map does not run now")


def _maps_run(live: Mapping[str, Object]) -> bool:
    return any(o["state"] in effects.RUNNING for o in maps(live).values())


def _explained(change: Change, changes: list[Change]) -> Change:
    """A solution whose content changes lists the maps and paths that change, not two hashes."""
    if change.kind != "solution" or not any(d.path == "content" for d in change.details):
        return change
    unique_name = change.address.removeprefix("solution.")
    carried = [
        c
        for c in changes
        if c.details
        and c.after is not None
        and c.after["kind"] == "map"
        and c.after["solution"] == unique_name
    ]
    details = [d for d in change.details if d.path != "content"]
    for m in carried:
        name = map_name(m.after) or m.address
        paths = ", ".join(d.path for d in m.details)
        details.append(Detail(f"content[{name}]", "changed", None, paths, Category.METADATA))
    if not carried and not any(d.path.startswith("maps[") for d in details):
        details.append(
            Detail(
                "content",
                "changed",
                None,
                "the packaged map definitions change; the maps already run them",
                Category.METADATA,
            )
        )
    return replace(change, details=tuple(sorted(details, key=lambda d: (d.path, d.action))))


def diff(
    desired: Mapping[str, Object],
    live: Mapping[str, Object],
    recorded: Mapping[str, Object] | None = None,
    *,
    initial_sync: bool = True,
) -> Diff:
    """Changes that take `live` to `desired`.

    A live object that `desired` does not name is deleted only when dwconf itself put it there
    (it is in `recorded`, the desired state of the last successful apply); otherwise it is
    reported as unmanaged and left alone.
    """
    recorded = recorded or {}
    changes: list[Change] = []
    unmanaged: list[str] = []
    maps_run = _maps_run(live)
    for address in sorted(set(desired) | set(live)):
        want, have = _comparable(compared(desired.get(address)), compared(live.get(address)))
        if want is not None and have is None:
            changes.append(_created(address, want, initial_sync))
        elif want is not None and have is not None:
            if not _equal(want, have):
                changes.append(_updated(address, have, want, maps_run))
        elif have is not None and address in recorded:
            changes.append(_deleted(address, have))
        elif have is not None and have["kind"] in ("map", "key", "alert"):
            unmanaged.append(address)
    return Diff(tuple(_explained(c, changes) for c in changes), tuple(unmanaged))


def _deleted(address: str, before: Object) -> Change:
    e = effects.deleted(before, address)
    return Change(address, before["kind"], Action.DELETE, e.category, before, None, reason=e.reason)
