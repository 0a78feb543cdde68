"""Shared helpers for the dynamics provider's tests: an emulator on loopback (TLS, trustme CA),
its test API over real HTTP, and the provider opened against it the way the CLI opens it.

The client secret is recognisable on purpose, so tests can prove it never leaks.
"""

from __future__ import annotations

import atexit
import contextlib
import threading
from collections.abc import Iterator, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx

from dwconf.emulator import Client, EmulatorConfig, EnvConfig, Federated, envfile
from dwconf.emulator.config import User
from dwconf.emulator.serve import Running, running
from dwconf.model import Environment
from dwconf.package.yamlout import document
from dwconf.providers.dynamics import DynamicsProvider, Tuning
from dwconf.providers.dynamics.transport import RetryPolicy, ssl_context

CLIENT_ID = "5c0ffee0-0000-4000-8000-00000000d1a1"
SECRET = "dwconf-FAKE-secret-9d41c7e2b6"  # recognisable: tests scan output for it
FEDERATED_CLIENT = "5c0ffee0-0000-4000-8000-00000000d1a2"
GITHUB_ISSUER = "https://token.actions.githubusercontent.com"
GITHUB_SUBJECT = "repo:contoso/dual-write-config:ref:refs/heads/main"
USERNAME = "dual-write-admin@contoso.example"  # who signs in to the gateway
PASSWORD = "dwconf-FAKE-password-51e0c3"  # recognisable too
ENVIRON = {
    "DWCONF_CLIENT_ID": CLIENT_ID,
    "DWCONF_CLIENT_SECRET": SECRET,
    "DWCONF_GATEWAY_USERNAME": USERNAME,
    "DWCONF_GATEWAY_PASSWORD": PASSWORD,
}
SECRET_AUTH = {
    "method": "client_secret",
    "client_id_env": "DWCONF_CLIENT_ID",
    "client_secret_env": "DWCONF_CLIENT_SECRET",
}
PASSWORD_AUTH = {
    "method": "username_password",
    "username_env": "DWCONF_GATEWAY_USERNAME",
    "password_env": "DWCONF_GATEWAY_PASSWORD",
}
FAST = Tuning(
    poll_interval_s=0.002,
    timeout_s=20.0,
    retry=RetryPolicy(attempts=4, max_wait_s=0.05, backoff_s=0.01),
)


def emulator_config(**changes: Any) -> EmulatorConfig:
    """Two environments (dev shows transitional states for two polls), two clients and the
    user who signs in to the gateway."""
    base = EmulatorConfig(
        environments=(EnvConfig("dev", polls=2), EnvConfig("test")),
        clients=(
            Client(CLIENT_ID, SECRET),
            Client(FEDERATED_CLIENT, None, Federated(GITHUB_ISSUER, GITHUB_SUBJECT)),
        ),
        users=(User(USERNAME, PASSWORD),),
        device_code_interval_seconds=1,
    )
    return replace(base, **changes)


class TestApi:
    """The emulator's `/_emulator` API over HTTP."""

    __test__ = False

    def __init__(self, server: Running) -> None:
        self.server = server
        verify = ssl_context(str(server.ca_file)) if server.ca_file else True
        self.http = httpx.Client(base_url=f"{server.base_url}/_emulator", verify=verify, timeout=30)

    def close(self) -> None:
        self.http.close()

    def _ok(self, response: httpx.Response) -> Any:
        assert response.status_code < 300, response.text
        return response.json() if response.content else None

    def reset(self, env: str | None = None) -> None:
        self._ok(self.http.post("/reset", json={"environment": env} if env else {}))

    def faults(self, *rules: Mapping[str, Any]) -> None:
        self._ok(self.http.post("/faults", json=list(rules)))

    def fault_list(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self._ok(self.http.get("/faults"))["faults"]
        return found

    def stats(self) -> dict[str, Any]:
        found: dict[str, Any] = self._ok(self.http.get("/stats"))
        return found

    def clear_stats(self) -> None:
        self._ok(self.http.delete("/stats"))

    def advance(self, seconds: float) -> None:
        self._ok(self.http.post("/clock", json={"advance_seconds": seconds}))

    def hold_clock(self, still: bool = True) -> None:
        """Stops the emulator's clock (until `reset`), so only `advance` moves it."""
        self._ok(self.http.post("/clock", json={"hold": still}))

    def call(self, op: str, env: str = "dev", **args: Any) -> Any:
        return self._ok(self.http.post(f"/env/{env}/call", json={"op": op, "args": args}))

    def seed(self, document: Mapping[str, Any], env: str = "dev") -> None:
        self._ok(self.http.put("/seed", json={"environment": env, "seed": document}))

    def state(self, env: str = "dev") -> dict[str, Any]:
        found: dict[str, Any] = self._ok(self.http.get(f"/env/{env}/state"))
        return found


def environment(
    server: Running,
    env: str = "dev",
    auth: Mapping[str, Any] | None = None,
    gateway_auth: Mapping[str, Any] | None = PASSWORD_AUTH,
    **provider: Any,
) -> Environment:
    """An environment file's model pointing at `server`'s environment `env`: an application
    for Dataverse, the test user (password grant) for the gateway."""
    settings = {
        "type": "dynamics",
        "dataverse_url": server.dataverse_url(env),
        "gateway_url": server.gateway_url(env),
        "finops_url": f"https://{env}.operations.dynamics.com",
        "authority": server.base_url,
        "tenant_id": server.hub.config.tenant_id,
        "ca_file": str(server.ca_file) if server.ca_file else None,
        "auth": dict(auth or SECRET_AUTH),
        **({"gateway_auth": dict(gateway_auth)} if gateway_auth is not None else {}),
        **provider,
    }
    return Environment.model_validate({"name": env, "stage": "dev", "provider": settings})


def open_provider(
    root: Path,
    server: Running,
    *,
    env: str = "dev",
    environ: Mapping[str, str] = ENVIRON,
    tuning: Tuning = FAST,
    auth: Mapping[str, Any] | None = None,
    gateway_auth: Mapping[str, Any] | None = PASSWORD_AUTH,
) -> DynamicsProvider:
    model = environment(server, env, auth, gateway_auth)
    return DynamicsProvider.open(root, model, environ=environ, tuning=tuning)


_shared: list[tuple[Running, TestApi]] = []
_shared_lock = threading.Lock()


def shared_emulator() -> tuple[Running, TestApi]:
    """One TLS emulator for the whole test run (started on first use, stopped at exit)."""
    with _shared_lock:
        if not _shared:
            stack = contextlib.ExitStack()
            server = stack.enter_context(running(emulator_config(), tls=True))
            api = TestApi(server)
            stack.callback(api.close)
            atexit.register(stack.close)
            _shared.append((server, api))
        return _shared[0]


@contextlib.contextmanager
def started(config: EmulatorConfig) -> Iterator[tuple[Running, TestApi]]:
    """A TLS emulator of its own, for tests that change its configuration."""
    with running(config, tls=True) as server:
        api = TestApi(server)
        try:
            yield server, api
        finally:
            api.close()


def provider_block(server: Running, env: str, gateway_user: bool = True) -> str:
    """The `provider:` block of an environment file for the emulator's environment `env`, as
    `dwconf emulator serve --env-file` writes it (credentials from DWCONF_CLIENT_ID,
    DWCONF_CLIENT_SECRET, DWCONF_GATEWAY_USERNAME and DWCONF_GATEWAY_PASSWORD); without
    `gateway_user`, no gateway_auth, so the gateway takes the `dwconf login` sign-in."""
    tenant = server.hub.config.tenant_id
    block = envfile.provider(server.base_url, tenant, f"{env}.operations.dynamics.com", env)
    block["ca_file"] = str(server.ca_file)
    if not gateway_user:
        del block["gateway_auth"]
    return document({"provider": block})
