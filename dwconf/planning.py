"""From a repository and an environment to a plan: the composition of load, validate, render,
read and diff that `dwconf plan` and `dwconf apply` share."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from dwconf import desired as desired_state
from dwconf import git
from dwconf.desired import state_hash
from dwconf.diagnostics import Severity
from dwconf.errors import ConfigError, DwconfError
from dwconf.git import GitInfo
from dwconf.live import DeploymentRecord, LiveState
from dwconf.load.project import EnvSpec, Loader, Project, settled
from dwconf.model import Environment
from dwconf.objects import Object, maps, solution_names, solutions
from dwconf.plan import blocks
from dwconf.plan.blocks import Allowance
from dwconf.plan.definition import Plan, make_plan
from dwconf.plan.drift import Drift, find_drift
from dwconf.plan.live_view import last_succeeded, live_objects, recorded_objects, recorded_state
from dwconf.providers import open_reader
from dwconf.providers.base import LiveReader
from dwconf.validate.engine import check_project


@dataclass(frozen=True)
class Desired:
    project: Project
    env: EnvSpec
    state: desired_state.DesiredState


def plan(
    root: Path,
    env_name: str,
    *,
    targets: tuple[str, ...] = (),
    excludes: tuple[str, ...] = (),
    allowances: tuple[Allowance, ...] = (),
) -> Plan:
    """The work of `dwconf plan ENV`: load and check the configuration, then read the
    environment (reached only once the configuration is known to be valid) and compare."""
    want = load_desired(root, env_name)
    reader = open_reader(root, want.env.model)
    try:
        return plan_against(want, reader, targets=targets, excludes=excludes, allowances=allowances)
    finally:
        reader.close()


def load_desired(root: Path, env_name: str, *, tree: git.FileTree | None = None) -> Desired:
    """The validated desired state of `env_name` (read from `tree`, default the working tree);
    configuration errors raise ConfigError."""
    return settled(
        lambda careful: _load_desired(Loader.at(root, tree=tree, careful=careful), env_name)
    )


def _load_desired(loader: Loader, env_name: str) -> Desired:
    env = loader.environment(env_name)
    project = loader.project(env)
    found = check_project(project) + loader.diagnostics
    errors = sorted({d for d in found if d.severity is Severity.ERROR}, key=lambda d: d.sort_key)
    if errors:
        raise ConfigError(errors)
    return Desired(project, env, desired_state.build(project))


def plan_against(
    want: Desired,
    reader: LiveReader,
    *,
    targets: tuple[str, ...] = (),
    excludes: tuple[str, ...] = (),
    allowances: tuple[Allowance, ...] = (),
) -> Plan:
    """The plan that takes the environment behind `reader` to `want`, with what apply would
    refuse (`blocked_by`) and what it was made to allow."""
    state = reader.read()
    found = _plan_against(
        want,
        state,
        recorded_state(state, reader),
        targets=targets,
        excludes=excludes,
        read_only=reader.read_only(),
    )
    return with_blocks(found, state, want.env.model, allowances)


def with_blocks(
    plan: Plan, state: LiveState, env: Environment, allowances: tuple[Allowance, ...] = ()
) -> Plan:
    """`plan` with what apply would refuse against `state`, and with `allowances`."""
    kept = tuple(sorted(set(allowances)))
    found = blocks.find(
        plan.environment,
        plan.changes,
        plan.desired,
        state,
        prevent_destroy=env.protect.prevent_destroy,
        allowances=kept,
    )
    return replace(plan, blocked_by=found, allowances=kept)


def _plan_against(
    want: Desired,
    state: LiveState,
    recorded: dict[str, Object],
    *,
    targets: tuple[str, ...],
    excludes: tuple[str, ...],
    read_only: dict[str, str],
) -> Plan:
    objects = want.state.objects
    return make_plan(
        want.env.name,
        objects,
        want.state.hash,
        live_objects(state, solution_names(objects, recorded)),
        state.fingerprint,
        recorded=recorded,
        initial_sync=want.env.model.maps.initial_sync == "run",
        git=git.info(want.project.root),
        targets=targets,
        excludes=excludes,
        read_only=read_only,
    )


# Reading an environment without its configuration: drift, history, rollback ------------------


def load_environment(root: Path, env_name: str) -> Environment:
    """The environment model alone (provider settings): what commands that compare live with
    deployment records need, so they work while other files of the configuration are broken."""
    if not root.is_dir():
        raise DwconfError(f"no such directory: {root}", "pass the configuration repository")
    return settled(lambda careful: Loader.at(root, careful=careful).environment(env_name)).model


def record_summary(record: DeploymentRecord) -> dict[str, Any]:
    """A deployment record as `dwconf history` shows it (without its desired state)."""
    return {
        "id": record.id,
        "created": record.created.isoformat(),
        "who": record.who,
        "status": record.status,
        "plan_id": record.plan_hash,
        "git_commit": record.git_commit,
        "git_dirty": record.provenance.dirty,
        "solution_versions": dict(sorted(record.solution_versions.items())),
        "sources": dict(sorted(record.provenance.sources.items())),
        "applied_hash": record.provenance.applied_hash or None,
    }


def drift_against(env_name: str, reader: LiveReader, ignore: tuple[str, ...] = ()) -> Drift:
    """Live against the last successful deployment record (never writes)."""
    state = reader.read()
    record = last_succeeded(state.records)
    if record is None:
        raise DwconfError(
            f"{env_name} has no successful deployment record to compare with",
            f"drift is measured from dwconf's last apply: dwconf apply {env_name}",
        )
    desired = recorded_objects(reader, record)
    live = live_objects(state, solution_names(desired))
    changes = find_drift(desired, live, ignore)
    summary = {k: v for k, v in record_summary(record).items() if k in ("id", "created", "who")}
    return Drift(env_name, summary, changes, ignore)


def rollback_target(records: tuple[DeploymentRecord, ...], to: str | None) -> DeploymentRecord:
    """The record `to` names (an id or a unique prefix of one); by default the successful
    record before the last successful one."""
    if to:
        found = [r for r in records if r.id == to] or [r for r in records if r.id.startswith(to)]
        if len(found) != 1:
            what = "matches no" if not found else "matches more than one"
            raise DwconfError(f"'{to}' {what} deployment record", "see them with dwconf history")
        return found[0]
    succeeded = [r for r in records if r.status == "succeeded"]
    if len(succeeded) < 2:
        raise DwconfError(
            "there is no earlier successful deployment to roll back to",
            "see the records with dwconf history; pick one with --to",
        )
    return succeeded[-2]


def _keep_versions(desired: dict[str, Object], live: Mapping[str, Object]) -> list[str]:
    """Dataverse refuses to import a lower solution version: a solution installed at a higher
    version than the record's gets the record's content at the installed version."""
    notes = []
    for address, obj in solutions(desired).items():
        have = live.get(address)
        if have is None or have["kind"] != "solution":
            continue
        if _version(have["version"]) > _version(obj["version"]):
            desired[address] = {**obj, "version": have["version"]}
            notes.append(
                f"{address} stays at version {have['version']} (Dataverse can't import the "
                f"recorded {obj['version']}); its maps go back to the recorded content"
            )
    return notes


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in text.split(".") if p.isdigit())


def rollback_against(env_name: str, reader: LiveReader, to: str | None) -> Rollback:
    """The plan that takes the environment back to the desired state of a deployment record."""
    state = reader.read()
    record = rollback_target(state.records, to)
    recorded = recorded_state(state, reader)
    desired = recorded_objects(reader, record)
    live = live_objects(state, solution_names(desired, recorded))
    notes = _keep_versions(desired, live)
    sync = [o.get("initial_sync") for o in maps(desired).values()]
    initial_sync = "skip" not in sync
    plan = make_plan(
        env_name,
        desired,
        state_hash(desired),
        live,
        state.fingerprint,
        recorded=recorded,
        initial_sync=initial_sync,
        git=GitInfo(record.git_commit),
        origin=f"record:{record.id}",
        read_only=reader.read_only(),
    )
    return Rollback(record, plan, tuple(notes), initial_sync)


@dataclass(frozen=True)
class Rollback:
    record: DeploymentRecord
    plan: Plan
    notes: tuple[str, ...] = ()
    initial_sync: bool = True
