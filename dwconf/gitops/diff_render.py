"""Renderers of a semantic diff: text for terminals, markdown for a pull-request comment, JSON.

All three sort by environment and address and pass their output through redaction. The
markdown opens with a short summary (which environments, the highest risk), then one
collapsible `<details>` section per changed object, its risk category in the summary line.
"""

from __future__ import annotations

import json
from typing import Any

from dwconf.gitops.semdiff import EnvChanges, SemanticDiff, Side
from dwconf.plan.actions import Action, Category
from dwconf.plan.details import Detail
from dwconf.plan.diff import Change
from dwconf.redact import redact

FORMAT_VERSION = "1.0"
RISK = {
    Category.METADATA: "⚪",
    Category.RESTART: "🟡",
    Category.INITIAL_SYNC: "🟠",
    Category.DESTRUCTIVE: "🔴",
}
SYMBOL = {"added": "+", "removed": "-", "changed": "~"}
ARROW = {"both": "=", "to_dataverse": ">", "to_finops": "<"}


def _side(side: Side) -> str:
    if side.commit is None:
        return side.label
    if side.commit.startswith(side.label):
        return side.commit[:7]
    return f"{side.label} ({side.commit[:7]})"


def _value(value: Any) -> str:
    if isinstance(value, str):
        return value
    text = json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= 80 else text[:77] + "..."


def field_text(field: dict[str, Any]) -> str:
    """One field mapping on a line: `ACCOUNT = tst_account`, `(default 3) > tst_kind`."""
    default = f"(default {_value(field.get('default'))})"
    arrow = ARROW.get(str(field.get("direction")), "?")
    line = f"{field.get('finops') or default} {arrow} {field.get('dataverse') or default}"
    return line + (f" value_map: {_value(field['value_map'])}" if field.get("value_map") else "")


def _shown(d: Detail, value: Any) -> str:
    whole_field = d.path.startswith("fields[") and d.path.endswith("]")
    return field_text(value) if whole_field and isinstance(value, dict) else _value(value)


def detail_line(d: Detail) -> str:
    if d.action == "changed":
        body = f"{_shown(d, d.before)} -> {_shown(d, d.after)}"
    else:
        body = _shown(d, d.after if d.action == "added" else d.before)
    return f"{SYMBOL[d.action]} {d.path}: {body}"


def object_lines(obj: dict[str, Any] | None) -> list[str]:
    """A created or deleted object in a line or two."""
    if not obj:
        return []
    kind = obj.get("kind")
    if kind == "map":
        definition = obj.get("definition") or {}
        fields = len(definition.get("fields") or [])
        return [f"version {definition.get('version')}, {fields} fields, state {obj.get('state')}"]
    if kind == "solution":
        return [f"version {obj.get('version')}, maps: {_value(obj.get('maps'))}"]
    keep = {k: v for k, v in obj.items() if k not in ("kind", "content")}
    return [f"{k}: {_value(v)}" for k, v in keep.items()]


def shown_details(change: Change) -> list[Detail]:
    """The details worth a reviewer's line: a solution's content hash only repeats what its
    maps' own changes say."""
    return [d for d in change.details if not (change.kind == "solution" and d.path == "content")]


def change_lines(change: Change) -> list[str]:
    if change.action in (Action.CREATE, Action.DELETE) or not change.details:
        return object_lines(change.after if change.action is Action.CREATE else change.before)
    return [detail_line(d) for d in shown_details(change)]


def _counts(env: EnvChanges) -> str:
    return ", ".join(f"{n} to {word}" for word, n in env.summary().items())


def _headline(found: SemanticDiff) -> str:
    affected = [e.environment for e in found.affected]
    total = len(found.environments)
    if not affected:
        return f"No environment changes ({total} compared)."
    unchanged = [e.environment for e in found.environments if not e.changes]
    line = f"{len(affected)} of {total} environment(s) change: {', '.join(affected)}."
    return line + (f" Unchanged: {', '.join(unchanged)}." if unchanged else "")


def _worst(found: SemanticDiff) -> Category | None:
    categories = [e.category for e in found.affected if e.category is not None]
    return max(categories) if categories else None


# -- text ----------------------------------------------------------------------------------


def text(found: SemanticDiff) -> str:
    lines = [f"dwconf diff: {_side(found.base)} -> {_side(found.head)}", "", _headline(found)]
    for env in found.environments:
        lines.append("")
        lines.extend(_text_environment(env))
    return redact("\n".join(lines) + "\n")


def _text_environment(env: EnvChanges) -> list[str]:
    note = {"added": " (new environment)", "removed": " (environment removed)"}.get(env.status, "")
    errors = f" {env.errors} configuration error(s): run dwconf validate." if env.errors else ""
    if not env.changes:
        return [f"{env.environment}{note}: no changes.{errors}"]
    risk = env.category.value if env.category else ""
    lines = [f"{env.environment}{note}: {_counts(env)}. Highest risk: {risk}.{errors}"]
    for change in env.changes:
        lines.append(
            f"  {change.action.value:>3} {change.address}  "
            f"({change.action.word}, {change.category.value})"
        )
        lines.extend(f"        {line}" for line in change_lines(change))
    return lines


# -- markdown ------------------------------------------------------------------------------


def _badge(category: Category | None) -> str:
    return "no changes" if category is None else f"{RISK[category]} `{category.value}`"


def markdown(found: SemanticDiff) -> str:
    lines = [
        "### dwconf diff",
        "",
        f"`{_side(found.base)}` → `{_side(found.head)}`",
        "",
        f"**{_headline(found)}**",
    ]
    worst_risk = _worst(found)
    if worst_risk is not None:
        lines += ["", f"Highest risk: {_badge(worst_risk)}"]
    lines += ["", "| environment | create | update | replace | delete | risk |"]
    lines.append("|---|---|---|---|---|---|")
    for env in found.environments:
        counts = " | ".join(str(n) for n in env.summary().values())
        status = "" if env.status in ("changed", "unchanged") else f" ({env.status})"
        lines.append(f"| {env.environment}{status} | {counts} | {_badge(env.category)} |")
    for env in found.affected:
        lines = [*_trimmed(lines), "", f"#### {env.environment}", ""]
        if env.errors:
            lines += [f"> ⚠️ {env.errors} configuration error(s) here: run `dwconf validate`.", ""]
        for change in env.changes:
            lines.extend(_markdown_change(change))
    return redact("\n".join(lines).rstrip() + "\n")


def _trimmed(lines: list[str]) -> list[str]:
    while lines and not lines[-1]:
        lines = lines[:-1]
    return lines


def _markdown_change(change: Change) -> list[str]:
    summary = (
        f"{RISK[change.category]} <code>{change.action.value.strip()} {change.address}</code> "
        f"{change.action.word} · <b>{change.category.value}</b>"
    )
    body: list[str]
    if change.details and change.action not in (Action.CREATE, Action.DELETE):
        body = ["| | path | before | after | risk |", "|---|---|---|---|---|"]
        for d in shown_details(change):
            cells = [SYMBOL[d.action], f"`{d.path}`", _cell(d, d.before), _cell(d, d.after)]
            body.append("| " + " | ".join([*cells, f"`{d.category.value}`"]) + " |")
    else:
        body = [f"- {line}" for line in change_lines(change)]
    return [f"<details><summary>{summary}</summary>", "", *body, "", "</details>", ""]


def _cell(d: Detail, value: Any) -> str:
    return "" if value is None else _shown(d, value).replace("|", "\\|").replace("\n", " ")


# -- JSON ----------------------------------------------------------------------------------


def as_dict(found: SemanticDiff) -> dict[str, Any]:
    worst_risk = _worst(found)
    return {
        "format_version": FORMAT_VERSION,
        "base": {"revision": found.base.label, "commit": found.base.commit},
        "head": {"revision": found.head.label, "commit": found.head.commit},
        "has_changes": found.has_changes,
        "category": worst_risk.value if worst_risk else None,
        "affected": [e.environment for e in found.affected],
        "environments": [_env_dict(e) for e in found.environments],
    }


def _env_dict(env: EnvChanges) -> dict[str, Any]:
    return {
        "environment": env.environment,
        "status": env.status,
        "category": env.category.value if env.category else None,
        "errors": env.errors,
        "summary": env.summary(),
        "changes": [c.as_dict() for c in env.changes],
    }


def as_json(found: SemanticDiff) -> str:
    return redact(json.dumps(as_dict(found), indent=2, sort_keys=False, default=str) + "\n")


FORMATS = {"text": text, "markdown": markdown, "json": as_json}
