"""Compact JWTs: HS256 access tokens the emulator issues and checks, and reading the claims of
client assertions (whose signatures the emulator does not verify).

Small on purpose: only what a bearer token and a client assertion need, no key discovery.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

Claims = dict[str, Any]


class TokenError(ValueError):
    """A token that can't be read or whose signature doesn't match."""


def b64(raw: bytes) -> str:
    """base64url without padding (JWT parts, `client_info`)."""
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError) as exc:
        raise TokenError("not base64url") from exc


def _json_part(text: str) -> Claims:
    try:
        value = json.loads(_b64decode(text))
    except ValueError as exc:
        raise TokenError("not JSON") from exc
    if not isinstance(value, dict):
        raise TokenError("not a JSON object")
    return value


def _sign(key: bytes, signing_input: str) -> str:
    return b64(hmac.new(key, signing_input.encode("ascii"), hashlib.sha256).digest())


def encode(claims: Claims, key: bytes) -> str:
    """An HS256 JWT carrying `claims`."""
    header = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = b64(json.dumps(claims, separators=(",", ":")).encode())
    signing_input = f"{header}.{body}"
    return f"{signing_input}.{_sign(key, signing_input)}"


def decode(token: str, key: bytes) -> Claims:
    """The claims of a token this emulator issued; TokenError when it didn't."""
    parts = token.split(".")
    if len(parts) != 3:
        raise TokenError("not a JWT")
    header = _json_part(parts[0])
    if header.get("alg") != "HS256":
        raise TokenError("unexpected algorithm")
    expected = _sign(key, f"{parts[0]}.{parts[1]}")
    if not hmac.compare_digest(expected, parts[2]):
        raise TokenError("bad signature")
    return _json_part(parts[1])


def unverified_claims(token: str) -> Claims:
    """The claims of any JWT, without checking its signature (client assertions)."""
    parts = token.split(".")
    if len(parts) != 3:
        raise TokenError("not a JWT")
    _json_part(parts[0])
    return _json_part(parts[1])
