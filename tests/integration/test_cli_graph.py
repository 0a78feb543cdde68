"""`dwconf graph` through the entry point."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.golden.scenarios import CURRENCIES, CUSTOMERS, SCHEMA
from tests.support import Result


@pytest.fixture
def repo(make_repo: Callable[..., Path]) -> Path:
    return make_repo(
        {
            "solutions/base/schema/test.yaml": SCHEMA,
            "solutions/base/maps/customers.yaml": CUSTOMERS,
            "solutions/base/maps/currencies.yaml": CURRENCIES,
        }
    )


def test_graph_prints_mermaid_and_dot(dwconf: Callable[..., Result], repo: Path) -> None:
    drawn = dwconf("-C", str(repo), "graph")
    assert drawn.exit_code == 0, drawn.err
    assert drawn.out.splitlines()[0] == "flowchart LR"
    assert '["Test currencies"]' in drawn.out and " --> " in drawn.out
    dotted = dwconf("-C", str(repo), "graph", "dev", "--format", "dot")
    assert dotted.out.startswith('digraph "dev" {') and " -> " in dotted.out


def test_graph_of_a_saved_plan_numbers_steps_and_colours_them(
    dwconf: Callable[..., Result], repo: Path, tmp_path: Path
) -> None:
    plan = tmp_path / "dev.dwplan"
    assert dwconf("-C", str(repo), "plan", "dev", "--out", str(plan)).exit_code == 0
    drawn = dwconf("-C", str(repo), "graph", "--plan", str(plan))
    assert drawn.exit_code == 0
    assert '["1. ' in drawn.out
    assert "classDef initial_sync" in drawn.out


def test_graph_svg_is_drawn_by_graphviz(
    dwconf: Callable[..., Result], repo: Path, tmp_path: Path
) -> None:
    if shutil.which("dot") is None:  # .ci/run installs Graphviz: CI must have it
        if os.environ.get("CI") == "true":
            pytest.fail("Graphviz's dot is not installed in CI")
        pytest.skip("SKIPPED LOUDLY: Graphviz's dot is not installed (apt-get install graphviz)")
    out = tmp_path / "maps.svg"
    assert dwconf("-C", str(repo), "graph", "--format", "svg", "--out", str(out)).exit_code == 0
    assert "<svg" in out.read_text() and "Test customers" in out.read_text()


def test_maps_started_without_initial_sync_are_drawn_in_plan_markdown_and_graph(
    dwconf: Callable[..., Result], make_repo: Callable[..., Path], tmp_path: Path
) -> None:
    repo = make_repo(
        {
            "solutions/base/schema/test.yaml": SCHEMA,
            "solutions/base/maps/customers.yaml": CUSTOMERS,
            "solutions/base/maps/currencies.yaml": CURRENCIES,
            "environments/dev.yaml": (
                "name: dev\nstage: dev\nlink:\n  legal_entities: [USMF]\n"
                "solutions:\n  base: workspace\nmaps:\n  initial_sync: skip\n"
            ),
        }
    )
    markdown = dwconf("-C", str(repo), "plan", "dev", "--format", "markdown")
    assert markdown.exit_code == 0, markdown.err
    assert "```mermaid" in markdown.out and "classDef start " in markdown.out
    plan = tmp_path / "dev.dwplan"
    assert dwconf("-C", str(repo), "plan", "dev", "--out", str(plan)).exit_code == 0
    drawn = dwconf("-C", str(repo), "graph", "--plan", str(plan), "--format", "dot")
    assert drawn.exit_code == 0, drawn.err


def test_graph_of_a_saved_plan_for_another_environment_is_refused(
    dwconf: Callable[..., Result], repo: Path, tmp_path: Path
) -> None:
    plan = tmp_path / "dev.dwplan"
    assert dwconf("-C", str(repo), "plan", "dev", "--out", str(plan)).exit_code == 0
    drawn = dwconf("-C", str(repo), "graph", "prod", "--plan", str(plan))
    assert drawn.exit_code == 1 and drawn.out == ""
    assert f"{plan} is a plan for dev, not prod" in drawn.err
    assert dwconf("-C", str(repo), "graph", "dev", "--plan", str(plan)).exit_code == 0


def test_the_example_graph_and_site_leave_implied_arrows_out_and_say_so(
    dwconf: Callable[..., Result], tmp_path: Path
) -> None:
    from dwconf import planning
    from dwconf.graph import model

    root = Path(__file__).resolve().parents[2]
    every = model.map_edges(planning.load_desired(root, "dev").state.objects)
    drawn = dwconf("-C", str(root), "graph", "dev")
    assert drawn.exit_code == 0, drawn.err
    arrows = drawn.out.count(" --> ") + drawn.out.count(" -.->|lookup| ")
    said = re.search(r"^(\d+) implied arrow\(s\) left out", drawn.err, re.M)
    assert said, drawn.err
    implied = int(said.group(1))
    assert implied > 0 and arrows + implied == len(every)
    built = dwconf("-C", str(root), "docs", "--offline", "--out", str(tmp_path / "site"))
    assert built.exit_code == 0, built.err
    index = (tmp_path / "site/index.html").read_text()
    assert "Implied arrows are left out" in index and f"({implied} left out here)" in index
