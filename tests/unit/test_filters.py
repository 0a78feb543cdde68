r"""The two filter languages of a table map: X++ (`filters.finops`) and OData (`filters.dataverse`).

Valid examples come from the templates and docs (domain reference §1.6); every invalid example
names the character the error must point at. Property tests: no input raises, and `canonical`
is a fixed point of parse-then-print.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dwconf.filters import (
    MAX_DEPTH,
    FilterError,
    ParsedFilter,
    canonical,
    parse_odata,
    parse_xpp,
)

Parse = Callable[[str], ParsedFilter | FilterError]
GUID = "6a1f2d2c-9b1e-4c1a-8f3e-0d2b7c4e5f60"


def parsed(parse: Parse, text: str) -> ParsedFilter:
    result = parse(text)
    assert isinstance(result, ParsedFilter), result
    return result


def assert_fixed_point(parse: Parse, result: ParsedFilter) -> None:
    text = canonical(result)
    again = parsed(parse, text)
    assert canonical(again) == text
    names = [field.name.lower() for field in result.fields]
    assert [field.name.lower() for field in again.fields] == names


def assert_offsets(text: str, result: ParsedFilter) -> None:
    for field in result.fields:
        assert text[field.offset : field.offset + len(field.name)] == field.name


# --- valid examples -------------------------------------------------------------------------

XPP_VALID = [
    ('((PartyType == "Organization"))', ["PartyType"]),
    ('((PartyType == "Person"))', ["PartyType"]),
    (
        '((VendorPartyType == "Organization") || (VendorPartyType == "Person"))',
        ["VendorPartyType", "VendorPartyType"],
    ),
    ('((CURRENCYCODE != "999"))', ["CURRENCYCODE"]),
    ("(AssociatedContactType = 1)", ["AssociatedContactType"]),
    ('(SalesOrderNumber != "")', ["SalesOrderNumber"]),
    ("(IsB2BProspect == 1)", ["IsB2BProspect"]),
    ('(name like "A*")', ["name"]),
    ('(!(name like "*A*"))', ["name"]),
    ("(AccountType == AccountType::Customer)", ["AccountType"]),
    ("(TransactionDate <= 23\\06\\2021)", ["TransactionDate"]),
    (
        "((numberofemployees > 1000) && (numberofemployees <= 2000))",
        ["numberofemployees", "numberofemployees"],
    ),
    ("(accounttype == '3')", ["accounttype"]),
    ('((TypeId == "Note") || (TypeId == "URL"))', ["TypeId", "TypeId"]),
    ('PartyType == "Organization"', ["PartyType"]),
    ("(CreditMax >= -1.5)", ["CreditMax"]),
    ("(Blocked == NoYes :: Yes)", ["Blocked"]),
    ("(IsActive == TRUE) && !IsDeleted", ["IsActive", "IsDeleted"]),
    ("(name LIKE 'it\\'s*')", ["name"]),
    ("((a == b))", ["a", "b"]),
]

ODATA_VALID = [
    ("customertypecode eq 3", ["customertypecode"]),
    (
        "msdyn_sellable eq true  and msdyn_contactpersonid ne null",
        ["msdyn_sellable", "msdyn_contactpersonid"],
    ),
    (
        "msdyn_contactforvendor eq true and msdyn_sellable eq false "
        "and msdyn_contactpersonid ne null",
        ["msdyn_contactforvendor", "msdyn_sellable", "msdyn_contactpersonid"],
    ),
    (
        "(objecttypecode eq 'account' or objecttypecode eq 'contact') "
        "and msdyn_relatedentityid ne null",
        ["objecttypecode", "objecttypecode", "msdyn_relatedentityid"],
    ),
    ("startswith(name, 'A')", ["name"]),
    ("not contains(name, 'A')", ["name"]),
    ("endswith(name,'Ltd')", ["name"]),
    ("TransactionDate le '2021-06-23'", ["TransactionDate"]),
    ("numberofemployees gt 1000 and numberofemployees le 2000", ["numberofemployees"] * 2),
    (f"_msdyn_company_value eq '{GUID}'", ["msdyn_company"]),
    (f"_msdyn_company_value eq {GUID.upper()}", ["msdyn_company"]),
    ("(msdyn_b2bcommerceprospect eq true)", ["msdyn_b2bcommerceprospect"]),
    ("msdyn_ordertype eq 192350000 and statecode eq 0", ["msdyn_ordertype", "statecode"]),
    ("AccountType eq '3'", ["AccountType"]),
    ("createdon ge 2021-06-23", ["createdon"]),
    ("modifiedon lt 2021-06-23T10:00:00Z", ["modifiedon"]),
    ("modifiedon lt 2021-06-23T10:00:00.125+02:00", ["modifiedon"]),
    ("revenue gt -1.5e3", ["revenue"]),
    ("name eq 'O''Brien'", ["name"]),
    ("not (statecode eq 1) and msdyn_sellable", ["statecode", "msdyn_sellable"]),
]


@pytest.mark.parametrize(("text", "names"), XPP_VALID)
def test_xpp_examples_parse(text: str, names: list[str]) -> None:
    result = parsed(parse_xpp, text)
    assert [field.name for field in result.fields] == names
    assert_offsets(text, result)
    assert_fixed_point(parse_xpp, result)


@pytest.mark.parametrize(("text", "names"), ODATA_VALID)
def test_odata_examples_parse(text: str, names: list[str]) -> None:
    result = parsed(parse_odata, text)
    assert [field.name for field in result.fields] == names
    assert_offsets(text, result)
    assert_fixed_point(parse_odata, result)


def test_lookup_value_column_points_at_the_column_name() -> None:
    result = parsed(parse_odata, f"x eq 1 and _msdyn_company_value eq '{GUID}'")
    assert result.fields[1].name == "msdyn_company"
    assert result.fields[1].offset == 12


# --- invalid examples -----------------------------------------------------------------------

XPP_INVALID = [
    ('((PartyType == "Organization")', 0, "expected ')' to close '(' at column 1"),
    ('(name like "A*)', 11, "unterminated string"),
    ("(name like 'A*", 11, "unterminated string"),
    ("(PartyType ==", 13, "expected a value after '=='"),
    ("(a => 1)", 3, "unknown operator '=>'; did you mean '>='?"),
    ("(a <> 1)", 3, "did you mean '!='?"),
    ("(a == 1) & (b == 2)", 9, "unknown operator '&'"),
    ("(a == 1) &&", 11, "expected a condition after '&&'"),
    ("&& (a == 1)", 0, "expected a condition at the start of the filter, found '&&'"),
    ("(a b)", 3, "missing operator before 'b'"),
    ('(a == 1 "x")', 8, "missing operator before '\"x\"'"),
    ("(a == 1))", 8, "unmatched ')'"),
    ("(a == 1 and b == 2)", 8, "X++ uses '&&', not 'and'"),
    ("(a eq 1)", 3, "X++ uses '=='"),
    ("(a == Enum::)", 12, "expected an enum value after 'Enum::'"),
    ("(d == 31\\02\\2021)", 6, "invalid date '31\\02\\2021'"),
    ("(d == 23\\06\\21)", 6, "malformed value"),
    ("(d == 2021-06-23)", 6, "dates are written dd\\mm\\yyyy"),
    ("()", 1, "expected a condition after '(', found ')'"),
    ("(!a == 1)", 4, "'!' binds tighter than '=='"),
    ("(a == 1 == 2)", 8, "comparisons cannot be chained; join them with '&&'"),
    ("(name like 5)", 11, "'like' needs a quoted pattern"),
    ('("Organization")', 1, "a value alone is not a condition"),
    ('(a == "x", "y")', 9, "value lists are not supported"),
    ("(f(x) == 1)", 1, "unknown function 'f'"),
    ("(a == #x)", 6, "unexpected character '#'"),
    ("(a == 1) (b == 2)", 9, "missing operator before '('"),
    ("   ", 0, "the filter is empty; leave `filters.finops` out instead"),
]

ODATA_INVALID = [
    ("(a eq 1", 0, "expected ')' to close '(' at column 1"),
    ("a eq 1 and ((b eq 2)", 11, "expected ')' to close '(' at column 12"),
    ("(a eq 1 , b)", 8, "expected ')' to close '(' at column 1, found ','"),
    ("name eq 'abc", 8, "unterminated string"),
    ("name eq 'it''s", 8, "unterminated string"),
    ("primarycontactid/fullname eq 'x'", 16, "nested lookups are not supported"),
    ("contains(parentaccountid/name, 'x')", 24, "nested lookups are not supported"),
    ("a => 1", 2, "unknown operator '=>'"),
    ("a == 1", 2, "'==' is X++ syntax; OData uses 'eq'"),
    ("a eq", 4, "expected a value after 'eq'"),
    ("a eq )", 5, "expected a value after 'eq', found ')'"),
    ("foo(name, 'A')", 0, "unknown function 'foo'; use contains, startswith or endswith"),
    ("Contains(name, 'A')", 0, "function names are lowercase: write 'contains'"),
    ("and a eq 1", 0, "expected a condition at the start of the filter, found 'and'"),
    ("a eq 1 and", 10, "expected a condition after 'and'"),
    ("a eq 1 b eq 2", 7, "missing operator before 'b'"),
    ("name 'A'", 5, "missing operator before \"'A'\""),
    ("a EQ 1", 2, "OData keywords are lowercase: write 'eq'"),
    ("contains(name)", 13, "contains takes two arguments"),
    ("contains(name, 'A', 'B')", 18, "contains takes exactly two arguments"),
    ("contains('A', name)", 9, "the first argument of contains must be a column"),
    ("startswith(name, 3)", 17, "the second argument of startswith must be a quoted string"),
    ("contains(name 'A')", 14, "expected ',' between the arguments of contains"),
    ("contains(name, 'A'", 8, "expected ')' to close '(' at column 9"),
    ("not a eq 1", 6, "'not' binds tighter than 'eq'"),
    ("a eq 1 eq 2", 7, "comparisons cannot be chained"),
    ('name eq "A"', 8, "OData strings use single quotes"),
    ("a eq 1)", 6, "unmatched ')'"),
    ("createdon ge 2021-02-30", 13, "invalid date '2021-02-30'"),
    ("modifiedon lt 2021-06-23T10:00:00", 14, "a date-time needs a zone"),
    ("name like 'A*'", 5, "OData has no 'like'"),
    ("3", 0, "a value alone is not a condition"),
    ("a eq 1 and ()", 12, "expected a condition after '(', found ')'"),
    ("a eq 1and b eq 2", 5, "malformed value '1and'"),
    ("Microsoft.Dynamics.CRM.Today()", 0, "unknown function 'Microsoft.Dynamics.CRM.Today'"),
    ("a eq $it", 5, "unexpected character '$'"),
    ("", 0, "the filter is empty; leave `filters.dataverse` out instead"),
]


@pytest.mark.parametrize(("text", "offset", "fragment"), XPP_INVALID)
def test_xpp_errors(text: str, offset: int, fragment: str) -> None:
    error = parse_xpp(text)
    assert isinstance(error, FilterError), error
    assert (error.offset, fragment in error.message) == (offset, True), error


@pytest.mark.parametrize(("text", "offset", "fragment"), ODATA_INVALID)
def test_odata_errors(text: str, offset: int, fragment: str) -> None:
    error = parse_odata(text)
    assert isinstance(error, FilterError), error
    assert (error.offset, fragment in error.message) == (offset, True), error


# --- canonical form -------------------------------------------------------------------------

CANONICAL = [
    (parse_xpp, '((PartyType == "Organization"))', '(partytype == "Organization")'),
    (parse_xpp, "(AssociatedContactType = 1)", "(associatedcontacttype == 1)"),
    (parse_xpp, "(accounttype == '3')", '(accounttype == "3")'),
    (parse_xpp, "(TransactionDate <= 1\\6\\2021)", "(transactiondate <= 01\\06\\2021)"),
    (parse_xpp, "(AccountType == AccountType::Customer)", "(accounttype == accounttype::customer)"),
    (parse_xpp, "(a == 1) && ((b == 2) && (c == 3))", "((a == 1) && (b == 2) && (c == 3))"),
    (parse_xpp, '(!(name like "*A*"))', '(!(name like "*A*"))'),
    (parse_odata, "( customertypecode  eq 3 )", "customertypecode eq 3"),
    (parse_odata, "(a eq 1 and b eq 2) and c eq +3", "a eq 1 and b eq 2 and c eq 3"),
    (parse_odata, "a eq 1 and (b eq 2 or c eq 3)", "a eq 1 and (b eq 2 or c eq 3)"),
    (parse_odata, "not(contains(name,'A'))", "not contains(name, 'A')"),
    (parse_odata, f"_x_value eq {GUID.upper()}", f"_x_value eq {GUID}"),
]


@pytest.mark.parametrize(("parse", "text", "expected"), CANONICAL)
def test_canonical(parse: Parse, text: str, expected: str) -> None:
    assert canonical(parsed(parse, text)) == expected


@pytest.mark.parametrize(
    ("parse", "one", "other"),
    [
        (parse_xpp, '(a == "A")', '(a == "a")'),
        (parse_xpp, "((a == 1) && ((b == 2) || (c == 3)))", "(((a == 1) && (b == 2)) || (c == 3))"),
        (parse_odata, "a eq 1 and (b eq 2 or c eq 3)", "(a eq 1 and b eq 2) or c eq 3"),
        (parse_odata, "Name eq 'A'", "name eq 'A'"),
        (parse_odata, "name eq 'A'", "name eq 'a'"),
    ],
)
def test_canonical_keeps_real_differences(parse: Parse, one: str, other: str) -> None:
    assert canonical(parsed(parse, one)) != canonical(parsed(parse, other))


# --- nesting limits -------------------------------------------------------------------------

DEEP = 10_000
CHAIN = 3_000  # far past the recursion limit: chains must not recurse


@pytest.mark.parametrize(
    ("parse", "text"),
    [
        (parse_odata, "(" * DEEP),
        (parse_odata, "(" * DEEP + "a eq 1" + ")" * DEEP),
        (parse_odata, "not " * DEEP + "a"),
        (parse_xpp, "(" * DEEP + "a == 1" + ")" * DEEP),
        (parse_xpp, "!" * DEEP + "a"),
    ],
)
def test_pathological_nesting_is_an_error(parse: Parse, text: str) -> None:
    error = parse(text)
    assert isinstance(error, FilterError)
    assert "nests deeper" in error.message


def test_nesting_up_to_the_limit_parses() -> None:
    text = "(" * MAX_DEPTH + "a eq 1" + ")" * MAX_DEPTH
    assert canonical(parsed(parse_odata, text)) == "a eq 1"


def test_long_flat_chains_parse() -> None:
    odata = parsed(parse_odata, " and ".join(["a eq 1"] * CHAIN))
    xpp = parsed(parse_xpp, " || ".join(["(a == 1)"] * CHAIN))
    assert len(odata.fields) == len(xpp.fields) == CHAIN
    assert_fixed_point(parse_odata, odata)
    assert_fixed_point(parse_xpp, xpp)


# --- properties -----------------------------------------------------------------------------

Generated = tuple[str, list[str]]  # filter text, column names in order of appearance

space = st.sampled_from(["", " ", "  ", "\t", "\n "])
gap = st.sampled_from([" ", "  ", "\t", "\n "])


def column_of(name: str) -> str:
    lookup = re.fullmatch(r"_([A-Za-z0-9_]+)_value", name)
    return lookup.group(1) if lookup else name


ODATA_WORDS = {"eq", "ne", "gt", "ge", "lt", "le", "and", "or", "not", "true", "false", "null"}
ODATA_WORDS |= {"like", "in", "has", "add", "sub", "mul", "div", "mod"}
odata_columns = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,12}", fullmatch=True).filter(
    lambda name: name.lower() not in ODATA_WORDS
)
odata_strings = st.text().map(lambda s: "'" + s.replace("'", "''") + "'")
odata_literals = st.one_of(
    st.integers().map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    odata_strings,
    st.sampled_from(["true", "false", "null"]),
    st.uuids().map(str),
    st.dates().map(dt.date.isoformat),
    st.datetimes(timezones=st.just(dt.UTC)).map(lambda d: d.isoformat().replace("+00:00", "Z")),
)


@st.composite
def odata_comparison(draw: st.DrawFn) -> Generated:
    column = draw(odata_columns)
    op = draw(st.sampled_from(["eq", "ne", "gt", "ge", "lt", "le"]))
    if draw(st.booleans()):
        return f"{column}{draw(gap)}{op}{draw(gap)}{draw(odata_literals)}", [column]
    other = draw(odata_columns)
    return f"{column}{draw(gap)}{op}{draw(gap)}{other}", [column, other]


@st.composite
def odata_call(draw: st.DrawFn) -> Generated:
    function = draw(st.sampled_from(["contains", "startswith", "endswith"]))
    column = draw(odata_columns)
    return f"{function}({draw(space)}{column},{draw(space)}{draw(odata_strings)})", [column]


odata_atoms: st.SearchStrategy[Generated] = st.one_of(
    odata_comparison(),
    odata_call(),
    odata_columns.map(lambda name: (name, [name])),
    st.just(("true", [])),
)


def odata_combine(inner: st.SearchStrategy[Generated]) -> st.SearchStrategy[Generated]:
    def joined(op: str) -> st.SearchStrategy[Generated]:
        return st.tuples(inner, gap, inner).map(
            lambda t: (f"{t[0][0]}{t[1]}{op}{t[1]}{t[2][0]}", t[0][1] + t[2][1])
        )

    grouped = st.tuples(space, inner).map(lambda t: (f"({t[0]}{t[1][0]}{t[0]})", t[1][1]))
    negated = grouped.map(lambda g: (f"not {g[0]}", g[1]))
    return st.one_of(joined("and"), joined("or"), grouped, negated)


odata_filters = st.recursive(odata_atoms, odata_combine, max_leaves=10)

XPP_WORDS = {"like", "true", "false", "and", "or", "not", "eq", "ne", "lt", "le", "gt", "ge"}
xpp_names = st.from_regex(r"[A-Za-z][A-Za-z0-9_]{0,12}", fullmatch=True)
xpp_columns = xpp_names.filter(lambda name: name.lower() not in XPP_WORDS)
xpp_strings = st.one_of(
    st.text().map(lambda s: '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'),
    st.text().map(lambda s: "'" + s.replace("\\", "\\\\").replace("'", "\\'") + "'"),
)
xpp_literals = st.one_of(
    st.integers().map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    xpp_strings,
    st.sampled_from(["true", "False", "TRUE"]),
    st.tuples(xpp_names, space, xpp_names).map(lambda t: f"{t[0]}{t[1]}::{t[1]}{t[2]}"),
    st.dates().map(lambda d: f"{d.day}\\{d.month:02}\\{d.year:04}"),
)


@st.composite
def xpp_comparison(draw: st.DrawFn) -> Generated:
    column = draw(xpp_columns)
    if draw(st.booleans()):
        return f"({column} like {draw(xpp_strings)})", [column]
    op = draw(st.sampled_from(["==", "=", "!=", "<", "<=", ">", ">="]))
    return f"({draw(space)}{column}{draw(space)}{op}{draw(space)}{draw(xpp_literals)})", [column]


xpp_atoms = st.one_of(xpp_comparison(), xpp_columns.map(lambda name: (f"!{name}", [name])))


def xpp_combine(inner: st.SearchStrategy[Generated]) -> st.SearchStrategy[Generated]:
    def joined(op: str) -> st.SearchStrategy[Generated]:
        return st.tuples(inner, space, inner).map(
            lambda t: (f"({t[0][0]}{t[1]}{op}{t[1]}{t[2][0]})", t[0][1] + t[2][1])
        )

    negated = inner.map(lambda g: (f"!({g[0]})", g[1]))
    return st.one_of(joined("&&"), joined("||"), negated)


xpp_filters = st.recursive(xpp_atoms, xpp_combine, max_leaves=10)


@given(odata_filters, space)
def test_generated_odata_filters_parse(generated: Generated, padding: str) -> None:
    text, names = generated
    result = parsed(parse_odata, text)
    assert [field.name for field in result.fields] == [column_of(name) for name in names]
    assert_offsets(text, result)
    assert_fixed_point(parse_odata, result)
    padded = parsed(parse_odata, f"{padding}({padding}{text}{padding}){padding}")
    assert canonical(padded) == canonical(result)


@given(xpp_filters, space)
def test_generated_xpp_filters_parse(generated: Generated, padding: str) -> None:
    text, names = generated
    result = parsed(parse_xpp, text)
    assert [field.name for field in result.fields] == names
    assert_offsets(text, result)
    assert_fixed_point(parse_xpp, result)
    padded = parsed(parse_xpp, f"{padding}({padding}{text}{padding}){padding}")
    assert canonical(padded) == canonical(result)


def check_any_text(parse: Parse, text: str) -> None:
    result = parse(text)
    if isinstance(result, FilterError):
        assert 0 <= result.offset <= len(text)
        assert result.message
    else:
        assert_offsets(text, result)
        assert_fixed_point(parse, result)


SOUP = [
    "(", ")", ",", "'", '"', "/", "a", "Name", "_x_value", "eq", "ne", "and", "or", "not",
    "true", "null", "1", "-2.5", "'s'", "''", "contains", "like", "==", "=", "!", "!=", "&&",
    "||", "<=", "=>", "E::V", "::", "23\\06\\2021", "2021-06-23", GUID, " ", "\\", "\t", "#",
]  # fmt: skip
soup = st.lists(st.sampled_from(SOUP), max_size=25).map("".join)


@settings(max_examples=300)
@given(st.one_of(st.text(), soup))
def test_any_odata_text_gives_a_result(text: str) -> None:
    check_any_text(parse_odata, text)


@settings(max_examples=300)
@given(st.one_of(st.text(), soup))
def test_any_xpp_text_gives_a_result(text: str) -> None:
    check_any_text(parse_xpp, text)
