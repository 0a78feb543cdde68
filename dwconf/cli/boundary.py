"""The single error boundary: expected errors become messages and exit codes; anything else
writes a crash log and exits 3, never a bare traceback; Ctrl-C exits 130."""

from __future__ import annotations

import datetime as dt
import errno
import os
import sys
import tempfile
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from dwconf.cli import console
from dwconf.errors import OS_HINTS, ConfigError, DwconfError, ExitCode
from dwconf.redact import redact


def _crash_log(exc: BaseException) -> str:
    """Write the traceback, redacted, to a private per-user folder; return where it is. On a
    full or read-only disk there may be no log: the error itself is what gets reported."""
    folder = Path(tempfile.gettempdir()) / f"dwconf-logs-{os.getuid()}"
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%f")
    path = folder / f"crash-{stamp}.log"
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        path.write_text(redact("".join(traceback.format_exception(exc))), encoding="utf-8")
        path.chmod(0o600)
    except OSError as failed:
        return f"no log: it could not be written to {folder} ({failed.strerror or failed})"
    return str(path)


@dataclass(frozen=True)
class Failure:
    """How a command ended when it did not run to its end: what a person reads on stderr, and
    what a command that prints JSON puts in its document (`ending`, `reasons`, `hint`)."""

    exit_code: int
    message: str
    hint: str = ""
    reasons: tuple[str, ...] = ()  # each reason on its own; the message alone when it is one

    @property
    def ending(self) -> str:
        return _ENDINGS.get(self.exit_code, "error")


_ENDINGS: dict[int, str] = {
    ExitCode.ERROR: "error",
    ExitCode.INTERNAL: "internal_error",
    ExitCode.REFUSED: "refused",
    ExitCode.LOCKED: "locked",
    ExitCode.INTERRUPTED: "interrupted",
}
INTERRUPTED = Failure(int(ExitCode.INTERRUPTED), "interrupted", reasons=("interrupted",))

Document = Callable[[Failure], Mapping[str, Any]]
"""The JSON document a command prints on stdout when it ends with a `Failure`."""


def interrupted(exc: BaseException) -> bool:
    """Whether click's `Abort` stands for Ctrl-C (at a prompt, or anywhere click caught it)
    rather than for the end of input (Ctrl-D)."""
    return any(isinstance(e, KeyboardInterrupt) for e in (exc.__cause__, exc.__context__))


def run(command: Callable[[], int], document: Document | None = None) -> int:
    """Call a command body and turn whatever happens into an exit code; with `document`, a
    command that prints JSON prints one for a failure too, so a tool reading stdout always
    gets one."""
    try:
        return command()
    except click.exceptions.Abort as exc:
        if not interrupted(exc):
            raise
        failure = INTERRUPTED
    except (click.exceptions.Exit, click.ClickException):
        raise
    except KeyboardInterrupt:
        failure = INTERRUPTED
    except Exception as exc:
        failure = failure_of(exc)
    console.problem(failure.message, failure.hint)
    if document is not None:
        console.data(document(failure))
    return failure.exit_code


def failure_of(exc: Exception) -> Failure:
    """What an exception means for the person: expected errors say what to do; anything else
    writes a crash log and is a bug (exit 3), never a bare traceback."""
    if isinstance(exc, ConfigError):
        console.show_diagnostics(exc.diagnostics, console.err)
        lines = tuple(f"{d.span}: {d.severity.value} {d.code} {d.message}" for d in exc.diagnostics)
        return Failure(int(exc.exit_code), exc.message, exc.hint, lines or (exc.message,))
    if isinstance(exc, DwconfError):
        return Failure(int(exc.exit_code), exc.message, exc.hint, exc.reasons or (exc.message,))
    path = _crash_log(exc)
    if isinstance(exc, OSError):  # the machine's problem (disk, permissions, network)
        message = _os_problem(exc)
        return Failure(int(ExitCode.ERROR), message, f"{_os_hint(exc)} (details in {path})")
    return Failure(
        int(ExitCode.INTERNAL),
        f"internal error: {type(exc).__name__}",
        f"this is a bug in dwconf; the details are in {path}",
    )


_OS_HINTS = {
    **OS_HINTS,
    errno.ENOENT: "check that the file exists (a path in the configuration, such as "
    "provider.ca_file, is read from the repository)",
}


def _os_problem(exc: OSError) -> str:
    where = f": {exc.filename}" if exc.filename else ""
    return f"{exc.strerror or exc}{where}"


def _os_hint(exc: OSError) -> str:
    ssl = sys.modules.get("ssl")  # an SSLError exists only where ssl was imported: no import
    if ssl is not None and isinstance(exc, ssl.SSLError):
        return "check provider.ca_file and the server's certificate"
    return _OS_HINTS.get(exc.errno or 0, "check the disk, the file's permissions and the network")
