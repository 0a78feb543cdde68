"""The single error boundary: expected errors become messages and exit codes; anything else
writes a crash log and exits 3, never a bare traceback."""

from __future__ import annotations

import datetime as dt
import os
import tempfile
import traceback
from collections.abc import Callable
from pathlib import Path

import click

from dwconf.cli import console
from dwconf.errors import ConfigError, DwconfError, ExitCode
from dwconf.redact import redact


def _crash_log(exc: BaseException) -> Path:
    """Write the traceback, redacted, to a private per-user folder; return its path."""
    folder = Path(tempfile.gettempdir()) / f"dwconf-logs-{os.getuid()}"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%f")
    path = folder / f"crash-{stamp}.log"
    path.write_text(redact("".join(traceback.format_exception(exc))), encoding="utf-8")
    path.chmod(0o600)
    return path


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
    except Exception as exc:
        path = _crash_log(exc)
        console.problem(
            f"internal error: {type(exc).__name__}",
            f"this is a bug in dwconf; the details are in {path}",
        )
        return int(ExitCode.INTERNAL)
