"""The single error boundary: expected errors become messages and exit codes; anything else
writes a crash log and exits 3, never a bare traceback."""

from __future__ import annotations

import datetime as dt
import errno
import os
import ssl
import tempfile
import traceback
from collections.abc import Callable
from pathlib import Path

import click

from dwconf.cli import console
from dwconf.errors import ConfigError, DwconfError, ExitCode
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


def run(command: Callable[[], int]) -> int:
    """Call a command body and turn whatever happens into an exit code."""
    try:
        return command()
    except ConfigError as exc:
        for d in exc.diagnostics:
            console.show_diagnostic(d, console.err)
        console.problem(exc.message)
        return int(exc.exit_code)
    except DwconfError as exc:
        console.problem(exc.message, exc.hint)
        return int(exc.exit_code)
    except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
        raise
    except KeyboardInterrupt:
        console.problem("interrupted")
        return 130
    except OSError as exc:  # the machine's problem (disk, permissions, network), not dwconf's
        path = _crash_log(exc)
        console.problem(_os_problem(exc), f"{_os_hint(exc)} (details in {path})")
        return int(ExitCode.ERROR)
    except Exception as exc:
        path = _crash_log(exc)
        console.problem(
            f"internal error: {type(exc).__name__}",
            f"this is a bug in dwconf; the details are in {path}",
        )
        return int(ExitCode.INTERNAL)


_OS_HINTS = {
    errno.ENOSPC: "the disk is full: free some space, then run the command again",
    errno.EDQUOT: "the disk quota is used up: free some space, then run the command again",
    errno.EROFS: "the file system is read-only: run the command where it can write",
    errno.EACCES: "check that this user may read and write the file and its folder",
    errno.EPERM: "check that this user may read and write the file and its folder",
    errno.ENOENT: "check that the file exists (a path in the configuration, such as "
    "provider.ca_file, is read from the repository)",
}


def _os_problem(exc: OSError) -> str:
    where = f": {exc.filename}" if exc.filename else ""
    return f"{exc.strerror or exc}{where}"


def _os_hint(exc: OSError) -> str:
    if isinstance(exc, ssl.SSLError):
        return "check provider.ca_file and the server's certificate"
    return _OS_HINTS.get(exc.errno or 0, "check the disk, the file's permissions and the network")
