"""Fixtures: a local environment with a controllable clock, and the doctor's context over it."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest

from dwconf.doctor import Context, Limits, Requirement, recorded_states
from dwconf.live import Environment
from dwconf.model import Environment as EnvironmentModel
from tests.unit.doctor.scenario import CONFIG, Clock, MakeContext, deploy


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def env(clock: Clock) -> Iterator[Environment]:
    counter = itertools.count(1)
    with Environment.memory(now=clock, new_id=lambda: f"id-{next(counter)}") as environment:
        yield environment


@pytest.fixture
def deployed(env: Environment) -> Environment:
    deploy(env)
    return env


@pytest.fixture
def context(clock: Clock) -> MakeContext:
    """The doctor's context over an environment, read now."""

    def make(
        environment: Environment,
        *,
        requirements: tuple[Requirement, ...] = (),
        limits: Limits | None = None,
        config: EnvironmentModel = CONFIG,
    ) -> Context:
        state = environment.read()
        return Context(
            environment=config,
            state=state,
            now=clock.now,
            requirements=requirements,
            limits=limits or Limits(),
            recorded=recorded_states(state, environment),
        )

    return make
