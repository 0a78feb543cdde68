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


@dataclass(frozen=True)
class Row:
    name: str
    a: str  # "" when absent
    b: str

    @property
    def same(self) -> bool:
        return self.a == self.b


def _solutions(doc: Doc) -> dict[str, str]:
    return {s["unique_name"]: s["version"] for s in doc["solutions"]}


def _maps(doc: Doc) -> dict[str, str]:
    return {m["name"]: f"{m['active_version'] or '-'} {m['state']}" for m in doc["maps"]}


def _keys(doc: Doc) -> dict[str, str]:
    return {table: ", ".join(columns) for table, columns in doc["integration_keys"].items()}


def _legal_entities(doc: Doc) -> dict[str, str]:
    return dict.fromkeys(doc["legal_entities"], "linked")


def _alerts(doc: Doc) -> dict[str, str]:
    return {
        a["name"]: f"{a['threshold']} {a['error_type']} in {a['window_minutes']} min: {a['action']}"
        for a in doc["alerts"]
    }


# Keyed by the names `dwconf env show --format json` uses, which the JSON keeps (a tool reads
# `.sections.integration_keys`); text and markdown title them in words.
SECTIONS: dict[str, Callable[[Doc], dict[str, str]]] = {
    "solutions": _solutions,
    "maps": _maps,
    "integration_keys": _keys,
    "legal_entities": _legal_entities,
    "alerts": _alerts,
}


def _title(section: str) -> str:
    return section.replace("_", " ")


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
    for title, read in SECTIONS.items():
        left, right = read(a), read(b)
        names = sorted(set(left) | set(right))
        sections[title] = [Row(n, left.get(n, ""), right.get(n, "")) for n in names]
    return Comparison(a["environment"], b["environment"], sections)


def as_json(c: Comparison) -> str:
    body = {
        "format_version": FORMAT_VERSION,
        "environments": [c.a, c.b],
        "differences": c.differences,
        "sections": {
            title: [
                {"name": r.name, c.a: r.a or None, c.b: r.b or None, "same": r.same} for r in rows
            ]
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
            ("  " if r.same else "≠ ", r.name, r.a or "-", r.b or "-") for r in shown
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
            cells = [r.name, r.a or "-", r.b or "-"]
            escaped = [x.replace("|", "\\|") for x in cells]
            lines.append(f"| {'' if r.same else '≠'} | " + " | ".join(escaped) + " |")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"
