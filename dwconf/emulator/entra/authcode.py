"""The authorization-code flow with PKCE, as Microsoft's identity platform runs it for a
public client on a workstation (msal's `acquire_token_interactive`): `GET /authorize` shows a
sign-in page, the person signs in (here: approves the request through the test API, as with a
device code), the page's form goes on to `POST /{tenant}/login`, which sends the browser back
to the app's loopback `redirect_uri` with `code` and the same `state` — a 302 with a query
(`response_mode=query`, the default) or a page that posts them (`response_mode=form_post`,
what msal asks for since 1.3x). The code is then redeemed at the token endpoint with the
`code_verifier` (`authority.py`).

This module keeps the requests and the codes: a code is short-lived (ten minutes), redeemed
once, and bound to its client, its `redirect_uri` and its PKCE challenge. The pages and the
endpoints are in `browser.py`. Sources and inferred parts: docs/evidence.md.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import string
import threading
from dataclasses import dataclass
from urllib.parse import urlsplit

from dwconf.emulator.config import EmulatorConfig, User
from dwconf.emulator.entra.signins import OAuthError
from dwconf.emulator.registry import Clock

AUTHORIZATION_CODE_GRANT = "authorization_code"
CODE_LIFETIME_S = 600  # "Authorization codes are short lived ... about 10 minutes"
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")
_REQUEST_LETTERS = string.ascii_uppercase.replace("O", "").replace("I", "") + "23456789"


def new_request_id() -> str:
    return "".join(secrets.choice(_REQUEST_LETTERS) for _ in range(9))


@dataclass
class Authorization:
    """One `/authorize` request: waiting on its sign-in page, then approved or declined."""

    request_id: str  # what the sign-in page and the test API call it
    client_id: str
    redirect_uri: str
    scope: str
    state: str | None
    nonce: str | None
    challenge: str | None
    challenge_method: str
    response_mode: str
    expires_at: float
    user: User | None = None
    declined: bool = False


@dataclass
class IssuedCode:
    """What an authorization code stands for until it is redeemed."""

    authorization: Authorization
    user: User
    expires_at: float
    redeemed: bool = False


class AuthCodes:
    """Pending authorization requests and issued codes, in memory."""

    def __init__(self, config: EmulatorConfig, clock: Clock) -> None:
        self.config = config
        self.clock = clock
        self._lock = threading.Lock()
        self._requests: dict[str, Authorization] = {}
        self._codes: dict[str, IssuedCode] = {}

    def start(self, authorization: Authorization) -> Authorization:
        with self._lock:
            self._requests[authorization.request_id] = authorization
        return authorization

    def pending(self) -> list[Authorization]:
        now = self.clock.time()
        with self._lock:
            return [
                a
                for a in self._requests.values()
                if a.user is None and not a.declined and a.expires_at > now
            ]

    def decide(self, request_id: str, user: User | None) -> Authorization:
        """Approve as `user`, or decline (None); KeyError when nothing is waiting."""
        with self._lock:
            found = self._requests.get(request_id.upper())
            if found is None or found.user is not None or found.declined:
                raise KeyError(request_id)
            found.user, found.declined = user, user is None
            return found

    def take(self, request_id: str) -> Authorization | None:
        """The request the sign-in page continues; None when unknown or expired. A decided
        request is taken away (the browser goes back to the app once)."""
        with self._lock:
            found = self._requests.get(request_id.upper())
            if found is None or found.expires_at <= self.clock.time():
                self._requests.pop(request_id.upper(), None)
                return None
            if found.user is not None or found.declined:
                del self._requests[found.request_id]
            return found

    def issue(self, authorization: Authorization) -> str:
        assert authorization.user is not None
        code = "1.AR-" + secrets.token_urlsafe(48)  # opaque, as Entra's are
        expires = self.clock.time() + CODE_LIFETIME_S
        with self._lock:
            self._codes[code] = IssuedCode(authorization, authorization.user, expires)
        return code

    def redeem(
        self, client_id: str, code: str, redirect_uri: str, verifier: str | None
    ) -> IssuedCode:
        """The sign-in a code stands for, once; OAuthError when it is refused."""
        with self._lock:
            found = self._codes.get(code)
            if found is None or found.authorization.client_id != client_id:
                raise OAuthError(
                    "invalid_grant",
                    70000,
                    "AADSTS70000: The provided authorization code is not valid for this client.",
                )
            if found.redeemed:
                raise OAuthError(
                    "invalid_grant",
                    54005,
                    "AADSTS54005: OAuth2 Authorization code was already redeemed, please retry "
                    "with a new valid code or use an existing refresh token.",
                )
            if found.expires_at <= self.clock.time():
                del self._codes[code]
                raise OAuthError(
                    "invalid_grant",
                    70008,
                    "AADSTS70008: The provided authorization code or refresh token has expired "
                    "due to inactivity. Send a new interactive authorization request for this "
                    "user and resource.",
                )
            wanted = found.authorization.redirect_uri
            if redirect_uri != wanted:
                raise OAuthError(
                    "invalid_grant",
                    500112,
                    f"AADSTS500112: The reply address '{redirect_uri}' does not match the reply "
                    f"address '{wanted}' provided when requesting Authorization code.",
                )
            if not _pkce_holds(found.authorization, verifier):
                raise OAuthError(
                    "invalid_grant",
                    50148,
                    "AADSTS50148: The code_verifier does not match the code_challenge supplied "
                    "in the authorization request for PKCE.",
                )
            found.redeemed = True  # kept until it expires, so a replay is named as one
            return found

    def clear(self) -> None:
        with self._lock:
            self._requests.clear()
            self._codes.clear()


def _pkce_holds(authorization: Authorization, verifier: str | None) -> bool:
    """RFC 7636 §4.6: S256 compares BASE64URL(SHA256(verifier)) with the challenge; `plain`
    compares them as they are. A request without a challenge needs no verifier."""
    if authorization.challenge is None:
        return True
    if not verifier:
        return False
    if authorization.challenge_method == "S256":
        digest = hashlib.sha256(verifier.encode("ascii", "replace")).digest()
        derived = base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
    else:
        derived = verifier
    return hmac.compare_digest(derived, authorization.challenge)


def loopback(redirect_uri: str) -> bool:
    """A native app's loopback redirect (`http://localhost:PORT/...`): the only kind the
    emulator's clients have. Entra ignores the port of a loopback redirect URI."""
    try:
        parts = urlsplit(redirect_uri)
    except ValueError:
        return False
    return parts.scheme == "http" and (parts.hostname or "") in LOOPBACK_HOSTS
