"""`dwconf.yaml`: project settings."""

from __future__ import annotations

from pydantic import Field

from dwconf.model.common import Strict


class Settings(Strict):
    project: str = "dwconf"
    stages: list[str] = Field(default_factory=lambda: ["dev", "test", "prod"], min_length=1)

    def stage_rank(self, stage: str) -> int:
        """The position of `stage` in the promotion order; a stage not listed comes last."""
        return self.stages.index(stage) if stage in self.stages else len(self.stages)
