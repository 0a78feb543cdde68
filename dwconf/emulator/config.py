"""The emulator's configuration: environments, the clients allowed to get tokens, the users
who may sign in, token lifetime, whether the gateway takes app-only tokens, and the
service-protection limits.

Read from a YAML file (`dwconf emulator serve --config FILE`, format in docs/emulator.md).
Client ids and secrets are given directly or, better, as names of environment variables
(`client_id_env`, `client_secret_env`), and so are users' names and passwords; secrets are held
only in memory and never printed (`Client.__repr__` and `User.__repr__` hide them).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from dwconf.errors import DwconfError
from dwconf.yaml import load_plain

DEFAULT_TENANT = "00000000-0000-0000-0000-0000000000e1"
INTEGRATOR_RESOURCE = "https://IntegratorApp.com"
# The first-party Data Integrator application Microsoft's dual-write tool signs users in with
# (Dual-write-automations, DWLibary/TokenRefresh.cs): a public client, known in every tenant.
DATA_INTEGRATOR_CLIENT = "2e49aa60-1bd3-43b6-8ab6-03ada3d9f08b"
USERNAME_VARIABLE, PASSWORD_VARIABLE = "DWCONF_GATEWAY_USERNAME", "DWCONF_GATEWAY_PASSWORD"
ENV_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
_TOP_KEYS = {
    "tenant_id",
    "environments",
    "clients",
    "users",
    "tokens",
    "throttle",
    "gateway_resource",
    "gateway_app_only",
    "device_code",
}
DWCONF_TABLES = ("present", "absent")


class EmulatorConfigError(DwconfError):
    """The emulator's configuration file is invalid."""


@dataclass(frozen=True)
class Federated:
    """A federated credential (workload identity): what a client assertion must claim."""

    issuer: str
    subject: str
    audience: str = "api://AzureADTokenExchange"


@dataclass(frozen=True)
class Client:
    """An application registration: a secret, a federated credential, or both (a confidential
    client), or neither with `public` (users sign in through it: device code, password,
    refresh token)."""

    client_id: str
    secret: str | None = field(default=None, repr=False)
    federated: Federated | None = None
    public: bool = False

    def __repr__(self) -> str:
        secret = "<set>" if self.secret else None
        return (
            f"Client(client_id={self.client_id!r}, secret={secret}, "
            f"federated={self.federated}, public={self.public})"
        )


@dataclass(frozen=True)
class User:
    """A user who may sign in (device code, password); `mfa` refuses the password grant as
    Entra does for accounts with multi-factor authentication."""

    username: str = field(repr=False)
    password: str | None = field(default=None, repr=False)
    mfa: bool = False

    def __repr__(self) -> str:
        return f"User(username=<set>, password={'<set>' if self.password else None})"


@dataclass(frozen=True)
class EnvConfig:
    """One emulated environment pair."""

    name: str
    seed: Path | None = None
    polls: int = 1
    finops_host: str = ""
    dwconf_tables: str = "present"  # "absent": dwconf's two tables await `dwconf bootstrap`
    request_polls: int = 1  # `Status` polls a gateway request answers "1" (waiting) before it ends
    sync_seconds: float = 0.0  # an initial sync or catch-up lasts at least this long

    @property
    def fo_host(self) -> str:
        return self.finops_host or f"{self.name}.operations.dynamics.com"


@dataclass(frozen=True)
class Limits:
    """Service-protection limits per caller (live-api.md §2): requests and execution time in
    a sliding window, and concurrent requests."""

    requests: int = 6000
    window_seconds: float = 300.0
    execution_ms: int = 1_200_000
    concurrent: int = 52


@dataclass(frozen=True)
class EmulatorConfig:
    tenant_id: str = DEFAULT_TENANT
    environments: tuple[EnvConfig, ...] = (EnvConfig("dev"),)
    clients: tuple[Client, ...] = ()
    users: tuple[User, ...] = ()
    token_lifetime_seconds: int = 3599
    gateway_resource: str = INTEGRATOR_RESOURCE
    gateway_app_only: bool = False  # True: the gateway also takes app-only tokens [I]
    device_code_interval_seconds: int = 5
    device_code_lifetime_seconds: int = 900
    limits: Limits = Limits()
    data_dir: Path | None = None
    default_seed: Path | None = None
    replay: Path | None = None  # a recording to serve instead of environments (read-only)

    def environment(self, name: str) -> EnvConfig | None:
        return next((e for e in self.environments if e.name == name), None)

    def client(self, client_id: str) -> Client | None:
        """A configured client, or the Data Integrator's public client every tenant has."""
        found = next((c for c in self.clients if c.client_id == client_id), None)
        if found is None and client_id == DATA_INTEGRATOR_CLIENT:
            return Client(DATA_INTEGRATOR_CLIENT, public=True)
        return found

    def user(self, username: str) -> User | None:
        """A user by name, compared without case as Entra compares user principal names."""
        return next((u for u in self.users if u.username.lower() == username.lower()), None)

    def with_data(self, data_dir: Path, seed: Path | None) -> EmulatorConfig:
        return replace(self, data_dir=data_dir, default_seed=seed or self.default_seed)

    def with_environment(self, name: str) -> EmulatorConfig:
        """This configuration, serving `name` too (a new environment with the defaults)."""
        if self.environment(name) is not None:
            return self
        return replace(self, environments=(*self.environments, EnvConfig(name)))


def _text(raw: Mapping[str, Any], key: str, where: str) -> str | None:
    value = raw.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise EmulatorConfigError(f"{where}: '{key}' must be a non-empty string.")
    return value


def _from_env(raw: Mapping[str, Any], key: str, where: str, required: bool) -> str | None:
    """A value given directly (`key`) or through an environment variable (`key_env`)."""
    direct = _text(raw, key, where)
    variable = _text(raw, f"{key}_env", where)
    if direct is not None and variable is not None:
        raise EmulatorConfigError(f"{where}: give '{key}' or '{key}_env', not both.")
    if variable is not None:
        direct = os.environ.get(variable) or None
        if direct is None:
            raise EmulatorConfigError(
                f"{where}: environment variable {variable} is not set.",
                hint=f"export {variable} before starting the emulator.",
            )
    if direct is None and required:
        raise EmulatorConfigError(f"{where}: '{key}' or '{key}_env' is required.")
    return direct


def _federated(raw: Any, where: str) -> Federated | None:
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        raise EmulatorConfigError(f"{where}: 'federated' must be a mapping.")
    issuer = _text(raw, "issuer", where)
    subject = _text(raw, "subject", where)
    if issuer is None or subject is None:
        raise EmulatorConfigError(f"{where}: 'federated' needs 'issuer' and 'subject'.")
    audience = _text(raw, "audience", where) or Federated.audience
    return Federated(issuer, subject, audience)


def _client(raw: Any, index: int) -> Client:
    where = f"clients[{index}]"
    if not isinstance(raw, Mapping):
        raise EmulatorConfigError(f"{where}: a client is a mapping.")
    client_id = _from_env(raw, "client_id", where, required=True)
    assert client_id is not None
    secret = _from_env(raw, "client_secret", where, required=False)
    federated = _federated(raw.get("federated"), where)
    public = raw.get("public", False)
    if not isinstance(public, bool):
        raise EmulatorConfigError(f"{where}: 'public' is true or false.")
    if secret is None and federated is None and not public:
        raise EmulatorConfigError(
            f"{where}: give a client secret, a federated credential or 'public: true'."
        )
    return Client(client_id, secret, federated, public)


def _user(raw: Any, index: int) -> User:
    where = f"users[{index}]"
    if not isinstance(raw, Mapping):
        raise EmulatorConfigError(f"{where}: a user is a mapping.")
    username = _from_env(raw, "username", where, required=True)
    assert username is not None
    password = _from_env(raw, "password", where, required=False)
    mfa = raw.get("mfa", False)
    if not isinstance(mfa, bool):
        raise EmulatorConfigError(f"{where}: 'mfa' is true or false.")
    return User(username, password, mfa)


def _device_code(raw: Any) -> tuple[int, int]:
    raw = raw or {}
    if not isinstance(raw, Mapping) or set(raw) - {"interval_seconds", "lifetime_seconds"}:
        raise EmulatorConfigError("device_code: a mapping with interval_seconds, lifetime_seconds.")
    interval = raw.get("interval_seconds", 5)
    lifetime = raw.get("lifetime_seconds", 900)
    for key, value in (("interval_seconds", interval), ("lifetime_seconds", lifetime)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise EmulatorConfigError(f"device_code.{key}: expected a whole number >= 1.")
    return interval, lifetime


def _environment(name: Any, raw: Any, base: Path) -> EnvConfig:
    if not isinstance(name, str) or not ENV_NAME.match(name):
        raise EmulatorConfigError(
            f"environments: '{name}' is not a valid name (lower-case letters, digits, '-')."
        )
    raw = raw or {}
    if not isinstance(raw, Mapping):
        raise EmulatorConfigError(f"environments.{name}: expected a mapping.")
    seed = _text(raw, "seed", f"environments.{name}")
    polls = raw.get("polls", 1)
    if not isinstance(polls, int) or polls < 1:
        raise EmulatorConfigError(f"environments.{name}: 'polls' is a whole number >= 1.")
    host = _text(raw, "finops_host", f"environments.{name}") or ""
    tables = raw.get("dwconf_tables", "present")
    if tables not in DWCONF_TABLES:
        raise EmulatorConfigError(f"environments.{name}: 'dwconf_tables' is present or absent.")
    request_polls = raw.get("request_polls", 1)
    if not isinstance(request_polls, int) or isinstance(request_polls, bool) or request_polls < 0:
        raise EmulatorConfigError(f"environments.{name}: 'request_polls' is a whole number >= 0.")
    sync = raw.get("sync_seconds", 0)
    if not isinstance(sync, int | float) or isinstance(sync, bool) or sync < 0:
        raise EmulatorConfigError(f"environments.{name}: 'sync_seconds' is a number >= 0.")
    seed_path = (base / seed) if seed else None
    return EnvConfig(name, seed_path, polls, host, tables, request_polls, float(sync))


def _limits(raw: Any) -> Limits:
    raw = raw or {}
    if not isinstance(raw, Mapping):
        raise EmulatorConfigError("throttle: expected a mapping.")
    values: dict[str, Any] = {}
    for key in ("requests", "window_seconds", "execution_ms", "concurrent"):
        if key in raw:
            value = raw[key]
            if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
                raise EmulatorConfigError(f"throttle.{key}: expected a positive number.")
            values[key] = value
    return Limits(**values)


def _tokens(raw: Any) -> int:
    raw = raw or {}
    lifetime = raw.get("lifetime_seconds", 3599) if isinstance(raw, Mapping) else None
    if not isinstance(lifetime, int) or lifetime < 1:
        raise EmulatorConfigError("tokens.lifetime_seconds: expected a whole number >= 1.")
    return lifetime


def parse(data: Any, base: Path) -> EmulatorConfig:
    """A configuration from parsed YAML; `base` resolves relative seed paths."""
    if data is None:
        data = {}
    if not isinstance(data, Mapping) or set(data) - _TOP_KEYS:
        raise EmulatorConfigError(
            f"The emulator configuration is a mapping with the keys {', '.join(sorted(_TOP_KEYS))}."
        )
    envs_raw = data.get("environments") or {"dev": {}}
    if not isinstance(envs_raw, Mapping):
        raise EmulatorConfigError("environments: expected a mapping of name to settings.")
    clients_raw = data.get("clients") or []
    users_raw = data.get("users") or []
    if not isinstance(clients_raw, list) or not isinstance(users_raw, list):
        raise EmulatorConfigError("clients and users: expected lists.")
    app_only = data.get("gateway_app_only", False)
    if not isinstance(app_only, bool):
        raise EmulatorConfigError("gateway_app_only: true or false.")
    interval, lifetime = _device_code(data.get("device_code"))
    return EmulatorConfig(
        tenant_id=_text(data, "tenant_id", "config") or DEFAULT_TENANT,
        environments=tuple(_environment(n, r, base) for n, r in envs_raw.items()),
        clients=tuple(_client(c, i) for i, c in enumerate(clients_raw)),
        users=tuple(_user(u, i) for i, u in enumerate(users_raw)),
        token_lifetime_seconds=_tokens(data.get("tokens")),
        gateway_resource=_text(data, "gateway_resource", "config") or INTEGRATOR_RESOURCE,
        gateway_app_only=app_only,
        device_code_interval_seconds=interval,
        device_code_lifetime_seconds=lifetime,
        limits=_limits(data.get("throttle")),
    )


def load(path: Path | None) -> EmulatorConfig:
    """The configuration in `path`; without a file, one environment `dev`, the client in
    DWCONF_CLIENT_ID and DWCONF_CLIENT_SECRET and the user in DWCONF_GATEWAY_USERNAME and
    DWCONF_GATEWAY_PASSWORD, each when both of its variables are set."""
    if path is None:
        return _default()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise EmulatorConfigError(f"cannot read the emulator configuration {path}: {exc}") from exc
    try:
        data = load_plain(text)
    except yaml.YAMLError as exc:
        raise EmulatorConfigError(f"{path} is not valid YAML: {exc}") from exc
    return parse(data, path.parent)


def _default() -> EmulatorConfig:
    client_id = os.environ.get("DWCONF_CLIENT_ID")
    secret = os.environ.get("DWCONF_CLIENT_SECRET")
    clients = (Client(client_id, secret),) if client_id and secret else ()
    username = os.environ.get(USERNAME_VARIABLE)
    password = os.environ.get(PASSWORD_VARIABLE)
    users = (User(username, password),) if username and password else ()
    return EmulatorConfig(clients=clients, users=users)
