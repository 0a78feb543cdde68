"""The apply journal: one JSON line per step event, written before and after each step, so an
interrupted apply can be resumed without running a finished step twice.

`.dwconf/journal/<env>/<plan id>.jsonl`, next to the plan it executes (`<plan id>.plan.json`).
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


@dataclass
class Journal:
    path: Path

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self.path.parent.mkdir(parents=True, exist_ok=True)

    @classmethod
    def at(cls, root: Path, env: str, plan_id: str) -> Journal:
        return cls(root / ".dwconf" / "journal" / env / f"{plan_id}.jsonl")

    @property
    def plan_path(self) -> Path:
        return self.path.with_suffix(".plan.json")

    def write(self, event: str, step: str = "", **extra: Any) -> None:
        entry = {"time": datetime.now(UTC).isoformat(), "event": event, "step": step, **extra}
        line = json.dumps(entry, sort_keys=True, default=str) + "\n"
        with self._lock, self.path.open("a", encoding="utf-8") as handle:
            handle.write(line)
            handle.flush()
            os.fsync(handle.fileno())

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
        return {e["step"] for e in self.events() if e["event"] == "done"}

    def finished(self) -> bool:
        return any(e["event"] == "finished" for e in self.events())


def unfinished(root: Path, env: str) -> list[Journal]:
    """Journals of applies to `env` that never finished, newest first."""
    folder = root / ".dwconf" / "journal" / env
    if not folder.is_dir():
        return []
    journals = [Journal(p) for p in folder.glob("*.jsonl")]
    pending = [j for j in journals if not j.finished()]
    return sorted(pending, key=lambda j: j.path.stat().st_mtime, reverse=True)
