"""`solutions/<solution>/maps/<slug>.yaml`: one table map."""

from __future__ import annotations

import difflib
import enum
from typing import Annotated, Any

from pydantic import BeforeValidator, Field
from pydantic_core import PydanticCustomError

from dwconf.model.common import FourPartVersion, Scalar, Strict, slug


class Direction(enum.Enum):
    """A field's direction. What each direction writes is set on the member itself, and members
    hash by identity: the map rules ask both for each of a hundred thousand fields, and an
    enum's properties and its own hash are Python calls."""

    BOTH = "both"
    TO_DATAVERSE = "to_dataverse"
    TO_FINOPS = "to_finops"

    symbol: str
    writes_dataverse: bool
    writes_finops: bool
    __hash__ = object.__hash__  # members are singletons compared by identity

    def __init__(self, value: str) -> None:
        self.symbol = {"both": "=", "to_dataverse": ">", "to_finops": "<"}[value]
        self.writes_dataverse = value != "to_finops"
        self.writes_finops = value != "to_dataverse"


_DIRECTION_ALIASES = {"=": "both", ">": "to_dataverse", "<": "to_finops"}


_DIRECTIONS = ("both", "to_dataverse", "to_finops")
_FORMS = "both (or '='), to_dataverse (or '>'), to_finops (or '<')"


def _direction_alias(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    found = _DIRECTION_ALIASES.get(value, value)
    if found in _DIRECTIONS:
        return found
    raise PydanticCustomError(
        "direction",
        "{value} is not a direction: use " + _FORMS,
        {"value": repr(value), "hint": _direction_hint(value)},
    )


def _direction_hint(value: str) -> str:
    """What was probably meant, and why a bare `>` comes out empty."""
    if not value.strip():
        return (
            "a bare > or | starts a YAML block scalar, which leaves the value empty: "
            "quote the symbol (direction: '>') or write the word (direction: to_dataverse)"
        )
    symbol = value.strip()[0]
    if symbol in _DIRECTION_ALIASES:
        meant = _DIRECTION_ALIASES[symbol]
        return f"did you mean '{symbol}' ({meant})? write symbols quoted: direction: '{symbol}'"
    close = difflib.get_close_matches(value.strip().lower(), _DIRECTIONS, n=1, cutoff=0.5)
    if close:
        return f"did you mean '{close[0]}'?"
    return f"write one of {_FORMS}; quote the symbols: direction: '>'"


class Master(enum.Enum):
    DATAVERSE = "dataverse"
    FINOPS = "finops"


class FieldMapping(Strict):
    finops: str | None = Field(default=None, min_length=1)
    dataverse: str | None = Field(default=None, min_length=1)
    direction: Annotated[Direction, BeforeValidator(_direction_alias)] = Direction.BOTH
    default: Scalar = None
    value_map: dict[str, Scalar] | None = None


class Filters(Strict):
    finops: str | None = None
    dataverse: str | None = None


class InitialSync(Strict):
    master: Master = Master.DATAVERSE


class TableMap(Strict):
    name: str = Field(min_length=1)
    version: FourPartVersion
    finops_entity: str = Field(min_length=1)
    dataverse_table: str = Field(min_length=1)
    description: str | None = None
    depends_on: list[str] = Field(default_factory=list)
    integration_key: list[str] = Field(default_factory=list)
    filters: Filters = Field(default_factory=Filters)
    initial_sync: InitialSync = Field(default_factory=InitialSync)
    fields: list[FieldMapping] = Field(min_length=1)

    @property
    def slug(self) -> str:
        return slug(self.name)

    @property
    def address(self) -> str:
        return f"map.{self.slug}"
