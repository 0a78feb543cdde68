"""Generate a valid synthetic configuration: N maps x M fields, with schema and dependencies.

Usage: python bench/generate.py OUT_DIR [--maps 1000] [--fields 60] [--solutions 10]
"""

from __future__ import annotations

import argparse
from pathlib import Path

TYPES = [("string", "string"), ("real", "decimal"), ("int32", "int32"), ("date", "date")]


def _column(kind: str) -> str:
    return f"{{type: {kind}, max_length: 60}}" if kind == "string" else f"{{type: {kind}}}"


def schema_file(first: int, last: int, fields: int) -> str:
    lines = ["finops_entities:"]
    for n in range(first, last):
        lines += [f"  Bench entity {n}:", "    company: specific", "    fields:"]
        lines += [f"      F{j}: {_column(TYPES[j % 4][0])}" for j in range(fields)]
        lines.append("      KIND: {type: enum, values: [alpha, beta, gamma]}")
    lines.append("dataverse_tables:")
    for n in range(first, last):
        lines += [
            f"  bench_table{n}s:",
            "    company: specific",
            "    alternate_keys: [[bench_c0, msdyn_company]]",
            "    columns:",
        ]
        lines += [f"      bench_c{j}: {_column(TYPES[j % 4][1])}" for j in range(fields)]
        lines.append("      bench_kind: {type: optionset, values: [1, 2, 3]}")
    return "\n".join(lines) + "\n"


def map_file(n: int, fields: int) -> str:
    lines = [
        f"name: Bench map {n}",
        "version: 1.0.0.0",
        f"finops_entity: Bench entity {n}",
        f"dataverse_table: bench_table{n}s",
        "integration_key: [bench_c0]",
    ]
    if n % 10:
        lines.append(f"depends_on: [Bench map {n - 1}]")
    lines.append("fields:")
    lines.append("  - {finops: F0, dataverse: bench_c0, direction: both}")
    for j in range(1, fields - 1):
        direction = "both" if j % 3 else "to_dataverse"
        lines.append(f"  - {{finops: F{j}, dataverse: bench_c{j}, direction: {direction}}}")
    lines.append(
        "  - {finops: KIND, dataverse: bench_kind, value_map: {alpha: 1, beta: 2, gamma: 3}}"
    )
    return "\n".join(lines) + "\n"


def project(out: Path, name: str, folders: list[str]) -> list[Path]:
    """dwconf.yaml, environments/dev.yaml pinning every solution folder to the working tree, and
    the folders, each with its solution.yaml (`<name>_S<n>`) and an empty maps/ folder."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "dwconf.yaml").write_text(f"project: {name}\nstages: [dev, test, prod]\n")
    made = []
    for n, name_of_folder in enumerate(folders):
        folder = out / "solutions" / name_of_folder
        (folder / "maps").mkdir(parents=True, exist_ok=True)
        (folder / "solution.yaml").write_text(
            f"unique_name: {name}_S{n}\nversion: 1.0.0.0\n"
            f"publisher: {{unique_name: {name}, prefix: bch, option_value_prefix: 10000}}\n"
        )
        made.append(folder)
    pins = "".join(f"  {f}: workspace\n" for f in folders)
    env = f"name: dev\nstage: dev\nlink: {{legal_entities: [USMF]}}\nsolutions:\n{pins}"
    (out / "environments").mkdir(exist_ok=True)
    (out / "environments" / "dev.yaml").write_text(env)
    return made


def generate(out: Path, maps: int, fields: int, solutions: int) -> Path:
    per = max(1, maps // solutions)
    folders = project(out, "bench", [f"bench-{s}" for s in range(solutions)])
    for s, folder in enumerate(folders):
        (folder / "schema").mkdir(exist_ok=True)
        first, last = s * per, maps if s == solutions - 1 else (s + 1) * per
        (folder / "schema" / "entities.yaml").write_text(schema_file(first, last, fields - 1))
        for n in range(first, last):
            (folder / "maps" / f"map-{n}.yaml").write_text(map_file(n, fields))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out", type=Path)
    parser.add_argument("--maps", type=int, default=1000)
    parser.add_argument("--fields", type=int, default=60)
    parser.add_argument("--solutions", type=int, default=10)
    args = parser.parse_args()
    generate(args.out, args.maps, args.fields, args.solutions)


if __name__ == "__main__":
    main()
