"""Run the dwconf CLI in this process with a chaos provider in place of the local one.

    python -m tests.chaos.runner LOG SEED FAULT_RATE -- dwconf ARGS...

Every call on the provider is appended to LOG as one JSON line (time, process, journal, the
plan step it serves, method, the fault injected). With FAULT_RATE > 0, that share of the
operations fails with a `ProviderError` before reaching the environment, fails after it (the
operation happened but its answer was lost) or is delayed; the seeded RNG makes a run
repeatable. Lock methods are never faulted: a lease left behind is a separate story
(tests/unit/apply), and chaos here is about steps.
"""

from __future__ import annotations

import json
import os
import random
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dwconf import providers
from dwconf.apply import journal as journal_module
from dwconf.apply.operations import OPERATIONS, Operation
from dwconf.cli.main import main
from dwconf.errors import ProviderError
from dwconf.model import Environment
from dwconf.plan.definition import Plan
from dwconf.plan.order import Step
from dwconf.providers.base import LiveWriter
from dwconf.providers.local import LocalProvider

NEVER_FAULTED = {
    "acquire_lock",
    "renew_lock",
    "release_lock",
    "force_unlock",
    "lock_status",
    "fence",
}
NOT_OPERATIONS = {"close", "environment", "path"}
FAULTS = ("before", "after", "sleep")

_current = threading.local()
_journal = {"name": ""}


class ChaosProvider:
    """A `LiveWriter` that logs every call and injects faults into some of them."""

    def __init__(self, inner: LiveWriter, log: Path, rng: random.Random, rate: float) -> None:
        self._inner, self._log, self._rng, self._rate = inner, log, rng, rate
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        target = getattr(self._inner, name)
        if name in NOT_OPERATIONS or not callable(target):
            return target
        return lambda *args, **kwargs: self._call(name, target, args, kwargs)

    def _call(self, name: str, target: Callable[..., Any], args: Any, kwargs: Any) -> Any:
        with self._lock:
            roll = self._rng.random()
            fault = self._rng.choice(FAULTS) if roll < self._rate else None
        if name in NEVER_FAULTED:
            fault = None
        self._write(name, fault)
        if fault == "before":
            raise ProviderError(f"chaos: {name} refused before it ran")
        if fault == "sleep":
            time.sleep(0.05)
        result = target(*args, **kwargs)
        if fault == "after":
            raise ProviderError(f"chaos: the answer to {name} was lost")
        return result

    def _write(self, method: str, fault: str | None) -> None:
        entry = {
            "time": datetime.now(UTC).isoformat(),
            "pid": os.getpid(),
            "journal": _journal["name"],
            "step": getattr(_current, "step", ""),
            "method": method,
            "fault": fault,
        }
        with self._lock, self._log.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(entry) + "\n")


def _traced(operation: Operation) -> Operation:
    def run(writer: LiveWriter, step: Step, plan: Plan) -> None:
        _current.step = step.id
        try:
            operation(writer, step, plan)
        finally:
            _current.step = ""

    return run


def install(log: Path, seed: int, rate: float) -> None:
    """Put the chaos provider in place of the local one and tag calls with their step."""
    rng = random.Random(seed)

    def factory(project_root: Path, env: Environment) -> LiveWriter:
        inner = LocalProvider.open(project_root, env.name)
        return ChaosProvider(inner, log, rng, rate)  # type: ignore[return-value]

    providers.PROVIDERS["local"] = factory
    for name, operation in list(OPERATIONS.items()):
        OPERATIONS[name] = _traced(operation)
    write = journal_module.Journal.write

    def tagged(self: journal_module.Journal, *args: Any, **kwargs: Any) -> None:
        _journal["name"] = self.path.name
        write(self, *args, **kwargs)

    journal_module.Journal.write = tagged  # type: ignore[method-assign]


def run(argv: list[str]) -> None:
    log, seed, rate = Path(argv[0]), int(argv[1]), float(argv[2])
    install(log, seed, rate)
    sys.argv = ["dwconf", *argv[argv.index("--") + 1 :]]
    main()


if __name__ == "__main__":
    run(sys.argv[1:])
