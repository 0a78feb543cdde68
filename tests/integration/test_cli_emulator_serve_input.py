"""`dwconf emulator serve` given input that can't work as typed: a port another process holds,
an `--env` with no `--env-file`."""

from __future__ import annotations

import os
import queue
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from tests.support import Result


def test_a_port_in_use_says_how_to_get_another(dwconf: Callable[..., Result]) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as held:
        held.bind(("127.0.0.1", 0))
        held.listen(1)
        port = held.getsockname()[1]
        result = dwconf("emulator", "serve", "--port", str(port))
    assert result.exit_code == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.err
    assert "--port 0" in result.err  # the fix, not only the problem


def _environments_line(process: subprocess.Popen[str]) -> str:
    """The server's `environments:` line, waiting at most 30 s in all: the lines are read by a
    thread of their own, so a server that prints nothing can't hang the test."""
    assert process.stdout is not None
    lines: queue.Queue[str] = queue.Queue()
    stdout = process.stdout

    def read() -> None:
        for line in stdout:
            lines.put(line)

    threading.Thread(target=read, daemon=True).start()
    deadline = time.monotonic() + 30
    while (left := deadline - time.monotonic()) > 0:
        try:
            line = lines.get(timeout=left)
        except queue.Empty:
            return ""
        if line.startswith("environments: "):
            return line.strip()
    return ""


def test_env_without_an_env_file_serves_that_environment(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "dwconf", "emulator", "serve", "--env", "emu",
               "--data", str(tmp_path / "data")]  # fmt: skip
    env = {**os.environ, "NO_COLOR": "1"}
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    try:
        line = _environments_line(process)
    finally:
        process.terminate()
        process.communicate(timeout=20)
    assert line == "environments: dev, emu"
