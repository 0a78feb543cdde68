"""The promotion gate: only versions the source environment ran successfully, and still runs.

Evidence comes from the source environment itself (read-only): its last successful deployment
record must hold each version, from the release tag's commit when the record says which (so an
artifact that was never tested can't be promoted, even under a moved tag), and the solution
installed there now must still be that version.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from dwconf.errors import RefusedError
from dwconf.live import DeploymentRecord, LiveState
from dwconf.load.project import EnvSpec, SolutionSpec
from dwconf.plan.live_view import recorded_objects
from dwconf.providers import open_reader

SUCCEEDED = "succeeded"


@dataclass(frozen=True)
class Evidence:
    """The deployment record that let the versions through."""

    environment: str
    record_id: str
    created: datetime
    who: str


def check(root: Path, env: EnvSpec, specs: Mapping[str, SolutionSpec]) -> Evidence:
    """Evidence that `env` runs every solution in `specs` (by folder) at its released version;
    a RefusedError that lists every problem otherwise."""
    reader = open_reader(root, env.model)
    try:
        state = reader.read()
        last_ok = last_success(state.records)
        recorded = recorded_objects(reader, last_ok) if last_ok is not None else {}
    finally:
        reader.close()
    problems = list(_problems(env.name, state, last_ok, recorded, specs))
    if problems or last_ok is None:
        raise RefusedError(
            f"the promotion gate refused what {env.name} runs:\n  - " + "\n  - ".join(problems),
            f"apply the pinned versions to {env.name} first (dwconf apply {env.name}), promote "
            "only the others (--solution NAME), or skip the gate with --no-gate",
        )
    return Evidence(env.name, last_ok.id, last_ok.created, last_ok.who)


def last_success(records: tuple[DeploymentRecord, ...]) -> DeploymentRecord | None:
    return next((r for r in reversed(records) if r.status == SUCCEEDED), None)


def _problems(
    name: str,
    state: LiveState,
    last_ok: DeploymentRecord | None,
    recorded: Mapping[str, Any],
    specs: Mapping[str, SolutionSpec],
) -> Iterator[str]:
    if last_ok is None:
        yield f"{name} has no successful apply: none of its versions ran there"
        return
    for folder, spec in sorted(specs.items()):
        if spec.model is None or spec.release is None:  # nothing to compare: never passed
            where = f"at the tag {spec.release.tag}" if spec.release else "in the working tree"
            yield f"{folder}: its solution.yaml {where} does not load (run dwconf validate)"
            continue
        unique, version = spec.model.unique_name, spec.release.version
        recorded_problem = _recorded_problem(name, state, last_ok, folder, spec, recorded=recorded)
        problem = recorded_problem or _live_problem(name, state, folder, unique, version)
        if problem:
            yield problem


def _recorded_problem(
    name: str,
    state: LiveState,
    last_ok: DeploymentRecord,
    folder: str,
    spec: SolutionSpec,
    *,
    recorded: Mapping[str, Any],
) -> str | None:
    assert spec.model is not None and spec.release is not None
    unique, version = spec.model.unique_name, spec.release.version
    ran = last_ok.solution_versions.get(unique)
    if ran != version:
        earlier = f"its last successful apply ran {ran}" if ran else "it never ran any version"
        failed = _failed_after(state.records, last_ok, unique, version)
        if failed is not None:
            when = f"{failed.created:%Y-%m-%d %H:%M} UTC"
            return (
                f"{folder} {version}: the apply of it to {name} failed (record {failed.id}, "
                f"{when}); {earlier}"
            )
        return f"{folder} {version}: {name} never applied it successfully; {earlier}"
    source = _recorded_source(recorded, unique)
    if source == "workspace":
        return (
            f"{folder} {version}: {name} applied it from its working tree, not from the release "
            f"tag {spec.release.tag}; apply {name} again with the pin"
        )
    if source and source != spec.release.commit:
        return (
            f"{folder} {version}: {name} ran commit {source[:12]}, but the tag "
            f"{spec.release.tag} now points to {spec.release.commit[:12]}"
        )
    return None


def _live_problem(name: str, state: LiveState, folder: str, unique: str, version: str) -> str:
    installed = state.solution(unique)
    if installed is not None and installed.version == version:
        return ""
    now = f"version {installed.version} is installed" if installed else "it is not installed"
    return f"{folder} {version}: {name} no longer runs it ({now}; changed outside dwconf?)"


def _failed_after(
    records: tuple[DeploymentRecord, ...], last_ok: DeploymentRecord, unique: str, version: str
) -> DeploymentRecord | None:
    later = list(records)[list(records).index(last_ok) + 1 :]
    failed = [r for r in later if r.solution_versions.get(unique) == version]
    return failed[-1] if failed else None


def _recorded_source(recorded: Mapping[str, Any], unique: str) -> str | None:
    found = recorded.get(f"solution.{unique}")
    source = found.get("source") if isinstance(found, dict) else None
    return str(source) if source else None
