"""The objects a desired or live state holds, one typed dict per kind (ARCHITECTURE §1).

At run time an object is a plain JSON-able dict tagged by its `kind`, so plans, fingerprints
and deployment records hold it as it is; these types only let the type checker see into it.
Code tells the kinds apart by comparing `obj["kind"]` with a literal, which narrows `Object`
to the kind's type; a dispatch over every kind ends in `assert_never`, so a kind added here
and not handled there is a type error.

The same object comes in three forms: as the configuration describes it (desired), as the
environment shows it (live) and reduced to what both sides compare (`dwconf.plan.diff.compared`,
what a plan's changes hold). Keys only some forms have are `NotRequired`.
"""

# No `from __future__ import annotations`: TypedDict reads NotRequired from evaluated
# annotations, and tests check objects against `__required_keys__`.
from collections.abc import Mapping, Sequence
from typing import Any, Literal, NotRequired, Protocol, TypedDict, cast, get_args

# A map definition as `dwconf.desired.canonical_map` writes it (the TableMap model, dumped).
Definition = dict[str, Any]


class MapObject(TypedDict):
    kind: Literal["map"]
    solution: str | None  # the solution carrying its active version; live: None when unknown
    state: str  # running | stopped | paused
    definition: Definition | None  # live: None when the active version is not known
    initial_sync: NotRequired[str]  # desired: run | skip


class SolutionObject(TypedDict):
    kind: Literal["solution"]
    version: str
    maps: list[str]  # names of the maps it carries
    content: str  # `dwconf.desired.content_hash` of their definitions
    unique_name: NotRequired[str]  # desired and live
    folder: NotRequired[str]  # desired only, from here on: configuration, not state
    pin: NotRequired[str]
    source: NotRequired[str]
    publisher: NotRequired[dict[str, Any]]
    requires: NotRequired[dict[str, str]]
    depends_on: NotRequired[list[str]]


class KeyObject(TypedDict):
    kind: Literal["key"]
    columns: list[str]
    table: NotRequired[str]  # desired and live


class LinkObject(TypedDict):
    kind: Literal["link"]
    legal_entities: list[str]


class AlertObject(TypedDict):
    kind: Literal["alert"]
    error_type: str
    threshold: int
    window_minutes: int
    action: str  # pause | stop | none
    notify: list[str] | None  # None: the provider can't read the recipients
    name: NotRequired[str]  # desired and live


Object = MapObject | SolutionObject | KeyObject | LinkObject | AlertObject
Kind = Literal["map", "solution", "key", "link", "alert"]
KINDS: tuple[Kind, ...] = get_args(Kind)


class Alert(Protocol):
    """An alert setting as the configuration (`model.Alert`) or the environment
    (`live.AlertSetting`) holds it."""

    @property
    def name(self) -> str: ...
    @property
    def error_type(self) -> str: ...
    @property
    def threshold(self) -> int: ...
    @property
    def window_minutes(self) -> int: ...
    @property
    def action(self) -> str: ...
    @property
    def notify(self) -> Sequence[str] | None: ...


def alert_object(alert: Alert) -> AlertObject:
    """An alert setting as an object, its keys in the order of the configuration's fields."""
    return {
        "kind": "alert",
        "name": alert.name,
        "error_type": alert.error_type,
        "threshold": alert.threshold,
        "window_minutes": alert.window_minutes,
        "action": alert.action,
        "notify": None if alert.notify is None else list(alert.notify),
    }


def kind_of(value: object) -> Kind:
    """`value` as a kind; TypeError when it names none (read from a file)."""
    if value not in KINDS:
        raise TypeError(f"{value!r} is not a kind of object ({', '.join(KINDS)})")
    return value


def object_of(value: object, where: str = "object") -> Object:
    """A dict read from a file (a saved plan, a deployment record) as an object: TypeError
    when it is not a dict with a known kind. The fields are not checked: dwconf wrote them."""
    if not isinstance(value, dict):
        raise TypeError(f"{where} is not an object")
    try:
        kind_of(value.get("kind"))
    except TypeError as exc:
        raise TypeError(f"{where} is not an object with a known kind: {exc}") from exc
    return cast(Object, value)


def objects_of(values: Mapping[str, Any], where: str = "objects") -> dict[str, Object]:
    """Objects by address from a file (`object_of` for each)."""
    return {a: object_of(o, f"{where}[{a!r}]") for a, o in values.items()}


def maps(objects: Mapping[str, Object]) -> dict[str, MapObject]:
    """The map objects by address."""
    return {a: o for a, o in objects.items() if o["kind"] == "map"}


def solutions(objects: Mapping[str, Object]) -> dict[str, SolutionObject]:
    """The solution objects by address."""
    return {a: o for a, o in objects.items() if o["kind"] == "solution"}


def solution_names(*states: Mapping[str, Object]) -> set[str]:
    """The unique names of the solutions in `states` (the solutions dwconf manages)."""
    return {o["unique_name"] for s in states for o in solutions(s).values()}


def map_name(obj: Object | None) -> str:
    """The name a map's definition gives it; "" for another kind or a map without one."""
    if obj is None or obj["kind"] != "map" or not obj["definition"]:
        return ""
    return str(obj["definition"].get("name") or "")


def as_map(obj: Object | None) -> MapObject | None:
    """`obj` when it is a map (one side of a map's change), else None."""
    return obj if obj is not None and obj["kind"] == "map" else None


def as_solution(obj: Object) -> SolutionObject:
    """`obj`, which its address says is a solution: TypeError when it is not."""
    if obj["kind"] != "solution":
        raise TypeError(f"a solution was expected, not a {obj['kind']}")
    return obj


__all__ = [
    "KINDS",
    "Alert",
    "AlertObject",
    "Definition",
    "KeyObject",
    "Kind",
    "LinkObject",
    "MapObject",
    "Object",
    "SolutionObject",
    "alert_object",
    "as_map",
    "as_solution",
    "kind_of",
    "map_name",
    "maps",
    "object_of",
    "objects_of",
    "solution_names",
    "solutions",
]
