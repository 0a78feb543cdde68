"""The one place that prints: colour on a TTY only, NO_COLOR respected, errors to stderr."""

from __future__ import annotations

import json
import logging
import os
import re
import sys
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.text import Text

from dwconf.diagnostics import Diagnostic, Severity
from dwconf.redact import redact


def _color() -> bool:
    return "NO_COLOR" not in os.environ


out = Console(highlight=False, soft_wrap=True, no_color=not _color())
err = Console(stderr=True, highlight=False, soft_wrap=True, no_color=not _color())

_STYLE = {Severity.ERROR: "bold red", Severity.WARNING: "yellow", Severity.INFO: "cyan"}


def plain(text: str = "") -> None:
    """Write text exactly, without markup: for data meant to be piped."""
    sys.stdout.write(text if text.endswith("\n") or not text else text + "\n")
    sys.stdout.flush()


# A rendered plan, diff or drift report: lines by their symbol, categories where they are named.
_LINES = (
    (re.compile(r"(?m)^ *! .*$"), "bold red"),  # what apply would refuse
    (re.compile(r"(?m)^ *-/\+ .*$"), "magenta"),
    (re.compile(r"(?m)^ *\+ .*$"), "green"),
    (re.compile(r"(?m)^ *- .*$"), "red"),
    (re.compile(r"(?m)^ *~ .*$"), "yellow"),
)
_CATEGORIES = re.compile(r"\b(start|restart|initial_sync|destructive)\b(?=\)|:)")
_CATEGORY_STYLE = {
    "start": "cyan",
    "restart": "yellow",
    "initial_sync": "dark_orange",
    "destructive": "bold red",
}


def coloured() -> bool:
    """Colour only for a person at a terminal, and never under NO_COLOR."""
    return _color() and out.is_terminal


def report(text: str) -> None:
    """A rendered report (plan, diff, drift): coloured on a terminal, exactly as is otherwise."""
    if not coloured():
        plain(text)
        return
    styled = Text(text.rstrip("\n"))
    for pattern, style in _LINES:
        styled.highlight_regex(pattern, style)
    for match in _CATEGORIES.finditer(styled.plain):
        styled.stylize(_CATEGORY_STYLE[match.group(1)], match.start(), match.end())
    out.print(styled, soft_wrap=True, highlight=False)


def data(value: Any) -> None:
    plain(json.dumps(value, indent=2, sort_keys=False, default=str))


def show_diagnostic(d: Diagnostic, stream: Console) -> None:
    style = _STYLE[d.severity]
    stream.print(f"{d.span}: [{style}]{d.severity.value}[/] {d.code} ", end="", markup=True)
    stream.print(d.message, markup=False)
    if d.hint:
        stream.print(f"  hint: {d.hint}", markup=False, style="dim")


SHOWN_PER_FILE = 100


def show_diagnostics(diagnostics: Iterable[Diagnostic], stream: Console) -> None:
    """Each diagnostic, at most SHOWN_PER_FILE of one file: a file of 300,000 unknown keys
    printed for minutes. The rest are counted; `--format json` lists every one."""
    counts: Counter[str] = Counter()
    for d in diagnostics:
        counts[d.span.file] += 1
        if counts[d.span.file] <= SHOWN_PER_FILE:
            show_diagnostic(d, stream)
    for file, count in counts.items():
        if count > SHOWN_PER_FILE:
            more = count - SHOWN_PER_FILE
            line = f"{file}: {more} more diagnostic(s) not shown (all of them: --format json)"
            stream.print(line, markup=False, style="dim")


def github(d: Diagnostic) -> str:
    """A GitHub Actions workflow annotation line."""
    kind = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}
    message = f"{d.code} {d.message}" + (f" (hint: {d.hint})" if d.hint else "")
    message = message.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    s = d.span
    path = s.file.split("@", 1)[0]  # a file read from a release tag: annotate the file itself
    where = f"file={path},line={s.line},col={s.column},title={d.code}"
    return f"::{kind[d.severity]} {where}::{message}"


def problem(message: str, hint: str = "") -> None:
    err.print("[bold red]error:[/] ", end="")
    err.print(redact(message), markup=False)
    if hint:
        err.print(f"  hint: {redact(hint)}", markup=False, style="dim")


class _Lines(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        err.print(redact(f"  ... {record.getMessage()}"), markup=False)


@contextmanager
def progress_lines() -> Iterator[None]:
    """Print what the library says on the `dwconf.progress` logger (a map that is still
    initializing, every half minute) on stderr while a long operation runs."""
    logger = logging.getLogger("dwconf.progress")
    handler, level = _Lines(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
