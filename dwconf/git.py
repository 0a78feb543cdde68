"""Git: the only module that imports gitpython.

Three things live here:

- `info(root)`: the commit checked out and whether the working tree has changes (plans record it);
- the file-tree abstraction the loader reads through (`FileTree`: list a folder, read a file),
  over the working tree (`WorkingTree`) or over the tree of a commit or tag (`GitTree`), so a
  solution pinned to a released version is read from its tag without a checkout;
- `Repository`: the few repository operations the GitOps commands need (release tags, a clean
  tree, one commit, an annotated tag, a new branch, revisions and merge-bases).

gitpython is imported lazily: `dwconf validate` on a configuration that pins no released version
never pays for it.
"""

from __future__ import annotations

import os
import posixpath
import re
import stat
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Protocol

from dwconf.errors import DwconfError

if TYPE_CHECKING:
    import git

RELEASE_TAG = re.compile(r"^(?P<folder>[^/]+)/v(?P<version>\d+\.\d+\.\d+\.\d+)$")
LOCAL_STATE = ".dwconf"  # the embedded environments' folder, git-ignored


@dataclass(frozen=True)
class GitInfo:
    """Where a plan's configuration came from: the commit checked out (None outside git) and
    whether the working tree had changes."""

    commit: str | None = None
    dirty: bool = False


def release_tag(folder: str, version: str) -> str:
    """The tag `dwconf release` gives a solution's version: `<folder>/v<version>`."""
    return f"{folder}/v{version}"


def version_key(version: str) -> tuple[int, ...]:
    """Sort key of a four-part version (numeric, part by part)."""
    return tuple(int(part) for part in version.split("."))


# -- file trees --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """One name in a folder of a file tree."""

    name: str
    is_dir: bool


class FileTree(Protocol):
    """The read-only files of a configuration repository, by posix path relative to its root."""

    @property
    def label(self) -> str:
        """Appended to every displayed path: '' for the working tree, '@<rev>' for a revision."""
        ...

    def entries(self, folder: str) -> list[Entry]:
        """The entries of `folder` ('' is the root), sorted by name; [] when it is no folder."""
        ...

    def read(self, path: str, limit: int) -> bytes:
        """The bytes of the regular file at `path`, inside the tree (links are followed only
        to files inside it); raises `Refused` for anything else or a file over `limit` bytes,
        OSError when it can't be read."""
        ...


class Refused(OSError):
    """A file the loader does not read, with its diagnostic code and what to do about it."""

    def __init__(self, code: str, reason: str, hint: str, size: int = 0) -> None:
        super().__init__(reason)
        self.code, self.reason, self.hint, self.size = code, reason, hint, size


def _too_large(size: int) -> Refused:
    return Refused("DW1002", "too large", "split the content over several files", size)


_OUTSIDE_HINT = "dwconf reads only files inside the repository: copy the file in, or commit it"


@dataclass(frozen=True)
class WorkingTree:
    """The files on disk under `root`."""

    root: Path
    label: str = ""

    @cached_property
    def _real_root(self) -> Path:
        """The root with its links resolved, once for every file read."""
        return self.root.resolve()

    def entries(self, folder: str) -> list[Entry]:
        path = self.root / folder if folder else self.root
        if not path.is_dir():
            return []
        return sorted((Entry(p.name, p.is_dir()) for p in path.iterdir()), key=lambda e: e.name)

    def read(self, path: str, limit: int) -> bytes:
        try:
            real = (self.root / path).resolve()
        except RuntimeError as exc:  # Python 3.11 reports a loop of links this way
            raise Refused("DW1011", "a link in a loop of links", "link to the file itself") from exc
        if not real.is_relative_to(self._real_root):
            raise Refused("DW1011", f"a link to {real}, outside the repository", _OUTSIDE_HINT)
        # Non-blocking: opening a FIFO would otherwise wait for a writer. What was opened is
        # what is checked, so nothing swapped in after a check is read.
        fd = os.open(real, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY)
        with os.fdopen(fd, "rb") as file:
            found = os.fstat(fd)
            if not stat.S_ISREG(found.st_mode):
                raise Refused("DW1010", "not a regular file", "keep only YAML files here")
            if found.st_size > limit:
                raise _too_large(found.st_size)
            data = file.read(limit + 1)
        if len(data) > limit:  # grew since it was looked at
            raise _too_large(len(data))
        return data


@dataclass(frozen=True)
class EditedTree:
    """`base` with the content of some of its files replaced: the tree as it would be once they
    are written, read without writing them (a dry run checks what a real run would write)."""

    base: FileTree
    edits: Mapping[str, bytes]

    @property
    def label(self) -> str:
        return self.base.label

    def entries(self, folder: str) -> list[Entry]:
        return self.base.entries(folder)

    def read(self, path: str, limit: int) -> bytes:
        if path not in self.edits:
            return self.base.read(path, limit)
        if len(self.edits[path]) > limit:  # refused as the written file would be
            raise _too_large(len(self.edits[path]))
        return self.edits[path]


@dataclass(frozen=True)
class GitTree:
    """The files of one commit's tree (blobs read through gitpython: no checkout). Each folder's
    tree object is parsed once: reading a thousand files of one folder parses it once, not a
    thousand times."""

    tree: git.Tree
    label: str
    _folders: dict[str, dict[str, git.Tree | git.Blob] | None] = field(
        default_factory=dict, compare=False, repr=False
    )

    def _listing(self, folder: str) -> dict[str, git.Tree | git.Blob] | None:
        """The trees and blobs of `folder` by name; None when it is no folder."""
        import git

        if folder in self._folders:
            return self._folders[folder]
        self._folders[folder] = None  # a loop of links comes back here: no folder
        parent, _, name = folder.rpartition("/")
        tree = (self._listing(parent) or {}).get(name) if folder else self.tree
        listing = None
        if isinstance(tree, git.Blob) and tree.mode == _LINK_MODE:
            listing = self._linked_listing(parent, tree)
        elif isinstance(tree, git.Tree):
            listing = {i.name: i for i in tree if isinstance(i, git.Tree | git.Blob)}
        self._folders[folder] = listing
        return listing

    def _linked_listing(self, parent: str, link: git.Blob) -> dict[str, git.Tree | git.Blob] | None:
        """A linked folder, followed as the working tree follows it; a link leaving the
        revision is no folder (a file read through it is refused with its reason)."""
        try:
            target = _link_target(parent, link)
        except Refused:
            return None
        return self._listing(target)

    def entries(self, folder: str) -> list[Entry]:
        import git

        listing = self._listing(folder) or {}
        base = f"{folder}/" if folder else ""
        items = [
            Entry(name, isinstance(i, git.Tree) or self._listing(base + name) is not None)
            for name, i in listing.items()
        ]
        return sorted(items, key=lambda e: e.name)

    def read(self, path: str, limit: int, links: int = 8) -> bytes:
        import git

        folder, _, name = path.rpartition("/")
        found = (self._listing(folder) or {}).get(name)
        if not isinstance(found, git.Blob):
            raise FileNotFoundError(2, "No such file in the revision", path)
        if found.mode == _LINK_MODE:
            target = _link_target(folder, found)
            if links == 0:
                raise Refused("DW1011", "a link in a loop of links", "link to the file itself")
            return self.read(target, limit, links - 1)
        if found.size > limit:
            raise _too_large(found.size)
        data: bytes = found.data_stream.read()
        return data


_LINK_MODE = 0o120000


_LINK_LIMIT = 4096  # bytes of a link's target: PATH_MAX on Linux


def _link_target(folder: str, link: git.Blob) -> str:
    """Where a link of the revision points (its blob holds the path), inside the revision."""
    if link.size > _LINK_LIMIT:  # a link's blob is a path: a large one is a crafted commit
        raise Refused("DW1011", "a link whose target is not a path", _OUTSIDE_HINT)
    try:
        text = link.data_stream.read().decode()
    except UnicodeDecodeError as exc:
        raise Refused("DW1011", "a link whose target is not a path of text", _OUTSIDE_HINT) from exc
    target = posixpath.normpath(posixpath.join(folder, text))
    if target.startswith(("../", "/")) or target == "..":
        raise Refused("DW1011", f"a link to {target}, outside the revision", _OUTSIDE_HINT)
    return target


# -- releases ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Release:
    """A released version of a solution: the tag `<folder>/v<version>` and its commit."""

    folder: str
    version: str
    tag: str
    commit: str


@dataclass(frozen=True)
class Releases:
    """Every release tag of a repository, by solution folder.

    `in_git` is False when the configuration is not in a git repository (no pin can resolve).
    """

    in_git: bool = True
    by_folder: Mapping[str, Mapping[str, Release]] = field(default_factory=dict)

    def get(self, folder: str, version: str) -> Release | None:
        return self.by_folder.get(folder, {}).get(version)

    def versions(self, folder: str) -> list[str]:
        """The released versions of `folder`, oldest first."""
        return sorted(self.by_folder.get(folder, {}), key=version_key)


# -- the repository ----------------------------------------------------------------------------


class Repository:
    """The git repository holding a configuration root (which may be a subfolder of it)."""

    def __init__(self, repo: git.Repo, root: Path) -> None:
        self._repo = repo
        top = Path(repo.working_tree_dir or root).resolve()
        prefix = root.resolve().relative_to(top).as_posix()
        self.root = root
        self.prefix = "" if prefix == "." else prefix

    @classmethod
    def find(cls, root: Path) -> Repository | None:
        """The repository holding `root`, or None when there is none."""
        import git

        try:
            repo = git.Repo(root, search_parent_directories=True)
        except (git.InvalidGitRepositoryError, git.NoSuchPathError):
            return None
        if repo.bare or repo.working_tree_dir is None:
            return None
        return cls(repo, root)

    @classmethod
    def open(cls, root: Path) -> Repository:
        """The repository holding `root`; a DwconfError when there is none."""
        found = cls.find(root)
        if found is None:
            raise DwconfError(
                f"{root} is not in a git repository",
                "run dwconf inside a clone of the configuration repository (git init, git clone)",
            )
        return found

    def close(self) -> None:
        self._repo.close()

    def in_repo(self, path: str) -> str:
        """A path relative to the configuration root, as a path inside the repository."""
        return str(PurePosixPath(self.prefix, path)) if self.prefix else path

    # -- reading ---------------------------------------------------------------------------

    def head(self) -> str | None:
        """The sha of HEAD, or None in a repository without commits."""
        try:
            return self._repo.head.commit.hexsha
        except ValueError:
            return None

    def resolve(self, rev: str) -> str:
        """The commit sha `rev` names (a branch, tag, sha, `HEAD~1` …)."""
        import git

        try:
            return self._repo.commit(rev).hexsha
        except (git.BadName, git.BadObject, ValueError) as exc:
            raise DwconfError(
                f"unknown git revision: {rev}", "name a branch, tag or commit"
            ) from exc

    def tree(self, rev: str, label: str | None = None) -> GitTree:
        """The configuration root's files at `rev`."""
        commit = self._repo.commit(self.resolve(rev))
        tree = commit.tree
        if self.prefix:
            try:
                tree = tree / self.prefix
            except KeyError as exc:
                raise DwconfError(f"{self.prefix} does not exist at {rev}") from exc
        return GitTree(tree, f"@{rev}" if label is None else label)

    def releases(self) -> Releases:
        """Every tag `<folder>/v<four-part version>` with the commit it points to."""
        found: dict[str, dict[str, Release]] = {}
        for tag in self._repo.tags:
            match = RELEASE_TAG.match(tag.name)
            if match is None:
                continue
            try:
                commit = tag.commit.hexsha
            except ValueError:  # a tag of something that is not a commit
                continue
            folder, version = match["folder"], match["version"]
            found.setdefault(folder, {})[version] = Release(folder, version, tag.name, commit)
        return Releases(True, found)

    def release_tree(self, release: Release) -> GitTree:
        return self.tree(release.commit, f"@{release.tag}")

    def changed_paths(self) -> list[str]:
        """Modified, staged and untracked files (git status), except dwconf's local state."""
        output = self._repo.git.status("--porcelain=v1", "-z", "--untracked-files=all")
        ignored = self.in_repo(LOCAL_STATE) + "/"
        return [p for p in _status_paths(output) if not p.startswith(ignored)]

    def has_ref(self, name: str) -> bool:
        try:
            self._repo.commit(name)
        except Exception:
            return False
        return True

    def has_branch(self, name: str) -> bool:
        return name in {h.name for h in self._repo.heads}

    def default_branch(self) -> str | None:
        """The default branch: main or master, locally or at origin."""
        for name in ("main", "master", "origin/main", "origin/master", "origin/HEAD"):
            if self.has_ref(name):
                return name
        return None

    def merge_base(self, a: str, b: str) -> str:
        bases = self._repo.merge_base(a, b)
        if not bases or bases[0] is None:
            raise DwconfError(f"{a} and {b} have no common ancestor", "pass both revisions")
        return str(bases[0].hexsha)

    # -- writing ---------------------------------------------------------------------------

    def _identity(self) -> tuple[git.Actor, dict[str, str]]:
        import git

        actor = git.Actor.committer(self._repo.config_reader())
        env = {"GIT_COMMITTER_NAME": actor.name or "dwconf"}
        env["GIT_COMMITTER_EMAIL"] = actor.email or "dwconf@localhost"
        return actor, {**os.environ, **env}

    def commit(self, paths: list[str], message: str) -> str:
        """Commit the files at `paths` (relative to the configuration root); returns the sha."""
        actor, _ = self._identity()
        self._repo.index.add([self.in_repo(p) for p in paths])
        made = self._repo.index.commit(message, author=actor, committer=actor, skip_hooks=True)
        return made.hexsha

    def tag(self, name: str, message: str, ref: str = "HEAD") -> None:
        """Create the annotated tag `name` at `ref`."""
        _, env = self._identity()
        self._repo.git.tag("-a", name, "-m", message, ref, env=env)

    def start_branch(self, name: str) -> None:
        """Create branch `name` at HEAD and check it out (local changes are carried over)."""
        self._repo.git.checkout("-b", name)


def _status_paths(output: str) -> Iterator[str]:
    entries = iter(output.split("\0"))
    for entry in entries:
        if len(entry) < 4:
            continue
        yield entry[3:]
        if entry[0] in "RC":
            next(entries, None)  # the rename's source path


def in_work_tree(path: Path) -> bool:
    """Whether `path` is inside a git working tree."""
    repo = Repository.find(path)
    if repo is None:
        return False
    repo.close()
    return True


def info(root: Path) -> GitInfo:
    """The commit checked out at `root` and whether the working tree has changes."""
    repo = Repository.find(root)
    if repo is None:
        return GitInfo()
    try:
        return GitInfo(commit=repo.head(), dirty=bool(repo.changed_paths()))
    finally:
        repo.close()
