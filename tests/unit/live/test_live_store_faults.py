"""The environment file's faults as the live model reports them: a damaged or empty file, a
full disk, and a first open that fails half-way (which leaves no file behind)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dwconf.live import Environment
from dwconf.live import seed as seeding
from dwconf.live.errors import StoreDamaged, StoreFull


def test_a_file_that_is_not_a_database_is_damaged(tmp_path: Path) -> None:
    path = tmp_path / "dev.sqlite"
    path.write_bytes(b"SQLite format 2\0" + b"x" * 5000)
    with pytest.raises(StoreDamaged, match="file is not a database") as found:
        Environment.open(path)
    assert "Restore it from a backup" in found.value.hint
    assert path.read_bytes().startswith(b"SQLite format 2"), "the file was changed"


def test_an_empty_file_is_damaged_and_stays_empty(tmp_path: Path) -> None:
    path = tmp_path / "dev.sqlite"
    path.write_bytes(b"")
    for opening in (Environment.open, Environment.open_existing):
        with pytest.raises(StoreDamaged, match=r"it is empty \(0 bytes\)"):
            opening(path).close()
    assert path.stat().st_size == 0


def test_a_full_database_undoes_the_operation(tmp_path: Path) -> None:
    path = tmp_path / "dev.sqlite"
    with Environment.open(path) as env:
        pages = env._conn.execute("PRAGMA page_count").fetchone()[0]
        env._conn.execute(f"PRAGMA max_page_count = {pages}")  # SQLite's own SQLITE_FULL
        with pytest.raises(StoreFull, match="is full"):
            env.add_record(
                who="x",
                plan_hash="h",
                git_commit=None,
                solution_versions={},
                desired={"a": "x" * 200_000},
            )
        assert env.records() == ()


def test_a_first_open_that_fails_leaves_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_: object) -> None:
        raise RuntimeError("seeding failed half-way")

    monkeypatch.setattr(seeding, "apply_seed", broken)
    with pytest.raises(RuntimeError, match="half-way"):
        Environment.open(tmp_path / "state" / "dev.sqlite")
    assert list((tmp_path / "state").iterdir()) == []
    monkeypatch.undo()
    with Environment.open(tmp_path / "state" / "dev.sqlite") as env:
        assert env.read().solutions, "a later open seeds the environment"
    assert sorted(p.name for p in (tmp_path / "state").iterdir()) == ["dev.sqlite"]
