"""From a repository and an environment to a plan: the composition of load, validate, render,
read and diff that `dwconf plan` and `dwconf apply` share."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dwconf import desired as desired_state
from dwconf import git
from dwconf.diagnostics import Severity
from dwconf.errors import ConfigError, DwconfError
from dwconf.live import LiveState
from dwconf.load.project import EnvSpec, Loader, Project
from dwconf.plan.definition import Plan, make_plan
from dwconf.plan.live_view import live_objects
from dwconf.providers.base import LiveReader
from dwconf.validate.engine import check_project


@dataclass(frozen=True)
class Desired:
    project: Project
    env: EnvSpec
    state: desired_state.DesiredState


def load_desired(root: Path, env_name: str) -> Desired:
    """The validated desired state of `env_name`; configuration errors raise ConfigError."""
    loader = Loader.at(root)
    environments = loader.environments()
    if env_name not in environments:
        errors = [d for d in loader.diagnostics if d.severity is Severity.ERROR]
        if errors:
            raise ConfigError(errors)
        known = ", ".join(sorted(environments)) or "none"
        raise DwconfError(f"unknown environment: {env_name}", f"known: {known}")
    env = environments[env_name]
    project = loader.project(env)
    found = check_project(project) + loader.diagnostics
    errors = sorted({d for d in found if d.severity is Severity.ERROR}, key=lambda d: d.sort_key)
    if errors:
        raise ConfigError(errors)
    return Desired(project, env, desired_state.build(project))


def recorded_state(state: LiveState) -> dict[str, Any]:
    """The desired state of the last successful apply, if any."""
    for record in reversed(state.records):
        if record.status == "succeeded":
            return dict(record.desired)
    return {}


def plan_against(
    want: Desired,
    reader: LiveReader,
    *,
    targets: tuple[str, ...] = (),
    excludes: tuple[str, ...] = (),
) -> Plan:
    """The plan that takes the environment behind `reader` to `want`."""
    state = reader.read()
    objects = want.state.objects
    managed = {o["unique_name"] for o in objects.values() if o["kind"] == "solution"}
    recorded = recorded_state(state)
    managed |= {o["unique_name"] for o in recorded.values() if o.get("kind") == "solution"}
    return make_plan(
        want.env.name,
        objects,
        want.state.hash,
        live_objects(state, managed),
        state.fingerprint,
        recorded=recorded,
        initial_sync=want.env.model.maps.initial_sync == "run",
        git=git.info(want.project.root),
        targets=targets,
        excludes=excludes,
    )
