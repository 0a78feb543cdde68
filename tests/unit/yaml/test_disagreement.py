"""Where the fast reader reads a file differently from the careful one, the careful reading is
the one reported: the file is read again the careful way and the command starts over, never an
internal error (exit 3). The fast reader agrees with the careful one on every file known (the
fuzz tests hunt for exceptions), so its bug is played here by a fast reader that misreads the
crafted file."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bench.generate import generate
from dwconf import planning
from dwconf.validate.engine import validate
from dwconf.yaml import fast
from tests.support import Result

CRAFTED = "map-1.yaml"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return generate(tmp_path / "repo", maps=3, fields=4, solutions=1)


def _crafted(repo: Path) -> Path:
    return repo / "solutions" / "bench-0" / "maps" / CRAFTED


def _misreading(monkeypatch: pytest.MonkeyPatch, marker: str, misread: dict[str, Any]) -> None:
    """The fast reader, but for the text holding `marker`, which it reads as `misread`."""
    real = fast.load

    def load(text: str) -> Any:
        return copy.deepcopy(misread) if marker in text else real(text)

    monkeypatch.setattr(fast, "load", load)


def _fields(direction: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = [
        {"finops": f"F{n}", "dataverse": f"bench_c{n}", "direction": "both"} for n in range(3)
    ]
    rows[1]["direction"] = direction
    kind = {"alpha": 1, "beta": 2, "gamma": 3}
    return [*rows, {"finops": "KIND", "dataverse": "bench_kind", "value_map": kind}]


def _map(direction: str) -> dict[str, Any]:
    return {
        "name": "Bench map 1",
        "version": "1.0.0.0",
        "finops_entity": "Bench entity 1",
        "dataverse_table": "bench_table1s",
        "integration_key": ["bench_c0"],
        "depends_on": ["Bench map 0"],
        "fields": _fields(direction),
    }


def test_a_value_the_fast_reader_misreads_is_read_again_carefully(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _misreading(monkeypatch, "Bench map 1\n", _map("sideways"))  # the file says `both`
    assert validate(repo).diagnostics == []
    assert planning.load_desired(repo, "dev").state.objects["map.bench-map-1"]


def test_a_problem_only_the_careful_reader_sees_is_reported_with_exit_1(
    repo: Path, monkeypatch: pytest.MonkeyPatch, dwconf: Callable[..., Result]
) -> None:
    crafted = _crafted(repo)
    text = crafted.read_text().replace(
        "{finops: F1, dataverse: bench_c1, direction: both}",
        "{finops: F1, dataverse: bench_c1, direction: both, direction: sideways}",
    )
    crafted.write_text(text)
    _misreading(monkeypatch, "direction: sideways", _map("sideways"))  # the last one wins
    done = dwconf("-C", str(repo), "validate")
    assert done.exit_code == 1, done.err
    assert "internal error" not in done.err
    problems = [line for line in done.out.splitlines() if " error DW" in line]
    assert problems == [
        f"solutions/bench-0/maps/{CRAFTED}:9:56: error DW1005 duplicate key 'direction' "
        "(first at line 9)"
    ]
