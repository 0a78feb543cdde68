"""An apply killed with SIGKILL (a real process, mid-steps), then the configuration changed: the
resume is refused (the plan no longer follows from the configuration), and the fresh apply its
refusal names runs at once instead of waiting out the dead apply's lock."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.integration.test_apply_races import ROOT, dwconf

MAP = "solutions/bench-0/maps/map-5.yaml"


def _done_steps(root: Path) -> int:
    found = list((root / ".dwconf/journal/dev").glob("*.jsonl"))
    lines = found[0].read_text().splitlines() if found else []
    return sum(json.loads(line)["event"] == "done" for line in lines[:-1])  # the last: torn?


def _killed_mid_apply(root: Path) -> None:
    apply = dwconf(root, "apply", "dev", "--auto-approve")
    deadline = time.monotonic() + 120
    while _done_steps(root) < 20 and apply.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    apply.send_signal(signal.SIGKILL)
    apply.communicate(timeout=30)
    assert apply.returncode == -signal.SIGKILL, "the apply ended before the kill"


def test_after_a_refused_resume_the_fresh_apply_it_names_runs(tmp_path: Path) -> None:
    root = tmp_path / "bench"
    size = ["--maps", "60", "--fields", "6", "--solutions", "2"]
    generate = [sys.executable, str(ROOT / "bench/generate.py"), str(root), *size]
    subprocess.run(generate, check=True, capture_output=True)
    _killed_mid_apply(root)
    path = root / MAP
    before = "{finops: F1, dataverse: bench_c1, direction: both}"
    assert before in path.read_text()
    path.write_text(path.read_text().replace(before, before.replace("both", "to_dataverse")))

    resume = dwconf(root, "apply", "dev", "--resume")
    out, err = resume.communicate(timeout=120)
    assert resume.returncode == 4, out + err
    assert "the configuration changed since the plan was made" in err
    assert "dwconf apply dev" in err

    fresh = dwconf(root, "apply", "dev", "--auto-approve", "--format", "json")
    out, err = fresh.communicate(timeout=120)
    assert fresh.returncode == 0, out + err
    assert json.loads(out)["ending"] == "applied"
    check = dwconf(root, "plan", "dev", "--detailed-exitcode")
    out, err = check.communicate(timeout=120)
    assert check.returncode == 0, out + err
