"""Git: the only module that imports gitpython."""

from __future__ import annotations

from pathlib import Path

import git

from dwconf.plan.definition import GitInfo


def info(root: Path) -> GitInfo:
    """The commit checked out at `root` and whether the working tree has changes."""
    try:
        repo = git.Repo(root, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        return GitInfo()
    try:
        commit = repo.head.commit.hexsha
    except ValueError:  # a repository without commits
        commit = None
    return GitInfo(commit=commit, dirty=repo.is_dirty(untracked_files=True))
