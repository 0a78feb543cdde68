"""`dwconf.yaml`: project settings."""

from __future__ import annotations

from pydantic import Field

from dwconf.model.common import Strict


class Settings(Strict):
    project: str = "dwconf"
    stages: list[str] = Field(default_factory=lambda: ["dev", "test", "prod"], min_length=1)
