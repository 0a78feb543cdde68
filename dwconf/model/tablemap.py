"""`solutions/<solution>/maps/<slug>.yaml`: one table map."""

from __future__ import annotations

import enum
from typing import Annotated, Any

from pydantic import BeforeValidator, Field

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


def _direction_alias(value: Any) -> Any:
    return _DIRECTION_ALIASES.get(value, value) if isinstance(value, str) else value


class Master(enum.Enum):
    DATAVERSE = "dataverse"
    FINOPS = "finops"


class FieldMapping(Strict):
    finops: str | None = Field(default=None, min_length=1)
    dataverse: str | None = Field(default=None, min_length=1)
    direction: Annotated[Direction, BeforeValidator(_direction_alias)] = Direction.BOTH
    default: Scalar = None
    value_map: dict[str, Scalar] | None = None

    @property
    def finops_key(self) -> str | None:
        return self.finops.upper() if self.finops else None


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
