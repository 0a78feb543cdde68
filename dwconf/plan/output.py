"""A plan as output: text for terminals, markdown for pull requests, JSON for tools.

All three read the same `Plan`, sort by address, and pass their output through redaction.
Every change that is more than metadata says why (its category and reason), in text per field
too, not only in markdown. The pieces for one change (detail lines, table rows, the legend) are
shared with `dwconf diff` and `dwconf drift`, so the three read alike.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from dwconf.plan.actions import Action, Category
from dwconf.plan.blocks import Allowance
from dwconf.plan.definition import Plan
from dwconf.plan.details import Detail
from dwconf.plan.diff import Change
from dwconf.redact import redact

COLLAPSE_AFTER = 15
SYMBOL = {"added": "+", "removed": "-", "changed": "~"}
DETAIL_TABLE = ["| | path | before | after | effect |", "|---|---|---|---|---|"]
LEGEND = (
    "Symbols: `+` create, `~` update, `-/+` replace, `-` delete. Effects, mildest first: "
    "`metadata` nothing that runs is touched · `start` a map starts syncing · "
    "`restart` a running map stops and starts, records queue meanwhile · "
    "`initial_sync` existing rows are copied · `destructive` data stops flowing."
)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"  # as the YAML says it
    if isinstance(value, dict | list):
        text = json.dumps(value, sort_keys=True, default=str)
        return text if len(text) <= 80 else text[:77] + "..."
    return "null" if value is None else str(value)


_ARROW = {"both": "=", "to_dataverse": ">", "to_finops": "<"}


def field_text(field: dict[str, Any]) -> str:
    """A field mapping on one line: `ACCOUNT = accountnumber`, `(default 3) > tst_kind`."""
    default = field.get("default")
    left = field.get("finops") or f"(default {default})"
    right = field.get("dataverse") or f"(default {default})"
    line = f"{left} {_ARROW.get(str(field.get('direction')), '?')} {right}"
    extras = [f"{k}: {_value(field[k])}" for k in ("value_map",) if field.get(k)]
    return line + (f" ({'; '.join(extras)})" if extras else "")


def _shown(d: Detail, value: Any) -> str:
    whole_field = d.path.startswith("fields[") and d.path.endswith("]")
    if whole_field and isinstance(value, dict):
        return field_text(value)
    return _value(value)


def detail_line(d: Detail) -> str:
    """`~ path: before -> after`; a change with nothing before (a solution's content, listed by
    the maps that change) shows only what it is now."""
    if d.action == "changed" and d.before is not None:
        body = f"{d.path}: {_shown(d, d.before)} -> {_shown(d, d.after)}"
    else:
        body = f"{d.path}: {_shown(d, d.after if d.action != 'removed' else d.before)}"
    return f"{SYMBOL[d.action]} {body}"


def effect(category: Category, reason: str) -> str:
    """`destructive: direction narrowed: …` — the category, and why when there is a reason."""
    return f"{category.value}: {reason}" if reason else category.value


def detail_lines(d: Detail) -> list[str]:
    """A detail in text, with its effect under it unless it is plain metadata."""
    lines = [detail_line(d)]
    if d.category is not Category.METADATA:
        lines.append(f"    {effect(d.category, d.reason)}")
    return lines


def object_summary(change: Change) -> list[str]:
    """A created or deleted object in a line or a few."""
    obj = change.after if change.action is Action.CREATE else change.before
    if obj is None:
        return []
    if obj["kind"] == "map":
        definition = obj["definition"] or {}
        fields = len(definition.get("fields") or [])
        return [f"version {definition.get('version')}, {fields} fields, state: {obj['state']}"]
    if obj["kind"] == "solution":
        return [f"version {obj['version']}, maps: {_value(obj['maps'])}"]
    keep = {k: v for k, v in obj.items() if k not in ("kind", "content")}
    return [f"{k}: {_value(v)}" for k, v in keep.items()]


def change_body(change: Change) -> list[str]:
    """What changes inside one change, in text, each line with its effect where it matters;
    a reason the effect line doesn't show (a provider that can't write it, Reset link) as a
    note."""
    if change.action in (Action.CREATE, Action.DELETE) or not change.details:
        body = object_summary(change)
        if change.category is not Category.METADATA:
            return [*body, effect(change.category, change.reason)]
        return body + ([f"note: {change.reason}"] if change.reason else [])
    lines = [line for d in change.details for line in detail_lines(d)]
    return lines + [f"note: {n}" for n in _unshown(change)]


def _unshown(change: Change) -> list[str]:
    """The change's reason when none of its details' effects already says it."""
    shown = {d.reason for d in change.details if d.category is not Category.METADATA}
    return [change.reason] if change.reason and change.reason not in shown else []


def change_head(change: Change) -> str:
    return (
        f"{change.action.value:>3} {change.address}  ({change.action.word}, "
        f"{change.category.value})"
    )


def summary_line(plan: Plan) -> str:
    counts = plan.summary()
    parts = ", ".join(f"{n} to {w}" for w, n in counts.items())
    cats = ", ".join(f"{n} {c}" for c, n in plan.categories().items() if n)
    return f"Plan: {parts}." + (f" Side effects: {cats}." if cats else "")


def text(plan: Plan) -> str:
    lines = [f"dwconf plan for {plan.environment} (plan {plan.id})", ""]
    if not plan.has_changes:
        lines.append("No changes. The environment matches the configuration.")
    for change in plan.changes:
        lines.append(change_head(change))
        lines.extend(f"      {line}" for line in change_body(change))
    if plan.unmanaged:
        lines += ["", "Not managed by dwconf (left alone):"]
        lines += [f"    {address}" for address in plan.unmanaged]
    lines += blocked_text(plan)
    if plan.steps:
        lines += ["", "Steps:"]
        for i, step in enumerate(plan.steps, 1):
            lines.append(f"  {i:>3}. {step.operation} {step.address}")
    lines += ["", summary_line(plan)]
    if plan.blocked_by:  # the last line a terminal shows: the details are above
        count = len(plan.blocked_by)
        lines.append(f"Apply would refuse this plan: {count} problem(s), listed above.")
    return redact("\n".join(lines) + "\n")


def badge(category: Category, reason: str = "") -> str:
    """`destructive`: why — the reason only where something that runs is affected."""
    shown = reason and category is not Category.METADATA
    return f"`{category.value}`" + (f": {reason}" if shown else "")


def _cell(d: Detail, value: Any) -> str:
    return "" if value is None else _shown(d, value).replace("|", "\\|").replace("\n", " ")


def detail_row(d: Detail) -> str:
    cells = [SYMBOL[d.action], f"`{d.path}`", _cell(d, d.before), _cell(d, d.after)]
    return "| " + " | ".join([*cells, badge(d.category, d.reason).replace("|", "\\|")]) + " |"


def markdown_body(change: Change) -> list[str]:
    """A change's table (one row per detail), or a list for a created or deleted object; a
    reason the effect doesn't show as a note."""
    if change.action in (Action.CREATE, Action.DELETE) or not change.details:
        lines = [f"- {line}" for line in object_summary(change)]
        if change.category is not Category.METADATA:
            return [*lines, f"- effect: {badge(change.category, change.reason)}"]
        return lines + ([f"- note: {change.reason}"] if change.reason else [])
    note = [line for n in _unshown(change) for line in (f"> {n}", "")]
    return [*note, *DETAIL_TABLE, *(detail_row(d) for d in change.details)]


def _markdown_change(change: Change) -> list[str]:
    symbol = change.action.value.strip()
    head = f"#### {symbol} `{change.address}` ({change.action.word}) {badge(change.category)}"
    body = markdown_body(change)
    if len(change.details) > COLLAPSE_AFTER:
        count = len(change.details)
        fold = f"<details><summary>{count} changes</summary>"
        return [head, "", fold, "", *body, "", "</details>", ""]
    return [head, "", *body, ""]


def markdown(plan: Plan, picture: Sequence[str] = ()) -> str:
    """The plan for a pull request or a pipeline summary; `picture` (markdown lines, such as
    the graph of the changed maps) goes between the summary table and the changes."""
    lines = [f"### dwconf plan: `{plan.environment}`", ""]
    if not plan.has_changes:
        lines.append("No changes.")
    else:
        lines.append(summary_line(plan))
        lines += blocked_markdown(plan)  # first: a reviewer must not approve without seeing it
        lines += ["", "| change | address | effect |", "|---|---|---|"]
        for change in plan.changes:
            cell = badge(change.category, change.reason).replace("|", "\\|")
            lines.append(f"| {change.action.word} | `{change.address}` | {cell} |")
        lines.append("")
        lines.extend(picture)
        for change in plan.changes:
            lines.extend(_markdown_change(change))
        lines.append(f"<sub>{LEGEND}</sub>")
    if plan.unmanaged:
        lines += ["", "Not managed by dwconf: " + ", ".join(f"`{a}`" for a in plan.unmanaged)]
    if not plan.has_changes:
        lines += blocked_markdown(plan)
    return redact("\n".join(lines).rstrip() + "\n")


def as_json(plan: Plan) -> str:
    return redact(json.dumps(plan.as_dict(), indent=2, default=str) + "\n")


# What apply would refuse, and what the plan allows (dwconf.plan.blocks) ----------------------

_ALLOWED = {Allowance.DESTROY: "destructive changes (made with --allow-destroy)"}


def blocked_text(plan: Plan) -> list[str]:
    """The text plan's lines on what apply would refuse and what the plan allows."""
    lines = []
    if plan.blocked_by:
        lines += ["", "Apply would refuse this plan:"]
        for block in plan.blocked_by:
            lines += [f"  ! {block.address}: {block.reason}", f"      fix: {block.hint}"]
    if plan.allowances:
        lines += ["", "This plan allows " + "; ".join(_ALLOWED[a] for a in plan.allowances)]
    return lines


def blocked_markdown(plan: Plan) -> list[str]:
    """The markdown plan's section on what apply would refuse and what the plan allows."""
    lines = []
    if plan.blocked_by:
        lines += ["", "#### :no_entry: Apply would refuse this plan", ""]
        lines += ["| address | reason | how to fix |", "|---|---|---|"]
        for block in plan.blocked_by:
            cells = [f"`{block.address}`", block.reason, block.hint]
            lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    if plan.allowances:
        lines += ["", "**This plan allows** " + "; ".join(_ALLOWED[a] for a in plan.allowances)]
    return lines
