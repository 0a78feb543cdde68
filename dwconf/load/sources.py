"""Find and parse the files of a configuration repository (config-format.md, "Repository")."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from dwconf.diagnostics import Diagnostic, Span, error
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


Reader = Callable[[Path], bytes]


def _yaml_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.suffix in YAML_SUFFIXES and p.is_file())


def _display(root: Path, path: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


def read_sources(root: Path, read: Reader = Path.read_bytes) -> Sources:
    """Parse every configuration file under `root`; problems become diagnostics."""
    sources = Sources(root)

    def load(path: Path) -> Document:
        display = _display(root, path)
        try:
            raw = read(path)
        except OSError as exc:
            sources.diagnostics.append(
                error("DW1000", f"cannot read the file: {exc.strerror}", Span(display, 1, 1))
            )
            return Document(display)
        doc, found = parse(raw, display)
        sources.diagnostics.extend(found)
        return doc

    settings = next((root / n for n in ("dwconf.yaml", "dwconf.yml") if (root / n).is_file()), None)
    sources.settings = load(settings) if settings else None
    sources.environments = [load(p) for p in _yaml_files(root / "environments")]
    solutions_dir = root / "solutions"
    folders = (
        sorted(p for p in solutions_dir.iterdir() if p.is_dir()) if solutions_dir.is_dir() else []
    )
    for folder in folders:
        sources.solutions[folder.name] = _solution_files(root, folder, load, sources.diagnostics)
    return sources


def _solution_files(
    root: Path, folder: Path, load: Callable[[Path], Document], diagnostics: list[Diagnostic]
) -> SolutionFiles:
    manifest = next(
        (folder / n for n in ("solution.yaml", "solution.yml") if (folder / n).is_file()), None
    )
    if manifest is None:
        diagnostics.append(
            error(
                "DW1301",
                f"solution folder '{folder.name}' has no solution.yaml",
                Span(_display(root, folder)),
                "add solutions/<name>/solution.yaml (see config-format), or remove the folder",
            )
        )
    return SolutionFiles(
        folder=folder.name,
        solution=load(manifest) if manifest else None,
        maps=[load(p) for p in _yaml_files(folder / "maps")],
        schemas=[load(p) for p in _yaml_files(folder / "schema")],
    )
