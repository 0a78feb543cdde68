"""Users signing in to the emulator's Entra: the grants that carry a user rather than an
application — device code (RFC 8628: `/devicecode`, then `authorization_pending` until the code
is approved through the test API), password (ROPC) and refresh token — and what they hand out:
a refresh token (opaque, kept here), an ID token and `client_info` (msal builds its account from
them).

Microsoft's dual-write tool signs in this way only (`TokenRefresh.cs`: the refresh-token grant;
`ServicePrincipalAuth.cs`: username and password); the device-code endpoint and its errors follow
Entra's documented v2.0 behaviour. Passwords are compared in constant time and never echoed.
"""

from __future__ import annotations

import hmac
import secrets
import string
import threading
from dataclasses import dataclass

from dwconf.emulator.config import Client, EmulatorConfig, User
from dwconf.emulator.registry import Clock

DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
USER_GRANTS = ("password", "refresh_token", DEVICE_CODE_GRANT)
_CODE_LETTERS = string.ascii_uppercase.replace("O", "").replace("I", "") + "23456789"


class OAuthError(Exception):
    """A token-endpoint refusal: OAuth error, AADSTS code and description."""

    def __init__(self, error: str, code: int, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error, self.code, self.description, self.status = error, code, description, status


@dataclass
class DeviceCode:
    """One device-code sign-in: waiting, then approved for a user or declined."""

    device_code: str
    user_code: str
    client_id: str
    scope: str
    expires_at: float
    user: User | None = None
    declined: bool = False


@dataclass(frozen=True)
class Grant:
    """What a refresh token stands for: a user's sign-in through one client."""

    user: User
    client_id: str


class Signins:
    """Pending device codes and live refresh tokens, in memory (a restart signs users out)."""

    def __init__(self, config: EmulatorConfig, clock: Clock) -> None:
        self.config = config
        self.clock = clock
        self._lock = threading.Lock()
        self._codes: dict[str, DeviceCode] = {}  # by device code
        self._refresh: dict[str, Grant] = {}

    # Device code ---------------------------------------------------------------------------

    def start(self, client: Client, scope: str) -> DeviceCode:
        """A new device code for `client`, which must be public."""
        if not client.public:
            raise OAuthError(
                "invalid_client",
                7000218,
                "AADSTS7000218: The request body must contain the following parameter: "
                "'client_assertion' or 'client_secret'.",
            )
        user_code = "".join(secrets.choice(_CODE_LETTERS) for _ in range(9))
        entry = DeviceCode(
            device_code=secrets.token_urlsafe(32),
            user_code=user_code,
            client_id=client.client_id,
            scope=scope,
            expires_at=self.clock.time() + self.config.device_code_lifetime_seconds,
        )
        with self._lock:
            self._codes[entry.device_code] = entry
        return entry

    def pending(self) -> list[DeviceCode]:
        """Codes waiting for approval, oldest first."""
        now = self.clock.time()
        with self._lock:
            return [
                c
                for c in self._codes.values()
                if c.user is None and not c.declined and c.expires_at > now
            ]

    def decide(self, user_code: str, username: str | None, approve: bool) -> DeviceCode:
        """Approve (as `username`, else the only configured user) or decline a waiting code;
        KeyError when there is no such code, LookupError when the user is unknown."""
        with self._lock:
            found = next(
                (c for c in self._codes.values() if c.user_code == user_code.upper()), None
            )
            if found is None or found.user is not None or found.declined:
                raise KeyError(user_code)
            if not approve:
                found.declined = True
                return found
            found.user = approver(self.config, username)
            return found

    def redeem_device_code(self, client: Client, device_code: str) -> DeviceCode:
        """The approved sign-in (its user and the scope it asked for)."""
        with self._lock:
            entry = self._codes.get(device_code)
            if entry is None or entry.client_id != client.client_id:
                raise OAuthError(
                    "invalid_grant", 70000, "AADSTS70000: The provided device code is not valid."
                )
            if entry.expires_at <= self.clock.time():
                del self._codes[device_code]
                raise OAuthError(
                    "expired_token",
                    70020,
                    "AADSTS70020: The provided value for the input parameter 'device_code' is "
                    "not valid. This device code has expired.",
                )
            if entry.declined:
                del self._codes[device_code]
                raise OAuthError(
                    "authorization_declined", 70000, "AADSTS70000: The user declined to sign in."
                )
            if entry.user is None:
                raise OAuthError(
                    "authorization_pending",
                    70016,
                    "AADSTS70016: OAuth 2.0 device flow error. Authorization is pending. "
                    "Continue polling.",
                )
            del self._codes[device_code]  # a device code is redeemed once
            return entry

    # Password and refresh token ------------------------------------------------------------

    def password(self, username: str, password: str) -> User:
        user = self.config.user(username)
        stored = user.password if user is not None else None
        if user is None or stored is None or not _same(stored, password):
            raise OAuthError(
                "invalid_grant",
                50126,
                "AADSTS50126: Error validating credentials due to invalid username or password.",
            )
        if user.mfa:
            raise OAuthError(
                "invalid_grant",
                50076,
                "AADSTS50076: Due to a configuration change made by your administrator, or "
                "because you moved to a new location, you must use multi-factor authentication "
                "to access this resource.",
            )
        return user

    def new_refresh_token(self, user: User, client: Client) -> str:
        token = "0.AR-" + secrets.token_urlsafe(48)  # opaque to clients, as Entra's are
        with self._lock:
            self._refresh[token] = Grant(user, client.client_id)
        return token

    def redeem_refresh_token(self, client: Client, token: str) -> User:
        with self._lock:
            grant = self._refresh.get(token)
        if grant is None or grant.client_id != client.client_id:
            raise OAuthError(
                "invalid_grant",
                700082,
                "AADSTS700082: The refresh token has expired or was revoked. Sign in again.",
            )
        return grant.user

    def clear(self) -> None:
        """No pending codes and no sign-ins: the emulator's reset."""
        self.revoke()
        with self._lock:
            self._codes.clear()

    def revoke(self) -> int:
        """Every user signs in again (what "Revoke sessions" does); returns how many refresh
        tokens were dropped."""
        with self._lock:
            count = len(self._refresh)
            self._refresh.clear()
        return count


def approver(config: EmulatorConfig, username: str | None) -> User:
    """Who approves a sign-in: the user named, else the only configured one; LookupError when
    that can't be said."""
    if username is not None:
        user = config.user(username)
        if user is None:
            raise LookupError(f"No user '{username}' is configured.")
        return user
    if len(config.users) != 1:
        raise LookupError("Name the user who approves: several or no users are configured.")
    return config.users[0]


def _same(expected: str, given: str) -> bool:
    return hmac.compare_digest(expected.encode("utf-8"), given.encode("utf-8"))
