"""The vocabulary of `dwconf doctor`: statuses, findings, the context every check reads, and the
limits it measures against."""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from dwconf.live import LiveState, RecordReader
from dwconf.model import Environment
from dwconf.objects import Object
from dwconf.plan.live_view import recorded_objects

GIB = 1024 * 1024 * 1024


class Status(enum.Enum):
    """`skip`: the check could not decide (nothing to compare with); not a finding."""

    PASS = "pass"
    SKIP = "skip"
    WARN = "warn"
    FAIL = "fail"

    @property
    def rank(self) -> int:
        return (Status.PASS, Status.SKIP, Status.WARN, Status.FAIL).index(self)

    @property
    def finding(self) -> bool:
        return self in (Status.WARN, Status.FAIL)


@dataclass(frozen=True)
class Finding:
    """One result of a check: what it saw (`evidence`) and what to do about it (`fix`)."""

    status: Status
    summary: str
    evidence: str = ""
    fix: str = ""


def passed(summary: str, evidence: str = "") -> Finding:
    return Finding(Status.PASS, summary, evidence)


def skipped(summary: str, evidence: str) -> Finding:
    """The check could not decide: `evidence` says what it lacked."""
    return Finding(Status.SKIP, summary, evidence)


def warned(summary: str, evidence: str, fix: str) -> Finding:
    return Finding(Status.WARN, summary, evidence, fix)


def failed(summary: str, evidence: str, fix: str) -> Finding:
    return Finding(Status.FAIL, summary, evidence, fix)


@dataclass(frozen=True)
class Requirement:
    """A Microsoft solution a configured solution requires (`requires:` in solution.yaml)."""

    solution: str  # the configured solution's unique name
    required: str
    constraint: str


@dataclass(frozen=True)
class Limits:
    """The numbers the checks measure against (dual-write-domain §1.3, §6.1).

    The service reports queued records as a count, and the 1 GB limit is on their size, so the
    size is estimated from `bytes_per_record`: 4 KiB is a dual-write payload of a record with
    a hundred or so columns as JSON. Set it to what your maps' records weigh.
    """

    pause_days: float = 7.0
    pause_warn_days: float = 5.0
    queue_bytes: int = GIB
    bytes_per_record: int = 4096
    queue_warn_ratio: float = 0.8
    initial_sync_legal_entities: int = 40
    legal_entities: int = 250


@dataclass(frozen=True)
class Context:
    """Everything a check may look at; checks never read the environment themselves."""

    environment: Environment
    state: LiveState
    now: datetime
    requirements: Sequence[Requirement] = ()
    limits: Limits = field(default_factory=Limits)
    recorded: Mapping[str, Mapping[str, Object]] = field(default_factory=dict)
    """The desired states of the successful deployment records, by record id
    (`recorded_states`)."""


def recorded_states(state: LiveState, records: RecordReader) -> dict[str, dict[str, Object]]:
    """What `Context.recorded` holds: each successful record's desired state, read now."""
    return {r.id: recorded_objects(records, r) for r in state.records if r.status == "succeeded"}


CheckFunction = Callable[[Context], list[Finding]]


@dataclass(frozen=True)
class Check:
    """A registered check: a stable id, the guides' code where they have one, and its function."""

    id: str
    title: str
    run: CheckFunction
    code: str | None = None
