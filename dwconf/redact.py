"""Redaction: every output path passes text through here so that no secret reaches a terminal,
a log, a plan file or a pull-request comment.

Secrets are the values of environment variables whose names say they hold one (SECRET, TOKEN,
PASSWORD, KEY, CREDENTIAL), plus anything shaped like a JWT or a bearer token. A secret is
masked in every encoding it can appear in: as is, JSON-escaped, URL- or form-encoded, as XML
character references, and inside base64.
"""

from __future__ import annotations

import base64
import functools
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


_WORDS = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|[0-9]+")
MIN_GENERATED_PART = 12


def looks_generated(name: str) -> bool:
    """Whether a value shaped like a variable name reads like a generated secret (a pasted
    client secret, a hex key, a `ghp_…` token) rather than a name: some part between
    underscores, 12 characters or more, splits into words, numbers and capitals averaging
    under 2.5 characters (`a3f9c1d2…`, `sEcReT7f3a…`), where names read as words
    (`DWCONF_CLIENT_SECRET`, `MyApp2ClientSecret`, `DYNAMICS365_SECRET`)."""
    for part in name.split("_"):
        if len(part) >= MIN_GENERATED_PART:
            words = _WORDS.findall(part)
            if len(words) >= 6 and len(part) / len(words) < 2.5:
                return True
    return False


def redact(text: str, extra: Iterable[str] = ()) -> str:
    return _redact(text, [*secret_values(), *extra])


def _redact(text: str, secrets: list[str]) -> str:
    for value in secrets:
        text = _mask_secret(text, value)
    text = _ASSIGNED.sub(lambda m: m.group(1) + m.group(2) + MASK, text)
    return _TOKEN_SHAPES.sub(MASK, text)


# A secret in every encoding it can appear in -------------------------------------------------
#
# Services echo what they were sent inside JSON (`\/`, `\u002B` for `+`, as .NET escapes
# it), form and URL encoding (`%2B`, `+` for a space), XML or HTML character references, and
# base64 (an `Authorization: Basic` header, `client_id:secret`). An encoder escapes some
# characters and leaves others, so each character of the secret may appear in any of its forms:
# one pattern per secret, tried only where a run of its letters and digits (which none of these
# encodings escape) appears, so that redacting a large text costs a few `str.find`s.

_ANCHOR = re.compile(r"[A-Za-z0-9]{4,}")
_BASE64_TOKEN = "[A-Za-z0-9+/_-]*"
MIN_BASE64_CORE = 8


def _mask_secret(text: str, secret: str) -> str:
    if not secret:
        return text
    anchor, encoded, every_char_escaped, cores = _forms(secret)
    if anchor is None or anchor in text:
        text = encoded.sub(MASK, text)
    for escaped in every_char_escaped:
        text = text.replace(escaped, MASK)
    for core in cores:
        if core in text:
            text = re.sub(f"{_BASE64_TOKEN}{re.escape(core)}{_BASE64_TOKEN}={{0,2}}", MASK, text)
    return text


@functools.lru_cache(maxsize=64)
def _forms(secret: str) -> tuple[str | None, re.Pattern[str], tuple[str, ...], tuple[str, ...]]:
    """(the longest run of letters and digits, or None under 4; the pattern of the secret
    with each character in any of its forms; the secret with every character written
    `\\uXXXX`; the parts of its base64 encodings, at the three alignments it can have inside
    a longer value, that depend on the secret alone)."""
    runs = sorted(_ANCHOR.findall(secret), key=len, reverse=True)
    pattern = re.compile("".join(_char_forms(c) for c in secret))
    escaped = "".join(_json_escapes(c)[0] for c in secret)
    return (
        runs[0] if runs else None,
        pattern,
        (escaped, escaped.upper().replace("\\U", "\\u")),
        _base64_cores(_utf8(secret)),
    )


def _utf8(text: str) -> bytes:
    """The bytes of `text`: a value of os.environ that is not UTF-8 holds its bytes as
    surrogates (U+DC80 to U+DCFF), which give back the bytes set."""
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # other lone surrogates: their code points' bytes
        return text.encode("utf-8", "surrogatepass")


def _char_forms(char: str) -> str:
    """A regular expression for `char` raw, JSON-escaped, percent-encoded (upper or lower hex;
    `+` for a space) or as an XML/HTML character reference."""
    forms = {re.escape(char)}
    forms.update(re.escape(e) for e in _json_escapes(char))
    percent = "".join(f"%{b:02X}" for b in _utf8(char))
    forms.update({re.escape(percent), re.escape(percent.lower())})
    if char == " ":
        forms.add(r"\+")
    forms.update({f"&#0*{ord(char)};", f"&#[xX]0*{ord(char):x};", f"&#[xX]0*{ord(char):X};"})
    named = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;"}.get(char)
    if named:
        forms.add(re.escape(named))
    return "(?:" + "|".join(sorted(forms, key=len, reverse=True)) + ")"


def _json_escapes(char: str) -> list[str]:
    """How JSON can write `char` besides itself: `\\uXXXX` (a surrogate pair above the BMP),
    in lower and upper hex, and the short escapes."""
    units = char.encode("utf-16-be", "surrogatepass")
    hexes = [units[i : i + 2].hex() for i in range(0, len(units), 2)]
    lower = "".join(f"\\u{h}" for h in hexes)
    found = [lower, "".join(f"\\u{h.upper()}" for h in hexes)]
    short = {"/": "\\/", '"': '\\"', "\\": "\\\\"}.get(char)
    return [*found, short] if short else found


def _base64_cores(data: bytes) -> tuple[str, ...]:
    """The characters of base64 (standard and URL-safe) that only `data` decides, for each of
    the three byte offsets `data` can start at inside a longer encoded value."""
    cores: list[str] = []
    for offset in range(3):
        encoded = base64.b64encode(b"\0" * offset + data).decode("ascii")
        start = -(-offset * 8 // 6)  # the first character made of `data`'s bits only
        end = (offset + len(data)) * 8 // 6  # the last character holding no padding bits
        core = encoded[start:end]
        if len(core) >= MIN_BASE64_CORE:
            cores.extend({core, core.replace("+", "-").replace("/", "_")})
    return tuple(sorted(set(cores)))


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
    its values. Secrets are matched however they are escaped inside JSON strings."""
    for value in secret_values():
        text = _mask_secret(text, value)
    if "eyJ" in text or "bearer" in text.lower():
        text = _TOKEN_SHAPES.sub(MASK, text)
    return text
