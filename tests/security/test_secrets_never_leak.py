"""No command ever shows a secret: every CLI command runs with a recognisable fake client secret
and a JWT-shaped token in the environment, and its output, its log records, plan files,
journals, deployment records and crash logs are scanned for them."""

from __future__ import annotations

import logging
import re
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support import Result

SECRET = "sEcReT-canary-7f3a9c21d4"
TOKEN = (
    "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9"
    ".eyJhdWQiOiJjYW5hcnkiLCJzdWIiOiJjYW5hcnktc3ViamVjdCJ9"
    ".Q2FOYVJ5LXNpZ25hdHVyZS1ub3QtcmVhbC0xMjM0NTY3ODkw"
)
CANARIES = (SECRET, TOKEN, TOKEN.split(".")[2])
MAP = """\
name: Canary map
version: 1.0.0.0
finops_entity: Customers V3
dataverse_table: accounts
integration_key: [accountnumber]
fields:
  - {finops: CUSTOMERACCOUNT, dataverse: accountnumber, direction: both}
"""
COMMANDS: tuple[tuple[str, ...], ...] = (
    ("validate",),
    ("validate", "--format", "json"),
    ("render", "dev"),
    ("render", "dev", "--format", "json"),
    ("plan", "dev", "--out", "plan.dwplan"),
    ("plan", "dev", "--format", "json"),
    ("apply", "dev", "--auto-approve"),
    ("plan", "dev", "--detailed-exitcode"),
    ("drift", "dev"),
    ("history", "dev"),
    ("history", "dev", "--format", "json"),
    ("env", "show", "dev"),
    ("doctor", "dev"),
    ("diff", "HEAD~1", "HEAD"),
    ("package", "base"),
    ("promote", "dev", "test", "--dry-run"),
    ("lock", "status", "dev"),
    ("apply", "dev", "--resume"),
    ("import", "dev", "--force"),
)


def git(root: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True)


@pytest.fixture
def repo(make_repo: Callable[..., Path]) -> Path:
    """A repository with one map, committed twice (the second commit adds the map)."""
    root = make_repo()
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.email", "canary@example.com")
    git(root, "config", "user.name", "canary")
    (root / ".gitignore").write_text(".dwconf/\n*.dwplan\n")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "base")
    (root / "solutions" / "base" / "maps").mkdir()
    (root / "solutions" / "base" / "maps" / "canary.yaml").write_text(MAP)
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "a map")
    return root


def leaks(text: str) -> list[str]:
    return [c[:12] + "..." for c in CANARIES if c in text]


def scan_files(root: Path) -> dict[str, list[str]]:
    """Every file dwconf wrote: plan files, journals, environment files, crash logs."""
    found = {}
    for path in root.rglob("*"):
        if path.is_file() and ".git" not in path.parts:
            text = path.read_bytes().decode("utf-8", errors="replace")
            if leaks(text):
                found[str(path.relative_to(root))] = leaks(text)
    return found


def test_no_command_shows_a_secret(
    repo: Path,
    dwconf: Callable[..., Result],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("DWCONF_CLIENT_SECRET", SECRET)
    monkeypatch.setenv("DWCONF_TOKEN", TOKEN)
    monkeypatch.setenv("AZURE_CLIENT_SECRET", SECRET)
    monkeypatch.chdir(repo)
    caplog.set_level(logging.DEBUG)
    problems = []
    for args in COMMANDS:
        result = dwconf("-C", str(repo), *args)
        if result.exit_code == 3:
            problems.append(f"dwconf {' '.join(args)}: internal error\n{result.err}")
        if leaks(result.out + result.err):
            problems.append(f"dwconf {' '.join(args)} shows {leaks(result.out + result.err)}")
    if leaks(caplog.text):
        problems.append(f"log records show {leaks(caplog.text)}")
    problems.extend(f"{name} holds {found}" for name, found in scan_files(repo).items())
    assert (repo / ".dwconf" / "journal").is_dir(), "apply journaled nothing: the scan is empty"
    assert not problems, "\n".join(problems)


def test_a_secret_written_into_yaml_is_refused_without_repeating_it(
    make_repo: Callable[..., Path], dwconf: Callable[..., Result]
) -> None:
    env = (
        "name: dev\nstage: dev\nlink:\n  legal_entities: [USMF]\n"
        f"solutions:\n  base: workspace\nvars:\n  token: {TOKEN}\n  secret: {SECRET}\n"
    )
    root = make_repo({"environments/dev.yaml": env})
    for args in (("validate",), ("validate", "--format", "json"), ("render", "dev")):
        result = dwconf("-C", str(root), *args)
        assert result.exit_code == 1, (args, result.out, result.err)
        assert not leaks(result.out + result.err), (args, result.out + result.err)


def test_a_crash_log_holds_no_secret(
    repo: Path, dwconf: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    """An internal error whose message carries a token (as an HTTP library's might)."""

    def crash(*_: object, **__: object) -> None:
        raise RuntimeError(f"GET /api failed; Authorization: Bearer {TOKEN} secret={SECRET}")

    monkeypatch.setattr("dwconf.planning.load_desired", crash)
    result = dwconf("-C", str(repo), "plan", "dev")
    assert result.exit_code == 3, result.err
    assert not leaks(result.out + result.err)
    log = re.search(r"(/\S+crash-\S+\.log)", result.err)
    assert log is not None, result.err
    assert not leaks(Path(log.group(1)).read_text())


PASTED = "sEcReTcanary7f3a9c21d4XyZ"  # a secret that is also shaped like a variable name
DYNAMICS_ENV = f"""\
name: dev
stage: dev
provider:
  type: dynamics
  finops_url: https://contoso.operations.dynamics.com
  dataverse_url: https://contoso.crm.dynamics.com
  gateway_url: https://gateway.example.com
  tenant_id: 11111111-2222-3333-4444-555555555555
  auth:
    client_id_env: DWCONF_CLIENT_ID
    client_secret_env: {PASTED}
link:
  legal_entities: [USMF]
solutions:
  base: workspace
"""


@pytest.mark.parametrize(
    "args",
    [
        ("validate",),
        ("validate", "--format", "json"),
        ("plan", "dev"),
        ("apply", "dev", "--auto-approve"),
        ("drift", "dev"),
        ("history", "dev"),
        ("env", "show", "dev"),
        ("lock", "status", "dev"),
        ("doctor", "dev"),
        ("import", "dev", "--out", "imported"),
    ],
    ids=" ".join,
)
def test_a_secret_pasted_as_a_variable_name_is_never_echoed(
    args: tuple[str, ...],
    make_repo: Callable[..., Path],
    dwconf: Callable[..., Result],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DWCONF_CLIENT_ID", "00000000-0000-0000-0000-000000000001")
    monkeypatch.delenv(PASTED, raising=False)
    root = make_repo({"environments/dev.yaml": DYNAMICS_ENV})
    result = dwconf("-C", str(root), *args)
    assert result.exit_code == 1, result.out + result.err
    assert PASTED not in result.out + result.err
    assert "looks like a secret (not shown)" in result.out + result.err
