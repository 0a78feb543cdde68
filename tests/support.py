"""Helpers shared by tests (fixtures live in conftest.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, get_args, get_type_hints

from dwconf.load.sources import Sources
from dwconf.objects import Object


@dataclass
class Result:
    """What one `dwconf` run produced."""

    exit_code: int
    out: str
    err: str


def sources_summary(found: Sources) -> list[Any]:
    """Everything reading a repository produced: each file's data, templates and whether the
    fast path read it, and the diagnostics."""
    docs = [found.settings, *found.environments]
    for files in found.solutions.values():
        docs += [files.solution, *files.maps, *files.schemas]
    return [
        [(d.path, d.data, d.templates, d._text is not None) for d in docs if d is not None],
        [(str(d.span), d.code, d.message) for d in found.diagnostics],
    ]


# The type of each kind of object, by kind (`dwconf.objects`).
OBJECT_TYPES = {get_args(get_type_hints(t)["kind"])[0]: t for t in get_args(Object)}


def assert_fits(obj: Any) -> None:
    """`obj` has every key its kind's type requires, and no key the type doesn't name."""
    kind = OBJECT_TYPES[obj["kind"]]
    keys = set(obj)
    assert kind.__required_keys__ <= keys, (obj["kind"], kind.__required_keys__ - keys)
    assert keys <= kind.__required_keys__ | kind.__optional_keys__, (obj["kind"], keys)
