"""Reading a configuration touches only regular files inside the repository, and none larger
than the limit: a FIFO, a device, a link leaving the repository or a huge file gets a
diagnostic with a position, a code and a fix, and never hangs or reads without end."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import git
import pytest

from bench.generate import generate
from dwconf.git import Refused, Repository, WorkingTree
from dwconf.load.sources import read_sources
from dwconf.validate.engine import validate
from dwconf.yaml import MAX_FILE_BYTES
from tests.support import Result

MAPS = "solutions/bench-0/maps"
ACTOR = git.Actor("Test", "test@example.com")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return generate(tmp_path / "repo", maps=2, fields=4, solutions=1)


def _problems(root: Path) -> list[str]:
    return [f"{d.span} {d.code} {d.message} | {d.hint}" for d in read_sources(root).diagnostics]


def test_a_fifo_among_the_maps_is_refused_without_waiting(repo: Path) -> None:
    os.mkfifo(repo / MAPS / "pipe.yaml")
    command = [sys.executable, "-m", "dwconf", "validate", str(repo)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 1, done.stderr
    assert f"{MAPS}/pipe.yaml:1:1: error DW1010 not read: not a regular file" in done.stdout


def test_a_link_to_a_device_is_refused(repo: Path) -> None:
    (repo / MAPS / "zero.yaml").symlink_to("/dev/zero")
    assert _problems(repo) == [
        f"{MAPS}/zero.yaml:1:1 DW1011 not read: a link to /dev/zero, outside the repository"
        " | dwconf reads only files inside the repository: copy the file in, or commit it"
    ]


def test_a_link_leaving_the_repository_is_refused_and_not_read(repo: Path, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere.yaml"
    outside.write_text("name: Bench map 0\nnote: what reviewers never see\n")
    (repo / MAPS / "extra.yaml").symlink_to(outside)
    found = validate(repo)
    assert [(str(d.span), d.code) for d in found.diagnostics] == [
        (f"{MAPS}/extra.yaml:1:1", "DW1011")
    ]
    assert "reviewers" not in repr(read_sources(repo))


def test_a_link_inside_the_repository_is_followed(repo: Path) -> None:
    (repo / "shared").mkdir()
    (repo / MAPS / "map-1.yaml").rename(repo / "shared" / "map-1.yaml")
    (repo / MAPS / "map-1.yaml").symlink_to(repo / "shared" / "map-1.yaml")
    assert validate(repo).diagnostics == []


def test_a_loop_of_links_is_refused(repo: Path) -> None:
    (repo / MAPS / "a.yaml").symlink_to(repo / MAPS / "b.yaml")
    (repo / MAPS / "b.yaml").symlink_to(repo / MAPS / "a.yaml")
    assert [p.split(" | ")[0] for p in _problems(repo)] == [
        f"{MAPS}/a.yaml:1:1 DW1011 not read: a link in a loop of links",
        f"{MAPS}/b.yaml:1:1 DW1011 not read: a link in a loop of links",
    ]


def test_the_size_is_checked_before_reading(repo: Path) -> None:
    huge = repo / MAPS / "huge.yaml"
    with huge.open("wb") as file:  # sparse: 64 MiB that take no room
        file.truncate(64 * 1024 * 1024)
    with pytest.raises(Refused) as refused:
        WorkingTree(repo).read(f"{MAPS}/huge.yaml", MAX_FILE_BYTES)
    assert refused.value.code == "DW1002" and refused.value.size == 64 * 1024 * 1024
    assert _problems(repo) == [
        f"{MAPS}/huge.yaml:1:1 DW1002 the file is 64 MiB; dwconf files are limited to 8 MiB"
        " | split the content over several files (one map per file)"
    ]


def test_links_in_a_revision_are_followed_inside_it_only(repo: Path) -> None:
    (repo / MAPS / "inside.yaml").symlink_to("map-1.yaml")
    (repo / MAPS / "outside.yaml").symlink_to("../../../../etc/hostname")
    repository = git.Repo.init(repo, initial_branch="main")
    repository.git.add("-A")
    repository.index.commit("init", author=ACTOR, committer=ACTOR)
    repository.close()
    tree = Repository.open(repo).tree("HEAD")
    assert tree.read(f"{MAPS}/inside.yaml", 1000) == (repo / MAPS / "map-1.yaml").read_bytes()
    with pytest.raises(Refused, match="outside the revision"):
        tree.read(f"{MAPS}/outside.yaml", 1000)
    with pytest.raises(Refused, match="too large"):
        tree.read(f"{MAPS}/map-1.yaml", 10)


def _commit_all(root: Path) -> None:
    repository = git.Repo.init(root, initial_branch="main")
    repository.git.add("-A")
    repository.index.commit("files", author=ACTOR, committer=ACTOR)
    repository.close()


def test_a_link_whose_target_is_not_text_in_a_revision_is_refused(repo: Path) -> None:
    os.symlink(b"\xff\xfe.yaml", os.fsencode(repo / MAPS / "odd.yaml"))
    _commit_all(repo)
    tree = Repository.open(repo).tree("HEAD")
    with pytest.raises(Refused, match="not a path"):
        tree.read(f"{MAPS}/odd.yaml", 1000)


def test_a_link_too_long_to_be_a_path_in_a_revision_is_refused_unread(repo: Path) -> None:
    """A crafted commit can store a link whose blob is any size: it is refused by its size."""
    _commit_all(repo)
    repository = git.Repo(repo)
    target = repo.parent / "long-target"
    target.write_bytes(b"a/" * 50_000)
    with target.open("rb") as stream:
        blob = repository.git.hash_object("-w", "--stdin", istream=stream)
    repository.git.update_index("--add", "--cacheinfo", f"120000,{blob},{MAPS}/huge.yaml")
    repository.git.commit("-m", "a huge link", author="Test <test@example.com>")
    repository.close()
    tree = Repository.open(repo).tree("HEAD")
    with pytest.raises(Refused, match="not a path"):
        tree.read(f"{MAPS}/huge.yaml", 1000)


def test_a_linked_folder_in_a_revision_is_read_as_in_the_working_tree(repo: Path) -> None:
    (repo / "shared").mkdir()
    (repo / MAPS).rename(repo / "shared" / "maps")
    (repo / MAPS).symlink_to("../../shared/maps")
    (repo / "solutions" / "bench-0" / "loop").symlink_to("loop")
    _commit_all(repo)
    tree = Repository.open(repo).tree("HEAD")
    in_files = WorkingTree(repo).entries(MAPS)
    assert tree.entries(MAPS) == in_files and len(in_files) == 2
    assert tree.read(f"{MAPS}/map-1.yaml", 10_000) == (repo / MAPS / "map-1.yaml").read_bytes()
    assert tree.entries("solutions/bench-0") == WorkingTree(repo).entries("solutions/bench-0")
    assert [e.name for e in tree.entries("solutions/bench-0") if e.is_dir] == ["maps", "schema"]
    assert tree.entries("solutions/bench-0/loop") == []


def test_diff_of_a_commit_that_links_the_maps_folder_shows_no_change(
    repo: Path, dwconf: Callable[..., Result]
) -> None:
    _commit_all(repo)
    (repo / "shared").mkdir()
    (repo / MAPS).rename(repo / "shared" / "maps")
    (repo / MAPS).symlink_to("../../shared/maps")
    _commit_all(repo)
    done = dwconf("-C", str(repo), "diff", "HEAD~1", "HEAD", "--format", "json")
    assert done.exit_code == 0, done.out + done.err
    assert [env["changes"] for env in json.loads(done.out)["environments"]] == [[]]
