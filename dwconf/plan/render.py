"""Renderers of a plan: text for terminals, markdown for pull requests, JSON for tools.

All three read the same `Plan`, sort by address, and pass their output through redaction.
"""

from __future__ import annotations

import json
from typing import Any

from dwconf.graph.markdown import changed_maps_block
from dwconf.plan.actions import Action, Category
from dwconf.plan.blocks import Allowance
from dwconf.plan.definition import Plan
from dwconf.plan.details import Detail
from dwconf.plan.diff import Change
from dwconf.redact import redact

COLLAPSE_AFTER = 15


def _value(value: Any) -> str:
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
    symbol = {"added": "+", "removed": "-", "changed": "~"}[d.action]
    if d.action == "changed":
        body = f"{d.path}: {_value(d.before)} -> {_value(d.after)}"
    else:
        body = f"{d.path}: {_shown(d, d.after if d.action == 'added' else d.before)}"
    return f"{symbol} {body}"


def _created_lines(change: Change) -> list[str]:
    after = change.after or {}
    if change.kind == "map":
        definition = after.get("definition") or {}
        fields = len(definition.get("fields", []))
        sync = "with initial sync" if change.category is Category.INITIAL_SYNC else ""
        master = (definition.get("initial_sync") or {}).get("master", "dataverse")
        start = f"state: {after.get('state')}" + (f", {sync} (master: {master})" if sync else "")
        return [f"version {definition.get('version')}, {fields} fields, {start}"]
    keep = {k: v for k, v in after.items() if k not in ("kind", "content")}
    return [f"{k}: {_value(v)}" for k, v in keep.items()]


def _summary_line(plan: Plan) -> str:
    counts = plan.summary()
    parts = ", ".join(f"{n} to {w}" for w, n in counts.items())
    by_category = {c.value: 0 for c in Category}
    for change in plan.changes:
        by_category[change.category.value] += 1
    cats = ", ".join(f"{n} {c}" for c, n in by_category.items() if n)
    return f"Plan: {parts}." + (f" Side effects: {cats}." if cats else "")


def text(plan: Plan) -> str:
    lines = [f"dwconf plan for {plan.environment} (plan {plan.id})", ""]
    if not plan.has_changes:
        lines.append("No changes. The environment matches the configuration.")
    for change in plan.changes:
        lines.append(
            f"{change.action.value:>3} {change.address}  "
            f"({change.action.word}, {change.category.value})"
        )
        body = [detail_line(d) for d in change.details] if change.details else []
        if change.action is Action.CREATE:
            body = _created_lines(change)
        lines.extend(f"      {line}" for line in body)
    if plan.unmanaged:
        lines += ["", "Not managed by dwconf (left alone):"]
        lines += [f"    {address}" for address in plan.unmanaged]
    lines += blocked_text(plan)
    if plan.steps:
        lines += ["", "Steps:"]
        for i, step in enumerate(plan.steps, 1):
            lines.append(f"  {i:>3}. {step.operation} {step.address}")
    lines += ["", _summary_line(plan)]
    return redact("\n".join(lines) + "\n")


def _badge(category: Category) -> str:
    return f"`{category.value}`"


def _markdown_change(change: Change) -> list[str]:
    symbol = change.action.value.strip()
    head = f"#### {symbol} `{change.address}` ({change.action.word}) {_badge(change.category)}"
    if change.action is Action.CREATE or not change.details:
        return [head, "", *(f"- {line}" for line in _created_lines(change)), ""]
    rows = ["| | path | before | after | effect |", "|---|---|---|---|---|"]
    for d in change.details:
        mark = {"added": "+", "removed": "-", "changed": "~"}[d.action]
        cells = [mark, f"`{d.path}`", _cell(d, d.before), _cell(d, d.after), _badge(d.category)]
        rows.append("| " + " | ".join(cells) + " |")
    if len(change.details) > COLLAPSE_AFTER:
        count = len(change.details)
        return [
            head,
            "",
            f"<details><summary>{count} changes</summary>",
            "",
            *rows,
            "",
            "</details>",
            "",
        ]
    return [head, "", *rows, ""]


def _cell(d: Detail, value: Any) -> str:
    return "" if value is None else _shown(d, value).replace("|", "\\|")


def markdown(plan: Plan) -> str:
    lines = [f"### dwconf plan: `{plan.environment}`", ""]
    if not plan.has_changes:
        lines.append("No changes.")
    else:
        lines.append(_summary_line(plan))
        lines += ["", "| change | address | effect |", "|---|---|---|"]
        for change in plan.changes:
            lines.append(
                f"| {change.action.word} | `{change.address}` | {_badge(change.category)} |"
            )
        lines.append("")
        lines.extend(changed_maps_block(plan))
        for change in plan.changes:
            lines.extend(_markdown_change(change))
    if plan.unmanaged:
        lines += ["", "Not managed by dwconf: " + ", ".join(f"`{a}`" for a in plan.unmanaged)]
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
