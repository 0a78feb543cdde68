"""Whether a plan may be applied as it is: apply never trusts a plan, it derives it again.

A plan names a desired state and the live state it was made against. Apply recomputes the
desired state itself (from the configuration, or from the deployment record a rollback returns
to: the `Basis`), and, holding the lease, reads the environment and makes the plan again
from both. The plan is applied only when the two agree: a plan file whose desired state or
steps were edited (its checksum recomputed) is refused, as is a plan made against an
environment that moved since (naming what moved), and a plan that was applied already is
reported as such. What runs is always the derived plan, never the file's own steps.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from dwconf.apply.stale import (
    changed_paths,
    environment_reason,
    listed,
    moved,
    moved_by_others,
)
from dwconf.desired import state_hash
from dwconf.errors import RefusedError
from dwconf.git import GitInfo
from dwconf.live import DeploymentRecord, LiveState
from dwconf.objects import Object, solution_names
from dwconf.plan.definition import Plan, canonical_json, make_plan
from dwconf.plan.live_view import live_objects
from dwconf.redact import redact_json_text


@dataclass(frozen=True)
class Basis:
    """What a plan must follow from, as apply itself computed it."""

    desired: Mapping[str, Object]
    initial_sync: bool = True
    prevent_destroy: bool = False
    read_only: Mapping[str, str] = field(default_factory=dict)  # the provider's (read_only())
    git: GitInfo = field(default_factory=GitInfo)  # where the configuration was read: recorded


class AlreadyApplied(Exception):
    """The plan was applied already and the environment still matches it: nothing to do."""

    def __init__(self, record: DeploymentRecord) -> None:
        super().__init__(record.id)
        self.record = record


def check_desired(plan: Plan, basis: Basis, where: str, plan_file: str = "FILE") -> None:
    """Refuse a plan whose desired state is not the one apply computed (exit 4): the
    configuration moved since, or the file was edited (it claims the configuration's hash).
    `plan_file` is the saved plan's path, for the commands the refusal suggests."""
    addresses = moved(plan.desired, basis.desired)
    if not addresses:
        return
    env = plan.environment
    again = f"dwconf plan {env} --out {plan_file}, review it, then dwconf apply {env} {plan_file}"
    if plan.desired_hash == state_hash(basis.desired):
        raise RefusedError(
            f"the plan file's desired state does not follow from {where}, although it claims "
            f"to (desired hash {plan.desired_hash[:12]}): {listed(addresses)}; it was edited "
            "after it was made",
            f"make and review a new plan: dwconf plan {env} --out FILE",
        )
    raise RefusedError(
        "the configuration changed since the plan was made: "
        f"{listed(changed_paths(plan.desired, basis.desired))}{_since(plan.git, basis.git)}",
        f"nothing was changed. {_compare(plan.git, basis.git, env)}Make a new plan of the "
        f"configuration as it is now: {again}",
    )


def _since(made: GitInfo, now: GitInfo) -> str:
    """Where the plan was made and where the configuration is now, when git tells them apart."""
    if made == now or made.commit is None or now.commit is None:
        return ""
    return f". The plan was made at {_at(made)}; the configuration is now at {_at(now)}"


def _at(info: GitInfo) -> str:
    assert info.commit is not None
    return f"commit {info.commit[:7]}" + (" with uncommitted changes" if info.dirty else "")


def _compare(made: GitInfo, now: GitInfo, env: str) -> str:
    """The command that shows what changed between the two commits, when there are two."""
    if made.commit is None or now.commit is None or made.commit == now.commit:
        return ""
    tree = "" if now.dirty else f" {now.commit[:7]}"  # the working tree is diff's default
    return f"See what changed: dwconf diff {made.commit[:7]}{tree} --env {env}. "


def derive(
    plan: Plan,
    basis: Basis,
    state: LiveState,
    recorded: Mapping[str, Object],
    *,
    whole: bool = False,
) -> Plan:
    """The plan apply would make now for the addresses `plan` changes (every address with
    `whole`), from the basis and the environment as `state` shows it; `recorded` is the desired
    state of its last successful deployment record (`recorded_state`)."""
    return make_plan(
        plan.environment,
        basis.desired,
        state_hash(basis.desired),
        live_objects(state, solution_names(basis.desired, recorded)),
        state.fingerprint,
        recorded=recorded,
        initial_sync=basis.initial_sync,
        git=basis.git,
        addresses=None if whole else {c.address for c in plan.changes},
        origin=plan.origin,
        read_only=basis.read_only,
    )


def _body(plan: Plan) -> dict[str, Any]:
    return {
        "changes": [c.as_dict() for c in plan.changes],
        "steps": [s.as_dict() for s in plan.steps],
    }


def _follows(plan: Plan, derived: Plan) -> bool:
    """Whether `plan` has the changes and steps of `derived`: the same, or the same once written
    as a saved plan holds them (JSON, redacted), which takes longer to tell."""
    if _body(plan) == _body(derived):
        return True
    return bool(_as_saved(plan) == _as_saved(derived))


def _as_saved(plan: Plan) -> Any:
    return json.loads(redact_json_text(canonical_json(_body(plan))))


def _applied(plan: Plan, state: LiveState) -> DeploymentRecord | None:
    return next(
        (r for r in state.records if r.plan_hash == plan.id and r.status == "succeeded"), None
    )


def settle(plan: Plan, basis: Basis, state: LiveState, recorded: Mapping[str, Any]) -> Plan:
    """The plan to run, read under the lease: `plan` derived again, when it still holds.

    Raises `AlreadyApplied` when the plan was applied and nothing is left to do, and
    `RefusedError` when the environment moved since the plan was made (naming what moved) or
    when the plan's changes don't follow from the basis."""
    derived = derive(plan, basis, state, recorded)
    _check_applied(plan, derived, state)
    if state.fingerprint != plan.live_fingerprint:
        raise RefusedError(
            environment_reason(plan, state),
            f"make and review a new plan: dwconf plan {plan.environment}",
        )
    if not _follows(plan, derived):
        raise RefusedError(
            f"plan {plan.id}'s changes don't follow from the configuration and the environment "
            "(the plan file was edited after it was made)",
            f"make and review a new plan: dwconf plan {plan.environment} --out FILE",
        )
    return derived


def _check_applied(plan: Plan, derived: Plan, state: LiveState) -> None:
    """Raise `AlreadyApplied` when a deployment record says `plan` was applied and `derived`
    (made now) has nothing left to do; refuse it when it was applied and the environment
    moved since."""
    applied = _applied(plan, state)
    if applied is None:
        return
    if not derived.changes:
        raise AlreadyApplied(applied)
    moved = environment_reason(plan, state) or (
        "the environment is back where the plan started: it was rolled back since"
    )
    raise RefusedError(
        f"plan {plan.id} was applied already (deployment record {applied.id}, "
        f"{applied.created.isoformat(timespec='seconds')}); {moved}",
        f"make and review a new plan: dwconf plan {plan.environment} --out FILE",
    )


def check_journaled(
    plan: Plan, basis: Basis, state: LiveState, recorded: Mapping[str, Any]
) -> Plan:
    """The plan of an interrupted apply, read back from its journal to resume it, checked under
    the lease: it must follow from the basis and from the live state it records it was made
    against, since its steps run as they are (the environment has moved since: by the steps
    that were done). Returns it with the basis's git information, for the record.

    Raises `AlreadyApplied` when the interrupted apply got as far as its deployment record
    (it was stopped before its journal said so) and nothing is left, and `RefusedError` when
    it was applied and the environment moved since, when its changes or steps were edited
    (the journal's plan file, its checksum recomputed), or when someone else changed the
    environment since it was made; `recorded` is as for `derive`."""
    if _applied(plan, state) is not None:  # else there is nothing to derive for
        _check_applied(plan, derive(plan, basis, state, recorded), state)
    again = make_plan(
        plan.environment,
        basis.desired,
        state_hash(basis.desired),
        plan.live,
        plan.live_fingerprint,
        recorded=recorded,
        initial_sync=basis.initial_sync,
        addresses={c.address for c in plan.changes},
        read_only=basis.read_only,
    )
    if not _follows(plan, again):
        raise RefusedError(
            f"the interrupted apply's plan {plan.id} has changes or steps that don't follow "
            "from the configuration and the environment it was made against (its journal's "
            "plan file was edited)",
            f"make and review a new plan: dwconf plan {plan.environment}",
        )
    _check_unmoved(plan, basis, state, recorded)
    return replace(plan, git=basis.git)


def _check_unmoved(plan: Plan, basis: Basis, state: LiveState, recorded: Mapping[str, Any]) -> None:
    """Refuse to resume `plan` once someone else changed the environment since it was made
    (`dwconf.apply.stale.moved_by_others`): its remaining steps would overwrite that change,
    which nobody reviewed with the plan."""
    if state.fingerprint == plan.live_fingerprint:
        return
    found = moved_by_others(plan, derive(plan, basis, state, recorded), state)
    if found:
        raise RefusedError(
            f"the environment changed since the interrupted apply's plan {plan.id} was made, "
            f"other than by that apply: {listed(found)}; its remaining steps would overwrite "
            "that, so nothing was changed",
            f"make and review a new plan from here: dwconf plan {plan.environment}",
        )
