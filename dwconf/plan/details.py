"""Field-level detail of a change: what moved inside one object, and the side effect of each.

deepdiff compares canonical dicts; field mappings are keyed by their two sides first so that a
reordered list is no change and each field reads as one line ("CUSTOMERACCOUNT = accountnumber").
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from deepdiff import DeepDiff

from dwconf.objects import Definition, Kind, LinkObject, MapObject, Object, SolutionObject
from dwconf.plan import effects
from dwconf.plan.actions import Category

_PATH_PART = re.compile(r"\['((?:[^'\\]|\\.)*)'\]|\[(\d+)\]")


@dataclass(frozen=True)
class Detail:
    """One difference: a path inside the object, before and after, its category and why."""

    path: str
    action: str  # added | removed | changed
    before: Any
    after: Any
    category: Category
    reason: str = ""  # for display only

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "action": self.action,
            "before": self.before,
            "after": self.after,
            "category": self.category.value,
            "reason": self.reason,
        }


def field_key(field: Mapping[str, Any]) -> str:
    """A field's identity: its two sides (`none` for a side left out)."""
    return f"{field.get('finops') or 'none'} : {field.get('dataverse') or 'none'}"


def _keyed(definition: Definition | None) -> dict[str, Any]:
    if not definition:
        return {}
    keyed = dict(definition)
    keyed["fields"] = {field_key(f): f for f in definition.get("fields", [])}
    return keyed


def _changed_fields(before: MapObject, after: MapObject) -> tuple[dict[str, Any], dict[str, Any]]:
    """Both maps with fields keyed by their sides and the fields equal on both sides left out:
    deepdiff then only walks what moved (a 60-field map with one change stays fast)."""
    old, new = _keyed(before["definition"]), _keyed(after["definition"])
    if "fields" in old and "fields" in new:
        same = {k for k, v in old["fields"].items() if new["fields"].get(k) == v}
        old["fields"] = {k: v for k, v in old["fields"].items() if k not in same}
        new["fields"] = {k: v for k, v in new["fields"].items() if k not in same}
    return {**before, "definition": old}, {**after, "definition": new}


def _parts(path: str) -> list[str]:
    return [m.group(1) if m.group(1) is not None else m.group(2) for m in _PATH_PART.finditer(path)]


def _show(parts: list[str]) -> str:
    if parts and parts[0] == "fields" and len(parts) > 1:
        rest = ".".join(parts[2:])
        return f"fields[{parts[1]}]" + (f".{rest}" if rest else "")
    return ".".join(parts)


def diff_objects(before: Object, after: Object, *, maps_run: bool = True) -> Iterator[Detail]:
    """Details between two versions of one object (maps compare their keyed definitions).
    `maps_run`: whether any map runs now (a legal entity added then restarts nothing)."""
    old: Mapping[str, Any] = before
    new: Mapping[str, Any] = after
    if before["kind"] == "map" and after["kind"] == "map":
        old, new = _changed_fields(before, after)
    if before["kind"] == "link" and after["kind"] == "link":
        yield from _link_details(before, after, maps_run)
        return
    if before["kind"] == "solution" and after["kind"] == "solution":
        yield from _solution_details(before, after)
        return
    kind = after["kind"]
    found = DeepDiff(old, new, ignore_order=False, verbose_level=2)
    for report, action in (
        ("dictionary_item_added", "added"),
        ("dictionary_item_removed", "removed"),
        ("values_changed", "changed"),
        ("type_changes", "changed"),
        ("iterable_item_added", "added"),
        ("iterable_item_removed", "removed"),
    ):
        for path, value in sorted(found.get(report, {}).items()):
            yield _detail(kind, _parts(path), action, value)


def _link_details(before: LinkObject, after: LinkObject, maps_run: bool) -> Iterator[Detail]:
    """Legal entities are a set of codes: each added or removed code is one detail."""
    had = set(before["legal_entities"] or [])
    has = set(after["legal_entities"] or [])
    for code in sorted(has - had):
        e = effects.legal_entity(code, True, maps_run)
        yield Detail(f"legal_entities[{code}]", "added", None, code, e.category, e.reason)
    for code in sorted(had - has):
        e = effects.legal_entity(code, False, maps_run)
        yield Detail(f"legal_entities[{code}]", "removed", code, None, e.category, e.reason)


def _solution_details(before: SolutionObject, after: SolutionObject) -> Iterator[Detail]:
    """A solution's version, the maps it carries (a set of names) and its content: the content
    is a hash of the map definitions, which the plan explains by the maps' own changes."""
    if before["version"] != after["version"]:
        yield Detail("version", "changed", before["version"], after["version"], _META)
    had, has = set(before["maps"] or []), set(after["maps"] or [])
    for name in sorted(has - had):
        yield Detail(f"maps[{name}]", "added", None, name, _META)
    for name in sorted(had - has):
        yield Detail(f"maps[{name}]", "removed", name, None, _META)
    if before["content"] != after["content"]:
        yield Detail("content", "changed", before["content"], after["content"], _META)


_META = Category.METADATA


def _detail(kind: Kind, parts: list[str], action: str, value: Any) -> Detail:
    if action == "changed":
        before, after = value["old_value"], value["new_value"]
    elif action == "added":
        before, after = None, value
    else:
        before, after = value, None
    if kind == "map" and parts and parts[0] == "definition":
        inner = parts[1:]
        e = effects.map_detail(inner, action, before, after)
        return Detail(_show(inner), action, before, after, e.category, e.reason)
    e = _effect(kind, parts, before, after)
    return Detail(_show(parts), action, before, after, e.category, e.reason)


def _effect(kind: Kind, parts: list[str], before: Any, after: Any) -> effects.Effect:
    top = parts[0] if parts else ""
    if kind == "map" and top == "state":
        return effects.map_state(before, after)
    if kind == "key":
        return effects.Effect(Category.DESTRUCTIVE)  # the change names the table (diff.py)
    return effects.Effect(Category.METADATA)
