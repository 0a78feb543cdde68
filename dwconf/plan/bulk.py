"""Pause or resume many maps in one step, as Microsoft's client does (DWMapEngine: pausing maps
"needs to happen in one bulk", paused maps are "started collective"): one gateway request for
all of them instead of one each (a pure function over the built steps).

The maps of one step are grouped only where that can't tie a knot: nothing the group waits for
may itself wait for one of its members. A resume needs no running prerequisite (only a start
does), so waits between the members themselves are dropped.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dwconf.plan.order import Step

ADDRESS = "maps"
BULK = {"pause_map": "pause_maps", "resume_map": "resume_maps"}


def _ancestors(steps: Mapping[str, Step], start: str) -> set[str]:
    seen: set[str] = set()
    todo = [start]
    while todo:
        for dep in steps[todo.pop()].depends_on:
            if dep in steps and dep not in seen:
                seen.add(dep)
                todo.append(dep)
    return seen


def grouped(steps: dict[str, Step]) -> dict[str, Step]:
    """`steps` with every pause (resume) of two maps or more as one `pause_maps`
    (`resume_maps`) step, where that is safe; the rest as they were."""
    for single, many in BULK.items():
        members = {i for i, s in steps.items() if s.operation == single}
        if len(members) < 2:
            continue
        outside = {d for i in members for d in steps[i].depends_on if d in steps} - members
        if any(_ancestors(steps, d) & members for d in outside):
            continue  # something the group waits for waits for one of its members
        names = sorted(str(steps[i].args["name"]) for i in members)
        step_id = f"{many}:{ADDRESS}"
        first = steps[min(members)]
        group = replace(
            first,
            id=step_id,
            operation=type(first.operation)(many),  # the members' enum (plan.order.Operation)
            address=ADDRESS,
            depends_on=tuple(sorted(outside)),
            args={"names": names},
        )
        steps = {i: _pointed(s, members, step_id) for i, s in steps.items() if i not in members}
        steps[step_id] = group
    return steps


def _pointed(step: Step, members: set[str], group: str) -> Step:
    """`step` waiting for the group where it waited for one of its members."""
    if not members & set(step.depends_on):
        return step
    deps = {group if d in members else d for d in step.depends_on}
    return replace(step, depends_on=tuple(sorted(deps)))
