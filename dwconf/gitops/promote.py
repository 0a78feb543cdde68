"""`dwconf promote SRC DST`: DST's pins become the released versions SRC runs.

Order of the checks: a clean working tree; DST's stage comes after SRC's (and is the one DST
promotes from, when it says); SRC pins released versions (not `workspace`) whose files load at
their tags; the gate (gate.py); the new branch's name is free; DST still validates with the new
pins, checked on its rewritten file before anything is written. Then DST's environment file is
written, with comments and formatting kept, on a new branch, in one commit that lists every
version change. A dry run makes every check but the clean working tree, and writes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from dwconf.diagnostics import Diagnostic, Severity
from dwconf.errors import ConfigError, DwconfError, RefusedError
from dwconf.git import EditedTree, Repository, WorkingTree, release_tag
from dwconf.gitops import gate as gate_module
from dwconf.gitops import yamledit
from dwconf.gitops.worktree import require_clean
from dwconf.load.project import EnvSpec, Loader, SolutionSpec, settled
from dwconf.model import Settings
from dwconf.planning import Desired, load_desired


@dataclass(frozen=True)
class PinChange:
    folder: str
    before: str | None  # None: DST did not pin the solution
    after: str

    def line(self) -> str:
        return f"{self.folder}: {self.before or 'not pinned'} -> {self.after}"


@dataclass(frozen=True)
class Promotion:
    """What `promote` found and did."""

    source: str
    target: str
    file: str
    changes: tuple[PinChange, ...]
    evidence: gate_module.Evidence | None  # None: the gate was skipped
    branch: str | None = None
    commit: str | None = None
    desired: Desired | None = None  # DST's desired state with the new pins


def promote(
    root: Path,
    source: str,
    target: str,
    *,
    solutions: Sequence[str] = (),
    branch: str | None = None,
    dry_run: bool = False,
    gate: bool = True,
) -> Promotion:
    """Promote what `source` runs to `target` (see the module docstring)."""
    repo = Repository.open(root)
    try:
        if not dry_run:
            require_clean(repo, "a promotion is one commit of DST's pins only")

        def configured(
            careful: frozenset[str],
        ) -> tuple[EnvSpec, EnvSpec, dict[str, SolutionSpec]]:
            loader = Loader.at(root, careful=careful)
            src, dst = _environments(loader, source, target)
            check_order(_settings(loader), src, dst)
            return src, dst, _released_specs(loader, src, solutions)

        src, dst, specs = settled(configured)
        evidence = gate_module.check(root, src, specs) if gate else None
        changes = _changes(src, dst, specs)
        found = Promotion(src.name, dst.name, dst.doc.path, changes, evidence)
        if not changes:
            return found
        name = branch or default_branch(dst.name, repo.head() or "")
        if repo.has_branch(name):
            raise DwconfError(f"branch {name} already exists", "name another with --branch")
        text, want = _rewritten(root, dst, changes)
        if dry_run:
            return replace(found, desired=want)
        (root / dst.doc.path).write_text(text, encoding="utf-8")
        repo.start_branch(name)
        commit = repo.commit([dst.doc.path], commit_message(found))
        return replace(found, branch=name, commit=commit, desired=want)
    finally:
        repo.close()


def default_branch(target: str, head: str, today: datetime | None = None) -> str:
    """`promote/<DST>/<YYYYMMDD>-<short sha of the commit promoted from>`."""
    day = (today or datetime.now(UTC)).strftime("%Y%m%d")
    return f"promote/{target}/{day}-{head[:7]}"


def commit_message(found: Promotion) -> str:
    lines = [f"Promote {found.source} to {found.target}", ""]
    lines += [f"- {change.line()}" for change in found.changes]
    if found.evidence is not None:
        e = found.evidence
        lines += [
            "",
            f"Gate: {e.environment} runs these versions (deployment record {e.record_id}, "
            f"{e.created:%Y-%m-%d %H:%M} UTC, by {e.who}).",
        ]
    else:
        lines += ["", "Gate: skipped (--no-gate)."]
    return "\n".join(lines) + "\n"


def _environments(loader: Loader, source: str, target: str) -> tuple[EnvSpec, EnvSpec]:
    src, dst = loader.environments_named([source, target])
    if source == target:
        raise DwconfError("promote needs two different environments")
    return src, dst


def _settings(loader: Loader) -> Settings:
    """dwconf.yaml's settings; its errors when it doesn't load (never the default stages)."""
    doc = loader.sources.settings
    settings = loader.settings()
    errors = [
        d
        for d in loader.diagnostics
        if doc is not None and d.span.file == doc.path and d.severity is Severity.ERROR
    ]
    if errors:
        raise ConfigError(errors, f"{doc.path if doc else 'dwconf.yaml'} does not load")
    return settings


def check_order(settings: Settings, src: EnvSpec, dst: EnvSpec) -> None:
    """DST's stage comes after SRC's; DST's promote_from, when set, is SRC's stage."""
    stages = settings.stages
    s, d = src.model.stage, dst.model.stage
    if s not in stages or d not in stages or stages.index(d) <= stages.index(s):
        raise RefusedError(
            f"{dst.name} (stage {d}) is not a stage after {src.name} (stage {s})",
            f"promotion goes forward through the stages in dwconf.yaml: {' -> '.join(stages)}",
        )
    wanted = dst.model.promote_from
    if wanted is not None and wanted != s:
        raise RefusedError(
            f"{dst.name} promotes from stage {wanted}, not {s} ({dst.doc.path}: promote_from)",
            f"promote from an environment of stage {wanted}; no stage is skipped",
        )


def _released_specs(loader: Loader, src: EnvSpec, only: Sequence[str]) -> dict[str, SolutionSpec]:
    """The solutions to promote, each read from its release tag."""
    pins = src.model.solutions
    unknown = [name for name in only if name not in pins]
    if unknown:
        raise DwconfError(
            f"{src.name} does not pin {', '.join(unknown)}",
            f"{src.name} pins: {', '.join(sorted(pins)) or 'nothing'}",
        )
    chosen = sorted(only or pins)
    workspace = [f for f in chosen if str(pins[f]) == "workspace"]
    if workspace:
        raise RefusedError(_workspace_message(src, workspace), _workspace_hint(src, workspace))
    project = loader.project(src)
    specs = {f: project.solutions[f] for f in chosen if f in project.solutions}
    missing = [f for f in chosen if f not in specs or specs[f].release is None]
    if missing:
        tags = ", ".join(release_tag(f, str(pins[f])) for f in missing)
        raise DwconfError(
            f"{src.name} pins versions that were never released (no tag {tags})",
            "run dwconf validate for the released versions, and fix the pins",
        )
    _require_loaded(loader, specs)
    return specs


def _require_loaded(loader: Loader, specs: dict[str, SolutionSpec]) -> None:
    """Every file of each release loads at its tag: a release that doesn't is refused with the
    files' errors, never passed on (its solution would be unknown to the gate)."""
    releases = [s.release for s in specs.values() if s.release is not None]
    broken = [
        r
        for r in releases
        if specs[r.folder].model is None
        or any(d.span.file.endswith(f"@{r.tag}") for d in _errors(loader))
    ]
    if not broken:
        return
    labels = tuple(f"@{r.tag}" for r in broken)
    raise ConfigError(
        [d for d in _errors(loader) if d.span.file.endswith(labels)],
        "; ".join(
            f"{r.folder} {r.version}: its files at the tag {r.tag} do not load" for r in broken
        ),
        "fix the files and release a new version (dwconf release FOLDER --bump patch), apply it "
        "to the source environment, and promote that version",
    )


def _errors(loader: Loader) -> list[Diagnostic]:
    return [d for d in loader.diagnostics if d.severity is Severity.ERROR]


def _workspace_message(src: EnvSpec, folders: list[str]) -> str:
    names = ", ".join(folders)
    return f"{src.name} runs {names} from the working tree (workspace), which is not a release"


def _workspace_hint(src: EnvSpec, folders: list[str]) -> str:
    steps = "; ".join(f"dwconf release {f} --bump patch" for f in folders)
    return (
        f"release it first: {steps}; then pin the released version in {src.doc.path}, apply it "
        f"(dwconf apply {src.name}) and promote again"
    )


def _changes(src: EnvSpec, dst: EnvSpec, specs: dict[str, SolutionSpec]) -> tuple[PinChange, ...]:
    found = []
    for folder in sorted(specs):
        after = str(src.model.solutions[folder])
        before = dst.model.solutions.get(folder)
        if before is None or str(before) != after:
            found.append(PinChange(folder, None if before is None else str(before), after))
    return tuple(found)


def _rewritten(root: Path, dst: EnvSpec, changes: tuple[PinChange, ...]) -> tuple[str, Desired]:
    """DST's file with the new pins, and DST's desired state read with that file in place of
    the one on disk: checked before anything is written, so a dry run refuses the same way."""
    before = (root / dst.doc.path).read_text(encoding="utf-8")
    updates = {c.folder: c.after for c in changes}
    text = yamledit.set_values(before, ("solutions",), updates, dst.doc.path)
    tree = EditedTree(WorkingTree(root), {dst.doc.path: text.encode("utf-8")})
    return text, load_desired(root, dst.name, tree=tree)
