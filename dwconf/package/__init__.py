"""Bridges to the Dynamics world: Dataverse solution zips (build, read, unpack to YAML) and the
import of a live environment into configuration files.

- `build_zip` / `read_zip` — a dwconf solution (its `solution.yaml` model and its maps) as a
  solution zip and back; deterministic bytes, hostile zips refused (`archive`, `xmlparts`).
- `package_for` — the same solution as the live model's import type (`SolutionPackage`).
- `shapes` — every inferred shape (the leg mapping, direction codes, transform JSON) in one place.
- `yamlout`, `unpack`, `importer` — tidy, deterministic YAML for `dwconf unpack` and
  `dwconf import`.
"""

from __future__ import annotations

from collections.abc import Sequence

from dwconf.desired import canonical_map
from dwconf.live import SolutionPackage
from dwconf.model import Solution, TableMap
from dwconf.package.archive import ZipLimits
from dwconf.package.errors import PackageError, UnsafeArchive
from dwconf.package.solution_zip import SolutionContent, file_name, with_version
from dwconf.package.solution_zip import build as build_zip
from dwconf.package.solution_zip import read as read_zip


def package_for(
    solution: Solution, maps: Sequence[TableMap], *, managed: bool = False
) -> SolutionPackage:
    """The solution as the live model imports it: its manifest and canonical map definitions."""
    return SolutionPackage(
        unique_name=solution.unique_name,
        version=solution.version,
        managed=managed,
        publisher=solution.publisher.unique_name,
        requires=dict(solution.requires),
        maps=[canonical_map(m) for m in sorted(maps, key=lambda m: m.name)],
    )


__all__ = [
    "PackageError",
    "SolutionContent",
    "UnsafeArchive",
    "ZipLimits",
    "build_zip",
    "file_name",
    "package_for",
    "read_zip",
    "with_version",
]
