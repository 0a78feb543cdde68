"""Chaos against the local provider: every run ends converged, or failed with a resumable
journal and an accurate summary; no operation runs again for a step journaled done.

The default run is short (CI); `DWCONF_CHAOS_RUNS=N` runs N seeds of each kind.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
from pathlib import Path

import pytest

from tests.chaos.harness import Stats, chaos_run, duplicated, kill_point, killed_by_us, make_config

pytestmark = pytest.mark.chaos

RUNS = int(os.environ.get("DWCONF_CHAOS_RUNS", "1"))
TOTAL_STEPS = 140  # about the steps of a first apply of 40 maps: where to kill


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_config(tmp_path_factory.mktemp("chaos") / "config")


def fresh(template: Path, where: Path) -> Path:
    return Path(shutil.copytree(template, where / "config"))


def report(stats: Stats) -> None:
    print("\n" + stats.line())
    assert not stats.problems, "\n".join(stats.problems[:10])
    assert stats.converged == stats.runs


@pytest.mark.parametrize("seed", range(1, RUNS + 1))
def test_faults_converge(template: Path, tmp_path: Path, seed: int) -> None:
    stats = Stats()
    chaos_run(fresh(template, tmp_path), seed, rate=0.1, kill=False, stats=stats, total_steps=0)
    report(stats)
    assert stats.faults > 0


@pytest.mark.parametrize("seed", range(101, 101 + RUNS))
def test_kills_converge(template: Path, tmp_path: Path, seed: int) -> None:
    stats = Stats()
    chaos_run(
        fresh(template, tmp_path), seed, rate=0.0, kill=True, stats=stats, total_steps=TOTAL_STEPS
    )
    report(stats)
    assert stats.kills >= stats.runs  # a kill landed in every run


@pytest.mark.parametrize("seed", range(201, 201 + RUNS))
def test_faults_and_kills_converge(template: Path, tmp_path: Path, seed: int) -> None:
    stats = Stats()
    chaos_run(
        fresh(template, tmp_path), seed, rate=0.1, kill=True, stats=stats, total_steps=TOTAL_STEPS
    )
    report(stats)
    assert stats.kills >= stats.runs  # a kill landed in every run
    assert stats.faults > 0


def test_the_duplicate_check_sees_a_repeated_step(tmp_path: Path) -> None:
    """The check itself: a call logged for a step after its `done` is reported."""
    journal = tmp_path / "config" / ".dwconf" / "journal" / "dev" / "20260101T000000-p.jsonl"
    journal.parent.mkdir(parents=True)
    done = {"event": "done", "step": "start_map:map.a", "time": "2026-01-01T00:00:01+00:00"}
    journal.write_text(json.dumps(done) + "\n")
    call = {"journal": journal.name, "step": "start_map:map.a", "method": "start_map"}
    log = tmp_path / "calls.jsonl"
    lines = [
        {**call, "time": "2026-01-01T00:00:00+00:00"},
        {**call, "time": "2026-01-01T00:00:02+00:00"},
    ]
    log.write_text("".join(json.dumps(line) + "\n" for line in lines))
    assert len(duplicated(tmp_path / "config", log)) == 1


def test_a_kill_lands_only_when_the_process_ends_by_it() -> None:
    assert killed_by_us(True, -signal.SIGKILL)
    assert not killed_by_us(True, 0)  # it ended on its own before the signal came
    assert not killed_by_us(False, -signal.SIGKILL)  # not ours (a timeout's kill)


def test_until_a_kill_lands_every_process_is_killed_early() -> None:
    rng = random.Random(5)
    early = [kill_point(rng, True, False, 140) for _ in range(200)]
    assert all(at is not None and 1 <= at <= 70 for at in early)
    later = [kill_point(rng, True, True, 140) for _ in range(200)]
    assert None in later and max(at for at in later if at is not None) > 70
    assert kill_point(rng, False, False, 140) is None
