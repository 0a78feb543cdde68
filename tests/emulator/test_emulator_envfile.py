"""`dwconf emulator serve --env-file`: the command and the environment file of docs/emulator.md,
run as printed (only the port is a free one): the emulator writes exactly that file, prints
the `export` lines of the credentials it accepts, and `dwconf plan dev` works at once — also
after a restart on the same data folder, which keeps the credentials and the CA."""

from __future__ import annotations

import os
import re
import shlex
import signal
import socket
import subprocess
import sys
from pathlib import Path

from dwconf.emulator.envfile import CREDENTIAL_VARIABLES

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "emulator.md"
DOC_PORT = "8765"


def _block(marker: str) -> str:
    """The fenced block right after an HTML comment marker in docs/emulator.md."""
    text = DOC.read_text(encoding="utf-8")
    found = re.search(re.escape(marker) + r"\n```[a-z]*\n(.*?)```", text, re.S)
    assert found, f"{marker} not found in {DOC}"
    return found.group(1)


def _free_port() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return str(probe.getsockname()[1])


def _environ() -> dict[str, str]:
    kept = {k: v for k, v in os.environ.items() if k not in CREDENTIAL_VARIABLES}
    return {**kept, "NO_COLOR": "1", "PYTHONPATH": str(REPO)}


def _serve(
    repo: Path, command: list[str], environ: dict[str, str] | None = None
) -> tuple[subprocess.Popen[str], list[str]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "dwconf", *command],
        cwd=repo,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**_environ(), **(environ or {})},
    )
    assert process.stdout is not None
    lines: list[str] = []
    for _ in range(40):  # the start-up lines end with test_api
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line.rstrip("\n"))
        if line.startswith("test_api:"):
            break
    return process, lines


def _stop(process: subprocess.Popen[str]) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.communicate(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()


def _plan(repo: Path, exports: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dwconf", "plan", "dev", "--detailed-exitcode"],
        cwd=repo,
        capture_output=True,
        text=True,
        env={**_environ(), **exports},
        timeout=120,
        check=False,
    )


def _exports(lines: list[str]) -> dict[str, str]:
    found = [shlex.split(line)[1] for line in lines if line.startswith("export ")]
    return dict(item.split("=", 1) for item in found)


def test_the_documented_env_file_works_as_printed(tmp_path: Path) -> None:
    port = _free_port()
    command = shlex.split(_block("<!-- emulator-serve-command -->").replace(DOC_PORT, port))
    assert command[:3] == ["dwconf", "emulator", "serve"]
    expected = _block("<!-- emulator-env-file -->").replace(DOC_PORT, port)
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "dwconf.yaml").write_text("project: emulated\n", encoding="utf-8")

    process, lines = _serve(repo, command[1:])
    try:
        assert lines and lines[-1].startswith("test_api:"), lines
        written = (repo / "environments" / "dev.yaml").read_text(encoding="utf-8")
        assert written == expected
        # a new file runs no solution yet: it says how to name one, or `plan` shows nothing
        assert "\n# solutions:\n#   " in written
        exports = _exports(lines)
        assert set(exports) == set(CREDENTIAL_VARIABLES)
        planned = _plan(repo, exports)
        assert planned.returncode == 0, planned.stdout + planned.stderr
        assert "No changes." in planned.stdout
    finally:
        _stop(process)
    kept = repo / ".dwconf" / "emulator" / "emulator-credentials.json"
    assert kept.stat().st_mode & 0o777 == 0o600

    process, again = _serve(repo, command[1:])  # a restart on the same --data
    try:
        assert _exports(again) == exports
        assert (repo / "environments" / "dev.yaml").read_text(encoding="utf-8") == expected
        replanned = _plan(repo, exports)
        assert replanned.returncode == 0, replanned.stdout + replanned.stderr
    finally:
        _stop(process)


def test_an_existing_environment_file_keeps_all_but_its_provider(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / "environments").mkdir(parents=True)
    (repo / "dwconf.yaml").write_text("project: emulated\n", encoding="utf-8")
    mine = repo / "environments" / "dev.yaml"
    mine.write_text(
        "# our dev environment\nname: dev\nstage: dev\nprovider:\n  type: local\n"
        "link:\n  legal_entities: [USMF]  # the first company\n",
        encoding="utf-8",
    )
    exports = {name: f"chosen-{name.lower()}-value" for name in CREDENTIAL_VARIABLES}
    process, lines = _serve(repo, ["emulator", "serve", "--env-file", str(mine)], exports)
    try:
        assert lines and lines[-1].startswith("test_api:"), lines
        assert not [line for line in lines if line.startswith("export ")]  # set by the user
        written = mine.read_text(encoding="utf-8")
        assert written.startswith("# our dev environment\nname: dev\nstage: dev\nprovider:\n")
        assert "legal_entities: [USMF]  # the first company" in written
        assert "type: dynamics" in written and "type: local" not in written
        planned = _plan(repo, exports)
        assert planned.returncode == 2, planned.stdout + planned.stderr  # USMF to link
    finally:
        _stop(process)
