"""Colour on a terminal: a plan is coloured for a person at a terminal, never under NO_COLOR and
never when its output is piped (the bytes are then exactly the text renderer's)."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

from tests.golden.scenarios import FILES, write

DWCONF = str(Path(sys.executable).with_name("dwconf"))
ESC = "\x1b["


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    return {**env, "TERM": "xterm-256color", "COLUMNS": "200", **extra}


def _on_a_terminal(args: list[str], env: dict[str, str]) -> str:
    """Run dwconf with its output on a pseudo-terminal; what it wrote there (bounded wait)."""
    leader, follower = pty.openpty()
    process = subprocess.Popen(args, stdout=follower, stderr=follower, env=env)
    os.close(follower)
    chunks: list[bytes] = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        ready, _, _ = select.select([leader], [], [], 1.0)
        if ready:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the terminal closed: the process is done
                break
            if not chunk:
                break
            chunks.append(chunk)
        elif process.poll() is not None:
            break
    os.close(leader)
    process.wait(timeout=30)
    return b"".join(chunks).decode()


def test_a_plan_is_coloured_on_a_terminal_only(tmp_path: Path) -> None:
    root = write(tmp_path / "repo", dict(FILES))
    args = [DWCONF, "-C", str(root), "plan", "dev"]
    coloured = _on_a_terminal(args, _env())
    assert ESC in coloured
    assert "\x1b[32m  + map.test-customers  (create, " in coloured
    assert "initial_sync\x1b[0m" in coloured
    assert ESC not in _on_a_terminal(args, _env(NO_COLOR="1"))
    piped = subprocess.run(args, capture_output=True, text=True, env=_env(), check=False)
    assert piped.returncode == 0, piped.stderr
    assert ESC not in piped.stdout and "(create, initial_sync)" in piped.stdout
