"""Helpers shared by tests (fixtures live in conftest.py)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, get_args, get_type_hints

import pytest

from dwconf.load import twocore
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
        [(d.path, d.data, d.templates, d._where is None) for d in docs if d is not None],
        [(str(d.span), d.code, d.message) for d in found.diagnostics],
    ]


def forked_children(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The pids of the children twocore.py forks from now on, as they are forked."""
    children: list[int] = []
    real_fork = os.fork

    def fork() -> int:
        pid = real_fork()
        if pid:
            children.append(pid)
        return pid

    monkeypatch.setattr(twocore.os, "fork", fork)
    return children


def assert_one_child_reaped(children: list[int]) -> None:
    """Exactly one child was forked, and it has been waited for: none is left behind."""
    assert len(children) == 1
    with pytest.raises(ChildProcessError):
        os.waitpid(children[0], os.WNOHANG)


def fork_from(monkeypatch: pytest.MonkeyPatch, items: int) -> None:
    """Let twocore.py fork from `items` items on, even while the test session runs other
    threads (the shared emulator): the forked child only parses or checks."""
    monkeypatch.setattr(twocore, "MIN_ITEMS", items)
    monkeypatch.setattr(twocore, "alone", lambda: True)


# The type of each kind of object, by kind (`dwconf.objects`).
OBJECT_TYPES = {get_args(get_type_hints(t)["kind"])[0]: t for t in get_args(Object)}


def assert_fits(obj: Any) -> None:
    """`obj` has every key its kind's type requires, and no key the type doesn't name."""
    kind = OBJECT_TYPES[obj["kind"]]
    keys = set(obj)
    assert kind.__required_keys__ <= keys, (obj["kind"], kind.__required_keys__ - keys)
    assert keys <= kind.__required_keys__ | kind.__optional_keys__, (obj["kind"], keys)
