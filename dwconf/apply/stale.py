"""What moved since a plan was made, by address: between two desired states, or in the
environment.

Terraform can only say "Saved plan is stale"; dwconf names what moved, so a reviewer knows
whether a fresh plan needs a fresh review (`dwconf.apply.verify` decides; this module words it).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dwconf.desired import normal_object
from dwconf.live import LiveState
from dwconf.plan.definition import Plan
from dwconf.plan.diff import compared
from dwconf.plan.live_view import live_objects

Object = dict[str, Any]


def moved(before: Mapping[str, Object], after: Mapping[str, Object]) -> list[str]:
    """Addresses whose object differs between two states (added, removed or changed)."""
    return sorted(
        a for a in set(before) | set(after) if _normal(before.get(a)) != _normal(after.get(a))
    )


def _normal(obj: Object | None) -> Object | None:
    return None if obj is None else normal_object(obj)


def listed(addresses: list[str], limit: int = 20) -> str:
    """Addresses for a message, the first `limit` of them."""
    shown = ", ".join(addresses[:limit])
    more = len(addresses) - limit
    return shown + (f" and {more} more" if more > 0 else "")


def environment_reason(plan: Plan, state: LiveState) -> str:
    if state.fingerprint == plan.live_fingerprint:
        return ""
    now = live_objects(state, _managed(plan))
    addresses = sorted(
        a for a in set(now) | set(plan.live) if compared(now.get(a)) != compared(plan.live.get(a))
    )
    what = listed(addresses) if addresses else f"fingerprint {state.fingerprint[:12]}"
    return f"the environment changed since the plan was made: {what}"


def _managed(plan: Plan) -> set[str]:
    names = {o.get("unique_name") for o in plan.desired.values() if o.get("kind") == "solution"}
    names |= {o.get("unique_name") for o in plan.live.values() if o.get("kind") == "solution"}
    return {str(n) for n in names if n}
