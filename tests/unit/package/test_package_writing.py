"""`write_files`: the checks before writing, and the writes themselves, which follow no link
even when one appears after the checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from dwconf.errors import DwconfError
from dwconf.package import writing
from dwconf.package.writing import trusted_base, write_files


def test_a_link_that_appears_after_the_checks_is_not_followed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    repo = tmp_path / "repo"
    (repo / "maps").mkdir(parents=True)
    monkeypatch.setattr(writing, "_refuse_links", lambda *_, **__: None)  # the race
    (repo / "maps").rmdir()
    (repo / "maps").symlink_to(outside, target_is_directory=True)
    with pytest.raises(DwconfError, match="appeared while writing"):
        write_files(repo, repo, {"maps/a.yaml": "a: 1\n"})
    assert list(outside.iterdir()) == []


def test_a_replaced_file_keeps_its_permissions_and_others_are_left(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / "maps").mkdir(parents=True)
    (repo / "maps" / "a.yaml").write_text("old\n")
    (repo / "maps" / "a.yaml").chmod(0o600)
    done = write_files(repo, repo, {"maps/a.yaml": "new\n", "maps/b.yaml": b"b\n"}, force=True)
    assert (repo / "maps" / "a.yaml").read_text() == "new\n"
    assert (repo / "maps" / "a.yaml").stat().st_mode & 0o777 == 0o600
    assert done.written == (repo / "maps" / "a.yaml", repo / "maps" / "b.yaml")
    assert sorted(p.name for p in (repo / "maps").iterdir()) == ["a.yaml", "b.yaml"]


def test_existing_files_need_force(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("mine\n")
    with pytest.raises(DwconfError, match=r"already has a\.yaml") as refused:
        write_files(tmp_path, tmp_path, {"a.yaml": "x\n"})
    assert refused.value.hint == "pass --force to overwrite"
    assert (tmp_path / "a.yaml").read_text() == "mine\n"


def test_a_folder_where_a_file_goes_is_refused(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").mkdir()
    with pytest.raises(DwconfError, match="is a folder"):
        write_files(tmp_path, tmp_path, {"a.yaml": "x\n"}, force=True)


@pytest.mark.parametrize(
    ("out", "base"),
    [("repo", "repo"), ("repo/solutions/x", "repo"), ("elsewhere/x", "elsewhere/x")],
)
def test_the_trusted_folder(tmp_path: Path, out: str, base: str) -> None:
    assert trusted_base(tmp_path / "repo", tmp_path / out) == tmp_path / base


@pytest.mark.parametrize("name", ["../evil.yaml", "/etc/evil.yaml", "maps/../../evil.yaml"])
def test_a_name_that_leaves_the_folder_is_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(DwconfError, match="it leaves"):
        write_files(tmp_path / "repo", tmp_path / "repo", {name: "x\n"})
    assert list(tmp_path.iterdir()) == []
