"""Find and parse the files of a configuration repository (config-format.md, "Repository").

Files are read through a `FileTree` (dwconf/git.py): the working tree by default, or the tree
of a git revision, so `dwconf diff` reads a whole revision and a pinned solution's files come
from its release tag. A tree's label is appended to displayed paths
(`solutions/x/maps/a.yaml@x/v1.2.0.0`), so a diagnostic says which version it is about.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from dwconf.diagnostics import Diagnostic, Span, error
from dwconf.git import FileTree, WorkingTree
from dwconf.load.yaml12 import Document, parse

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


@dataclass(frozen=True)
class _Files:
    """Reads and parses files of one tree, gathering diagnostics."""

    tree: FileTree
    diagnostics: list[Diagnostic]

    def load(self, path: str) -> Document:
        display = path + self.tree.label
        try:
            raw = self.tree.read(path)
        except OSError as exc:
            reason = exc.strerror or str(exc)
            self.diagnostics.append(
                error("DW1000", f"cannot read the file: {reason}", Span(display, 1, 1))
            )
            return Document(display)
        doc, found = parse(raw, display)
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


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while building large, acyclic data.

    Loading creates millions of small objects and few cycles; the collector's repeated scans of
    them cost up to 40% of validation at 1,000 maps (bench/scale.py --profile validate).
    Reference counting still frees all of it; the collector resumes afterwards, on new objects.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        # What was built stays out of the collector's scans from now on, or the first
        # collection after resuming walks all of it again (0.2-0.3 s at 1,000 maps).
        gc.freeze()
        if was_enabled:
            gc.enable()


def read_sources(root: Path, tree: FileTree | None = None) -> Sources:
    """Parse every configuration file of `tree` (default: the working tree at `root`)."""
    with collector_paused():
        return _read_sources(root, tree)


def _read_sources(root: Path, tree: FileTree | None) -> Sources:
    tree = tree if tree is not None else WorkingTree(root)
    sources = Sources(root)
    files = _Files(tree, sources.diagnostics)
    settings = files.first("", ("dwconf.yaml", "dwconf.yml"))
    sources.settings = files.load(settings) if settings else None
    sources.environments = [files.load(p) for p in files.yaml_files("environments")]
    for entry in tree.entries("solutions"):
        if entry.is_dir:
            sources.solutions[entry.name] = _solution_files(files, entry.name)
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
