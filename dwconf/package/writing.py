"""Writing generated files into a repository (`dwconf unpack`, `dwconf import`, `dwconf
package`) without leaving it and without deleting what dwconf did not write.

A repository is untrusted input: a committed symbolic link (`maps -> ~/.ssh`, `solution.yaml
-> ~/.bashrc`) would make a plain `write_text` or `unlink` act outside it. So below the folder
the user trusts (the repository, or the `--out` folder when it is elsewhere) no folder or file
on the way may be a symbolic link: everything is checked before anything is written, and the
writes themselves walk folder by folder with `O_NOFOLLOW`, so a link swapped in meanwhile fails
instead of being followed. Each file is written to a temporary name and renamed over the old
one, so an interrupted write (a full disk) leaves the old file whole.

`--force` replaces files; the stale YAML files of a folder it rewrites (a map the new zip no
longer carries) are removed only when dwconf wrote them (they begin with dwconf's header);
any other file there is kept and reported.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from dwconf.errors import OS_HINTS, DwconfError

# The first line of every file unpack and import write (yamlout headers): what marks a file
# as dwconf's own, which --force may remove when it is stale.
WRITTEN_BY = ("# Unpacked by dwconf unpack ", "# Imported by dwconf import ")
_DIRECTORY = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW


@dataclass(frozen=True)
class Written:
    """What a write did: files written, stale files removed, stale files kept (not dwconf's)."""

    written: tuple[Path, ...]
    removed: tuple[Path, ...] = ()
    kept: tuple[Path, ...] = ()


def trusted_base(root: Path, out: Path) -> Path:
    """The folder below which nothing may be a link: the repository when `out` is inside it,
    else `out` itself (a folder the user named)."""
    root, out = root.absolute(), out.absolute()
    return root if out == root or root in out.parents else out


def write_files(
    base: Path,
    out: Path,
    files: Mapping[str, str | bytes],
    *,
    force: bool = False,
    replace: tuple[str, ...] = (),
) -> Written:
    """Write `files` (paths relative to `out`) under `out`, which is `base` or inside it.
    Existing files are refused unless `force`; with `force`, the stale `*.yaml` files of the
    `replace` folders (relative to `out`) that dwconf wrote are removed."""
    base, out = base.absolute(), out.absolute()
    prefix = out.relative_to(base).parts
    targets = {name: (*prefix, *PurePosixPath(name).parts) for name in files}
    for name in [*files, *replace]:
        if PurePosixPath(name).is_absolute() or {"..", "."} & set(name.split("/")):
            raise DwconfError(f"refusing to write {name!r}: it leaves {out}")
    for parts in targets.values():
        _refuse_links(base, parts)
    for folder in replace:
        _refuse_links(base, (*prefix, *PurePosixPath(folder).parts), folder=True)
    existing = sorted(name for name, parts in targets.items() if _lexists(base, parts))
    if existing and not force:
        shown = ", ".join(existing[:3]) + (" …" if len(existing) > 3 else "")
        raise DwconfError(f"{out} already has {shown}", "pass --force to overwrite")
    stale, kept = _stale(base, prefix, replace, set(files)) if force else ([], [])
    try:
        base.mkdir(parents=True, exist_ok=True)  # the folder the user named, links and all
    except OSError as exc:
        raise _os_error(exc, base) from exc
    for parts in stale:
        _remove(base, parts)
    for name, parts in targets.items():
        data = files[name]
        _write(base, parts, data.encode("utf-8") if isinstance(data, str) else data)
    return Written(
        tuple(base.joinpath(*p) for p in targets.values()),
        tuple(base.joinpath(*p) for p in stale),
        tuple(base.joinpath(*p) for p in kept),
    )


# Checks before writing ------------------------------------------------------------------------


def _refuse_links(base: Path, parts: tuple[str, ...], folder: bool = False) -> None:
    """No component of `base/parts` below `base` may be a link; folders must be folders (the
    last one too when `folder`)."""
    path = base
    for depth, part in enumerate(parts):
        path = path / part
        try:
            mode = path.lstat().st_mode
        except FileNotFoundError:
            return
        except OSError as exc:
            raise _os_error(exc, path) from exc
        if stat.S_ISLNK(mode):
            raise DwconfError(
                f"refusing to write through the symbolic link {path}",
                "dwconf writes only inside the repository: replace the link by a real "
                "folder or file, or write elsewhere with --out",
            )
        last = depth == len(parts) - 1 and not folder
        if not last and not stat.S_ISDIR(mode):
            raise DwconfError(f"{path} is not a folder", "move it away, or write elsewhere")
        if last and stat.S_ISDIR(mode):
            raise DwconfError(f"{path} is a folder, where dwconf writes a file", "move it away")


def _lexists(base: Path, parts: tuple[str, ...]) -> bool:
    return os.path.lexists(base.joinpath(*parts))


def _stale(
    base: Path, prefix: tuple[str, ...], folders: tuple[str, ...], keep: set[str]
) -> tuple[list[tuple[str, ...]], list[tuple[str, ...]]]:
    """The `*.yaml` entries of `folders` not in `keep`: (dwconf's own, to remove; others)."""
    remove: list[tuple[str, ...]] = []
    others: list[tuple[str, ...]] = []
    for folder in folders:
        where = base.joinpath(*prefix, *PurePosixPath(folder).parts)
        if not where.is_dir():
            continue
        for entry in sorted(where.iterdir()):
            relative = entry.relative_to(base.joinpath(*prefix)).as_posix()
            if entry.suffix != ".yaml" or relative in keep:
                continue
            parts = (*prefix, *PurePosixPath(relative).parts)
            (remove if _written_by_dwconf(entry) else others).append(parts)
    return remove, others


def _written_by_dwconf(path: Path) -> bool:
    """A regular file (not a link) whose first line is one of dwconf's headers."""
    try:
        if not stat.S_ISREG(path.lstat().st_mode):
            return False
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return False
    with os.fdopen(fd, "rb") as handle:
        first = handle.readline(200).decode("utf-8", errors="replace")
    return first.startswith(WRITTEN_BY)


# Writing, folder by folder without following links --------------------------------------------


@contextmanager
def _folder(base: Path, parts: tuple[str, ...], create: bool) -> Iterator[int]:
    """A descriptor of the folder `base/parts` reached without following a link below `base`
    (made when missing and `create`)."""
    fd = os.open(base, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for depth, part in enumerate(parts):
            if create:
                with suppress(FileExistsError):
                    os.mkdir(part, dir_fd=fd)
            try:
                inner = os.open(part, _DIRECTORY, dir_fd=fd)
            except OSError as exc:  # a link is ENOTDIR (with O_DIRECTORY) or ELOOP
                where = base.joinpath(*parts[: depth + 1])
                raise (_appeared(where) if _is_link(fd, part) else _os_error(exc, where)) from exc
            os.close(fd)
            fd = inner
        yield fd
    finally:
        os.close(fd)


def _write(base: Path, parts: tuple[str, ...], data: bytes) -> None:
    name = parts[-1]
    temporary = f".{name}.{os.getpid()}.dwconf-tmp"
    with _folder(base, parts[:-1], create=True) as fd:
        try:
            out = os.open(
                temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o666, dir_fd=fd
            )
            with os.fdopen(out, "wb") as handle:
                handle.write(data)
                with suppress(FileNotFoundError):  # a file replaced keeps its permissions
                    old = os.stat(name, dir_fd=fd, follow_symlinks=False)
                    os.fchmod(handle.fileno(), stat.S_IMODE(old.st_mode))
            os.replace(temporary, name, src_dir_fd=fd, dst_dir_fd=fd)
        except OSError as exc:
            with suppress(OSError):
                os.unlink(temporary, dir_fd=fd)
            raise _os_error(exc, base.joinpath(*parts)) from exc


def _remove(base: Path, parts: tuple[str, ...]) -> None:
    with _folder(base, parts[:-1], create=False) as fd:
        try:
            os.unlink(parts[-1], dir_fd=fd)
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise _os_error(exc, base.joinpath(*parts)) from exc


def _is_link(folder: int, name: str) -> bool:
    try:
        return stat.S_ISLNK(os.stat(name, dir_fd=folder, follow_symlinks=False).st_mode)
    except OSError:
        return False


def _appeared(path: Path) -> DwconfError:
    return DwconfError(
        f"refusing to write through the symbolic link {path} (it appeared while writing)",
        "replace the link by a real folder or file",
    )


def _os_error(exc: OSError, path: Path) -> DwconfError:
    """A write that failed, with what to do about it."""
    if exc.errno == errno.ELOOP:  # O_NOFOLLOW met a link
        return _appeared(path)
    hints = {
        **OS_HINTS,
        errno.EROFS: "the file system is read-only: write elsewhere with --out",
        errno.EACCES: "check the folder's permissions, or write elsewhere with --out",
        errno.EPERM: "check the folder's permissions, or write elsewhere with --out",
    }
    hint = hints.get(exc.errno or 0, "check the folder, or write elsewhere with --out")
    return DwconfError(f"cannot write {path}: {exc.strerror or exc}", hint)
