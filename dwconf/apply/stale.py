"""Why a saved plan can no longer be applied: the configuration or the environment moved."""

from __future__ import annotations

from dwconf.live import LiveState
from dwconf.plan.definition import Plan
from dwconf.plan.live_view import live_objects


def stale_reasons(plan: Plan, desired_hash: str, state: LiveState) -> list[str]:
    """Each reason the plan is stale, naming what moved; empty when it is still current."""
    reasons = []
    if desired_hash != plan.desired_hash:
        reasons.append(
            "the configuration changed since the plan was made "
            f"(desired state {plan.desired_hash[:12]} -> {desired_hash[:12]})"
        )
    if state.fingerprint != plan.live_fingerprint:
        managed = {o["unique_name"] for o in plan.desired.values() if o["kind"] == "solution"}
        now = live_objects(state, managed)
        moved = sorted(a for a in set(now) | set(plan.live) if now.get(a) != plan.live.get(a))
        if moved:
            reasons.append("the environment changed since the plan was made: " + ", ".join(moved))
        else:
            reasons.append(
                "the environment changed since the plan was made "
                f"(fingerprint {plan.live_fingerprint[:12]} -> {state.fingerprint[:12]})"
            )
    return reasons
