"""The exception tree and the exit codes the CLI maps it to (ARCHITECTURE §8)."""

from __future__ import annotations

import difflib
import enum
import errno
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dwconf.diagnostics import Diagnostic


class ExitCode(enum.IntEnum):
    OK = 0
    ERROR = 1
    CHANGES = 2
    INTERNAL = 3
    REFUSED = 4
    LOCKED = 5
    INTERRUPTED = 130  # Ctrl-C (SIGINT): 128 + the signal's number, as shells report it


class DwconfError(Exception):
    """An expected failure with a message meant for the user."""

    exit_code = ExitCode.ERROR
    halts_apply = False  # True: an apply starts no further step after this failure

    def __init__(self, message: str, hint: str = "", *, reasons: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.reasons = tuple(reasons)  # each reason on its own, where the message lists several


class ConfigError(DwconfError):
    """The configuration is invalid; carries every diagnostic found."""

    def __init__(
        self, diagnostics: Sequence[Diagnostic], message: str = "", hint: str = ""
    ) -> None:
        super().__init__(message or f"{len(diagnostics)} problem(s) in the configuration", hint)
        self.diagnostics = list(diagnostics)


class UnknownEnvironmentError(DwconfError):
    """An environment name that no file in environments/ defines."""

    def __init__(self, names: Sequence[str], known: Iterable[str], broken: bool = False) -> None:
        quoted = ", ".join(f"'{n}'" for n in names)
        plural = "s" if len(names) > 1 else ""
        hint = f"known environments: {', '.join(sorted(known)) or 'none'}"
        close = [m for n in names for m in difflib.get_close_matches(n, list(known), n=1)]
        if len(names) == 1 and close:
            hint = f"did you mean '{close[0]}'? {hint}"
        if broken:
            hint += "; some environment files have errors (run dwconf validate)"
        super().__init__(f"unknown environment{plural} {quoted}", hint)
        self.names = tuple(names)


class NotAConfigurationError(DwconfError):
    """A folder that holds no configuration at all: a command run in the wrong folder."""

    def __init__(self, root: Path) -> None:
        where = root if root.is_absolute() else root.resolve()
        super().__init__(
            "not a dwconf configuration (no dwconf.yaml, environments/ or solutions/ found "
            f"in {where})",
            "run dwconf in the configuration repository or point at it with dwconf -C DIR; "
            "start a new one with dwconf init",
        )


class ProviderError(DwconfError):
    """The environment refused an operation or could not be reached."""


class UnreachableError(ProviderError):
    """The environment can't be reached at all (connection refused, certificate not trusted):
    every further step would fail the same way, so an apply stops instead of trying them."""

    halts_apply = True


class RefusedError(DwconfError):
    """A protection refused the operation (destructive change, stale plan)."""

    exit_code = ExitCode.REFUSED


class LockHeldError(DwconfError):
    """Someone else holds the environment's lock."""

    exit_code = ExitCode.LOCKED


class LeaseLostError(LockHeldError):
    """This apply no longer holds the environment's lease (its renewal failed for too long, or
    someone else holds it now): it stops before its next write."""

    halts_apply = True


# What to do about an operating-system error, by its errno: the disk and permission problems a
# person can fix. Callers add or replace entries where they know better (a command's `--out`).
OS_HINTS = {
    errno.ENOSPC: "the disk is full: free some space, then run the command again",
    errno.EDQUOT: "the disk quota is used up: free some space, then run the command again",
    errno.EROFS: "the file system is read-only: run the command where it can write",
    errno.EACCES: "check that this user may read and write the file and its folder",
    errno.EPERM: "check that this user may read and write the file and its folder",
    errno.ENOTDIR: "a part of the path is a file, not a folder: choose another path",
    errno.EISDIR: "the path is a folder, not a file: choose another path",
}
