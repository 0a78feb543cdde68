"""The apply journal: one JSON line per step event, written before and after each step, so an
interrupted apply can be resumed without running a finished step twice.

A journal that can't be written (a full disk, a read-only folder) does not stop the apply:
every step is idempotent, so the cost is that a `--resume` may run again a step this apply
finished, while stopping would leave maps stopped until someone frees the disk. `broken` keeps
why, for the apply's summary.

`.dwconf/journal/<env>/<stamp>-<plan id>.jsonl`, one file per apply run, next to the plan it
executes (`<stamp>-<plan id>.plan.json`). Its `finished` event names the deployment record the
run wrote, or (with `earlier`) the one a resume found written by the run it continues. A new
run never reuses an old file: the same plan id can come back (live moved away and back) and
must not inherit the old run's `done` steps.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dwconf.plan import saved
from dwconf.plan.definition import Plan
from dwconf.redact import redact_data

# Every line reaches the operating system before the step goes on, which survives a killed
# process. Only these are also forced to disk: a step line lost to a machine crash means the
# step runs again on resume, which is safe because every step is idempotent.
DURABLE = ("begin", "finished")


@dataclass
class Journal:
    path: Path

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self.broken = ""  # why an event could not be written, once one could not
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fence_torn_line()
        except OSError as exc:
            self._broke(exc)

    def _broke(self, exc: OSError) -> None:
        self.broken = self.broken or f"can't write {self.path}: {exc.strerror or exc}"

    def _fence_torn_line(self) -> None:
        """End a last line that a crash or a full disk cut short, so the next event starts a
        line of its own instead of being glued to the torn one and lost with it."""
        try:
            with self.path.open("rb") as handle:
                handle.seek(-1, os.SEEK_END)
                torn = handle.read(1) != b"\n"
        except OSError:  # no file yet, or an empty one
            return
        if torn:
            with self.path.open("a", encoding="utf-8") as handle:
                handle.write("\n")

    @classmethod
    def new(cls, root: Path, env: str, plan_id: str) -> Journal:
        """A fresh journal for one apply run of `plan_id`."""
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
        return cls(folder(root, env) / f"{stamp}-{plan_id}.jsonl")

    @property
    def plan_path(self) -> Path:
        return self.path.with_suffix(".plan.json")

    def write(self, event: str, step: str = "", **extra: Any) -> None:
        entry = {"time": datetime.now(UTC).isoformat(), "event": event, "step": step, **extra}
        line = json.dumps(redact_data(entry), sort_keys=True, default=str) + "\n"
        try:
            with self._lock, self.path.open("a", encoding="utf-8") as handle:
                handle.write(line)
                handle.flush()
                if event in DURABLE:
                    os.fsync(handle.fileno())
        except OSError as exc:  # kept in `broken`, shown by the summary (see the docstring)
            self._broke(exc)

    def keep_plan(self, plan: Plan) -> None:
        """Save the plan this run executes next to it, for `--resume`."""
        try:
            saved.save(plan, self.plan_path)
        except OSError as exc:
            self._broke(exc)
            self.plan_path.unlink(missing_ok=True)  # a part of a plan is no plan to resume

    def events(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        found = []
        for line in self.path.read_text(encoding="utf-8").splitlines():
            try:
                found.append(json.loads(line))
            except json.JSONDecodeError:
                continue  # a line cut short by a crash
        return found

    def done_steps(self) -> set[str]:
        """Steps whose effect still stands: done, and not undone since (a map this apply
        stopped and then started again after a failure must be stopped again)."""
        done: set[str] = set()
        for event in self.events():
            if event["event"] == "done":
                done.add(event["step"])
            elif event["event"] == "restarted":
                done.discard(event["step"])
        return done

    def status(self) -> str | None:
        """The status of the run's last `finished` event; None while it never finished."""
        finished = [e for e in self.events() if e["event"] == "finished"]
        return str(finished[-1].get("status")) if finished else None

    def last_begin(self) -> dict[str, Any] | None:
        begins = [e for e in self.events() if e["event"] == "begin"]
        return begins[-1] if begins else None


def folder(root: Path, env: str) -> Path:
    return root / ".dwconf" / "journal" / env


def journals(root: Path, env: str) -> list[Journal]:
    """Every apply run's journal for `env`, newest first."""
    where = folder(root, env)
    if not where.is_dir():
        return []
    return [Journal(p) for p in sorted(where.glob("*.jsonl"), reverse=True)]


def resumable(root: Path, env: str) -> Journal | None:
    """The newest run, when it did not succeed (killed, crashed or failed); else None."""
    runs = journals(root, env)
    if not runs or runs[0].status() == "succeeded":
        return None
    return runs[0]
