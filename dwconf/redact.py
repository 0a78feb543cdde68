"""Redaction: every output path passes text through here so that no secret reaches a terminal,
a log, a plan file or a pull-request comment.

Secrets are the values of environment variables whose names say they hold one (SECRET, TOKEN,
PASSWORD, KEY, CREDENTIAL), plus anything shaped like a JWT or a bearer token.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping
from typing import Any

MASK = "***"
_SECRET_NAME = re.compile(r"SECRET|TOKEN|PASSWORD|PASSWD|CREDENTIAL|(^|_)KEY($|_)", re.I)
_TOKEN_SHAPES = re.compile(
    r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}(\.[A-Za-z0-9_-]*)?"
    r"|(?i:bearer)\s+[A-Za-z0-9._~+/=-]{16,}"
)
# `secret=...`, `password: ...`, `client_secret=...` in free text (a library's error message)
_ASSIGNED = re.compile(
    r"(?i)\b((?:client_)?secret|password|passwd|api[_-]?key|access_token)(\s*[=:]\s*)(?!\*\*\*)[^\s&,;'\"]+"
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
    return _redact(text, [*secret_values(), *extra])


def _redact(text: str, secrets: list[str]) -> str:
    for value in secrets:
        if value and value in text:
            text = text.replace(value, MASK)
    text = _ASSIGNED.sub(lambda m: m.group(1) + m.group(2) + MASK, text)
    return _TOKEN_SHAPES.sub(MASK, text)


def redact_data(value: Any, extra: Iterable[str] = ()) -> Any:
    """`value` with every string inside it redacted (dicts, lists and tuples are walked)."""
    return _walk(value, [*secret_values(), *extra])


def _walk(value: Any, secrets: list[str]) -> Any:
    if isinstance(value, str):
        return _redact(value, secrets)
    if isinstance(value, dict):
        return {k: _walk(v, secrets) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_walk(v, secrets) for v in value]
    return value


def redact_json_text(text: str) -> str:
    """Serialised JSON redacted as text: one pass over a large document instead of a walk over
    its values. Secrets are matched as they appear inside JSON strings (escaped)."""
    secrets = secret_values()
    escaped = {json.dumps(s)[1:-1] for s in secrets} | {
        json.dumps(s, ensure_ascii=False)[1:-1] for s in secrets
    }
    for value in sorted(escaped, key=len, reverse=True):
        if value and value in text:
            text = text.replace(value, MASK)
    if "eyJ" in text or "bearer" in text.lower():
        text = _TOKEN_SHAPES.sub(MASK, text)
    return text
