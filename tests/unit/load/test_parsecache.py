"""The parse cache: a second read of unchanged files takes their data from it, and the result
is exactly what parsing gives; anything wrong with the cache only turns it off."""

from __future__ import annotations

import marshal
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from bench.generate import generate
from dwconf.load import parsecache, sources, twocore
from dwconf.load.sources import read_sources
from tests.support import sources_summary


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("DWCONF_CACHE_DIR", str(folder))
    monkeypatch.setattr(twocore, "MIN_ITEMS", 10**9)  # one process: fast_data calls are seen
    return folder


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = generate(tmp_path / "repo", maps=12, fields=4, solutions=2)
    maps = sorted((root / "solutions").glob("*/maps/*.yaml"))
    maps[0].write_text("name: &a x\nalias: *a\n", encoding="utf-8")  # careful loader's
    maps[1].write_text("name: [unclosed\n", encoding="utf-8")  # broken
    maps[2].write_text("name: '{{ env.name }}'\nlevel: 3\n", encoding="utf-8")  # templated
    return root


def _counting(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    real = sources.fast_data

    def counted(raw: bytes) -> Any:
        calls.append(1)
        return real(raw)

    monkeypatch.setattr(sources, "fast_data", counted)
    return calls


def _rows(cache_dir: Path) -> int:
    with sqlite3.connect(cache_dir / parsecache.FILE_NAME) as conn:
        count: int = conn.execute("SELECT COUNT(*) FROM parsed").fetchone()[0]
    return count


def test_a_second_read_takes_unchanged_files_from_the_cache(
    repo: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DWCONF_CACHE", "off")
    uncached = sources_summary(read_sources(repo))
    assert not cache_dir.exists()
    monkeypatch.delenv("DWCONF_CACHE")
    calls = _counting(monkeypatch)
    first = sources_summary(read_sources(repo))
    files = len(calls)
    assert first == uncached and files > 12
    # Every file the fast path read is remembered; the two it leaves to the careful loader not.
    assert _rows(cache_dir) == files - 2
    calls.clear()
    assert sources_summary(read_sources(repo)) == uncached
    assert len(calls) == 2  # only the careful loader's files are looked at again


def test_a_changed_file_is_parsed_again(
    repo: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    read_sources(repo)
    changed = sorted((repo / "solutions").glob("*/maps/*.yaml"))[5]
    changed.write_text(changed.read_text().replace("Bench map", "Renamed map"))
    calls = _counting(monkeypatch)
    found = read_sources(repo)
    assert len(calls) == 3  # the changed file and the careful loader's two
    names = [d.data.get("name") for f in found.solutions.values() for d in f.maps if d.data]
    assert any(str(n).startswith("Renamed map") for n in names)
    monkeypatch.setenv("DWCONF_CACHE", "off")
    assert sources_summary(found) == sources_summary(read_sources(repo))


def test_a_new_loader_version_does_not_use_old_entries(
    repo: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    read_sources(repo)
    monkeypatch.setattr(parsecache, "_salt", lambda: b"another version of the loader")
    calls = _counting(monkeypatch)
    read_sources(repo)
    assert len(calls) > 12


@pytest.mark.parametrize(
    "damage", ["garbage", "garbled entry", "foreign entry", "unwritable folder"]
)
def test_a_damaged_cache_is_only_turned_off(
    repo: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch, damage: str
) -> None:
    monkeypatch.setenv("DWCONF_CACHE", "off")
    uncached = sources_summary(read_sources(repo))
    monkeypatch.delenv("DWCONF_CACHE")
    if damage == "garbage":
        cache_dir.mkdir()
        (cache_dir / parsecache.FILE_NAME).write_bytes(b"not a database" * 100)
    elif damage == "garbled entry":
        read_sources(repo)
        with sqlite3.connect(cache_dir / parsecache.FILE_NAME) as conn:
            conn.execute("UPDATE parsed SET data = x'00ff00'")
    elif damage == "foreign entry":  # decodes, but to nothing the fast path gives
        read_sources(repo)
        with sqlite3.connect(cache_dir / parsecache.FILE_NAME) as conn:
            conn.execute("UPDATE parsed SET data = ?", (marshal.dumps(("x",)),))
    else:
        cache_dir.parent.mkdir(exist_ok=True)
        cache_dir.write_text("a file where the folder should be")
    assert sources_summary(read_sources(repo)) == uncached


def test_the_oldest_entries_are_pruned(
    repo: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(parsecache, "MAX_ENTRIES", 5)
    read_sources(repo)
    assert _rows(cache_dir) == 5


def test_the_cache_folder_is_the_users_never_the_repository(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DWCONF_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert parsecache.folder() == tmp_path / "xdg" / "dwconf"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert parsecache.folder() == tmp_path / "home" / ".cache" / "dwconf"
    for off in ("off", "0", "false", "no"):
        monkeypatch.setenv("DWCONF_CACHE", off)
        assert parsecache.folder() is None
