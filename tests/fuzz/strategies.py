"""Hypothesis strategies for dwconf configuration files: valid documents built from a small
schema (maps over the catalog's Customers V3 / accounts, environments, solutions) and mutated
ones (a key deleted, a value of the wrong type, random bytes inserted, the file cut short)."""

from __future__ import annotations

from typing import Any

import yaml
from hypothesis import strategies as st

ENTITY, TABLE = "Customers V3", "accounts"
FIELD_PAIRS = [
    ("CUSTOMERACCOUNT", "accountnumber"),
    ("ORGANIZATIONNAME", "name"),
    ("ADDRESSCITY", "address1_city"),
    ("PRIMARYCONTACTEMAIL", "emailaddress1"),
    ("CREDITLIMIT", "creditlimit"),
]
DIRECTIONS = ["both", "to_dataverse", "to_finops", "'>'", "'<'"]
NAMES = st.sampled_from(["Fuzz map A", "Fuzz map B", "Customers V3 (accounts)"])
VERSIONS = st.sampled_from(["1.0.0.0", "1.0.0.1", "2.1.0.0"])


@st.composite
def map_docs(draw: st.DrawFn) -> dict[str, Any]:
    pairs = draw(st.lists(st.sampled_from(FIELD_PAIRS), min_size=1, max_size=5, unique=True))
    fields = [
        {"finops": f, "dataverse": d, "direction": draw(st.sampled_from(DIRECTIONS)).strip("'")}
        for f, d in pairs
    ]
    doc: dict[str, Any] = {
        "name": draw(NAMES),
        "version": draw(VERSIONS),
        "finops_entity": ENTITY,
        "dataverse_table": TABLE,
        "integration_key": ["accountnumber"],
        "fields": fields,
    }
    if draw(st.booleans()):
        doc["description"] = draw(st.text(max_size=20))
    if draw(st.booleans()):
        doc["fields"][0]["transform"] = "{{ value }}"
    return doc


@st.composite
def env_docs(draw: st.DrawFn) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "name": "dev",
        "stage": draw(st.sampled_from(["dev", "test", "prod"])),
        "link": {"legal_entities": draw(st.lists(st.sampled_from(["USMF", "DEMF"]), max_size=2))},
        "solutions": {"base": "workspace"},
        "vars": {"code": draw(st.integers(0, 9))},
    }
    if draw(st.booleans()):
        doc["maps"] = {"default_state": draw(st.sampled_from(["running", "stopped"]))}
    return doc


@st.composite
def solution_docs(draw: st.DrawFn) -> dict[str, Any]:
    return {
        "unique_name": draw(st.sampled_from(["tst_Base", "tst_Other"])),
        "version": draw(VERSIONS),
        "publisher": {"unique_name": "tst", "prefix": "tst", "option_value_prefix": 10000},
    }


def dump(doc: dict[str, Any]) -> bytes:
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True).encode()


WRONG = st.one_of(st.integers(), st.booleans(), st.none(), st.lists(st.integers(), max_size=2))


@st.composite
def mutated(draw: st.DrawFn, docs: st.SearchStrategy[dict[str, Any]]) -> bytes:
    """A valid document, then one of: nothing, a key deleted, a wrong type, bytes inserted,
    the file truncated (several may apply)."""
    doc = draw(docs)
    kind = draw(st.sampled_from(["valid", "delete", "wrong", "bytes", "truncate", "mixed"]))
    if kind in ("delete", "mixed") and doc:
        del doc[draw(st.sampled_from(sorted(doc)))]
    if kind in ("wrong", "mixed") and doc:
        doc[draw(st.sampled_from(sorted(doc)))] = draw(WRONG)
    raw = dump(doc)
    if kind in ("bytes", "mixed"):
        at = draw(st.integers(0, len(raw)))
        raw = raw[:at] + draw(st.binary(min_size=1, max_size=8)) + raw[at:]
    if kind in ("truncate", "mixed"):
        raw = raw[: draw(st.integers(0, len(raw)))]
    return raw
