"""Two live environments side by side: what `dwconf compare ENV_A ENV_B` shows.

Works on the stable JSON documents of `dwconf env show` (one per environment), so it compares
exactly what a person sees there: solutions and versions, maps with their active version and
run state, integration keys, legal entities and alert settings.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from dwconf.jsonout import FORMAT_VERSION

Doc = Mapping[str, Any]
Fields = dict[str, Any]


@dataclass(frozen=True)
class Row:
    """One object as each environment has it: its fields, or None where it is absent."""

    name: str
    a: Fields | None
    b: Fields | None

    @property
    def same(self) -> bool:
        return self.a == self.b


def _solutions(doc: Doc) -> dict[str, Fields]:
    return {
        s["unique_name"]: {"version": s["version"], "managed": s["managed"]}
        for s in doc["solutions"]
    }


def _show_solution(f: Fields) -> str:
    return f["version"] if f["managed"] else f"{f['version']} unmanaged"


def _maps(doc: Doc) -> dict[str, Fields]:
    return {
        m["name"]: {"active_version": m["active_version"], "state": m["state"]} for m in doc["maps"]
    }


def _show_map(f: Fields) -> str:
    return f"{f['active_version'] or '-'} {f['state']}"


def _keys(doc: Doc) -> dict[str, Fields]:
    return {table: {"columns": list(cols)} for table, cols in doc["integration_keys"].items()}


def _show_key(f: Fields) -> str:
    return ", ".join(f["columns"])


def _legal_entities(doc: Doc) -> dict[str, Fields]:
    return {code: {"linked": True} for code in doc["legal_entities"]}


def _show_legal_entity(f: Fields) -> str:
    return "linked"


_ALERT_FIELDS = ("error_type", "threshold", "window_minutes", "action", "notify")


def _alerts(doc: Doc) -> dict[str, Fields]:
    return {a["name"]: {k: a[k] for k in _ALERT_FIELDS} for a in doc["alerts"]}


def _show_alert(f: Fields) -> str:
    notify = f", notify {', '.join(f['notify'])}" if f["notify"] else ""
    return f"{f['threshold']} {f['error_type']} in {f['window_minutes']} min: {f['action']}{notify}"


@dataclass(frozen=True)
class Section:
    """How one kind of object is read from an `env show` document and shown in a table."""

    read: Callable[[Doc], dict[str, Fields]]
    show: Callable[[Fields], str]


# Keyed by the names `dwconf env show --format json` uses, which the JSON keeps (a tool reads
# `.sections.integration_keys`); text and markdown title them in words.
SECTIONS: dict[str, Section] = {
    "solutions": Section(_solutions, _show_solution),
    "maps": Section(_maps, _show_map),
    "integration_keys": Section(_keys, _show_key),
    "legal_entities": Section(_legal_entities, _show_legal_entity),
    "alerts": Section(_alerts, _show_alert),
}


def _title(section: str) -> str:
    return section.replace("_", " ")


def _cell(section: str, fields: Fields | None) -> str:
    return "-" if fields is None else SECTIONS[section].show(fields)


@dataclass(frozen=True)
class Comparison:
    a: str
    b: str
    sections: dict[str, list[Row]]

    @property
    def differences(self) -> int:
        return sum(not r.same for rows in self.sections.values() for r in rows)


def compare(a: Doc, b: Doc) -> Comparison:
    sections: dict[str, list[Row]] = {}
    for title, section in SECTIONS.items():
        left, right = section.read(a), section.read(b)
        names = sorted(set(left) | set(right))
        sections[title] = [Row(n, left.get(n), right.get(n)) for n in names]
    return Comparison(a["environment"], b["environment"], sections)


def as_json(c: Comparison) -> str:
    """Environment names are values (`environments.a`), never keys: an environment may be
    called `name` or `same`."""
    body = {
        "format_version": FORMAT_VERSION,
        "environments": {"a": c.a, "b": c.b},
        "differences": c.differences,
        "sections": {
            title: [{"name": r.name, "a": r.a, "b": r.b, "same": r.same} for r in rows]
            for title, rows in c.sections.items()
        },
    }
    return json.dumps(body, indent=2) + "\n"


def text(c: Comparison, only_differences: bool = False) -> str:
    lines = [f"{c.a} and {c.b}: {c.differences} difference(s)"]
    for title, rows in c.sections.items():
        shown = [r for r in rows if not (only_differences and r.same)]
        lines += ["", f"{_title(title)} ({sum(not r.same for r in rows)} differ)"]
        if not shown:
            lines.append("  (none)")
            continue
        table = [("", "", c.a, c.b)] + [
            ("  " if r.same else "≠ ", r.name, _cell(title, r.a), _cell(title, r.b)) for r in shown
        ]
        widths = [max(len(row[i]) for row in table) for i in range(3)]
        for row in table:
            cells = [cell.ljust(width) for cell, width in zip(row[:3], widths, strict=True)]
            lines.append(
                ("  " + "".join(cells[:1]) + "  ".join(cells[1:]) + "  " + row[3]).rstrip()
            )
    return "\n".join(lines) + "\n"


def markdown(c: Comparison, only_differences: bool = False) -> str:
    lines = [f"### `{c.a}` and `{c.b}`: {c.differences} difference(s)", ""]
    for title, rows in c.sections.items():
        shown = [r for r in rows if not (only_differences and r.same)]
        lines += [f"#### {_title(title)}", ""]
        if not shown:
            lines += ["None.", ""]
            continue
        lines += [f"| | {_title(title)} | `{c.a}` | `{c.b}` |", "|---|---|---|---|"]
        for r in shown:
            cells = [r.name, _cell(title, r.a), _cell(title, r.b)]
            escaped = [x.replace("|", "\\|") for x in cells]
            lines.append(f"| {'' if r.same else '≠'} | " + " | ".join(escaped) + " |")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"
