"""Faults of the machine, not of dwconf: a damaged page of an environment's SQLite file, an
empty file, a read-only `.dwconf` folder, a full disk, a CA file that isn't there. Each is an
environment error (exit 1, never 3) that says what to do without suggesting first a reset
that would throw the deployment history away, and commands that only read keep working where
they can. The faults are real where the machine allows (a read-only bind mount, a tiny tmpfs);
damaged pages are written into the file itself, one page or every page (`pytest -m long`)."""

from __future__ import annotations

import os
import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from dwconf.live import store
from tests.conftest import TEST_MAP, write_tree
from tests.security.faults import fill, full_disk, read_only
from tests.support import Result

Repo = Callable[..., Path]
Cli = Callable[..., Result]
READERS = (
    ("plan", "dev"),
    ("drift", "dev"),
    ("history", "dev"),
    ("env", "show", "dev"),
    ("lock", "status", "dev"),
    ("doctor", "dev"),
)
PAGE = 4096
SCHEMA = (Path(__file__).parents[1] / "unit/validate/cases/_schema.yaml").read_text()
BIG_MAP = TEST_MAP + f"description: {'x' * 60_000}\n"  # needs new pages in the file


@pytest.fixture
def applied(make_repo: Repo, dwconf: Cli) -> Path:
    """A repository whose local dev environment has been applied once (a deployment record)."""
    root = make_repo()
    result = dwconf("-C", str(root), "apply", "dev", "--auto-approve")
    assert result.exit_code == 0, result.out + result.err
    return root


def state(root: Path) -> Path:
    return root / ".dwconf" / "dev.sqlite"


def run_all(dwconf: Cli, root: Path, commands: tuple[tuple[str, ...], ...]) -> dict[str, Result]:
    return {" ".join(args): dwconf("-C", str(root), *args) for args in commands}


def assert_reported_as_damaged(results: dict[str, Result], path: Path) -> None:
    for command, result in results.items():
        assert result.exit_code in (0, 1), f"{command}: exit {result.exit_code}\n{result.err}"
        if result.exit_code == 1:  # on stderr, or as a failed check of doctor's report
            shown = result.err + result.out
            assert f"The environment file {path} is damaged" in shown, (command, shown)
            assert shown.index("Restore it from a backup") < shown.index("dwconf env reset")


def damage(path: Path, pages: range) -> None:
    with path.open("r+b") as handle:
        for page in pages:
            handle.seek(page * PAGE)
            handle.write(bytes((page * 37 + i) % 251 for i in range(PAGE)))


def test_damaged_pages_are_reported_and_left_alone(applied: Path, dwconf: Cli) -> None:
    path = state(applied)
    damage(path, range(1, path.stat().st_size // PAGE))
    before = path.read_bytes()
    results = run_all(dwconf, applied, (*READERS, ("apply", "dev", "--auto-approve")))
    assert_reported_as_damaged(results, path)
    assert results["plan dev"].exit_code == results["apply dev --auto-approve"].exit_code == 1
    assert path.read_bytes() == before, "the damaged file was changed"


def test_a_damaged_header_is_reported(applied: Path, dwconf: Cli) -> None:
    path = state(applied)
    damage(path, range(1))
    results = run_all(dwconf, applied, READERS)
    assert_reported_as_damaged(results, path)
    assert all(r.exit_code == 1 for r in results.values())
    assert "file is not a database" in results["plan dev"].err


@pytest.mark.parametrize(
    "every",
    [
        pytest.param(False, id="a few pages"),
        pytest.param(True, id="every page", marks=pytest.mark.long),
    ],
)
def test_one_damaged_page_anywhere_is_never_a_crash(
    applied: Path, dwconf: Cli, tmp_path: Path, every: bool
) -> None:
    """Each page in turn damaged alone: every command exits 0 (the page wasn't needed) or 1."""
    pristine = tmp_path / "pristine.sqlite"
    shutil.copyfile(state(applied), pristine)
    pages = state(applied).stat().st_size // PAGE
    chosen = range(pages) if every else sorted({0, 1, pages // 2, pages - 1})
    outcomes: dict[str, int] = {}
    for page in chosen:
        shutil.copyfile(pristine, state(applied))
        damage(state(applied), range(page, page + 1))
        results = run_all(dwconf, applied, (*READERS, ("apply", "dev", "--auto-approve")))
        assert_reported_as_damaged(results, state(applied))
        for command, result in results.items():
            outcomes[f"{command} exit {result.exit_code}"] = (
                outcomes.get(f"{command} exit {result.exit_code}", 0) + 1
            )
    print(f"{len(chosen)} damaged pages: {dict(sorted(outcomes.items()))}")


def test_an_empty_file_is_an_error_not_a_new_environment(applied: Path, dwconf: Cli) -> None:
    path = state(applied)
    path.write_bytes(b"")
    results = run_all(dwconf, applied, (*READERS, ("apply", "dev", "--auto-approve")))
    for command, result in results.items():
        assert result.exit_code == 1, (command, result.out, result.err)
        assert "is damaged: it is empty (0 bytes)" in result.err, (command, result.err)
    assert path.stat().st_size == 0, "an empty environment file was replaced by a new one"


def test_commands_that_read_work_on_a_read_only_folder(applied: Path, dwconf: Cli) -> None:
    folder = state(applied).parent
    with read_only(folder):
        results = run_all(dwconf, applied, READERS)
        apply = dwconf("-C", str(applied), "apply", "dev", "--auto-approve")
        reset = dwconf("-C", str(applied), "env", "reset", "dev", "--yes")
    for command, result in results.items():
        assert result.exit_code == 0, (command, result.out, result.err)
    assert "No changes" in results["plan dev"].out
    assert "succeeded" in results["history dev"].out
    assert "dev is not locked" in results["lock status dev"].out
    for result in (apply, reset):
        assert result.exit_code == 1, result.err
        assert "read-only" in result.err and "env reset" not in result.err, result.err
    assert "internal error" not in apply.err + reset.err


def test_a_full_disk_is_reported_and_changes_nothing(
    make_repo: Repo, dwconf: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A real full file system under `.dwconf` where the machine allows a tmpfs; otherwise
    SQLite's own limit on the file's size, which fails writes the way a full disk does."""
    root = make_repo()
    with full_disk(root / ".dwconf", size_kib=1024) as mounted:
        assert dwconf("-C", str(root), "apply", "dev", "--auto-approve").exit_code == 0
        before = dwconf("-C", str(root), "history", "dev").out
        write_tree(
            root,
            {"solutions/base/schema/test.yaml": SCHEMA, "solutions/base/maps/t.yaml": BIG_MAP},
        )
        if mounted:
            fill(root / ".dwconf")
        else:
            monkeypatch.setattr(store, "connect", _capped(store.connect))
        plan = dwconf("-C", str(root), "plan", "dev")
        apply = dwconf("-C", str(root), "apply", "dev", "--auto-approve")
        assert plan.exit_code == 0 and "+ map.test-customers" in plan.out, plan.err
        assert apply.exit_code == 1, apply.out + apply.err
        assert "is full" in apply.err and "Free some space" in apply.err, apply.err
        assert "internal error" not in apply.err
        if mounted:
            (root / ".dwconf" / ".filler").unlink()
        assert dwconf("-C", str(root), "history", "dev").out == before


def _capped(connect: Callable[[str], sqlite3.Connection]) -> Callable[[str], sqlite3.Connection]:
    def capped(path: str) -> sqlite3.Connection:
        conn = connect(path)
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        conn.execute(f"PRAGMA max_page_count = {pages}")
        return conn

    return capped


def test_a_missing_ca_file_is_a_configuration_error(make_repo: Repo, dwconf: Cli) -> None:
    env = (
        "name: dev\nstage: dev\nprovider:\n  type: dynamics\n"
        "  finops_url: https://contoso.operations.dynamics.com\n"
        "  dataverse_url: https://contoso.crm.dynamics.com\n"
        "  gateway_url: https://gateway.example.com\n"
        "  tenant_id: 11111111-2222-3333-4444-555555555555\n"
        "  ca_file: certs/emulator-ca.pem\n"
        "  auth: {client_id_env: DWCONF_CLIENT_ID, client_secret_env: DWCONF_CLIENT_SECRET}\n"
        "solutions:\n  base: workspace\n"
    )
    root = make_repo({"environments/dev.yaml": env})
    os.environ.setdefault("DWCONF_CLIENT_ID", "x")
    for args in (("validate",), ("plan", "dev")):
        result = dwconf("-C", str(root), *args)
        assert result.exit_code == 1, result.out + result.err
        assert "environments/dev.yaml:9:12: error DW2818" in result.out + result.err
    drift = dwconf("-C", str(root), "drift", "dev")  # reads the environment without validating
    assert drift.exit_code == 1, drift.err
    assert "internal error" not in drift.err and "provider.ca_file" in drift.err, drift.err
