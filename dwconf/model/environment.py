"""`environments/<name>.yaml`: one environment (a linked F&O and Dataverse pair)."""

from __future__ import annotations

import enum
from typing import Any, Literal

from pydantic import Field

from dwconf.model.common import Strict

ENV_VAR_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"


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


class Provider(Strict):
    type: Literal["local", "dynamics"] = "local"
    finops_url: str | None = None
    dataverse_url: str | None = None
    gateway_url: str | None = None
    tenant_id: str | None = None
    authority: str = "https://login.microsoftonline.com"
    ca_file: str | None = None
    auth: Auth = Field(default_factory=Auth)


class Link(Strict):
    legal_entities: list[str] = Field(default_factory=list)


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
