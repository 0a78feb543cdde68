"""What every gateway route shares: the request as plain data, JSON replies and the error
body (format unknown, live-api.md §6.0: the Dataverse shape is used)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from dwconf.emulator.registry import EnvHandle
from dwconf.emulator.reply import Reply

JSON_TYPE = "application/json; charset=utf-8"


class GatewayError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass(frozen=True)
class GwRequest:
    method: str
    path: str  # below the gateway base URL
    params: dict[str, str]
    body: bytes
    args: dict[str, str]

    def json(self) -> Any:
        try:
            return json.loads(self.body or b"null")
        except ValueError as exc:
            raise GatewayError(400, "request.invalid", f"The body is not JSON: {exc}") from exc


def reply(status: int, value: Any = None) -> Reply:
    if value is None:
        return Reply(status, b"", {})
    body = json.dumps(value, ensure_ascii=False).encode("utf-8")
    return Reply(status, body, {"Content-Type": JSON_TYPE})


def error_reply(status: int, code: str, message: str, hint: str = "") -> Reply:
    """`{"error": {"code", "message"}}`, with the live model's hint as `innererror.message`."""
    body: dict[str, Any] = {"code": code, "message": message}
    if hint:
        body["innererror"] = {"message": hint}
    return reply(status, {"error": body})


def check_cid(handle: EnvHandle, cid: str | None) -> None:
    """A connection set is named by its id or its name; anything else is 404."""
    if cid is not None and cid.lower() not in (handle.cid, handle.cname.lower()):
        raise GatewayError(404, "connectionset.not_found", f"Connection set '{cid}' was not found.")
