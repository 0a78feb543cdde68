"""Everything one running emulator shares: its configuration, environments, clock, token
service, fault rules, throttle and statistics (kept on `app.state.hub`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from dwconf.emulator.auth import Authority
from dwconf.emulator.config import EmulatorConfig
from dwconf.emulator.faults import Faults
from dwconf.emulator.registry import Clock, Registry
from dwconf.emulator.stats import Stats
from dwconf.emulator.throttle import Throttle


@dataclass
class Hub:
    config: EmulatorConfig
    folder: Path
    clock: Clock
    registry: Registry
    authority: Authority
    faults: Faults
    throttle: Throttle
    stats: Stats

    @classmethod
    def build(cls, config: EmulatorConfig, folder: Path) -> Hub:
        clock = Clock()
        registry = Registry(config, folder, clock)
        return cls(
            config=config,
            folder=folder,
            clock=clock,
            registry=registry,
            authority=Authority(config, registry, clock),
            faults=Faults(),
            throttle=Throttle(config.limits, clock),
            stats=Stats(),
        )

    def reset(self) -> None:
        """Back to the start: environments re-seeded, no faults, statistics, throttling or
        sign-ins."""
        self.registry.reset()
        self.authority.signins.clear()
        self.faults.clear()
        self.faults.fired = 0
        self.stats.reset()
        self.throttle.reset()
        self.clock.offset = 0.0
