"""Ctrl-C exits 130, wherever it lands: at the approval prompt, while apply waits for the lock,
in the middle of the steps (real processes sent SIGINT), and while a command loads."""

from __future__ import annotations

import json
import os
import pty
import signal
import subprocess
import sys
import time
from pathlib import Path

import click
import pytest

from dwconf.cli import main as entry
from dwconf.live import Environment
from dwconf.providers import local
from tests.golden.scenarios import FILES, commit, write
from tests.integration.test_apply_races import ROOT, _read_until, dwconf, records


def _done_steps(root: Path) -> int:
    journals = (root / ".dwconf/journal/dev").glob("*.jsonl")
    return sum(line.count('"event": "done"') for path in journals for line in path.open())


def _not_locked(root: Path) -> bool:
    with Environment.open(local.state_path(root, "dev")) as env:
        return env.lock_status() is None


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = write(tmp_path / "repo", dict(FILES))
    commit(root, "base")
    return root


def test_ctrl_c_at_the_prompt_exits_130_and_changes_nothing(repo: Path) -> None:
    controller, terminal = pty.openpty()
    waiting = dwconf(repo, "apply", "dev", stdin=terminal, stdout=terminal, stderr=terminal)
    os.close(terminal)
    try:
        _read_until(controller, "Apply these changes to dev?", waiting)
        # As a person would, once the prompt waits for an answer: a signal that arrives
        # between the prompt being written and the read starting is seen by Python only
        # when the read returns (CPython's input()), which no person can aim for.
        time.sleep(0.5)
        waiting.send_signal(signal.SIGINT)
        rest = _read_until(controller, "interrupted", waiting, limit=60)
        assert waiting.wait(timeout=60) == 130, rest
    finally:
        if waiting.poll() is None:
            waiting.kill()
        os.close(controller)
    assert records(repo) == []
    assert _not_locked(repo)


def test_ctrl_c_while_waiting_for_the_lock_prints_the_json_document(repo: Path) -> None:
    with local.LocalProvider.open(repo, "dev") as provider:
        provider.acquire_lock("ana@ci", "apply", "p1", 600)
    args = ["apply", "dev", "--auto-approve", "--lock-timeout", "5m", "--format", "json"]
    waiting = dwconf(repo, *args)
    assert waiting.stderr is not None
    line = waiting.stderr.readline()
    assert "Waiting for the lock held by ana@ci" in line, line
    waiting.send_signal(signal.SIGINT)
    out, err = waiting.communicate(timeout=60)
    assert waiting.returncode == 130, out + err
    data = json.loads(out)
    assert (data["ending"], data["exit_code"], data["ok"]) == ("interrupted", 130, False)
    assert "interrupted" in err


@pytest.mark.slow
def test_ctrl_c_during_the_steps_lets_the_running_ones_end_and_says_how_to_resume(
    tmp_path: Path,
) -> None:
    """Before, the apply stopped with exit 130 and 'interrupted' only: no summary, nothing in
    its journal about the stop, and no word of --resume."""
    root = tmp_path / "bench"
    size = ["--maps", "60", "--fields", "6", "--solutions", "2"]
    generate = [sys.executable, str(ROOT / "bench/generate.py"), str(root), *size]
    subprocess.run(generate, check=True, capture_output=True)
    commit(root, "base")
    applying = dwconf(root, "apply", "dev", "--auto-approve")
    deadline = time.monotonic() + 120
    while _done_steps(root) < 5:
        assert applying.poll() is None and time.monotonic() < deadline, applying.communicate()
        time.sleep(0.02)
    applying.send_signal(signal.SIGINT)
    out, err = applying.communicate(timeout=120)
    assert applying.returncode == 130, out + err
    assert "Interrupted: no further step starts" in out
    assert "Stopped starting steps: the apply was interrupted (Ctrl-C)" in out
    assert "Continue with: dwconf apply dev --resume" in out
    journal = next((root / ".dwconf/journal/dev").glob("*.jsonl"))
    events = [json.loads(line) for line in journal.read_text().splitlines()]
    halted = [i for i, e in enumerate(events) if e["event"] == "halted"]
    assert len(halted) == 1 and "interrupted" in events[halted[0]]["reason"]
    assert not [e for e in events[halted[0] :] if e["event"] == "start"]
    assert _not_locked(root)
    resumed = dwconf(root, "apply", "dev", "--resume")
    out, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, out + err
    assert records(root)[-1] == "succeeded"


@pytest.mark.parametrize(
    ("raised", "code", "said"),
    [(KeyboardInterrupt, 130, "interrupted"), (click.exceptions.Abort, 1, "aborted")],
    ids=["ctrl-c", "end-of-input"],
)
def test_ctrl_c_while_a_command_loads_exits_130_and_end_of_input_1(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    raised: type[BaseException],
    code: int,
    said: str,
) -> None:
    """Outside a command's body click turns Ctrl-C into `Abort`, which exited 1 ('aborted')
    like the end of input (Ctrl-D) at a prompt, which stays exit 1."""

    def loading(self: object, ctx: object, name: str) -> None:
        raise raised

    monkeypatch.setattr(entry.LazyGroup, "get_command", loading)
    monkeypatch.setattr(sys, "argv", ["dwconf", "plan", "dev"])
    with pytest.raises(SystemExit) as stop:
        entry.main()
    assert stop.value.code == code
    # the same words as an interrupt inside a command's body ("error: interrupted")
    assert capsys.readouterr().err.strip() == f"error: {said}"
