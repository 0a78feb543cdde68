"""Redaction: every output path passes text through here so that no secret reaches a terminal,
a log, a plan file or a pull-request comment.

Secrets are the values of environment variables whose names say they hold one (SECRET, TOKEN,
PASSWORD, KEY, CREDENTIAL), plus anything shaped like a JWT or a bearer token.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping

MASK = "***"
_SECRET_NAME = re.compile(r"SECRET|TOKEN|PASSWORD|PASSWD|CREDENTIAL|(^|_)KEY($|_)", re.I)
_TOKEN_SHAPES = re.compile(
    r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}(\.[A-Za-z0-9_-]*)?"
    r"|(?i:bearer)\s+[A-Za-z0-9._~+/=-]{16,}"
)
MIN_SECRET_LENGTH = 6


def secret_values(environ: Mapping[str, str] | None = None) -> list[str]:
    """Values of secret-named environment variables, longest first."""
    environ = os.environ if environ is None else environ
    found = {
        v for k, v in environ.items() if _SECRET_NAME.search(k) and len(v) >= MIN_SECRET_LENGTH
    }
    return sorted(found, key=len, reverse=True)


def redact(text: str, extra: Iterable[str] = ()) -> str:
    for value in [*secret_values(), *extra]:
        if value and value in text:
            text = text.replace(value, MASK)
    return _TOKEN_SHAPES.sub(MASK, text)
