"""Renderers of a semantic diff: text for terminals, markdown for a pull-request comment, JSON.

Environments come in stage order (dwconf.yaml's `stages`), changes by address; everything
passes through redaction. Environments whose changes are the same are shown once, under all
their names. The pieces of one change (detail lines, the table and its columns, the legend)
are the plan's own (dwconf/plan/output.py), so a change reads the same in `diff` and `plan`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from dwconf.diagnostics import Diagnostic
from dwconf.gitops.semdiff import EnvChanges, SemanticDiff, Side
from dwconf.jsonout import FORMAT_VERSION
from dwconf.plan import output
from dwconf.plan.actions import Category
from dwconf.plan.diff import Change
from dwconf.redact import redact

RISK = {
    Category.METADATA: "⚪",
    Category.START: "🔵",
    Category.RESTART: "🟡",
    Category.INITIAL_SYNC: "🟠",
    Category.DESTRUCTIVE: "🔴",
}


def _side(side: Side) -> str:
    if side.commit is None:
        return side.label
    if side.commit.startswith(side.label):
        return side.commit[:7]
    return f"{side.label} ({side.commit[:7]})"


def _counts(env: EnvChanges) -> str:
    return ", ".join(f"{n} to {word}" for word, n in env.summary().items())


def _headline(found: SemanticDiff) -> str:
    affected = [e.environment for e in found.affected]
    total = len(found.environments)
    unreadable = [e.environment for e in _unreadable(found.environments)]
    note = f" Not compared, their files don't load: {', '.join(unreadable)}." if unreadable else ""
    if not affected:
        names = [e.environment for e in found.environments if e.environment not in unreadable]
        if not names:
            return note.lstrip()
        return f"No environment changes ({len(names)} compared: {', '.join(names)}).{note}"
    unchanged = [
        e.environment for e in found.environments if not e.changes and e.status != "unreadable"
    ]
    line = f"{len(affected)} of {total} environment(s) change: {', '.join(affected)}."
    return line + (f" Unchanged: {', '.join(unchanged)}." if unchanged else "") + note


def _unreadable(envs: Sequence[EnvChanges]) -> list[EnvChanges]:
    return [e for e in envs if e.status == "unreadable"]


def unreadable_groups(found: SemanticDiff) -> list[tuple[str, list[EnvChanges]]]:
    """Environments not compared, with the same side and errors together, and that side's name:
    what the reader is to fix before the diff can be made."""
    grouped: dict[tuple[str, tuple[Diagnostic, ...]], list[EnvChanges]] = {}
    for env in _unreadable(found.environments):
        grouped.setdefault((env.unreadable, env.problems), []).append(env)
    sides = {"base": found.base, "head": found.head}
    return [(_side(sides[side]), group) for (side, _), group in grouped.items()]


def _worst(found: SemanticDiff) -> Category | None:
    categories = [e.category for e in found.affected if e.category is not None]
    return max(categories) if categories else None


def groups(envs: list[EnvChanges]) -> list[list[EnvChanges]]:
    """Environments with the same changes together, in the order the first of each comes."""
    found: dict[str, list[EnvChanges]] = {}
    for env in envs:
        shown = [[c.as_dict() for c in env.changes], bool(env.blocked_by)]
        key = json.dumps(shown, sort_keys=True, default=str)
        found.setdefault(key, []).append(env)
    return list(found.values())


def _names(group: list[EnvChanges]) -> str:
    notes = {
        "added": " (new environment)",
        "removed": " (environment removed)",
        "unreadable": " (not compared)",
    }
    return ", ".join(f"{e.environment}{notes.get(e.status, '')}" for e in group)


def _plain_names(group: list[EnvChanges]) -> str:
    return ", ".join(e.environment for e in group)


def _errors(group: list[EnvChanges]) -> list[EnvChanges]:
    return [e for e in group if e.errors]


# -- text ----------------------------------------------------------------------------------


def text(found: SemanticDiff) -> str:
    lines = [f"dwconf diff: {_side(found.base)} -> {_side(found.head)}", "", _headline(found)]
    # a group is shown where its first environment comes (names are unique in a diff)
    firsts = {group[0].environment: group for group in groups(found.affected)}
    for env in found.environments:
        if env.changes:
            if env.environment in firsts:
                lines += ["", *_text_group(firsts[env.environment])]
        elif _worth_a_line(env):  # the headline already names the environments that agree
            lines += ["", f"{_names([env])}: no changes.{_error_note([env])}"]
    for side, group in unreadable_groups(found):
        lines += ["", f"{_plain_names(group)}: not compared; these files at {side} don't load:"]
        lines += [f"  {d.span}: {d.severity.value} {d.code} {d.message}" for d in group[0].problems]
    if found.affected:
        lines += ["", output.LEGEND.replace("`", "")]
    return redact("\n".join(lines) + "\n")


def _worth_a_line(env: EnvChanges) -> bool:
    """An unchanged environment has a line of its own only to say something the headline
    does not: it is new, removed, unreadable, or its configuration has errors."""
    if env.status == "unreadable":  # said with its errors, below the compared ones
        return False
    return bool(env.errors) or env.status not in ("changed", "unchanged")


def _text_group(group: list[EnvChanges]) -> list[str]:
    first = group[0]
    risk = first.category.value if first.category else ""
    lines = [f"{_names(group)}: {_counts(first)}. Highest effect: {risk}.{_error_note(group)}"]
    for change in first.changes:
        lines.append(f"  {output.change_head(change)}")
        lines.extend(f"        {line}" for line in output.change_body(change))
    for env in group:
        if env.blocked_by:
            lines.append(f"  Apply would refuse this in {env.environment}:")
        for block in env.blocked_by:
            lines += [f"  ! {block.address}: {block.reason}", f"      fix: {block.hint}"]
    return lines


def _error_note(group: list[EnvChanges]) -> str:
    broken = _errors(group)
    if not broken:
        return ""
    shown = ", ".join(f"{e.environment} {e.errors}" for e in broken)
    return f" Configuration errors ({shown}): run dwconf validate."


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
        lines += ["", f"Highest effect: {_badge(worst_risk)}"]
    lines += ["", "| environment | create | update | replace | delete | effect |"]
    lines.append("|---|---|---|---|---|---|")
    for env in found.environments:
        lines.append(_markdown_row(env))
    for group in groups(found.affected):
        lines += ["", f"#### {_names(group)}", ""]
        for env in _errors(group):
            note = f"{env.environment}: {env.errors} configuration error(s)"
            lines += [f"> ⚠️ {note}; run `dwconf validate`.", ""]
        lines += _blocked(group)
        for change in group[0].changes:
            lines.extend(_markdown_change(change))
        lines = _trimmed(lines)
    for side, group in unreadable_groups(found):
        lines += ["", f"#### {_plain_names(group)}: not compared", ""]
        lines += [f"> ⚠️ These files at `{side}` don't load; fix them and diff again:", ">"]
        for d in group[0].problems:
            lines.append(f"> - `{d.span}` {d.code} {d.message.replace('|', chr(92) + '|')}")
    if found.affected:
        lines += ["", f"<sub>{output.LEGEND}</sub>"]
    return redact("\n".join(lines).rstrip() + "\n")


def _markdown_row(env: EnvChanges) -> str:
    if env.status == "unreadable":
        return f"| {env.environment} (not compared) | | | | | files that don't load |"
    counts = " | ".join(str(n) for n in env.summary().values())
    status = "" if env.status in ("changed", "unchanged") else f" ({env.status})"
    return f"| {env.environment}{status} | {counts} | {_badge(env.category)} |"


def _blocked(group: list[EnvChanges]) -> list[str]:
    """What apply would refuse in these environments, and how a reviewer allows it."""
    lines = []
    for env in group:
        if not env.blocked_by:
            continue
        lines += [
            f"> ⛔ **Apply would refuse this in {env.environment}**: it sets "
            "`protect.prevent_destroy`. To allow it, after review: the pull-request label "
            f"`dwconf:allow-destroy`, or `dwconf plan {env.environment} --allow-destroy` "
            "(recorded in the plan).",
            "",
            "| address | reason | how to fix |",
            "|---|---|---|",
        ]
        for block in env.blocked_by:
            cells = [f"`{block.address}`", block.reason, block.hint]
            lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
        lines.append("")
    return lines


def _trimmed(lines: list[str]) -> list[str]:
    while lines and not lines[-1]:
        lines = lines[:-1]
    return lines


def _markdown_change(change: Change) -> list[str]:
    summary = (
        f"{RISK[change.category]} <code>{change.action.value.strip()} {change.address}</code> "
        f"{change.action.word} · <b>{change.category.value}</b>"
    )
    body = output.markdown_body(change)
    return [f"<details><summary>{summary}</summary>", "", *body, "", "</details>", ""]


# -- JSON ----------------------------------------------------------------------------------


def as_dict(found: SemanticDiff) -> dict[str, Any]:
    worst_risk = _worst(found)
    return {
        "format_version": FORMAT_VERSION,
        "base": {"revision": found.base.label, "commit": found.base.commit},
        "head": {"revision": found.head.label, "commit": found.head.commit},
        "has_changes": found.has_changes,
        "errors": sum(e.errors for e in found.environments),
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
        "blocked_by": [b.as_dict() for b in env.blocked_by],
        "problems": [d.as_dict() for d in env.problems],
        "unreadable": env.unreadable or None,
    }


def as_json(found: SemanticDiff) -> str:
    return redact(json.dumps(as_dict(found), indent=2, sort_keys=False, default=str) + "\n")


FORMATS = {"text": text, "markdown": markdown, "json": as_json}
