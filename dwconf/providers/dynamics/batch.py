"""`$batch` for reads (live-api.md §2): several GETs in one `multipart/mixed` request, each
answer parsed back into an `httpx.Response` so it is handled like a single request's.

Only GETs go in a batch, and outside any change set; `Prefer: odata.continue-on-error` makes
every part run, so each one is judged on its own status.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import httpx

_BOUNDARY = re.compile(r'boundary="?([^";]+)"?', re.I)
CRLF = b"\r\n"


@dataclass(frozen=True)
class Get:
    """One GET of a batch: an absolute URL (with its query) and its own headers."""

    url: str
    headers: Mapping[str, str]


def body(parts: Sequence[Get]) -> tuple[str, bytes]:
    """(Content-Type, body) of a batch of GETs."""
    boundary = f"batch_{uuid.uuid4()}"
    lines: list[str] = []
    for part in parts:
        lines += [
            f"--{boundary}",
            "Content-Type: application/http",
            "Content-Transfer-Encoding: binary",
            "",
            f"GET {part.url} HTTP/1.1",
            *(f"{name}: {value}" for name, value in part.headers.items()),
            "",
            "",
        ]
    lines += [f"--{boundary}--", ""]
    return f"multipart/mixed; boundary={boundary}", "\r\n".join(lines).encode("utf-8")


def _head(raw: bytes) -> tuple[list[str], bytes]:
    for separator in (CRLF + CRLF, b"\n\n"):
        if separator in raw:
            head, _, rest = raw.partition(separator)
            return head.decode("utf-8", "replace").splitlines(), rest
    return raw.decode("utf-8", "replace").splitlines(), b""


def _sections(data: bytes, boundary: str) -> list[bytes]:
    found = []
    for chunk in data.split(b"--" + boundary.encode())[1:]:
        if chunk.startswith(b"--"):
            break
        found.append(chunk.lstrip(b"\r\n").removesuffix(CRLF))
    return found


def _response(section: bytes, request: httpx.Request) -> httpx.Response:
    _, http = _head(section)
    lines, content = _head(http.lstrip(b"\r\n"))
    if not lines or len(lines[0].split()) < 2:
        raise ValueError("a batch answer has no status line")
    headers = [tuple(s.strip() for s in line.split(":", 1)) for line in lines[1:] if ":" in line]
    return httpx.Response(
        int(lines[0].split()[1]),
        headers=[(k, v) for k, v in headers],
        content=content,
        request=request,
    )


def responses(answer: httpx.Response, parts: Sequence[Get]) -> list[httpx.Response]:
    """One response per part, in order; ValueError when the answer can't be read."""
    match = _BOUNDARY.search(answer.headers.get("content-type", ""))
    if match is None:
        raise ValueError("the batch answer is not multipart/mixed")
    sections = _sections(answer.content, match.group(1))
    if len(sections) != len(parts):
        raise ValueError(f"the batch answer has {len(sections)} parts for {len(parts)} requests")
    return [
        _response(section, httpx.Request("GET", part.url))
        for section, part in zip(sections, parts, strict=True)
    ]
