"""One Dataverse request as plain data (so `$batch` parts and HTTP requests share handlers),
its key segment, preconditions, and the errors handlers raise.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from dwconf.emulator.dataverse import odata
from dwconf.emulator.dataverse.odata_filter import Row
from dwconf.emulator.reply import Reply
from dwconf.live.errors import LiveError

_SEGMENT = re.compile(r"^/(?P<set>[A-Za-z_][\w.]*)(?:\((?P<key>.*)\))?/?$")
_GUID = re.compile(r"^\{?([0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12})\}?$")
_ALTERNATE = re.compile(r"^\s*(\w+)\s*=\s*'((?:[^']|'')*)'\s*$")
ROW_VERSION_MISMATCH = (
    "The version of the existing record doesn't match the RowVersion property provided."
)
DUPLICATE_KEY = "A record with matching key values already exists."
NOT_FOUND = "0x80040217"
VALIDATION = "0x80044331"
IMPORT_FAILED = "0x80048060"  # [I] live-api.md §6.2: "0x80048060-style code"


class DvError(Exception):
    """An error reply: status, hex code (may be empty) and message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message

    def reply(self) -> Reply:
        return odata.error(self.status, self.code, self.message)


def live_error(exc: LiveError, code: str | None = None) -> DvError:
    """A live-model refusal as Dataverse reports it: the model's status and message."""
    hex_code = code or {404: NOT_FOUND, 412: ""}.get(exc.http_status, VALIDATION)
    return DvError(exc.http_status, hex_code, exc.message)


@dataclass(frozen=True)
class DvRequest:
    method: str
    path: str  # below the service root, e.g. "/solutions(…)"
    params: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body: bytes
    root: str  # the absolute service root, ".../api/data/v9.2"

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def json(self) -> dict[str, Any]:
        try:
            value = json.loads(self.body or b"{}")
        except ValueError as exc:
            raise DvError(400, VALIDATION, f"The request body is not valid JSON: {exc}") from exc
        if not isinstance(value, dict):
            raise DvError(400, VALIDATION, "The request body must be a JSON object.")
        return value

    def wants_representation(self) -> bool:
        return "return=representation" in (self.header("prefer") or "")


@dataclass(frozen=True)
class Target:
    """The entity set and, for one record, its key (a GUID or alternate key values)."""

    set_name: str
    key_id: str | None = None
    alternate: tuple[tuple[str, str], ...] = ()

    @property
    def is_record(self) -> bool:
        return self.key_id is not None or bool(self.alternate)

    def matches(self, row: Row, primary: str) -> bool:
        if self.key_id is not None:
            return str(row.get(primary, "")).lower() == self.key_id
        return all(str(row.get(c, "")).casefold() == v.casefold() for c, v in self.alternate)

    def describe(self) -> str:
        if self.key_id is not None:
            return self.key_id
        return ",".join(f"{c}='{v}'" for c, v in self.alternate)


def target(path: str) -> Target | None:
    match = _SEGMENT.match(path)
    if match is None:
        return None
    key = match.group("key")
    if key is None:
        return Target(match.group("set"))
    guid = _GUID.match(key.strip())
    if guid:
        return Target(match.group("set"), guid.group(1).lower())
    pairs = []
    for part in key.split(","):
        alternate = _ALTERNATE.match(part)
        if alternate is None:
            raise DvError(400, VALIDATION, f"'{key}' is not a valid key segment.")
        pairs.append((alternate.group(1), alternate.group(2).replace("''", "'")))
    return Target(match.group("set"), None, tuple(pairs))


def _etags(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def check_preconditions(request: DvRequest, current: Row | None, current_etag: str | None) -> None:
    """`If-Match` / `If-None-Match` on writes, with the service's statuses and messages."""
    if_match, if_none = request.header("if-match"), request.header("if-none-match")
    if if_none is not None and if_none.strip() == "*" and current is not None:
        raise DvError(412, "", DUPLICATE_KEY)
    if if_match is None:
        return
    if current is None:
        raise DvError(404, NOT_FOUND, "The record to update does not exist.")
    if if_match.strip() != "*" and current_etag not in _etags(if_match):
        raise DvError(412, "", ROW_VERSION_MISMATCH)


def not_modified(request: DvRequest, current_etag: str) -> bool:
    """`If-None-Match: <etag>` on a GET of an unchanged row (never with $expand)."""
    if_none = request.header("if-none-match")
    if if_none is None or "$expand" in request.params:
        return False
    return current_etag in _etags(if_none)
