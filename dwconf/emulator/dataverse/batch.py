"""`POST $batch`: multipart/mixed requests with atomic change sets (live-api.md §2 "$batch").

Parts run in order through the same handler as single requests. A change set runs inside the
environment's `atomic` block: the first failing request rolls the whole change set back and is
the only response it returns. Without `Prefer: odata.continue-on-error` the batch stops there
and its status is the failing one; with it, the batch goes on and answers 200.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

from dwconf.emulator.dataverse import odata
from dwconf.emulator.dataverse.request import VALIDATION, DvRequest
from dwconf.emulator.reply import Reply

MAX_REQUESTS = 1000
_BOUNDARY = re.compile(r'boundary="?([^";]+)"?', re.I)
_SERVICE = "/api/data/v9.2"
Dispatch = Callable[[DvRequest], Reply]
Atomic = Callable[[], AbstractContextManager[None]]


class BatchError(ValueError):
    """A batch body the emulator can't read (answered 400)."""


@dataclass
class Part:
    request: DvRequest
    content_id: str | None = None


@dataclass
class ChangeSet:
    parts: list[Part] = field(default_factory=list)


class _Rollback(Exception):
    def __init__(self, part: Part, reply: Reply) -> None:
        super().__init__(reply.status)
        self.part, self.reply = part, reply


def _boundary(content_type: str | None) -> str:
    match = _BOUNDARY.search(content_type or "")
    if match is None:
        raise BatchError("The batch needs Content-Type: multipart/mixed with a boundary.")
    return match.group(1)


def _split_head(raw: bytes) -> tuple[list[str], bytes]:
    """Header lines and the content after the first blank line (CRLF or LF)."""
    for separator in (b"\r\n\r\n", b"\n\n"):
        if separator in raw:
            head, _, rest = raw.partition(separator)
            return head.decode("utf-8").splitlines(), rest
    return raw.decode("utf-8").splitlines(), b""


def _headers(lines: list[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for line in lines:
        name, colon, value = line.partition(":")
        if colon:
            found[name.strip().lower()] = value.strip()
    return found


def _sections(body: bytes, boundary: str) -> list[bytes]:
    delimiter = b"--" + boundary.encode()
    chunks = body.split(delimiter)
    sections = []
    for chunk in chunks[1:]:
        if chunk.startswith(b"--"):
            break
        content = chunk.split(b"\n", 1)[1] if b"\n" in chunk else b""
        sections.append(content[:-2] if content.endswith(b"\r\n") else content.rstrip(b"\n"))
    return sections


def _path(url: str) -> str:
    if url.startswith("$"):
        return url
    if _SERVICE in url:
        return url.split(_SERVICE, 1)[1] or "/"
    return "/" + url.lstrip("/")


def _request(raw: bytes, root: str) -> DvRequest:
    lines, body = _split_head(raw)
    if not lines:
        raise BatchError("A batch part has no request line.")
    words = lines[0].split()
    if len(words) < 2:
        raise BatchError(f"'{lines[0]}' is not a request line.")
    target, _, query = _path(words[1]).partition("?")
    return DvRequest(
        method=words[0].upper(),
        path=target,
        params=dict(parse_qsl(query, keep_blank_values=True)),
        headers=_headers(lines[1:]),
        body=body.rstrip(b"\r\n"),
        root=root,
    )


def _part(raw: bytes, root: str) -> Part:
    lines, content = _split_head(raw)
    headers = _headers(lines)
    return Part(_request(content, root), headers.get("content-id"))


def _change_set(raw: bytes, content_type: str, root: str) -> ChangeSet:
    _, content = _split_head(raw)
    parts = [_part(s, root) for s in _sections(content, _boundary(content_type))]
    if any(p.request.method == "GET" for p in parts):
        raise BatchError("A change set can't contain GET requests.")
    return ChangeSet(parts)


def parse(request: DvRequest) -> list[Part | ChangeSet]:
    items: list[Part | ChangeSet] = []
    for section in _sections(request.body, _boundary(request.header("content-type"))):
        lines, _ = _split_head(section)
        content_type = _headers(lines).get("content-type", "")
        if content_type.lower().startswith("multipart/mixed"):
            items.append(_change_set(section, content_type, request.root))
        else:
            items.append(_part(section, request.root))
    requests = [p.request for i in items for p in (i.parts if isinstance(i, ChangeSet) else [i])]
    if any(r.path.rstrip("/") == "/$batch" for r in requests):
        raise BatchError("A batch can't contain another batch.")
    count = len(requests)
    if count > MAX_REQUESTS:
        raise BatchError(f"The batch has {count} requests; at most {MAX_REQUESTS} are allowed.")
    return items


def _resolve(part: Part, ids: dict[str, str]) -> DvRequest:
    request = part.request
    path, body = request.path, request.body
    if path.startswith("$"):
        reference, _, rest = path[1:].partition("/")
        if reference not in ids:
            raise _Rollback(
                part, odata.error(400, VALIDATION, f"Content-ID '{reference}' is not defined.")
            )
        path = ids[reference].split(_SERVICE, 1)[1] + (f"/{rest}" if rest else "")
    for reference, url in ids.items():
        body = body.replace(f'"${reference}"'.encode(), f'"{url}"'.encode())
    return DvRequest(request.method, path, request.params, request.headers, body, request.root)


def _http(reply: Reply, content_id: str | None) -> bytes:
    head = ["Content-Type: application/http", "Content-Transfer-Encoding: binary"]
    if content_id:
        head.append(f"Content-ID: {content_id}")
    lines = [f"HTTP/1.1 {reply.status} {odata.status_text(reply.status)}"]
    lines += [f"{k}: {v}" for k, v in reply.headers.items()]
    text = "\r\n".join(head) + "\r\n\r\n" + "\r\n".join(lines) + "\r\n\r\n"
    return text.encode("utf-8") + reply.body


def _multipart(boundary: str, chunks: list[tuple[str, bytes]]) -> bytes:
    out = b""
    for head, content in chunks:
        out += f"--{boundary}\r\n".encode() + (head.encode() if head else b"") + content + b"\r\n"
    return out + f"--{boundary}--\r\n".encode()


def _run_change_set(
    change_set: ChangeSet, dispatch: Dispatch, atomic: Atomic
) -> tuple[list[tuple[Part, Reply]], bool]:
    ids: dict[str, str] = {}
    done: list[tuple[Part, Reply]] = []
    try:
        with atomic():
            for part in change_set.parts:
                reply = dispatch(_resolve(part, ids))
                if reply.status >= 400:
                    raise _Rollback(part, reply)
                if part.content_id and "OData-EntityId" in reply.headers:
                    ids[part.content_id] = reply.headers["OData-EntityId"]
                done.append((part, reply))
    except _Rollback as failed:
        return [(failed.part, failed.reply)], False
    return done, True


def _change_set_chunk(results: list[tuple[Part, Reply]]) -> tuple[str, bytes]:
    boundary = f"changesetresponse_{uuid.uuid4()}"
    inner = _multipart(boundary, [("", _http(r, p.content_id)) for p, r in results])
    return f"Content-Type: multipart/mixed; boundary={boundary}\r\n\r\n", inner


def run(request: DvRequest, dispatch: Dispatch, atomic: Atomic) -> Reply:
    """Execute a batch and answer with a multipart/mixed batch response."""
    try:
        items = parse(request)
    except (BatchError, UnicodeDecodeError) as exc:
        return odata.error(400, VALIDATION, str(exc))
    keep_going = "odata.continue-on-error" in (request.header("prefer") or "")
    chunks: list[tuple[str, bytes]] = []
    status = 200
    for item in items:
        if isinstance(item, ChangeSet):
            results, ok = _run_change_set(item, dispatch, atomic)
            chunks.append(_change_set_chunk(results))
            failed = None if ok else results[0][1]
        else:
            reply = dispatch(item.request)
            chunks.append(("", _http(reply, item.content_id)))
            failed = reply if reply.status >= 400 else None
        if failed is not None and not keep_going:
            status = failed.status
            break
    boundary = f"batchresponse_{uuid.uuid4()}"
    headers = {"Content-Type": f"multipart/mixed; boundary={boundary}"}
    return Reply(status, _multipart(boundary, chunks), odata.odata_headers(headers))
