"""`dwconf env list`: the environments in stage order, as JSON for CI matrices."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from tests.support import Result


def test_env_list_json_is_in_stage_order_not_name_order(
    dwconf: Callable[..., Result], make_repo: Callable[..., Path]
) -> None:
    repo = make_repo(
        {
            "environments/prod.yaml": "name: prod\nstage: prod\n",
            "environments/test.yaml": "name: test\nstage: test\nprovider: {type: local}\n",
            "environments/alpha.yaml": "name: alpha\nstage: prod\n",
        }
    )
    result = dwconf("-C", str(repo), "env", "list", "--format", "json")
    assert result.exit_code == 0, result.err
    data = json.loads(result.out)
    assert data["format_version"] == "1.0"
    assert [e["name"] for e in data["environments"]] == ["dev", "test", "alpha", "prod"]
    assert data["environments"][1] == {"name": "test", "stage": "test", "provider": "local"}
    text = dwconf("-C", str(repo), "env", "list")
    assert [line.split()[0] for line in text.out.splitlines()] == ["dev", "test", "alpha", "prod"]


def test_env_list_outside_a_configuration_fails_instead_of_listing_nothing(
    dwconf: Callable[..., Result], tmp_path: Path
) -> None:
    result = dwconf("-C", str(tmp_path), "env", "list", "--format", "json")
    assert result.exit_code == 1 and result.out == ""
    assert (
        f"not a dwconf configuration (no dwconf.yaml, environments/ or solutions/ found in {tmp_path})"
        in result.err
    )
