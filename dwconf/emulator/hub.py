"""Everything one running emulator shares: its configuration, environments, clock, token
service, fault rules, throttle and statistics (kept on `app.state.hub`)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from dwconf.emulator.config import EmulatorConfig, EnvConfig
from dwconf.emulator.entra.authority import Authority
from dwconf.emulator.faults import Faults
from dwconf.emulator.registry import Clock, Registry
from dwconf.emulator.stats import Stats
from dwconf.emulator.throttle import Throttle
from dwconf.recording import Recording, read


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
    replay: Recording | None = None

    @classmethod
    def build(cls, config: EmulatorConfig, folder: Path) -> Hub:
        """Everything for `config`; with `config.replay`, one environment: the recorded one,
        answered from its recording."""
        recording = read(config.replay) if config.replay else None
        if recording is not None:
            served = EnvConfig(recording.environment, finops_host=recording.finops_host)
            config = replace(config, environments=(served,))
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
            replay=recording,
        )

    def reset(self) -> None:
        """Back to the start: environments re-seeded, no faults, statistics, throttling or
        sign-ins."""
        self.registry.reset()
        self.authority.signins.clear()
        self.authority.authcodes.clear()
        self.faults.clear()
        self.faults.fired = 0
        self.stats.reset()
        self.throttle.reset()
        self.clock.offset = 0.0
        self.clock.hold(False)
