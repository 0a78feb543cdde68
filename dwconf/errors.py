"""The exception tree and the exit codes the CLI maps it to (ARCHITECTURE §8)."""

from __future__ import annotations

import enum
from collections.abc import Sequence
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


class DwconfError(Exception):
    """An expected failure with a message meant for the user."""

    exit_code = ExitCode.ERROR

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class ConfigError(DwconfError):
    """The configuration is invalid; carries every diagnostic found."""

    def __init__(self, diagnostics: Sequence[Diagnostic]) -> None:
        super().__init__(f"{len(diagnostics)} problem(s) in the configuration")
        self.diagnostics = list(diagnostics)


class ProviderError(DwconfError):
    """The environment refused an operation or could not be reached."""


class RefusedError(DwconfError):
    """A protection refused the operation (destructive change, stale plan)."""

    exit_code = ExitCode.REFUSED


class LockHeldError(DwconfError):
    """Someone else holds the environment's lock."""

    exit_code = ExitCode.LOCKED
