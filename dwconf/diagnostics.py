"""Diagnostics: what every check returns instead of raising.

A rule or loader step returns `Diagnostic` values; they are gathered, sorted by file, line and
column, and only the CLI decides whether to stop.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass


class Severity(enum.Enum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        return {"error": 0, "warning": 1, "info": 2}[self.value]


@dataclass(frozen=True, slots=True, order=True)
class Span:
    """A position in a source file; line and column are 1-based."""

    file: str
    line: int = 0
    column: int = 0

    def __str__(self) -> str:
        if not self.line:
            return self.file
        return f"{self.file}:{self.line}:{self.column}"

    def shifted(self, columns: int) -> Span:
        return Span(self.file, self.line, self.column + columns)


@dataclass(frozen=True, slots=True)
class Diagnostic:
    code: str
    severity: Severity
    message: str
    span: Span
    hint: str = ""

    @property
    def sort_key(self) -> tuple[str, int, int, int, str, str]:
        s = self.span
        return (s.file, s.line, s.column, self.severity.rank, self.code, self.message)

    def as_dict(self) -> dict[str, object]:
        return {
            "code": self.code,
            "severity": self.severity.value,
            "message": self.message,
            "file": self.span.file,
            "line": self.span.line,
            "column": self.span.column,
            "hint": self.hint,
        }


def error(code: str, message: str, span: Span, hint: str = "") -> Diagnostic:
    return Diagnostic(code, Severity.ERROR, message, span, hint)


def warning(code: str, message: str, span: Span, hint: str = "") -> Diagnostic:
    return Diagnostic(code, Severity.WARNING, message, span, hint)


def info(code: str, message: str, span: Span, hint: str = "") -> Diagnostic:
    return Diagnostic(code, Severity.INFO, message, span, hint)


def sort_unique(diagnostics: Iterable[Diagnostic]) -> list[Diagnostic]:
    """Sorted by position, each identical diagnostic once (rendering per environment repeats)."""
    return sorted(set(diagnostics), key=lambda d: d.sort_key)


def count(diagnostics: Iterable[Diagnostic], severity: Severity) -> int:
    return sum(1 for d in diagnostics if d.severity is severity)
