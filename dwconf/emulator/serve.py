"""Running the emulator with uvicorn: in the foreground for `dwconf emulator serve` (prints its
URLs, stops cleanly on SIGINT and SIGTERM) or in a background thread for tests (`running`).

The socket is bound before uvicorn starts, so port 0 gives a free port that is known up front.
With TLS, a CA made with trustme (kept in the data folder, so a restart on the same `--data`
keeps it) signs the server certificate; clients trust the CA file the emulator writes (their
`verify` setting), never by turning verification off.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

import uvicorn
from starlette.applications import Starlette

from dwconf.emulator import envfile
from dwconf.emulator.app import create_app
from dwconf.emulator.config import EmulatorConfig
from dwconf.emulator.hub import Hub
from dwconf.errors import DwconfError

CA_FILE = "emulator-ca.pem"
SERVER_FILE = "emulator-server.pem"
CA_KEY_FILE = "emulator-ca-key.pem"  # private: 0600
STARTUP_TIMEOUT_SECONDS = 20.0


@dataclass(frozen=True)
class Running:
    """A started emulator: where it listens and, with TLS, the CA file to trust."""

    base_url: str
    ca_file: Path | None
    hub: Hub

    def dataverse_url(self, env: str) -> str:
        return f"{self.base_url}/env/{env}/dataverse"

    def gateway_url(self, env: str) -> str:
        return f"{self.base_url}/env/{env}/gateway"

    def token_url(self) -> str:
        return f"{self.base_url}/{self.hub.config.tenant_id}/oauth2/v2.0/token"


class _Server(uvicorn.Server):
    """uvicorn, but a signal ends the process with exit code 0 instead of being re-raised."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        handled = (signal.SIGINT, signal.SIGTERM)
        previous = {sig: signal.signal(sig, self._stop) for sig in handled}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _stop(self, sig: int, frame: FrameType | None) -> None:
        if self.should_exit:
            self.force_exit = True
        self.should_exit = True


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto set explicitly: asyncio turns Nagle off (TCP_NODELAY) only for IPPROTO_TCP sockets
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise DwconfError(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}",
            "another program (an emulator still running?) may hold the port: stop it, or "
            "choose another --port (--port 0 picks a free one)",
        ) from exc
    sock.listen(128)
    sock.setblocking(False)
    return sock


def _ca(folder: Path) -> Any:
    """The CA kept in `folder` (made and written there the first time), so clients that trust
    its file keep trusting the emulator across restarts on the same `--data`."""
    try:
        import trustme
    except ImportError as exc:  # pragma: no cover - a dependency of dwconf
        raise DwconfError("--tls needs the trustme package", "pip install trustme") from exc
    ca_file, key_file = folder / CA_FILE, folder / CA_KEY_FILE
    if ca_file.exists() and key_file.exists():
        try:
            return trustme.CA.from_pem(ca_file.read_bytes(), key_file.read_bytes())
        except (OSError, ValueError) as exc:
            raise DwconfError(
                f"cannot read the emulator's CA in {folder}: {exc}",
                f"delete {ca_file.name} and {key_file.name} there to make a new CA (clients "
                "must then trust the new file)",
            ) from exc
    ca = trustme.CA()
    key_file.touch(mode=0o600)
    os.chmod(key_file, 0o600)
    ca.private_key_pem.write_to_path(str(key_file))
    ca.cert_pem.write_to_path(str(ca_file))
    return ca


def write_certificates(folder: Path, host: str) -> tuple[Path, Path]:
    """A server certificate for the loopback names and `host`, signed by the CA in `folder`
    (`emulator-ca.pem`, made on first use); returns (CA file, server key+chain file)."""
    ca = _ca(folder)
    names = sorted({"127.0.0.1", "localhost", "::1", host})
    server = ca.issue_cert(*names)
    server_file = folder / SERVER_FILE
    server_file.touch(mode=0o600)
    os.chmod(server_file, 0o600)
    server.private_key_and_cert_chain_pem.write_to_path(str(server_file))
    return folder / CA_FILE, server_file


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def announcement(running: Running) -> list[str]:
    """The lines `serve` prints: one URL (or file) per line, `name: value`."""
    config = running.hub.config
    lines = [
        f"emulator: {running.base_url}",
        f"environments: {', '.join(running.hub.registry.names())}",
        f"dataverse_url: {running.base_url}/env/{{env}}/dataverse",
        f"gateway_url: {running.base_url}/env/{{env}}/gateway",
        f"authority: {running.base_url}",
        f"tenant_id: {config.tenant_id}",
        f"token_endpoint: {running.token_url()}",
    ]
    if running.ca_file is not None:
        lines.append(f"ca_file: {running.ca_file}")
    return [*lines, f"test_api: {running.base_url}/_emulator"]


def _uvicorn(app: Starlette, ssl_file: Path | None) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        lifespan="on",
        ssl_certfile=str(ssl_file) if ssl_file else None,
        timeout_graceful_shutdown=5,
        date_header=False,  # the app sends Date from the emulator's clock (ServiceDateMiddleware)
    )


def _prepare(
    config: EmulatorConfig,
    *,
    host: str,
    port: int,
    data_dir: Path | None,
    seed: Path | None,
    tls: bool,
) -> tuple[socket.socket, Running, uvicorn.Config]:
    folder = data_dir or Path(tempfile.mkdtemp(prefix="dwconf-emulator-"))
    folder.mkdir(parents=True, exist_ok=True)
    sock = bind(host, port)
    bound_port = sock.getsockname()[1]
    ca_file, server_file = write_certificates(folder, host) if tls else (None, None)
    app = create_app(config.with_data(folder, seed))
    scheme = "https" if tls else "http"
    running = Running(f"{scheme}://{_url_host(host)}:{bound_port}", ca_file, app.state.hub)
    return sock, running, _uvicorn(app, server_file)


async def _serve(server: uvicorn.Server, sock: socket.socket, on_start: Callable[[], None]) -> None:
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started and not task.done():
        await asyncio.sleep(0.02)
    if server.started:
        on_start()
    await task


@dataclass(frozen=True)
class EnvFile:
    """`--env-file PATH --env NAME`: write an environment file for emulated environment NAME."""

    path: Path
    env: str


def _env_file_lines(running: Running, wanted: EnvFile, found: envfile.Credentials) -> list[str]:
    """Write the environment file; the lines that say where, and the `export`s to run."""
    handle = running.hub.registry.get(wanted.env)
    config = running.hub.config
    assert running.ca_file is not None  # an environment file implies --tls
    block = envfile.provider(running.base_url, config.tenant_id, handle.config.fo_host, wanted.env)
    envfile.write(wanted.path, wanted.env, block, running.ca_file)
    return [f"env_file: {wanted.path}", *found.exports()]


def serve(
    config: EmulatorConfig,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    data_dir: Path | None = None,
    seed: Path | None = None,
    tls: bool = False,
    env_file: EnvFile | None = None,
    announce: Callable[[str], None] = print,
) -> None:
    """Serve in the foreground until SIGINT or SIGTERM; a temporary data folder is removed.
    With `env_file` (which implies TLS: msal signs in over https only), the emulator also
    accepts the credentials `envfile` names and writes the environment file once it listens."""
    owned = data_dir is None
    folder = data_dir or Path(tempfile.mkdtemp(prefix="dwconf-emulator-"))
    folder.mkdir(parents=True, exist_ok=True)
    found = None
    if env_file is not None:
        found = envfile.credentials(os.environ, folder)
        config, tls = envfile.accepting(config, env_file.env, found), True
    sock, running, uv_config = _prepare(
        config, host=host, port=port, data_dir=folder, seed=seed, tls=tls
    )
    server = _Server(uv_config)

    def started() -> None:
        lines = announcement(running)
        if env_file is not None and found is not None:
            lines[-1:-1] = _env_file_lines(running, env_file, found)
        for line in lines:
            announce(line)

    try:
        asyncio.run(_serve(server, sock, started))
    finally:
        sock.close()
        if owned:
            shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def running(
    config: EmulatorConfig,
    *,
    tls: bool = False,
    data_dir: Path | None = None,
    seed: Path | None = None,
) -> Iterator[Running]:
    """An emulator on 127.0.0.1 and a free port, in a background thread, for tests."""
    owned = data_dir is None
    sock, started, uv_config = _prepare(
        config, host="127.0.0.1", port=0, data_dir=data_dir, seed=seed, tls=tls
    )
    server = _Server(uv_config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.01)
    try:
        if not server.started:
            raise DwconfError("the emulator did not start")
        yield started
    finally:
        server.should_exit = True
        thread.join(timeout=1)
        if thread.is_alive():  # idle keep-alive (TLS) connections: don't wait them out
            server.force_exit = True
            thread.join(timeout=10)
        started.hub.registry.close()
        sock.close()
        if owned:
            shutil.rmtree(started.hub.folder, ignore_errors=True)
