"""Dataverse solution and map versions: parsing, ordering and minimum-version constraints.

Versions have one to four numeric parts ("2.0.133", "1.0.24062.1"); missing parts count as 0,
so "2.0.133.0" == "2.0.133".
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache

from dwconf.live.errors import InvalidRequest, LiveError, MissingDependency, VersionMismatch

_VERSION = re.compile(r"^\d+(\.\d+){0,3}$")
_FOUR_PART = re.compile(r"^\d+\.\d+\.\d+\.\d+$")
_CONSTRAINT = re.compile(r"^\s*(>=|<=|==|!=|>|<|=)?\s*([\d.]+)\s*$")


@lru_cache(maxsize=4096)  # every read of an environment sorts all its templates by version
def key(version: str) -> tuple[int, int, int, int]:
    """A sort key for a version."""
    if not _VERSION.match(version):
        raise InvalidRequest(f"'{version}' is not a version such as 1.0.0.0.")
    parts = [int(p) for p in version.split(".")]
    padded = (*parts, 0, 0, 0)
    return padded[0], padded[1], padded[2], padded[3]


def compare(a: str, b: str) -> int:
    """-1, 0 or 1 as `a` is older than, equal to or newer than `b`."""
    ka, kb = key(a), key(b)
    return (ka > kb) - (ka < kb)


def check_four_part(version: str, what: str) -> str:
    if not isinstance(version, str) or not _FOUR_PART.match(version):
        raise InvalidRequest(f"{what} has version '{version}'; expected four parts like 1.0.0.0.")
    return version


def minimum(constraint: str) -> str:
    """The minimum version a requirement names: "2.0.227" or ">=2.0.227"."""
    text = constraint.strip()
    if text.startswith(">="):
        text = text[2:].strip()
    key(text)
    return text


def sort_versions(versions: list[str]) -> list[str]:
    return sorted(versions, key=key)


def satisfies(version: str, constraint: str) -> tuple[bool, str]:
    """Whether `version` meets every comma-separated part of `constraint` (">=1.0.2, <2"), and
    the version named by the first part it misses (else by the first part)."""
    named = ""
    for part in constraint.split(","):
        match = _CONSTRAINT.match(part)
        if match is None:
            return False, part.strip()
        op, wanted = match.group(1) or ">=", match.group(2)
        named = named or wanted
        order = compare(version, wanted)
        ok = {
            ">=": order >= 0,
            ">": order > 0,
            "<=": order <= 0,
            "<": order < 0,
            "!=": order != 0,
        }.get(op, order == 0)
        if not ok:
            return False, wanted
    return True, named


def unmet(
    requires: Mapping[str, Sequence[str]], installed: Callable[[str], str | None], by: str = ""
) -> list[LiveError]:
    """The service's refusals for requirements the installed versions don't meet: a missing
    solution, or a version mismatch (with the real texts). `installed` gives a solution's
    version, None when it is not installed; `by` names the solution that requires them."""
    found: list[LiveError] = []
    for name, constraints in sorted(requires.items()):
        have = installed(name)
        for constraint in constraints:
            if have is None:
                found.append(MissingDependency(by or "the solution", name, _first(constraint)))
                continue
            ok, wanted = satisfies(have, constraint)
            if not ok:
                found.append(VersionMismatch(name, have, wanted))
    return found


def _first(constraint: str) -> str:
    match = _CONSTRAINT.match(constraint.split(",", maxsplit=1)[0])
    return match.group(2) if match else constraint.strip()
