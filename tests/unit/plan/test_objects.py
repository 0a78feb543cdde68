"""The typed objects: every kind the pipeline builds is one of `dwconf.objects.Object`, with the
keys its type names, and every part that dispatches on the kind handles each of them."""

from __future__ import annotations

from pathlib import Path
from typing import Any, get_args

import pytest

from dwconf import planning
from dwconf.objects import KINDS, Object, kind_of, object_of, objects_of
from dwconf.plan import effects
from dwconf.plan.actions import Category
from dwconf.plan.diff import COMPARED, compared
from tests.support import OBJECT_TYPES, assert_fits

ROOT = Path(__file__).resolve().parents[3]  # the example configuration of the repository


def test_each_kind_has_exactly_one_type() -> None:
    assert sorted(OBJECT_TYPES) == sorted(KINDS)
    assert len(get_args(Object)) == len(KINDS)


def test_the_desired_state_holds_every_kind_each_as_its_type_says() -> None:
    objects = planning.load_desired(ROOT, "dev").state.objects
    assert {o["kind"] for o in objects.values()} == set(KINDS)
    for obj in objects.values():
        assert_fits(obj)
        assert_fits(compared(obj))


def test_every_kind_is_compared() -> None:
    assert sorted(COMPARED) == sorted(KINDS)


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_can_be_deleted(kind: str) -> None:
    obj: Any = {"kind": kind, "state": "running", "definition": {"name": "Customers"}}
    effect = effects.deleted(obj, f"{kind}.x")
    assert effect.category in (Category.METADATA, Category.DESTRUCTIVE)


def test_an_object_read_from_a_file_must_have_a_known_kind() -> None:
    link = {"kind": "link", "legal_entities": ["USMF"]}
    assert objects_of({"link.legal_entities": link}) == {"link.legal_entities": link}
    assert kind_of("alert") == "alert"
    with pytest.raises(TypeError, match=r"desired\['x'\] is not an object with a known kind"):
        objects_of({"x": {"kind": "table"}}, "desired")
    with pytest.raises(TypeError, match="is not an object"):
        object_of(["link"], "after")
    with pytest.raises(TypeError, match="'table' is not a kind"):
        kind_of("table")
