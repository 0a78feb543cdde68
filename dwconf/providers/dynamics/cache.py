"""The definition cache: decoded map definitions, content-addressed, under
`<repo>/.dwconf/cache/dynamics/`, so a warm read neither downloads nor decodes them again.

A map row's content is known by its id and ETag (the ETag changes exactly when the row does);
a gateway template's by its id and version (a template version is immutable). Both point at a
definition stored once under the sha256 of its canonical JSON. One JSON file per environment,
replaced atomically; it is only a cache — losing it costs one cold read.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dwconf.live.state import Definition

FORMAT = 1


@dataclass(frozen=True)
class Known:
    """A cached definition and the solution that carried it; `sha` once it is stored."""

    definition: Definition
    solution: str
    sha: str = ""


def digest(definition: Definition) -> str:
    text = json.dumps(definition, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class DefinitionCache:
    """Rows by (id, ETag) and templates by (id, version), both pointing at definitions."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._rows: dict[str, dict[str, str]] = {}
        self._templates: dict[str, dict[str, str]] = {}
        self._definitions: dict[str, Definition] = {}
        self._dirty = False
        self._load()

    @classmethod
    def for_environment(cls, root: Path, key: str) -> DefinitionCache:
        name = hashlib.sha256(key.encode("utf-8")).hexdigest()[:24]
        return cls(root / ".dwconf" / "cache" / "dynamics" / f"{name}.json")

    def _load(self) -> None:
        if self.path is None or not self.path.is_file():
            return
        try:
            data: Any = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return  # a damaged cache is an empty one
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            return
        self._rows = dict(data.get("rows") or {})
        self._templates = dict(data.get("templates") or {})
        self._definitions = dict(data.get("definitions") or {})

    @property
    def empty(self) -> bool:
        return not self._rows

    def _known(self, entry: dict[str, str] | None) -> Known | None:
        if entry is None or entry.get("sha") not in self._definitions:
            return None
        return Known(self._definitions[entry["sha"]], entry.get("solution", ""), entry["sha"])

    def row(self, row_id: str, etag: str) -> Known | None:
        with self._lock:
            entry = self._rows.get(row_id)
            return self._known(entry) if entry and entry.get("etag") == etag else None

    def template(self, tid: str, version: str) -> Known | None:
        with self._lock:
            return self._known(self._templates.get(f"{tid}@{version}"))

    def _store(self, known: Known) -> str:
        sha = known.sha or digest(known.definition)
        self._definitions.setdefault(sha, known.definition)
        return sha

    def put_row(self, row_id: str, etag: str, known: Known) -> Known:
        """Remember a row's definition; returns it with its `sha`."""
        with self._lock:
            sha = self._store(known)
            entry = {"etag": etag, "sha": sha, "solution": known.solution}
            if self._rows.get(row_id) != entry:
                self._rows[row_id] = entry
                self._dirty = True
            return Known(known.definition, known.solution, sha)

    def put_template(self, tid: str, version: str, known: Known) -> None:
        with self._lock:
            entry = {"sha": self._store(known), "solution": known.solution}
            if self._templates.get(f"{tid}@{version}") != entry:
                self._templates[f"{tid}@{version}"] = entry
                self._dirty = True

    def keep(self, row_ids: set[str], templates: set[tuple[str, str]]) -> None:
        """Forget rows and templates that are gone from the environment."""
        with self._lock:
            rows = set(self._rows) - row_ids
            kept = {f"{tid}@{version}" for tid, version in templates}
            gone = set(self._templates) - kept
            for row_id in rows:
                del self._rows[row_id]
            for key in gone:
                del self._templates[key]
            self._dirty = self._dirty or bool(rows or gone)

    def save(self) -> None:
        """Write the cache if it changed; unused definitions are dropped."""
        with self._lock:
            if not self._dirty or self.path is None:
                return
            used = {e["sha"] for e in [*self._rows.values(), *self._templates.values()]}
            data = {
                "format": FORMAT,
                "rows": self._rows,
                "templates": self._templates,
                "definitions": {k: v for k, v in self._definitions.items() if k in used},
            }
            _write_atomically(self.path, json.dumps(data, separators=(",", ":")))
            self._dirty = False


def _write_atomically(path: Path, text: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(temporary, path)
    except OSError:
        pass  # a cache that can't be written costs a cold read next time, nothing more
