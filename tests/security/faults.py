"""Real environment faults for the red-team tests, where the machine allows them: a file system
with no space left (a tiny tmpfs) and a read-only folder (a read-only bind mount, since root
ignores permission bits; `chmod` otherwise). Where mounting is not allowed, `full_disk` says so
and the test injects the error at the lowest level it can reach instead."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def _mount(*args: str) -> bool:
    done = subprocess.run(["mount", *args], capture_output=True, check=False)
    return done.returncode == 0


def _umount(folder: Path) -> None:
    subprocess.run(["umount", "-l", str(folder)], capture_output=True, check=False)


@contextmanager
def full_disk(folder: Path, size_kib: int = 256) -> Iterator[bool]:
    """`folder` (made empty) on its own tmpfs of `size_kib`; True when it is mounted (fill it
    with `fill`), False when this machine does not allow mounting."""
    folder.mkdir(parents=True, exist_ok=True)
    mounted = os.geteuid() == 0 and _mount(
        "-t", "tmpfs", "-o", f"size={size_kib}k", "tmpfs", str(folder)
    )
    try:
        yield mounted
    finally:
        if mounted:
            _umount(folder)


def fill(folder: Path) -> None:
    """Use up every byte left on `folder`'s file system."""
    with (folder / ".filler").open("wb", buffering=0) as handle:
        for size in (65536, 4096, 1):
            try:
                while True:
                    handle.write(b"\0" * size)
            except OSError:
                continue


@contextmanager
def read_only(folder: Path) -> Iterator[None]:
    """`folder` read-only for this process, as a real file system would make it."""
    if os.geteuid() == 0:
        if not (
            _mount("--bind", str(folder), str(folder))
            and _mount("-o", "remount,ro,bind", str(folder))
        ):
            _umount(folder)
            raise RuntimeError(f"cannot make {folder} read-only on this machine")
        try:
            yield
        finally:
            _umount(folder)
        return
    mode = folder.stat().st_mode
    folder.chmod(0o555)
    try:
        yield
    finally:
        folder.chmod(mode)
