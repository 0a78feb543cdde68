"""Find and read the files of a configuration repository (config-format.md, "Repository").

Files are read through a `FileTree` (dwconf/git.py): the working tree by default, or the tree
of a git revision, so `dwconf diff` reads a whole revision and a pinned solution's files come
from its release tag. A tree's label is appended to displayed paths
(`solutions/x/maps/a.yaml@x/v1.2.0.0`), so a diagnostic says which version it is about.

Only regular files inside the repository are read, and none larger than the YAML reader's
limit (dwconf.yaml.MAX_FILE_BYTES): a FIFO, a device or a link leaving the repository gets a
diagnostic instead. Map and schema files, the many, may be remembered by the parse cache;
environment files never are.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from dwconf.diagnostics import Diagnostic, Span, error
from dwconf.git import FileTree, Refused, WorkingTree
from dwconf.yaml import MAX_FILE_BYTES, Document, Reader, too_large

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
    """Reads the files of one tree with one reader, gathering diagnostics."""

    tree: FileTree
    reader: Reader
    diagnostics: list[Diagnostic]

    def load(self, path: str, *, cacheable: bool = False) -> Document:
        display = path + self.tree.label
        try:
            raw = self.tree.read(path, MAX_FILE_BYTES)
        except OSError as exc:
            self.diagnostics.append(_unreadable(exc, display))
            return Document(display)
        document, found = self.reader.read(raw, display, cacheable=cacheable)
        self.diagnostics.extend(found)
        return document

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


def _unreadable(exc: OSError, display: str) -> Diagnostic:
    where = Span(display, 1, 1)
    if isinstance(exc, Refused) and exc.code == "DW1002":
        return too_large(display, exc.size)
    if isinstance(exc, Refused):
        return error(exc.code, f"not read: {exc.reason}", where, exc.hint)
    reason = exc.strerror or str(exc)
    return error("DW1000", f"cannot read the file: {reason}", where, "make it readable")


def read_sources(
    root: Path, tree: FileTree | None = None, *, careful: frozenset[str] = frozenset()
) -> Sources:
    """Read every configuration file of `tree` (default: the working tree at `root`); the
    files named in `careful` (by displayed path) are read by the careful YAML reader only."""
    tree = tree if tree is not None else WorkingTree(root)
    sources = Sources(root)
    with Reader.opened(careful) as reader:
        files = _Files(tree, reader, sources.diagnostics)
        settings = files.first("", ("dwconf.yaml", "dwconf.yml"))
        sources.settings = files.load(settings) if settings else None
        sources.environments = [files.load(p) for p in files.yaml_files("environments")]
        for folder in [e.name for e in tree.entries("solutions") if e.is_dir]:
            sources.solutions[folder] = _solution_files(files, folder)
    return sources


def read_solution(
    tree: FileTree, folder: str, *, careful: frozenset[str] = frozenset()
) -> tuple[SolutionFiles, list[Diagnostic]]:
    """The files of one solution folder of `tree`, with the problems found reading them."""
    diagnostics: list[Diagnostic] = []
    with Reader.opened(careful) as reader:
        return _solution_files(_Files(tree, reader, diagnostics), folder), diagnostics


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
        maps=[files.load(p, cacheable=True) for p in files.yaml_files(f"{base}/maps")],
        schemas=[files.load(p, cacheable=True) for p in files.yaml_files(f"{base}/schema")],
    )
