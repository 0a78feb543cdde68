"""Applies that race, as real processes: two `apply --auto-approve` started close together on
a configuration big enough to take a while, and an apply waiting at its prompt while another
one completes. Exactly one does the work; nothing another apply did is reverted."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dwconf.live import Environment
from dwconf.providers import local
from tests.golden.scenarios import CUSTOMERS_FILE, ENV_FILE, FILES, commit, replace_in
from tests.golden.scenarios import write as write_files

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200"}


def dwconf(root: Path, *args: str, **options: object) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "dwconf", "-C", str(root), *args],
        env=ENV,
        text=True,
        stdout=options.get("stdout", subprocess.PIPE),  # type: ignore[arg-type]
        stderr=options.get("stderr", subprocess.PIPE),  # type: ignore[arg-type]
        stdin=options.get("stdin", subprocess.DEVNULL),  # type: ignore[arg-type]
    )


def records(root: Path) -> list[str]:
    with Environment.open(local.state_path(root, "dev")) as env:
        return [r.status for r in env.records()]


def journals_with_work(root: Path) -> int:
    count = 0
    for path in (root / ".dwconf/journal/dev").glob("*.jsonl"):
        events = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        count += any(e["event"] == "done" for e in events)
    return count


@pytest.mark.slow
def test_two_applies_started_together_do_the_work_once(tmp_path: Path) -> None:
    root = tmp_path / "bench"
    size = ["--maps", "120", "--fields", "8", "--solutions", "3"]
    generate = [sys.executable, str(ROOT / "bench/generate.py"), str(root), *size]
    subprocess.run(generate, check=True, capture_output=True)
    first = dwconf(root, "apply", "dev", "--auto-approve")
    time.sleep(0.4)
    second = dwconf(root, "apply", "dev", "--auto-approve")
    outs = [p.communicate(timeout=300) for p in (first, second)]
    codes = [first.returncode, second.returncode]
    worked = [i for i, (out, _) in enumerate(outs) if " done, " in out and "0 done," not in out]
    assert len(worked) == 1, (codes, outs)
    other = 1 - worked[0]
    assert codes[worked[0]] == 0, outs[worked[0]]
    other_out, other_err = outs[other]
    assert codes[other] == 5 or (
        codes[other] == 0 and "nothing" in other_out and "Apply: 0 done" not in other_out
    ), (codes, other_out, other_err)
    assert records(root) == ["succeeded"]
    assert journals_with_work(root) == 1


def _read_until(fd: int, text: str, process: subprocess.Popen[str], limit: float = 120) -> str:
    seen = b""
    deadline = time.monotonic() + limit
    while text.encode() not in seen:
        assert time.monotonic() < deadline, seen.decode(errors="replace")
        assert process.poll() is None, seen.decode(errors="replace")
        ready, _, _ = select.select([fd], [], [], 0.5)
        if ready:
            seen += os.read(fd, 65536)
    return seen.decode(errors="replace")


@pytest.mark.slow
def test_an_approval_given_after_another_apply_changed_the_environment_is_refused(
    tmp_path: Path,
) -> None:
    root = write_files(tmp_path / "repo", dict(FILES))
    commit(root, "base")
    first = dwconf(root, "apply", "dev", "--auto-approve")
    out, err = first.communicate(timeout=120)
    assert first.returncode == 0, out + err
    replace_in(CUSTOMERS_FILE, "direction: to_dataverse}", "direction: both}")(root)
    controller, terminal = pty.openpty()
    waiting = dwconf(root, "apply", "dev", stdin=terminal, stdout=terminal, stderr=terminal)
    os.close(terminal)
    try:
        shown = _read_until(controller, "Apply these changes to dev?", waiting)
        assert "map.test-customers" in shown
        # meanwhile, someone applies another change (and the first one too)
        replace_in(ENV_FILE, "[USMF, DEMF]", "[USMF, DEMF, FRRT]")(root)
        other = dwconf(root, "apply", "dev", "--auto-approve")
        out, err = other.communicate(timeout=120)
        assert other.returncode == 0, out + err
        os.write(controller, b"y\n")
        rest = _read_until(controller, "hint:", waiting)
        assert waiting.wait(timeout=60) == 4, rest
    finally:
        if waiting.poll() is None:
            waiting.kill()
        os.close(controller)
    assert "the environment changed since the plan was made" in rest
    assert "link.legal_entities" in rest
    with Environment.open(local.state_path(root, "dev")) as env:
        assert "FRRT" in env.read().legal_entities, "the other apply's change was reverted"
    assert records(root) == ["succeeded", "succeeded"]
