"""Every pipeline job of both CI systems plans an environment once: what reviewers read (the
summary, the comment) is the saved plan that apply runs, never a second plan made a moment
later that could differ from it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
PIPELINES = sorted([*ROOT.glob("azure-pipelines/*.yml"), *ROOT.glob(".github/workflows/*.yml")])
# `dwconf plan` run as a command (not named inside a message)
PLAN = re.compile(r"(?:^|[;&|]\s*|\$\(\s*)dwconf plan\b")


def jobs(node: Any) -> Iterator[list[Any]]:
    """The step lists of every job (a deployment's steps are nested under its strategy)."""
    if isinstance(node, dict):
        if isinstance(node.get("steps"), list):
            yield node["steps"]
        for child in node.values():
            yield from jobs(child)
    elif isinstance(node, list):
        for child in node:
            yield from jobs(child)


def commands(steps: list[Any]) -> list[str]:
    scripts = [s.get("bash") or s.get("run") for s in steps if isinstance(s, dict)]
    lines = [line.strip() for script in scripts if script for line in script.splitlines()]
    return [line for line in lines if not line.startswith("#")]


@pytest.mark.parametrize("path", PIPELINES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_a_job_plans_once_and_shows_what_it_saved(path: Path) -> None:
    for steps in jobs(yaml.safe_load(path.read_text(encoding="utf-8"))):
        lines = commands(steps)
        plans = [line for line in lines if PLAN.search(line)]
        assert len(plans) <= 1, f"{path.name}: a job plans more than once: {plans}"
        if plans and "--out" in plans[0] and "--format markdown" not in plans[0]:
            shown = [line for line in lines if "dwconf show" in line]
            assert shown and all("--format markdown" in line for line in shown), (
                f"{path.name}: the markdown is not rendered from the saved plan"
            )
