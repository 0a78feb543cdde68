"""`dwconf unpack`, `import` and `package` write only inside the repository (or the folder
named with --out): a committed symbolic link on the way — a folder, a file, a dangling link —
is refused before anything is written, and `--force` never deletes a file dwconf did not
write. A full disk leaves the files as they were, with an error that says what to do."""

from __future__ import annotations

import errno
import io
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from dwconf.package import writing
from tests.security.faults import fill, full_disk
from tests.support import Result
from tests.unit.package.real_export import real_export_zip

Repo = Callable[..., Path]
Cli = Callable[..., Result]
ENV = "name: dev\nstage: dev\nsolutions:\n  mycustomtablemaps: workspace\n"
FOLDER = "solutions/mycustomtablemaps"


@pytest.fixture
def repo(make_repo: Repo) -> Path:
    return make_repo({"environments/dev.yaml": ENV})


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    path = tmp_path / "MyCustomTableMaps_1_0_0_2_managed.zip"
    path.write_bytes(real_export_zip())
    return path


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A folder outside the repository with files a link could reach."""
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "victim.yaml").write_text("# Unpacked by dwconf unpack from x.zip\nsecret: 1\n")
    (folder / "keep.txt").write_text("keep me\n")
    return folder


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def unpack(dwconf: Cli, repo: Path, archive: Path, *more: str) -> Result:
    return dwconf("-C", str(repo), "unpack", str(archive), *more)


def test_unpack_force_refuses_a_linked_maps_folder(
    repo: Path, archive: Path, outside: Path, dwconf: Cli
) -> None:
    assert unpack(dwconf, repo, archive).exit_code == 0
    maps = repo / FOLDER / "maps"
    for path in maps.iterdir():
        path.unlink()
    maps.rmdir()
    maps.symlink_to(outside, target_is_directory=True)
    before = snapshot(outside)
    result = unpack(dwconf, repo, archive, "--force")
    assert result.exit_code == 1, result.out + result.err
    assert f"refusing to write through the symbolic link {maps}" in result.err
    assert "replace the link by a real folder" in result.err
    assert snapshot(outside) == before, "files outside the repository were changed"
    assert "wrote" not in result.out, "something was written before the refusal"


@pytest.mark.parametrize("dangling", [False, True], ids=["to a file", "dangling"])
def test_unpack_refuses_a_linked_file(
    repo: Path, archive: Path, outside: Path, dwconf: Cli, dangling: bool
) -> None:
    folder = repo / FOLDER
    folder.mkdir(parents=True)
    target = outside / ("created-by-unpack.yaml" if dangling else "victim.yaml")
    (folder / "solution.yaml").symlink_to(target)
    before = snapshot(outside)
    for args in ((), ("--force",)):
        result = unpack(dwconf, repo, archive, *args)
        assert result.exit_code == 1, result.out + result.err
        assert f"symbolic link {folder / 'solution.yaml'}" in result.err
    assert snapshot(outside) == before


def test_unpack_refuses_a_linked_solution_folder(
    repo: Path, archive: Path, outside: Path, dwconf: Cli
) -> None:
    (repo / "solutions").mkdir(exist_ok=True)
    (repo / FOLDER).symlink_to(outside, target_is_directory=True)
    before = snapshot(outside)
    result = unpack(dwconf, repo, archive, "--force")
    assert result.exit_code == 1 and "symbolic link" in result.err, result.err
    assert snapshot(outside) == before


def test_unpack_force_deletes_only_what_dwconf_wrote(
    repo: Path, archive: Path, dwconf: Cli
) -> None:
    assert unpack(dwconf, repo, archive).exit_code == 0
    maps = repo / FOLDER / "maps"
    stale = maps / "dropped-map.yaml"
    stale.write_text("# Unpacked by dwconf unpack from old.zip (managed solution).\nname: x\n")
    mine = maps / "notes.yaml"
    mine.write_text("# my own notes\nname: y\n")
    (maps / "README.txt").write_text("not YAML\n")
    result = unpack(dwconf, repo, archive, "--force")
    assert result.exit_code == 0, result.err
    assert not stale.exists()
    assert f"removed {stale}" in result.out
    assert mine.read_text() == "# my own notes\nname: y\n"
    assert f"kept {mine}: dwconf did not write it" in result.out
    assert (maps / "README.txt").exists()


def test_unpack_force_keeps_a_stale_link(
    repo: Path, archive: Path, outside: Path, dwconf: Cli
) -> None:
    """A link in maps/ is not dwconf's: it is kept, and what it points to is untouched."""
    assert unpack(dwconf, repo, archive).exit_code == 0
    link = repo / FOLDER / "maps" / "linked.yaml"
    link.symlink_to(outside / "victim.yaml")
    before = snapshot(outside)
    result = unpack(dwconf, repo, archive, "--force")
    assert result.exit_code == 0, result.err
    assert link.is_symlink() and f"kept {link}" in result.out
    assert snapshot(outside) == before


@pytest.fixture
def applied(make_repo: Repo, dwconf: Cli) -> Path:
    from tests.integration.test_cli_bridge import FILES

    root = make_repo(FILES, base=False)
    result = dwconf("-C", str(root), "apply", "dev", "--auto-approve")
    assert result.exit_code == 0, result.out + result.err
    return root


@pytest.mark.parametrize(
    "linked", ["solutions/tst-customers/maps", "environments", "solutions/tst-reference"]
)
def test_import_force_refuses_links(
    applied: Path, outside: Path, dwconf: Cli, tmp_path: Path, linked: str
) -> None:
    out = tmp_path / "imported"
    assert dwconf("-C", str(applied), "import", "dev", "--out", str(out)).exit_code == 0
    link = out / linked
    for path in sorted(link.rglob("*"), reverse=True):
        path.rmdir() if path.is_dir() else path.unlink()
    link.rmdir()
    link.symlink_to(outside, target_is_directory=True)
    before = snapshot(outside)
    result = dwconf("-C", str(applied), "import", "dev", "--out", str(out), "--force")
    assert result.exit_code == 1, result.out + result.err
    assert f"symbolic link {link}" in result.err
    assert snapshot(outside) == before


def test_import_into_the_repository_checks_from_its_root(
    applied: Path, outside: Path, dwconf: Cli
) -> None:
    """Without --out, import writes into the repository: a linked `solutions` is refused."""
    solutions = applied / "solutions"
    solutions.rename(applied / "solutions-real")
    solutions.symlink_to(outside, target_is_directory=True)
    before = snapshot(outside)
    result = dwconf("-C", str(applied), "import", "dev", "--force")
    assert result.exit_code == 1 and f"symbolic link {solutions}" in result.err, result.err
    assert snapshot(outside) == before


def test_package_refuses_a_linked_dist(applied: Path, outside: Path, dwconf: Cli) -> None:
    (applied / "dist").symlink_to(outside, target_is_directory=True)
    result = dwconf("-C", str(applied), "package", "reference")
    assert result.exit_code == 1 and "symbolic link" in result.err, result.err
    assert sorted(p.name for p in outside.iterdir()) == ["keep.txt", "victim.yaml"]


def test_a_full_disk_leaves_the_files_whole(
    make_repo: Repo, archive: Path, dwconf: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A real full file system where the machine allows a tmpfs; otherwise ENOSPC from the
    file's write, the lowest level the writer reaches."""
    with full_disk(tmp_path / "disk") as mounted:
        repo = tmp_path / "disk" / "repo"
        repo.mkdir()
        (repo / "environments").mkdir()
        (repo / "environments" / "dev.yaml").write_text(ENV)
        assert unpack(dwconf, repo, archive).exit_code == 0
        before = {p: p.read_bytes() for p in (repo / FOLDER).rglob("*.yaml")}
        if mounted:
            fill(tmp_path / "disk")
        else:
            monkeypatch.setattr(writing.os, "fdopen", _failing_fdopen)
        result = unpack(dwconf, repo, archive, "--force")
        assert result.exit_code == 1, result.out + result.err
        assert "the disk is full: free some space, then run the command again" in result.err
        assert {p: p.read_bytes() for p in (repo / FOLDER).rglob("*.yaml")} == before
        assert not [p for p in (repo / FOLDER).rglob("*") if "dwconf-tmp" in p.name]


def _failing_fdopen(fd: int, *args: Any, **kwargs: Any) -> io.BufferedWriter:
    class Full(io.BufferedWriter):
        def write(self, data: Any) -> int:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    return Full(io.FileIO(fd, "w"))
