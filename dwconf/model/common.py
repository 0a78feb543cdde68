"""Pieces the configuration models share."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic_core import PydanticCustomError

FOUR_PART = re.compile(r"^\d+\.\d+\.\d+\.\d+$")

# Neither side of dual-write stores NaN or infinity, and JSON cannot carry them.
Scalar = str | int | Annotated[float, Field(allow_inf_nan=False)] | bool | None


class Strict(BaseModel):
    """Base of every model: frozen, unknown keys refused."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=False)


def _four_part(value: str) -> str:
    if not FOUR_PART.match(value):
        raise PydanticCustomError(
            "four_part_version",
            "{value} is not a four-part version such as 1.0.0.0",
            {"value": repr(value), "hint": _four_part_hint(value)},
        )
    return value


def _four_part_hint(value: str) -> str:
    """The version meant, when it only lacks parts (1.2 -> 1.2.0.0)."""
    parts = value.strip().split(".")
    if len(parts) < 4 and all(p.isdigit() for p in parts):
        return f"did you mean '{'.'.join([*parts, *['0'] * (4 - len(parts))])}'?"
    return "write major.minor.build.revision, four whole numbers"


FourPartVersion = Annotated[str, AfterValidator(_four_part)]


def slug(name: str) -> str:
    """The address slug of a name: lowercase, runs of non-alphanumerics become one '-'."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
