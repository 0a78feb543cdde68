"""`dwconf release`: a solution's version becomes a git tag `<folder>/v<version>`.

Versions are four-part, `major.minor.patch.revision` (Dataverse's major.minor.build.revision).
A bump increments one part and resets the parts after it:

    major     1.4.2.7 -> 2.0.0.0   incompatible: maps removed, keys or directions changed
    minor     1.4.2.7 -> 1.5.0.0   maps or fields added
    patch     1.4.2.7 -> 1.4.3.0   fixes: filters, value maps, defaults
    revision  1.4.2.7 -> 1.4.2.8   anything else (a description, a rebuilt package)

The release is made from committed files only (a clean working tree); a bump rewrites
`solution.yaml`'s `version:` with every comment kept and commits it as "Release <folder>
<version>"; the annotated tag then points at that commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from dwconf.diagnostics import Severity
from dwconf.errors import ConfigError, DwconfError
from dwconf.git import Repository, release_tag
from dwconf.gitops import yamledit
from dwconf.gitops.worktree import require_clean
from dwconf.model.common import FOUR_PART
from dwconf.validate.engine import validate

BUMPS = ("major", "minor", "patch", "revision")


def bump(version: str, part: str) -> str:
    """`version` with `part` incremented and the parts after it reset to 0."""
    numbers = [int(n) for n in version.split(".")]
    index = BUMPS.index(part)
    numbers[index] += 1
    numbers[index + 1 :] = [0] * (len(BUMPS) - index - 1)
    return ".".join(str(n) for n in numbers)


@dataclass(frozen=True)
class Released:
    """What `release` did."""

    folder: str
    version: str
    previous: str
    tag: str
    commit: str
    bumped: bool


def manifest_path(root: Path, folder: str) -> Path:
    """`solutions/<folder>/solution.yaml` (or .yml); a DwconfError when there is none."""
    base = root / "solutions" / folder
    for name in ("solution.yaml", "solution.yml"):
        if (base / name).is_file():
            return base / name
    known = sorted(p.name for p in (root / "solutions").glob("*/") if p.is_dir())
    raise DwconfError(
        f"'{folder}' is not a solution folder under solutions/",
        f"release one of: {', '.join(known) or 'none'}",
    )


def release(root: Path, folder: str, part: str | None = None) -> Released:
    """Tag `folder`'s version (after bumping `part`, if given) at a commit of the repository."""
    repo = Repository.open(root)
    try:
        require_clean(repo, "a release is made from committed files only")
        manifest = manifest_path(root, folder)
        _require_valid(root, folder)  # first: a file that doesn't load is shown at its position
        display = manifest.relative_to(root).as_posix()
        text = manifest.read_text(encoding="utf-8")
        current = str(yamledit.get(text, ("version",), display))
        if not FOUR_PART.match(current):
            raise DwconfError(
                f"{display}: version '{current}' is not a four-part version",
                "write version: MAJOR.MINOR.PATCH.REVISION, e.g. 1.0.0.0",
            )
        version = bump(current, part) if part else current
        _require_unreleased(repo, folder, version)
        commit = repo.head()
        if version != current:
            new = yamledit.set_values(text, (), {"version": version}, display)
            manifest.write_text(new, encoding="utf-8")
            commit = repo.commit([display], f"Release {folder} {version}")
        if commit is None:
            raise DwconfError("the repository has no commits yet", "commit the configuration")
        tag = release_tag(folder, version)
        repo.tag(tag, f"Release {folder} {version}", commit)
        return Released(folder, version, current, tag, commit, version != current)
    finally:
        repo.close()


def _require_unreleased(repo: Repository, folder: str, version: str) -> None:
    releases = repo.releases()
    if releases.get(folder, version) is None:
        return
    latest = releases.versions(folder)[-1]
    raise DwconfError(
        f"{folder} {version} is already released (tag {release_tag(folder, version)})",
        f"release a new version: dwconf release {folder} --bump patch "
        f"(released: {', '.join(releases.versions(folder))}; latest {latest})",
    )


def _require_valid(root: Path, folder: str) -> None:
    """The solution's own files validate without errors."""
    report = validate(root)
    prefix = f"solutions/{folder}/"
    errors = [
        d
        for d in report.diagnostics
        if d.severity is Severity.ERROR and d.span.file.startswith(prefix)
    ]
    if errors:
        raise ConfigError(errors)
