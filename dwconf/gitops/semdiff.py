"""`dwconf diff`: the semantic diff of the configuration between two git revisions.

Each side is loaded from its own tree (a revision's files read through git, or the working
tree), rendered for every environment into desired objects (`dwconf.desired.build`), and the
two are compared with the plan's own diff engine: the base side plays "live" and "recorded", so
an object the head side drops is a deletion. Nothing reads or writes an environment.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path

from dwconf.desired import build
from dwconf.diagnostics import Diagnostic, Severity
from dwconf.errors import DwconfError, UnknownEnvironmentError
from dwconf.git import Repository
from dwconf.load.project import Loader, settled
from dwconf.objects import Object
from dwconf.plan import blocks
from dwconf.plan.actions import Category, worst
from dwconf.plan.diff import Change, diff
from dwconf.validate.engine import check_project

WORKING_TREE = "working tree"


@dataclass(frozen=True)
class Side:
    """One side of the diff: what the user named it and its commit (None: the working tree)."""

    label: str
    commit: str | None


@dataclass(frozen=True)
class EnvChanges:
    """The changes one environment would see."""

    environment: str
    status: str  # changed | unchanged | added | removed | unreadable (files that don't load)
    changes: tuple[Change, ...]
    errors: int = 0  # configuration errors at the head side
    blocked_by: tuple[blocks.Block, ...] = ()  # what apply would refuse (protect.prevent_destroy)
    problems: tuple[Diagnostic, ...] = ()  # why an unreadable environment can't be compared
    unreadable: str = ""  # the side whose files don't load: "base" or "head"

    @property
    def category(self) -> Category | None:
        return worst([c.category for c in self.changes]) if self.changes else None

    def summary(self) -> dict[str, int]:
        counts = {"create": 0, "update": 0, "replace": 0, "delete": 0}
        for change in self.changes:
            counts[change.action.word] += 1
        return counts


@dataclass(frozen=True)
class SemanticDiff:
    base: Side
    head: Side
    environments: tuple[EnvChanges, ...]

    @property
    def affected(self) -> list[EnvChanges]:
        return [e for e in self.environments if e.changes]

    @property
    def has_changes(self) -> bool:
        return bool(self.affected)


@dataclass(frozen=True)
class _Rendered:
    objects: dict[str, Object]
    initial_sync: bool
    errors: int
    prevent_destroy: bool
    problems: tuple[Diagnostic, ...]  # errors of the files that did not load


def semantic_diff(
    root: Path, rev_a: str | None = None, rev_b: str | None = None, envs: Sequence[str] = ()
) -> SemanticDiff:
    """The configuration at `rev_a` (default: the merge-base of HEAD and the default branch)
    against `rev_b` (default: the working tree), for every environment or those in `envs`."""
    base, head = resolve_sides(root, rev_a, rev_b)
    found = settled(lambda careful: _compare(root, base, head, envs, careful))
    return SemanticDiff(base, head, found)


def _compare(
    root: Path, base: Side, head: Side, envs: Sequence[str], careful: frozenset[str]
) -> tuple[EnvChanges, ...]:
    old, new = _loader(root, base, careful), _loader(root, head, careful)
    names = _stage_order(old, new)
    unknown = [n for n in envs if n not in names]
    if unknown:
        raise UnknownEnvironmentError(unknown, names)
    chosen = [n for n in names if not envs or n in envs]
    return tuple(_compared(name, old, new) for name in chosen)


def _compared(name: str, old: Loader, new: Loader) -> EnvChanges:
    """`name` across both sides; a side whose files for it don't load is not compared: what
    those files define would read as removed (or added), so their errors are shown instead."""
    before, after = _render(old, name), _render(new, name)
    for side, rendered, loader in (("head", after, new), ("base", before, old)):
        problems = rendered.problems if rendered else _environment_file_errors(loader, name)
        if problems:
            errors = len(problems) if side == "head" else (after.errors if after else 0)
            return EnvChanges(name, "unreadable", (), errors, problems=problems, unreadable=side)
    return _environment(name, before, after)


def _environment_file_errors(loader: Loader, name: str) -> tuple[Diagnostic, ...]:
    """Errors in the environment file of `name` (one that has them does not load)."""
    return _errors_in(loader, {f"environments/{name}.yaml", f"environments/{name}.yml"})


def _errors_in(loader: Loader, files: Collection[str]) -> tuple[Diagnostic, ...]:
    """The errors about `files` (a path read at a revision may carry its `@REV`)."""
    found = {
        d
        for d in loader.diagnostics
        if d.severity is Severity.ERROR
        and (d.span.file in files or d.span.file.partition("@")[0] in files)
    }
    return tuple(sorted(found, key=lambda d: d.sort_key))


def _stage_order(old: Loader, new: Loader) -> list[str]:
    """Every environment of either side, in the head's promotion order, then by name."""
    settings = new.settings()
    found = {**old.environments(), **new.environments()}
    return sorted(found, key=lambda n: (settings.stage_rank(found[n].model.stage), n))


def resolve_sides(root: Path, rev_a: str | None, rev_b: str | None) -> tuple[Side, Side]:
    repo = Repository.open(root)
    try:
        if rev_a is None:
            default = repo.default_branch()
            if default is None or repo.head() is None:
                raise DwconfError(
                    "no default branch (main or master) to compare with",
                    "name the revisions: dwconf diff REV_A [REV_B]",
                )
            base = Side(f"merge-base of HEAD and {default}", repo.merge_base("HEAD", default))
        else:
            base = Side(rev_a, repo.resolve(rev_a))
        head = Side(WORKING_TREE, None) if rev_b is None else Side(rev_b, repo.resolve(rev_b))
        return base, head
    finally:
        repo.close()


def _loader(root: Path, side: Side, careful: frozenset[str]) -> Loader:
    return Loader.at(root, side.commit, careful=careful)


def _render(loader: Loader, name: str) -> _Rendered | None:
    env = loader.environments().get(name)
    if env is None:
        return None
    project = loader.project(env)
    found = check_project(project) + loader.diagnostics
    errors = len({d for d in found if d.severity is Severity.ERROR})
    state = build(project)
    return _Rendered(
        state.objects,
        env.model.maps.initial_sync == "run",
        errors,
        env.model.protect.prevent_destroy,
        _errors_in(loader, project.broken_files),
    )


def _environment(name: str, old: _Rendered | None, new: _Rendered | None) -> EnvChanges:
    before = old.objects if old else {}
    after = new.objects if new else {}
    either = new or old
    initial_sync = either.initial_sync if either is not None else True
    changes = diff(after, before, before, initial_sync=initial_sync).changes
    if old is None:
        status = "added"
    elif new is None:
        status = "removed"
    else:
        status = "changed" if changes else "unchanged"
    protected = bool(new and new.prevent_destroy)
    refused = tuple(blocks.protections(name, changes, protected, ()))
    return EnvChanges(name, status, changes, new.errors if new else 0, refused)
