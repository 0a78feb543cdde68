"""Hypothesis strategies for dwconf maps and solutions, including awkward text."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from dwconf.model import Solution, TableMap

# Any text XML and YAML files can carry: no control characters, surrogates or non-characters.
TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cc", "Cs", "Cn")), min_size=1, max_size=16
)
ANY_TEXT = st.one_of(
    TEXT,
    st.sampled_from(["no", "yes", "806380000", "1.0", "{{ x }}", "a: b", " lead", "", "x\ny\r\tz"]),
)
NAME = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,12}", fullmatch=True)
VERSION = st.tuples(*[st.integers(0, 99999)] * 4).map(lambda p: ".".join(map(str, p)))
SCALAR = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**40), 2**40),
    st.floats(allow_nan=False, allow_infinity=False),
    ANY_TEXT,
)


@st.composite
def fields(draw: st.DrawFn) -> dict[str, Any]:
    finops = draw(st.one_of(st.none(), ANY_TEXT))
    dataverse = draw(ANY_TEXT if finops is None else st.one_of(st.none(), ANY_TEXT))
    field: dict[str, Any] = {
        "finops": finops or None,
        "dataverse": dataverse or None,
        "direction": draw(st.sampled_from(["both", "to_dataverse", "to_finops"])),
    }
    if field["finops"] is None and field["dataverse"] is None:
        field["dataverse"] = "column"
    if draw(st.booleans()):
        field["default"] = draw(SCALAR)
    if draw(st.booleans()):
        field["value_map"] = draw(st.dictionaries(ANY_TEXT, SCALAR, max_size=4))
    return field


@st.composite
def table_maps(draw: st.DrawFn, name: str | None = None) -> TableMap:
    data: dict[str, Any] = {
        "name": name or draw(TEXT),
        "version": draw(VERSION),
        "finops_entity": draw(TEXT),
        "dataverse_table": draw(TEXT),
        "description": draw(st.one_of(st.none(), ANY_TEXT)),
        "depends_on": draw(st.lists(TEXT, max_size=3)),
        "integration_key": draw(st.lists(TEXT, max_size=3)),
        "filters": {
            "finops": draw(st.one_of(st.none(), ANY_TEXT)),
            "dataverse": draw(st.one_of(st.none(), ANY_TEXT)),
        },
        "initial_sync": {"master": draw(st.sampled_from(["dataverse", "finops"]))},
        "fields": draw(st.lists(fields(), min_size=1, max_size=5)),
    }
    return TableMap.model_validate(data)


MAP_LISTS = st.lists(
    table_maps(),
    max_size=4,
    unique_by=(lambda m: m.name, lambda m: (m.finops_entity, m.dataverse_table)),
)


@st.composite
def solutions(draw: st.DrawFn) -> Solution:
    unique = draw(NAME)
    publisher = draw(NAME)
    display = draw(st.one_of(st.none(), TEXT.filter(lambda t: t != unique)))
    requires = draw(st.dictionaries(NAME, VERSION.map(lambda v: f">={v}"), max_size=3))
    return Solution.model_validate(
        {
            "unique_name": unique,
            "display_name": display,
            "description": draw(st.one_of(st.none(), ANY_TEXT)),
            "version": draw(VERSION),
            "publisher": {
                "unique_name": publisher,
                "prefix": draw(st.from_regex(r"[a-z][a-z0-9]{1,7}", fullmatch=True)),
                "option_value_prefix": draw(st.integers(10000, 99999)),
                "display_name": draw(st.one_of(st.none(), TEXT.filter(lambda t: t != publisher))),
            },
            "requires": dict(sorted(requires.items())),
        }
    )
