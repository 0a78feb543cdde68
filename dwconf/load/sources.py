"""Find and parse the files of a configuration repository (config-format.md, "Repository").

Files are read through a `FileTree` (dwconf/git.py): the working tree by default, or the tree
of a git revision, so `dwconf diff` reads a whole revision and a pinned solution's files come
from its release tag. A tree's label is appended to displayed paths
(`solutions/x/maps/a.yaml@x/v1.2.0.0`), so a diagnostic says which version it is about.
"""

from __future__ import annotations

import contextlib
import marshal
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dwconf.collector import collector_paused
from dwconf.diagnostics import Diagnostic, Span, error
from dwconf.git import FileTree, WorkingTree
from dwconf.load import twocore
from dwconf.load.parsecache import ParseCache
from dwconf.load.yaml12 import UNKNOWN, Document, fast_data, parse

YAML_SUFFIXES = (".yaml", ".yml")


@dataclass
class SolutionFiles:
    folder: str
    solution: Document | None
    maps: list[Document] = field(default_factory=list)
    schemas: list[Document] = field(default_factory=list)


@dataclass
class Sources:
    """Every parsed file of one configuration repository."""

    root: Path
    settings: Document | None = None
    environments: list[Document] = field(default_factory=list)
    solutions: dict[str, SolutionFiles] = field(default_factory=dict)
    diagnostics: list[Diagnostic] = field(default_factory=list)


class _Prepared:
    """The many map and schema files, read and parsed up front: their fast-path data comes
    from the parse cache (parsecache.py), or is worked out now, on two cores when there is a
    lot of it (twocore.py); the documents of the files parsed here are made meanwhile."""

    def __init__(self, tree: FileTree, paths: list[str], cache: ParseCache | None) -> None:
        self.cache = cache
        self.raws: dict[str, bytes] = {}
        for path in paths:
            with contextlib.suppress(OSError):  # reported when the file is loaded
                self.raws[path] = tree.read(path)
        self.keys = {p: cache.key(raw) for p, raw in self.raws.items()} if cache else {}
        self.known: dict[str, Any] = {}
        if cache is not None:
            for path, key in self.keys.items():
                found = cache.get(key)
                if found is not None:
                    self.known[path] = found
        self.cached = set(self.known)
        self.parsed: dict[str, tuple[Document, list[Diagnostic]]] = {}
        missing = [p for p in self.raws if p not in self.cached]
        raws = [self.raws[p] for p in missing]

        def data(start: int, stop: int) -> list[Any]:
            return [fast_data(raw) for raw in raws[start:stop]]

        def documents(start: int, stop: int) -> list[Any]:
            found = data(start, stop)
            for n, known in enumerate(found, start):
                self.parsed[missing[n]] = parse(raws[n], missing[n] + tree.label, known)
            return found

        done = twocore.shared(
            len(raws), data, encode=marshal.dumps, decode=marshal.loads, here=documents
        )
        self.known.update(zip(missing, done, strict=True))

    def data(self, path: str, raw: bytes) -> Any:
        """The fast path's data for the file (None: the careful loader's), remembered."""
        if self.raws.get(path) is not raw:  # not one of the prepared files
            key = self.cache.key(raw) if self.cache is not None else b""
            found = self.cache.get(key) if self.cache is not None else None
            return found if found is not None else self._remember(key, fast_data(raw))
        if path in self.cached:
            return self.known[path]
        return self._remember(self.keys.get(path, b""), self.known[path])

    def _remember(self, key: bytes, data: Any) -> Any:
        if self.cache is not None:
            self.cache.put(key, data)
        return data


@dataclass(frozen=True)
class _Files:
    """Reads and parses files of one tree, gathering diagnostics."""

    tree: FileTree
    diagnostics: list[Diagnostic]
    prepared: _Prepared | None = None

    def read(self, path: str) -> bytes:
        if self.prepared is not None and path in self.prepared.raws:
            return self.prepared.raws[path]
        return self.tree.read(path)

    def load(self, path: str) -> Document:
        display = path + self.tree.label
        try:
            raw = self.read(path)
        except OSError as exc:
            reason = exc.strerror or str(exc)
            self.diagnostics.append(
                error("DW1000", f"cannot read the file: {reason}", Span(display, 1, 1))
            )
            return Document(display)
        known = UNKNOWN if self.prepared is None else self.prepared.data(path, raw)
        made = self.prepared.parsed.pop(path, None) if self.prepared is not None else None
        doc, found = made if made is not None else parse(raw, display, known)
        self.diagnostics.extend(found)
        return doc

    def yaml_files(self, folder: str) -> list[str]:
        return [
            f"{folder}/{e.name}"
            for e in self.tree.entries(folder)
            if not e.is_dir and e.name.endswith(YAML_SUFFIXES)
        ]

    def first(self, folder: str, names: tuple[str, ...]) -> str | None:
        present = {e.name for e in self.tree.entries(folder) if not e.is_dir}
        found = next((n for n in names if n in present), None)
        return None if found is None else (f"{folder}/{found}" if folder else found)


MARKERS = ("dwconf.yaml", "dwconf.yml", "environments", "solutions")


def is_configuration(root: Path) -> bool:
    """Whether the folder `root` holds a configuration at all (one of MARKERS)."""
    return any((root / marker).exists() for marker in MARKERS)


def read_sources(root: Path, tree: FileTree | None = None) -> Sources:
    """Parse every configuration file of `tree` (default: the working tree at `root`)."""
    with collector_paused():
        return _read_sources(root, tree)


def _read_sources(root: Path, tree: FileTree | None) -> Sources:
    tree = tree if tree is not None else WorkingTree(root)
    sources = Sources(root)
    folders = [e.name for e in tree.entries("solutions") if e.is_dir]
    listing = _Files(tree, sources.diagnostics)
    paths = [
        path
        for folder in folders
        for kind in ("maps", "schema")
        for path in listing.yaml_files(f"solutions/{folder}/{kind}")
    ]
    cache = ParseCache.open()
    try:
        files = _Files(tree, sources.diagnostics, _Prepared(tree, paths, cache))
        settings = files.first("", ("dwconf.yaml", "dwconf.yml"))
        sources.settings = files.load(settings) if settings else None
        sources.environments = [files.load(p) for p in files.yaml_files("environments")]
        for folder in folders:
            sources.solutions[folder] = _solution_files(files, folder)
    finally:
        if cache is not None:
            cache.close()
    return sources


def read_solution(tree: FileTree, folder: str) -> tuple[SolutionFiles, list[Diagnostic]]:
    """The files of one solution folder of `tree`, with the problems found reading them."""
    diagnostics: list[Diagnostic] = []
    return _solution_files(_Files(tree, diagnostics), folder), diagnostics


def _solution_files(files: _Files, folder: str) -> SolutionFiles:
    base = f"solutions/{folder}"
    manifest = files.first(base, ("solution.yaml", "solution.yml"))
    if manifest is None:
        files.diagnostics.append(
            error(
                "DW1301",
                f"solution folder '{folder}' has no solution.yaml",
                Span(base + files.tree.label),
                "add solutions/<name>/solution.yaml (see config-format), or remove the folder",
            )
        )
    return SolutionFiles(
        folder=folder,
        solution=files.load(manifest) if manifest else None,
        maps=[files.load(p) for p in files.yaml_files(f"{base}/maps")],
        schemas=[files.load(p) for p in files.yaml_files(f"{base}/schema")],
    )
