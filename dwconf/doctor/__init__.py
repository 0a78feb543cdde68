"""`dwconf doctor`: the troubleshooting guides as checks against a live environment.

`diagnose` runs every registered check (`checks.CHECKS`) over one read of the environment
(`Context`) and returns a `Report`: per check a status (pass, skip when it could not decide,
warn, fail), the evidence and the fix. It never writes. Exit codes: 0 no warning or failure
(skips are not findings), 1 any fail, 2 warnings only.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from dwconf.doctor.checks import CHECKS
from dwconf.doctor.model import (
    Check,
    Context,
    Finding,
    Limits,
    Requirement,
    Status,
    failed,
    recorded_states,
)
from dwconf.errors import DwconfError
from dwconf.jsonout import FORMAT_VERSION
from dwconf.model import Solution

EXIT_CODES = {Status.PASS: 0, Status.SKIP: 0, Status.FAIL: 1, Status.WARN: 2}


@dataclass(frozen=True)
class Item:
    check: Check
    finding: Finding

    def as_dict(self) -> dict[str, Any]:
        return {
            "check": self.check.id,
            "code": self.check.code,
            "title": self.check.title,
            "status": self.finding.status.value,
            "summary": self.finding.summary,
            "evidence": self.finding.evidence,
            "fix": self.finding.fix,
        }


@dataclass(frozen=True)
class Report:
    environment: str
    provider: str
    items: tuple[Item, ...]

    @property
    def status(self) -> Status:
        """The worst finding; `pass` when there is none (a skip is not one)."""
        found = [i.finding.status for i in self.items if i.finding.status.finding]
        return max(found, key=lambda s: s.rank, default=Status.PASS)

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.status]

    def count(self, status: Status) -> int:
        return sum(1 for i in self.items if i.finding.status is status)

    def as_dict(self) -> dict[str, Any]:
        return {
            "format_version": FORMAT_VERSION,
            "environment": self.environment,
            "provider": self.provider,
            "status": self.status.value,
            "summary": {s.value: self.count(s) for s in Status},
            "checks": [i.as_dict() for i in self.items],
        }


def _run(check: Check, ctx: Context) -> list[Finding]:
    try:
        return check.run(ctx) or []
    except DwconfError as exc:
        return [failed("The check could not run", exc.message, exc.hint or "Run doctor again.")]


def diagnose(ctx: Context, checks: Sequence[Check] = CHECKS) -> Report:
    """Every check's findings, in registry order."""
    items = tuple(Item(check, f) for check in checks for f in _run(check, ctx))
    return Report(ctx.environment.name, ctx.environment.provider.type, items)


def requirements_of(solutions: Iterable[Solution]) -> list[Requirement]:
    """The `requires:` entries of the configured solutions, sorted."""
    found = [
        Requirement(s.unique_name, name, constraint)
        for s in solutions
        for name, constraint in s.requires.items()
    ]
    return sorted(found, key=lambda r: (r.required, r.solution))


__all__ = [
    "CHECKS",
    "Check",
    "Context",
    "Finding",
    "Item",
    "Limits",
    "Report",
    "Requirement",
    "Status",
    "diagnose",
    "recorded_states",
    "requirements_of",
]
