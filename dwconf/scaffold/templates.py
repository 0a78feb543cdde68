"""Microsoft's standard map templates from the catalog, written out as map files.

Every catalog data file carries the template it was made from (docs/catalog.md). Most
templates exist twice: an older include file and the current consolidated mapping tables
(`mapping-tables-*.yaml`); the current one is used. A template has no version, key or initial
sync master, so a new map gets version 1.0.0.0, the table's integration key (without the
company column that legal-entity partitioning fills), F&O as the initial-sync master, and
`depends_on` the maps of its solution that hold the tables its lookups point at.
"""

from __future__ import annotations

import difflib
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from dwconf.catalog import Catalog, FieldType, data_files, standard
from dwconf.errors import DwconfError
from dwconf.model.common import slug
from dwconf.yaml import load_plain

CURRENT_PREFIX = "mapping-tables-"
COMPANY_LOOKUPS = frozenset({"msdyn_company", "cdm_company"})


@dataclass(frozen=True)
class Template:
    """One standard map template as the catalog holds it."""

    name: str
    source_file: str
    finops_entity: str
    dataverse_table: str
    fields: tuple[Mapping[str, Any], ...]

    @property
    def file_name(self) -> str:
        return f"{slug(self.name)}.yaml"


@cache
def templates() -> dict[str, Template]:
    """Every template by name; where two versions exist, the current mapping-tables one."""
    found: dict[str, Template] = {}
    for file_name, text in data_files():
        raw = (load_plain(text) or {}).get("template")
        if not raw:
            continue
        template = Template(
            name=raw["name"],
            source_file=file_name,
            finops_entity=raw["finops_entity"],
            dataverse_table=raw["dataverse_table"],
            fields=tuple(raw["fields"]),
        )
        known = found.get(template.name)
        if known is None or file_name.startswith(CURRENT_PREFIX):
            found[template.name] = template
    return found


def find(name: str) -> Template:
    """The template called `name` (case-insensitive); an F&O entity label with one template
    finds it too. Unknown or ambiguous names are refused with the closest names."""
    every = templates()
    by_lower = {n.lower(): t for n, t in every.items()}
    exact = by_lower.get(name.strip().lower())
    if exact is not None:
        return exact
    same_entity = sorted(
        n for n, t in every.items() if t.finops_entity.lower() == name.strip().lower()
    )
    if len(same_entity) == 1:
        return every[same_entity[0]]
    if same_entity:
        raise DwconfError(
            f"'{name}' names {len(same_entity)} templates",
            "choose one: " + ", ".join(f"'{n}'" for n in same_entity),
        )
    names = _close_names(name.strip().lower(), every)
    hint = (
        "did you mean " + " or ".join(f"'{n}'" for n in names) + "?"
        if names
        else "the names are listed by: dwconf add map --list"
    )
    raise DwconfError(f"no standard map template is called '{name}'", hint)


def _close_names(wanted: str, every: Mapping[str, Template]) -> list[str]:
    """Up to three template names close to `wanted`: by the whole name, the name without its
    table, or the F&O entity."""
    keys: dict[str, set[str]] = {}
    for name, template in every.items():
        for key in (name.lower(), name.split(" (")[0].lower(), template.finops_entity.lower()):
            keys.setdefault(key, set()).add(name)
    close = difflib.get_close_matches(wanted, list(keys), n=3, cutoff=0.6)
    starts = [k for k in sorted(keys) if k.startswith(wanted)][:3]
    found = [n for key in [*close, *starts] for n in sorted(keys[key])]
    return list(dict.fromkeys(found))[:3]


def lookup_targets(fields: Iterable[Mapping[str, Any]], table: str, catalog: Catalog) -> set[str]:
    """The tables the Dataverse lookups of `fields` point at (first step of each path)."""
    found = catalog.table(table)
    targets: set[str] = set()
    for field in fields:
        column = str(field.get("dataverse") or "")
        if "." not in column or found is None:
            continue
        spec = found.column(column.split(".", 1)[0])
        if spec is not None and spec.type is FieldType.LOOKUP and spec.target:
            targets.add(spec.target.lower())
    return targets


def integration_key(template: Template, catalog: Catalog) -> list[str]:
    """The table's first alternate key, as a map writes it: without the company column, and a
    lookup column by the path the template maps it with."""
    table = catalog.table(template.dataverse_table)
    if table is None or not table.alternate_keys:
        return []
    paths = [str(f.get("dataverse") or "") for f in template.fields]
    key: list[str] = []
    for column in table.alternate_keys[0]:
        spec = table.column(column)
        if spec is not None and spec.type is FieldType.LOOKUP:
            if column in COMPANY_LOOKUPS and table.company == "specific":
                continue
            mapped = [p for p in paths if p.startswith(column + ".")]
            key.append(mapped[0] if mapped else column)
        else:
            key.append(column)
    return key


def _flow(mapping: Mapping[str, Any]) -> CommentedMap:
    out = CommentedMap(mapping)
    out.fa.set_flow_style()
    for key, value in out.items():
        if isinstance(value, dict):
            out[key] = _flow(value)
    return out


def map_text(template: Template, depends_on: Iterable[str] = ()) -> str:
    """The template as a map file (config-format.md), one field per line, with a header."""
    catalog = standard()
    doc = CommentedMap()
    doc["name"] = template.name
    doc["version"] = "1.0.0.0"
    doc["finops_entity"] = template.finops_entity
    doc["dataverse_table"] = template.dataverse_table
    after = sorted(set(depends_on))
    if after:
        doc["depends_on"] = CommentedSeq(after)
    key = integration_key(template, catalog)
    if key:
        doc["integration_key"] = _flow_list(key)
    doc["initial_sync"] = _flow({"master": "finops"})
    doc["fields"] = CommentedSeq([_flow(f) for f in template.fields])
    header = (
        f"# {template.name}\n"
        "# From Microsoft's standard map template (dwconf catalog file "
        f"{template.source_file}).\n"
        "# Edit freely: `dwconf validate` checks it against the F&O entity and Dataverse table.\n\n"
    )
    stream = io.StringIO()
    yaml = YAML()
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.dump(doc, stream)
    return header + stream.getvalue()


def _flow_list(items: list[str]) -> CommentedSeq:
    seq = CommentedSeq(items)
    seq.fa.set_flow_style()
    return seq


def dependencies(template: Template, tables_of_maps: Mapping[str, str]) -> list[str]:
    """Names of the maps (name -> Dataverse table) that hold tables this template looks up."""
    targets = lookup_targets(template.fields, template.dataverse_table, standard())
    own = template.dataverse_table.lower()
    return sorted(
        name for name, table in tables_of_maps.items() if table in targets and table != own
    )
