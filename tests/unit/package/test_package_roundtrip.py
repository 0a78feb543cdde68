"""Building a zip and reading it back is the identity; the bytes depend only on the input."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from dwconf.model import Solution, TableMap
from dwconf.package import build_zip, read_zip
from tests.unit.package.strategies import MAP_LISTS, solutions

SETTINGS = settings(max_examples=80, deadline=None)


@SETTINGS
@given(solutions(), MAP_LISTS, st.booleans())
def test_build_then_read_is_the_identity(
    solution: Solution, maps: list[TableMap], managed: bool
) -> None:
    content = read_zip(build_zip(solution, maps, managed=managed))
    assert content.solution == solution
    assert list(content.maps) == sorted(maps, key=lambda m: m.name)
    assert content.managed is managed
    assert content.notes == ()


@SETTINGS
@given(solutions(), MAP_LISTS)
def test_bytes_depend_only_on_the_input(solution: Solution, maps: list[TableMap]) -> None:
    data = build_zip(solution, maps)
    assert build_zip(solution, list(reversed(maps))) == data
    again = read_zip(data)
    assert build_zip(again.solution, list(again.maps)) == data
