"""The parse cache: a second read of unchanged files takes their data from it, and the result
is exactly what parsing gives; it holds no environment file, trusts no entry it did not write,
is private to the user, and anything wrong with it only turns it off."""

from __future__ import annotations

import marshal
import os
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bench.generate import generate
from dwconf.load.sources import read_sources
from dwconf.yaml import cache as parsecache
from dwconf.yaml import fast
from tests.support import sources_summary


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("DWCONF_CACHE_DIR", str(folder))
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
    """One entry for each file the fast reader reads (the careful reader's files included)."""
    calls: list[int] = []
    real = fast.load

    def counted(text: str) -> Any:
        calls.append(1)
        return real(text)

    monkeypatch.setattr(fast, "load", counted)
    return calls


def _rows(cache_dir: Path) -> int:
    with sqlite3.connect(cache_dir / parsecache.FILE_NAME) as conn:
        count: int = conn.execute("SELECT COUNT(*) FROM parsed").fetchone()[0]
    return count


# dwconf.yaml, environments/dev.yaml and two solution.yaml: read every time, never cached
NEVER_CACHED = 4


def test_a_second_read_takes_unchanged_files_from_the_cache(
    repo: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DWCONF_CACHE", "off")
    uncached = sources_summary(read_sources(repo))
    assert not cache_dir.exists()
    monkeypatch.delenv("DWCONF_CACHE")
    calls = _counting(monkeypatch)
    first = sources_summary(read_sources(repo))
    files = len(calls) - NEVER_CACHED
    assert first == uncached and files > 12
    # Every map and schema the fast reader read is remembered; the two it leaves to the
    # careful reader not.
    assert _rows(cache_dir) == files - 2
    calls.clear()
    assert sources_summary(read_sources(repo)) == uncached
    assert len(calls) == 2 + NEVER_CACHED  # the careful reader's maps are looked at again


def test_a_changed_file_is_parsed_again(
    repo: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    read_sources(repo)
    changed = sorted((repo / "solutions").glob("*/maps/*.yaml"))[5]
    changed.write_text(changed.read_text().replace("Bench map", "Renamed map"))
    calls = _counting(monkeypatch)
    found = read_sources(repo)
    assert len(calls) == 3 + NEVER_CACHED  # the changed file and the careful reader's two
    names = [d.data.get("name") for f in found.solutions.values() for d in f.maps if d.data]
    assert any(str(n).startswith("Renamed map") for n in names)
    monkeypatch.setenv("DWCONF_CACHE", "off")
    assert sources_summary(found) == sources_summary(read_sources(repo))


def test_a_new_loader_version_does_not_use_old_entries(
    repo: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    read_sources(repo)
    monkeypatch.setattr(parsecache, "_salt", lambda: b"another version of the readers")
    calls = _counting(monkeypatch)
    read_sources(repo)
    assert len(calls) > 12


COLUMNS_OF_ANOTHER_TYPE = {
    "text entry": "UPDATE parsed SET data = 'x'",
    "text mac": "UPDATE parsed SET mac = 'x'",
    "number mac": "UPDATE parsed SET mac = 5",
}


@pytest.mark.parametrize(
    "damage",
    [
        "garbage",
        "garbled entry",
        "foreign entry",
        "unwritable folder",
        "text entry",
        "text mac",
        "number mac",
    ],
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
    elif damage in COLUMNS_OF_ANOTHER_TYPE:  # SQLite keeps any type in any column
        read_sources(repo)
        with sqlite3.connect(cache_dir / parsecache.FILE_NAME) as conn:
            conn.execute(COLUMNS_OF_ANOTHER_TYPE[damage])
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


def _entries(cache_dir: Path) -> list[bytes]:
    with sqlite3.connect(cache_dir / parsecache.FILE_NAME) as conn:
        return [row[0] for row in conn.execute("SELECT data FROM parsed")]


def test_environment_files_are_never_cached(
    repo: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = repo / "environments" / "dev.yaml"
    env.write_text(env.read_text() + "vars: {pasted: not-a-variable-name-s3cr3t}\n")
    read_sources(repo)
    read_sources(repo)
    assert _entries(cache_dir) and not any(b"s3cr3t" in data for data in _entries(cache_dir))
    assert not any(b"s3cr3t" in p.read_bytes() for p in cache_dir.iterdir())


def test_an_entry_rewritten_under_its_key_is_not_trusted(
    repo: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    read_sources(repo)
    forged = {"name": "Forged map", "version": "9.9.9.9"}
    with sqlite3.connect(cache_dir / parsecache.FILE_NAME) as conn:
        conn.execute("UPDATE parsed SET data = ?", (marshal.dumps(forged),))
    calls = _counting(monkeypatch)
    found = read_sources(repo)
    names = [d.data.get("name") for f in found.solutions.values() for d in f.maps if d.data]
    assert "Forged map" not in names and len(calls) > 12  # every map read again
    assert not any(marshal.loads(data) == forged for data in _entries(cache_dir))  # replaced
    monkeypatch.setenv("DWCONF_CACHE", "off")
    assert sources_summary(found) == sources_summary(read_sources(repo))


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_cache_is_private_to_the_user(repo: Path, cache_dir: Path) -> None:
    cache_dir.mkdir(mode=0o755)
    cache_dir.chmod(0o755)  # as an earlier version left it
    (cache_dir / "parse-v1.sqlite").write_bytes(b"an earlier version's entries")
    read_sources(repo)
    assert _mode(cache_dir) == 0o700
    assert {p.name: _mode(p) for p in cache_dir.iterdir()} == {
        parsecache.FILE_NAME: 0o600,
        parsecache.KEY_NAME: 0o600,
    }


def test_a_cache_file_that_is_a_link_turns_the_cache_off(
    repo: Path, cache_dir: Path, tmp_path: Path
) -> None:
    cache_dir.mkdir(mode=0o700)
    elsewhere = tmp_path / "elsewhere.sqlite"
    (cache_dir / parsecache.FILE_NAME).symlink_to(elsewhere)
    read_sources(repo)
    assert not elsewhere.exists()


def test_a_shared_folder_named_as_the_cache_is_left_as_it_is(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shared = tmp_path / "shared"  # as /tmp is, when DWCONF_CACHE_DIR names it
    shared.mkdir()
    shared.chmod(0o1777)
    (shared / "someone-elses.txt").write_text("kept")
    monkeypatch.setenv("DWCONF_CACHE", "off")
    uncached = sources_summary(read_sources(repo))
    monkeypatch.setenv("DWCONF_CACHE", "on")
    monkeypatch.setenv("DWCONF_CACHE_DIR", str(shared))
    assert sources_summary(read_sources(repo)) == uncached
    assert _mode(shared) == 0o1777
    assert [p.name for p in shared.iterdir()] == ["someone-elses.txt"]


# A full disk for one process: its writes past `max_file` bytes fail (RLIMIT_FSIZE; Python
# ignores SIGXFSZ, so a write gets EFBIG)
LIMITED = (
    "import resource, runpy, sys; limit = int(sys.argv.pop(1));"
    "resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit));"
    "runpy.run_module('dwconf', run_name='__main__')"
)


def _validate_process(repo: Path, env: dict[str, str], max_file: int = -1) -> subprocess.Popen[str]:
    command = [sys.executable, "-c", LIMITED, str(max_file), "-C", str(repo), "validate"]
    return subprocess.Popen(
        [*command, "--format", "json"],
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def test_processes_at_once_and_a_full_disk_give_the_uncached_result(
    repo: Path, cache_dir: Path
) -> None:
    env = {**os.environ, "DWCONF_CACHE_DIR": str(cache_dir)}
    off = _validate_process(repo, {**env, "DWCONF_SPEEDUPS": "off"}).communicate(timeout=120)
    full = _validate_process(repo, env, max_file=4096).communicate(timeout=120)  # no room
    assert full == off
    assert (cache_dir / parsecache.FILE_NAME).stat().st_size <= 4096  # nothing written
    together = [_validate_process(repo, env) for _ in range(4)]
    assert [p.communicate(timeout=120) for p in together] == [off] * 4
    assert _rows(cache_dir) > 0
    again = _validate_process(repo, env).communicate(timeout=120)  # from the cache
    assert again == off
