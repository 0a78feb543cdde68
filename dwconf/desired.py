"""The desired state of one environment: every managed object by address (ARCHITECTURE §1).

Built from a validated `Project` rendered for that environment, from the solutions it pins.
Objects are plain JSON-able dicts in canonical form, so the plan diff and `dwconf render`
consume the same data.
"""

from __future__ import annotations

import hashlib
import operator
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from dwconf.canonical import canonical_bytes
from dwconf.load.project import MapSpec, Project
from dwconf.model import TableMap
from dwconf.objects import (
    Definition,
    KeyObject,
    LinkObject,
    MapObject,
    Object,
    SolutionObject,
    alert_object,
)


@dataclass(frozen=True)
class DesiredState:
    environment: str
    objects: dict[str, Object]
    hash: str = field(compare=False)  # state_hash(objects), worked out once by `build`

    def as_dict(self) -> dict[str, Any]:
        return {"environment": self.environment, "desired_hash": self.hash, "objects": self.objects}


def canonical_map(model: TableMap) -> Definition:
    """A map as data: defaults explicit, F&O names upper-case, Dataverse names lower-case."""
    data = model.model_dump(mode="json")
    for mapping in data["fields"]:
        if mapping["finops"]:
            mapping["finops"] = mapping["finops"].upper()
        if mapping["dataverse"]:
            mapping["dataverse"] = mapping["dataverse"].lower()
    data["integration_key"] = [k.lower() for k in data["integration_key"]]
    data["dataverse_table"] = data["dataverse_table"].lower()
    return data


def _field_order(mapping: dict[str, Any]) -> tuple[str, str]:
    return (str(mapping.get("finops") or ""), str(mapping.get("dataverse") or ""))


_NAMES = operator.itemgetter("finops", "dataverse")


def _sorted_fields(fields: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Fields in `_field_order`. Names are text, so sorting by the raw pair gives that order
    without a Python call per field; a missing name (None, or no key) cannot be compared with
    text and takes the general way."""
    try:
        return sorted(fields, key=_NAMES)
    except (TypeError, KeyError):
        return sorted(fields, key=_field_order)


def normal_definition(definition: Definition) -> Definition:
    """A map definition whose lists that have no meaningful order (fields, prerequisites) are
    sorted: two files that differ only in those orders describe the same map."""
    normal = dict(definition)
    if isinstance(normal.get("fields"), list):
        normal["fields"] = _sorted_fields(normal["fields"])
    if isinstance(normal.get("depends_on"), list):
        normal["depends_on"] = sorted(normal["depends_on"])
    return normal


def normal_object(obj: Object) -> Object:
    if obj["kind"] == "map" and obj["definition"] is not None:
        return {**obj, "definition": normal_definition(obj["definition"])}
    return obj


def state_hash(
    objects: Mapping[str, Object], normal: Mapping[str, Definition] | None = None
) -> str:
    """The hash of a desired state, independent of file, key and field order. `normal` may hold
    map definitions already put through `normal_definition`, by address."""
    known = normal or {}
    normal_objects = {
        address: {**obj, "definition": known[address]} if address in known else normal_object(obj)
        for address, obj in objects.items()
    }
    return hashlib.sha256(canonical_bytes(normal_objects, default=str)).hexdigest()


def content_hash(definitions: list[Definition]) -> str:
    """A hash of a solution's map definitions, independent of their order."""
    return normal_content_hash([normal_definition(d) for d in definitions])


def normal_content_hash(normal: list[Definition]) -> str:
    """`content_hash` of definitions already put through `normal_definition`."""
    ordered = sorted(normal, key=lambda d: (d["name"], d["version"]))
    return hashlib.sha256(canonical_bytes(ordered, default=str)).hexdigest()[:16]


def _map_object(project: Project, spec: MapSpec, definition: Definition) -> MapObject:
    env = project.environment
    assert env is not None
    state = env.model.maps.state.get(spec.model.name, env.model.maps.default_state)
    solution = project.solutions[spec.solution].model
    return {
        "kind": "map",
        "solution": solution.unique_name if solution else spec.solution,
        "state": state.value,
        "initial_sync": env.model.maps.initial_sync,
        "definition": definition,
    }


def _keys(maps: list[MapSpec]) -> dict[str, KeyObject]:
    keys: dict[str, KeyObject] = {}
    for spec in maps:
        columns = [c.lower() for c in spec.model.integration_key]
        if not columns:
            continue
        table = spec.model.dataverse_table.lower()
        keys.setdefault(f"key.{table}", {"kind": "key", "table": table, "columns": columns})
    return keys


def build(project: Project) -> DesiredState:
    """The desired state of `project.environment` from the solutions it pins."""
    env = project.environment
    assert env is not None, "desired state needs an environment"
    objects: dict[str, Object] = {}
    pinned = [project.solutions[f] for f in env.model.solutions if f in project.solutions]
    maps = [m for s in pinned for m in s.maps]
    definitions = {m.address: canonical_map(m.model) for m in maps}  # once: maps are large
    normal = {address: normal_definition(d) for address, d in definitions.items()}
    for spec in pinned:
        if spec.model is None:
            continue
        deps = [project.solutions[d].model for d in spec.model.depends_on if d in project.solutions]
        solution: SolutionObject = {
            "kind": "solution",
            "folder": spec.folder,
            "pin": env.model.solutions[spec.folder],
            "source": spec.source,  # `workspace` or the release tag's commit; not compared
            "unique_name": spec.model.unique_name,
            "version": spec.model.version,
            "publisher": spec.model.publisher.model_dump(mode="json"),
            "requires": dict(sorted(spec.model.requires.items())),
            "depends_on": sorted(d.unique_name for d in deps if d),
            "maps": sorted(m.model.name for m in spec.maps),
            "content": normal_content_hash([normal[m.address] for m in spec.maps]),
        }
        objects[spec.model.address] = solution
    for map_spec in maps:
        objects[map_spec.address] = _map_object(project, map_spec, definitions[map_spec.address])
    objects.update(_keys(maps))
    link: LinkObject = {
        "kind": "link",
        "legal_entities": sorted({c.upper() for c in env.model.link.legal_entities}),
    }
    objects["link.legal_entities"] = link
    for alert in env.model.alerts:
        objects[f"alert.{alert.name}"] = alert_object(alert)
    ordered = dict(sorted(objects.items()))
    return DesiredState(env.name, ordered, state_hash(ordered, normal))


__all__ = [
    "DesiredState",
    "build",
    "canonical_map",
    "content_hash",
    "normal_content_hash",
    "normal_definition",
    "normal_object",
    "state_hash",
]
