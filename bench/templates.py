"""The realistic configuration: one map per standard Microsoft map template in dwconf's catalog
(about 140), each with every row of its template, in solutions of about 25 maps.

Usage: python bench/templates.py OUT_DIR
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.generate import project
from dwconf.catalog import data_files, standard
from dwconf.yaml import load_plain

PER_SOLUTION = 25


def templates() -> list[dict[str, Any]]:
    """Every template once (several data files can describe one template), by name."""
    found: dict[str, dict[str, Any]] = {}
    for _name, text in data_files():
        template = load_plain(text)["template"]
        found.setdefault(template["name"], template)
    return [found[name] for name in sorted(found)]


def _key(template: dict[str, Any]) -> list[str]:
    """The table's first alternate key, without the company column (legal-entity partitioning
    implies it) and without lookups whose expanded field the template does not map."""
    table = standard().table(template["dataverse_table"])
    assert table is not None and table.alternate_keys, template["name"]
    rows = _rows(template)
    mapped = {str(row.get("dataverse", "")).split(".")[0] for row in rows}
    expanded = {r["dataverse"].split(".")[0] for r in rows if "." in r.get("dataverse", "")}
    for key in table.alternate_keys:
        columns = [
            c
            for c in key
            if c != "msdyn_company" and (table.columns[c].target is None or c in expanded)
        ]
        if columns and set(columns) <= mapped:
            return columns
    return [c for c in table.alternate_keys[0] if c in mapped and table.columns[c].target is None]


def _rows(template: dict[str, Any]) -> list[dict[str, Any]]:
    """The template's rows; a two-way row whose F&O field an earlier two-way row already uses
    is left out (a few templates list one twice, which the service refuses)."""
    rows, used = [], set()
    for row in template["fields"]:
        both = row.get("direction") == "both" and "finops" in row
        if both and row["finops"] in used:
            continue
        used |= {row["finops"]} if both else set()
        rows.append(row)
    return rows


def _flow(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_scalar(k)}: {_flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_flow(v) for v in value) + "]"
    return _scalar(value)


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


def map_file(template: dict[str, Any]) -> str:
    lines = [
        f"name: {_scalar(template['name'])}",
        "version: 1.0.0.0",
        f"finops_entity: {_scalar(template['finops_entity'])}",
        f"dataverse_table: {template['dataverse_table']}",
        f"integration_key: {_flow(_key(template))}",
        "initial_sync: {master: finops}",
        "fields:",
    ]
    lines += [f"  - {_flow(row)}" for row in _rows(template)]
    return "\n".join(lines) + "\n"


def generate(out: Path) -> Path:
    chosen = templates()
    starts = range(0, len(chosen), PER_SOLUTION)
    folders = project(out, "std", [f"standard-{s // PER_SOLUTION}" for s in starts])
    for folder, start in zip(folders, starts, strict=True):
        for n, template in enumerate(chosen[start : start + PER_SOLUTION], start):
            (folder / "maps" / f"map-{n}.yaml").write_text(map_file(template))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out", type=Path)
    generate(parser.parse_args().out)


if __name__ == "__main__":
    main()
