"""`dwconf probe` through the entry point against the emulator: a table (or JSON) of every read,
exit 0 when all match, 1 on a mismatch (never a traceback); `--record` writes a redacted
recording; `dwconf emulator serve --replay` refuses a folder that isn't one."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from dwconf.emulator.serve import Running
from tests.providers.support import TestApi, provider_block
from tests.support import Result

Cli = Callable[..., Result]


@pytest.fixture
def repo(make_repo: Callable[..., Path], emulated: tuple[Running, TestApi]) -> Path:
    env = f"name: dev\nstage: dev\n{provider_block(emulated[0], 'dev')}"
    return make_repo({"environments/dev.yaml": env})


def test_probe_prints_a_table_and_exits_0(repo: Path, dwconf: Cli) -> None:
    result = dwconf("-C", str(repo), "probe", "dev")
    assert result.exit_code == 0, result.out + result.err
    lines = result.out.splitlines()
    assert lines[0].split() == ["surface", "call", "status", "finding"]
    assert any(line.startswith("gateway    GET Entities") and " ok " in line for line in lines)
    assert "dev: every answer has the shape dwconf expects" in result.out


def test_a_mismatch_exits_1_without_a_traceback(
    repo: Path, dwconf: Cli, emulated: tuple[Running, TestApi]
) -> None:
    _, api = emulated
    api.faults({"match": {"path": "/Entities"}, "body": [{"detail": {"templates": "many"}}]})
    result = dwconf("-C", str(repo), "probe", "dev", "--format", "json")
    assert result.exit_code == 1, result.out + result.err
    document = json.loads(result.out)
    assert document["ok"] is False
    (bad,) = [c for c in document["checks"] if c["status"] != "ok" and c["status"] != "skipped"]
    assert bad["call"] == "GET Entities" and bad["status"] == "mismatch"
    assert bad["finding"].startswith("[0].detail.templates: expected a valid list")
    assert "Traceback" not in result.out + result.err


def test_plan_reports_an_unexpected_shape_without_a_traceback(
    repo: Path, dwconf: Cli, emulated: tuple[Running, TestApi]
) -> None:
    _, api = emulated
    link = {"dualWriteDetail": {"alertSettings": [{"name": "x", "threshold": 10}]}}
    api.faults({"match": {"path": "/api/ConnectionSet/"}, "body": link, "times": None})
    result = dwconf("-C", str(repo), "plan", "dev")
    assert result.exit_code == 1, result.out + result.err
    assert (
        "unexpected answer to 'read the link': field 'dualWriteDetail.alertSettings[0].threshold'"
        in result.err
    )
    assert "got 10" in result.err and "dwconf probe ENV" in result.err
    assert "Traceback" not in result.out + result.err and "internal error" not in result.err


def test_record_writes_a_redacted_recording(repo: Path, dwconf: Cli, tmp_path: Path) -> None:
    folder = tmp_path / "recorded"
    result = dwconf("-C", str(repo), "probe", "dev", "--record", str(folder))
    assert result.exit_code == 0, result.out + result.err
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["environment"] == "dev" and manifest["calls"]
    assert all((folder / c["file"]).is_file() for c in manifest["calls"])
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    refused = dwconf("-C", str(repo), "probe", "dev", "--record", str(tmp_path / "other"))
    assert refused.exit_code == 1 and "holds no recording" in refused.err


def test_a_local_environment_has_nothing_to_probe(
    make_repo: Callable[..., Path], dwconf: Cli
) -> None:
    repo = make_repo({})
    result = dwconf("-C", str(repo), "probe", "dev")
    assert result.exit_code == 1 and "uses the embedded provider" in result.err


def test_replay_refuses_a_folder_that_is_not_a_recording(dwconf: Cli, tmp_path: Path) -> None:
    result = dwconf("emulator", "serve", "--replay", str(tmp_path))
    assert result.exit_code == 1
    assert "can't read" in result.err and "manifest.json" in result.err
