"""`solutions/<name>/solution.yaml`: a dwconf solution."""

from __future__ import annotations

from pydantic import Field

from dwconf.model.common import FourPartVersion, Strict


class Publisher(Strict):
    unique_name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    prefix: str = Field(pattern=r"^[a-z][a-z0-9]{1,7}$")
    option_value_prefix: int = Field(ge=10000, le=99999)
    display_name: str | None = None


class Solution(Strict):
    unique_name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    display_name: str | None = None
    description: str | None = None
    version: FourPartVersion
    publisher: Publisher
    requires: dict[str, str] = Field(default_factory=dict)
    depends_on: list[str] = Field(default_factory=list)

    @property
    def address(self) -> str:
        return f"solution.{self.unique_name}"
