"""`environments/<name>.yaml`: one environment (a linked F&O and Dataverse pair)."""

from __future__ import annotations

import difflib
import enum
import re
from typing import Annotated, Any, Literal, Self

from pydantic import AfterValidator, BeforeValidator, Field, model_validator

from dwconf.model.common import Strict

DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")
UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
DEFAULT_WAIT = "6h"  # initial syncs of large tables take hours (initial-sync-guidance)


def seconds(text: str | float) -> float:
    """A duration (`90`, `30s`, `15m`, `6h`, `1d`) in seconds."""
    match = DURATION.match(str(text))
    if match is None:
        raise ValueError(f"'{text}' is not a duration such as 30m, 6h or 1d")
    return float(match.group(1)) * UNIT_SECONDS[match.group(2)]


def _duration(value: str | float) -> str | float:
    if seconds(value) <= 0:
        raise ValueError(f"'{value}' must be longer than 0 s")
    return value


Duration = Annotated[str | float, AfterValidator(_duration)]


class AuthMethod(enum.Enum):
    CLIENT_SECRET = "client_secret"
    WORKLOAD_IDENTITY = "workload_identity"
    TOKEN = "token"


class Auth(Strict):
    method: AuthMethod = AuthMethod.CLIENT_SECRET
    client_id_env: str | None = None
    client_secret_env: str | None = None
    token_env: str | None = None
    token_file_env: str | None = None


class GatewayMethod(enum.Enum):
    """How dwconf signs in to the dual-write gateway (docs/signin.md)."""

    USER = "user"  # the sign-in `dwconf login` keeps in the user's token cache
    REFRESH_TOKEN = "refresh_token"  # a user's refresh token from a variable (pipelines)
    USERNAME_PASSWORD = "username_password"  # a user without MFA (pipelines)
    TOKEN = "token"  # a pre-acquired user token from a variable
    APP_ONLY = "app_only"  # provider.auth's application: unverified


# The variables each method reads, by setting name (other `*_env` settings are refused there).
GATEWAY_VARIABLES: dict[GatewayMethod, tuple[str, ...]] = {
    GatewayMethod.USER: (),
    GatewayMethod.REFRESH_TOKEN: ("refresh_token_env",),
    GatewayMethod.USERNAME_PASSWORD: ("username_env", "password_env"),
    GatewayMethod.TOKEN: ("token_env",),
    GatewayMethod.APP_ONLY: (),
}


# Names people reach for, and the method that does what they mean (hints only, not accepted).
_MEANT = {
    "device_code": "user",
    "devicecode": "user",
    "browser": "user",
    "interactive": "user",
    "delegated": "user",
    "password": "username_password",
    "ropc": "username_password",
    "client_secret": "app_only",
    "workload_identity": "app_only",
}


# Variables a method may also read: a pre-acquired token renewed by a refresh token.
GATEWAY_OPTIONAL: dict[GatewayMethod, tuple[str, ...]] = {
    GatewayMethod.TOKEN: ("refresh_token_env",),
}


def _known_method(value: Any) -> Any:
    """A method name, or an error that suggests the closest one."""
    names = [m.value for m in GatewayMethod]
    if not isinstance(value, str) or value in names:
        return value
    wanted = value.replace("-", "_").lower()
    close = [_MEANT[wanted]] if wanted in _MEANT else []
    close = close or difflib.get_close_matches(wanted, names, n=1, cutoff=0.5)
    hint = f"did you mean '{close[0]}'? " if close else ""
    raise ValueError(f"'{value}' is not a sign-in method: {hint}use one of {', '.join(names)}")


class GatewayAuth(Strict):
    """Sign-in to the gateway, separate from Dataverse's `auth`: the gateway's one public
    client signs in as a user (live-api.md §4)."""

    method: Annotated[GatewayMethod, BeforeValidator(_known_method)] = GatewayMethod.USER
    client_id_env: str | None = None  # a public client; default: the Data Integrator app
    refresh_token_env: str | None = None
    username_env: str | None = None
    password_env: str | None = None
    token_env: str | None = None

    @model_validator(mode="after")
    def _variables_of_the_method(self) -> Self:
        wanted = GATEWAY_VARIABLES[self.method]
        missing = [k for k in wanted if getattr(self, k) is None]
        if missing:
            raise ValueError(f"method {self.method.value} needs {' and '.join(missing)}")
        allowed = wanted + GATEWAY_OPTIONAL.get(self.method, ())
        stray = [
            k
            for k in ("refresh_token_env", "username_env", "password_env", "token_env")
            if k not in allowed and getattr(self, k) is not None
        ]
        if stray:
            raise ValueError(f"method {self.method.value} does not read {', '.join(stray)}")
        return self


class Provider(Strict):
    type: Literal["local", "dynamics"] = "local"
    finops_url: str | None = None
    dataverse_url: str | None = None
    gateway_url: str | None = None
    tenant_id: str | None = None
    authority: str = "https://login.microsoftonline.com"
    ca_file: str | None = None
    auth: Auth = Field(default_factory=Auth)
    gateway_auth: GatewayAuth | None = None  # None: `user`, or `auth`'s token for method token
    wait_timeout: Duration = DEFAULT_WAIT  # how long apply waits for an initial sync or catch-up

    @model_validator(mode="after")
    def _one_gateway_sign_in(self) -> Self:
        if self.gateway_auth is not None and self.auth.method is AuthMethod.TOKEN:
            raise ValueError(
                "auth.method token already names the gateway's token: drop gateway_auth, or "
                "sign in to Dataverse with client_secret or workload_identity"
            )
        return self


class Link(Strict):
    legal_entities: list[str] = Field(default_factory=list)


# F&O's company ID (DataAreaId) is at most four characters; every documented one (USMF, DEMF,
# ESMF, DAT) and the gateway's lowercase form (`usmf`) are letters and digits.
LEGAL_ENTITY_CODE = re.compile(r"^[A-Za-z0-9]{1,4}$")


def legal_entity_problem(code: str) -> tuple[str, str] | None:
    """Why `code` cannot be a linked legal entity, with the fix; None when it can."""
    if LEGAL_ENTITY_CODE.match(code):
        return None
    squeezed = re.sub(r"[^A-Za-z0-9]", "", code)
    hint = (
        f"did you mean '{squeezed.upper()}'?"
        if LEGAL_ENTITY_CODE.match(squeezed)
        else "use the company ID that F&O shows under Legal entities, e.g. USMF"
    )
    return (
        f"legal entity '{code}' is not an F&O company ID (DataAreaId): 1 to 4 letters or digits",
        hint,
    )


class MapState(enum.Enum):
    RUNNING = "running"
    STOPPED = "stopped"
    PAUSED = "paused"


class Maps(Strict):
    default_state: MapState = MapState.RUNNING
    state: dict[str, MapState] = Field(default_factory=dict)
    initial_sync: Literal["run", "skip"] = "run"


class Alert(Strict):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    error_type: Literal["application", "connection", "any"] = "any"
    threshold: int = Field(ge=1)
    window_minutes: int = Field(ge=1)
    action: Literal["pause", "stop", "none"] = "none"
    notify: list[str] = Field(default_factory=list)


class Protect(Strict):
    prevent_destroy: bool = False


class Environment(Strict):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    stage: str
    promote_from: str | None = None
    provider: Provider = Field(default_factory=Provider)
    link: Link = Field(default_factory=Link)
    solutions: dict[str, str] = Field(default_factory=dict)
    maps: Maps = Field(default_factory=Maps)
    alerts: list[Alert] = Field(default_factory=list)
    vars: dict[str, Any] = Field(default_factory=dict)
    protect: Protect = Field(default_factory=Protect)
