"""dwconf.git (file trees over the working tree and over a commit, releases, the working-tree
state), the YAML editor and the version bump, on real temporary git repositories."""

from __future__ import annotations

from pathlib import Path

import git
import pytest

from dwconf.errors import DwconfError
from dwconf.git import Releases, Repository, WorkingTree, info, release_tag
from dwconf.gitops import yamledit
from dwconf.gitops.release import bump
from dwconf.load.sources import read_solution, read_sources
from tests.conftest import write_tree

ACTOR = git.Actor("Test", "test@example.com")
FILES = {
    ".gitignore": ".dwconf/\n",
    "dwconf.yaml": "project: t\nstages: [dev, test]\n",
    "environments/dev.yaml": "name: dev\nstage: dev\n",
    "solutions/base/solution.yaml": "unique_name: tst_Base\nversion: 1.0.0.0\n",
    "solutions/base/maps/a.yaml": "name: A\n",
    "solutions/base/maps/notes.txt": "not yaml\n",
}


def make_git(root: Path, files: dict[str, str] = FILES) -> git.Repo:
    write_tree(root, files)
    repo = git.Repo.init(root, initial_branch="main")
    repo.git.add("-A")
    repo.index.commit("init", author=ACTOR, committer=ACTOR)
    return repo


def test_working_tree_and_git_tree_list_and_read_the_same(tmp_path: Path) -> None:
    repo = make_git(tmp_path)
    disk = WorkingTree(tmp_path)
    at_head = Repository.open(tmp_path).tree("HEAD")
    for folder in ("", "solutions", "solutions/base", "solutions/base/maps", "nope"):
        on_disk = [e for e in disk.entries(folder) if e.name != ".git"]
        assert on_disk == at_head.entries(folder), folder
    a_yaml = "solutions/base/maps/a.yaml"
    assert disk.read(a_yaml, 100) == at_head.read(a_yaml, 100)
    assert at_head.label == "@HEAD"
    with pytest.raises(OSError):
        at_head.read("solutions/base/maps/missing.yaml", 100)
    with pytest.raises(OSError):
        at_head.read("solutions/base", 100)  # a folder is no file
    repo.close()


def test_a_git_tree_reads_a_commit_not_the_working_tree(tmp_path: Path) -> None:
    make_git(tmp_path).close()
    (tmp_path / "solutions/base/maps/a.yaml").write_text("name: changed\n")
    (tmp_path / "solutions/base/maps/b.yaml").write_text("name: B\n")
    tree = Repository.open(tmp_path).tree("HEAD", "@base/v1.0.0.0")
    files, problems = read_solution(tree, "base")
    assert problems == []
    assert [d.path for d in files.maps] == ["solutions/base/maps/a.yaml@base/v1.0.0.0"]
    assert files.maps[0].data == {"name": "A"}


def test_read_sources_over_a_revision_labels_every_path(tmp_path: Path) -> None:
    make_git(tmp_path).close()
    sources = read_sources(tmp_path, Repository.open(tmp_path).tree("HEAD", "@x"))
    assert sources.settings is not None and sources.settings.path == "dwconf.yaml@x"
    assert [d.path for d in sources.environments] == ["environments/dev.yaml@x"]
    assert list(sources.solutions) == ["base"]
    base = sources.solutions["base"]
    assert base.solution is not None and base.solution.path == "solutions/base/solution.yaml@x"
    assert [d.path for d in base.maps] == ["solutions/base/maps/a.yaml@x"]


def test_a_configuration_in_a_subfolder_of_the_repository(tmp_path: Path) -> None:
    make_git(tmp_path, {f"config/{k}": v for k, v in FILES.items()}).close()
    repo = Repository.open(tmp_path / "config")
    assert repo.prefix == "config"
    assert repo.tree("HEAD").read("dwconf.yaml", 100).startswith(b"project: t")
    (tmp_path / "config/.dwconf").mkdir()
    (tmp_path / "config/.dwconf/dev.sqlite").write_bytes(b"x")
    assert repo.changed_paths() == []


def test_releases_are_tags_folder_v_version(tmp_path: Path) -> None:
    repo = make_git(tmp_path)
    head = repo.head.commit.hexsha
    repo.create_tag("base/v1.0.0.0", message="annotated")
    repo.create_tag("base/v1.10.0.0")  # lightweight tags count too
    repo.create_tag("base/v2.0.0.0")
    repo.create_tag("v1.0.0")  # not a release: no folder
    repo.create_tag("base/v1.0")  # not four-part
    releases = Repository.open(tmp_path).releases()
    assert releases.versions("base") == ["1.0.0.0", "1.10.0.0", "2.0.0.0"]
    found = releases.get("base", "1.0.0.0")
    assert found is not None and found.commit == head and found.tag == "base/v1.0.0.0"
    assert releases.get("other", "1.0.0.0") is None
    assert release_tag("base", "1.2.3.4") == "base/v1.2.3.4"
    assert Releases(in_git=False).versions("base") == []


def test_changed_paths_sees_modified_staged_and_untracked_files(tmp_path: Path) -> None:
    repo = make_git(tmp_path)
    handle = Repository.open(tmp_path)
    assert handle.changed_paths() == []
    (tmp_path / "environments/dev.yaml").write_text("name: dev\nstage: test\n")
    (tmp_path / "environments/new.yaml").write_text("name: new\n")
    (tmp_path / ".dwconf").mkdir()
    (tmp_path / ".dwconf/dev.sqlite").write_bytes(b"state")
    assert sorted(handle.changed_paths()) == ["environments/dev.yaml", "environments/new.yaml"]
    repo.git.add("environments/new.yaml")
    assert "environments/new.yaml" in handle.changed_paths()
    assert info(tmp_path).dirty


def test_not_a_repository(tmp_path: Path) -> None:
    assert Repository.find(tmp_path) is None
    with pytest.raises(DwconfError, match="not in a git repository"):
        Repository.open(tmp_path)
    assert info(tmp_path).commit is None


def test_info_names_head(tmp_path: Path) -> None:
    repo = make_git(tmp_path)
    found = info(tmp_path)
    assert found.commit == repo.head.commit.hexsha and not found.dirty


def test_unknown_revision(tmp_path: Path) -> None:
    make_git(tmp_path).close()
    with pytest.raises(DwconfError, match="unknown git revision: nope"):
        Repository.open(tmp_path).resolve("nope")


@pytest.mark.parametrize(
    ("part", "expected"),
    [
        ("major", "2.0.0.0"),
        ("minor", "1.5.0.0"),
        ("patch", "1.4.3.0"),
        ("revision", "1.4.2.8"),
    ],
)
def test_bump_increments_one_part_and_resets_the_rest(part: str, expected: str) -> None:
    assert bump("1.4.2.7", part) == expected


ENV = """\
# Test: promoted from dev.
name: test
stage: test
solutions:                  # pins
  base: workspace           # from dev
  other: "1.0.0.0"

alerts:
  - name: a                 # the only alert
    threshold: 3
"""


def test_yaml_edit_keeps_comments_quotes_and_layout() -> None:
    out = yamledit.set_values(ENV, ("solutions",), {"base": "1.2.0.0", "other": "1.1.0.0"})
    assert out == ENV.replace("base: workspace    ", "base: 1.2.0.0      ").replace(
        '"1.0.0.0"', '"1.1.0.0"'
    )


def test_yaml_edit_appends_a_new_key_before_the_blank_line() -> None:
    out = yamledit.set_values(ENV, ("solutions",), {"new": "2.0.0.0"})
    assert '  other: "1.0.0.0"\n  new: 2.0.0.0\n\nalerts:' in out
    assert yamledit.set_values("name: x\n", ("solutions",), {"a": "1.0.0.0"}) == (
        "name: x\nsolutions:\n  a: 1.0.0.0\n"
    )
    flow = yamledit.set_values("solutions: {a: workspace}\n", ("solutions",), {"a": "1.0.0.0"})
    assert flow == "solutions: {a: 1.0.0.0}\n"


def test_yaml_edit_of_the_top_level_and_get() -> None:
    text = "unique_name: x\nversion: 1.0.0.0   # bumped by dwconf release\n"
    assert yamledit.get(text, ("version",)) == "1.0.0.0"
    out = yamledit.set_values(text, (), {"version": "1.0.1.0"})
    assert out == "unique_name: x\nversion: 1.0.1.0   # bumped by dwconf release\n"


def test_yaml_edit_refuses_what_it_cannot_edit() -> None:
    with pytest.raises(DwconfError, match="not a mapping"):
        yamledit.set_values("solutions: [a]\n", ("solutions",), {"a": "1.0.0.0"})
    with pytest.raises(DwconfError, match="not valid YAML"):
        yamledit.set_values("a: [\n", ("solutions",), {"a": "1.0.0.0"})
