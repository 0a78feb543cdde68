"""`dwconf emulator serve` as a subprocess: it prints its URLs, serves TLS with the CA file it
wrote, reads clients from its configuration file, and stops cleanly on SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.emulator.helpers import API, CLIENT_ID

SECRET_VALUE = "serve-test-secret-value"


def _read_announcement(process: subprocess.Popen[str]) -> dict[str, str]:
    lines: dict[str, str] = {}
    deadline = time.monotonic() + 20
    assert process.stdout is not None
    while "test_api" not in lines and time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        name, _, value = line.strip().partition(": ")
        lines[name] = value
    return lines


def _disconnect_mid_body(base: str, context: ssl.SSLContext, token: str) -> None:
    """A client that sends half a request body and goes away, as a killed process does."""
    host, port = base.removeprefix("https://").split(":")
    head = (
        f"POST /env/dev/dataverse{API}/dwconf_deploymentrecords HTTP/1.1\r\n"
        f"Host: {host}:{port}\r\nAuthorization: Bearer {token}\r\n"
        "Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
    )
    with (
        socket.create_connection((host, int(port))) as raw,
        context.wrap_socket(raw, server_hostname=host) as tls,
    ):
        tls.sendall(head.encode() + b'{"dwconf_who": ')
        time.sleep(0.2)  # the request reaches the endpoint, which waits for the rest
    time.sleep(0.2)


def test_serve_prints_urls_and_stops_on_sigterm(tmp_path: Path) -> None:
    config = tmp_path / "emulator.yaml"
    config.write_text(
        "environments:\n  dev: {polls: 2}\n"
        "clients:\n  - client_id: " + CLIENT_ID + "\n    client_secret_env: EMULATOR_TEST_SECRET\n",
        encoding="utf-8",
    )
    env = {**os.environ, "EMULATOR_TEST_SECRET": SECRET_VALUE, "NO_COLOR": "1"}
    command = [sys.executable, "-m", "dwconf", "emulator", "serve", "--tls", "--config", str(config),
               "--data", str(tmp_path / "data")]  # fmt: skip
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    try:
        lines = _read_announcement(process)
        base = lines["emulator"]
        assert base.startswith("https://127.0.0.1:")
        assert lines["dataverse_url"] == f"{base}/env/{{env}}/dataverse"
        assert lines["gateway_url"] == f"{base}/env/{{env}}/gateway"
        assert lines["authority"] == base
        assert lines["token_endpoint"] == f"{base}/{lines['tenant_id']}/oauth2/v2.0/token"
        ca_file = Path(lines["ca_file"])
        assert ca_file.read_text().startswith("-----BEGIN CERTIFICATE-----")
        context = ssl.create_default_context(cafile=str(ca_file))
        with httpx.Client(verify=context) as client:
            token = client.post(
                lines["token_endpoint"],
                data={"grant_type": "client_credentials", "client_id": CLIENT_ID,
                      "client_secret": SECRET_VALUE, "scope": f"{base}/env/dev/dataverse/.default"},
            )  # fmt: skip
            assert token.status_code == 200, token.text
            who = client.get(
                f"{base}/env/dev/dataverse{API}/WhoAmI",
                headers={"Authorization": f"Bearer {token.json()['access_token']}"},
            )
            assert who.status_code == 200
        _disconnect_mid_body(base, context, token.json()["access_token"])
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, err
    assert SECRET_VALUE not in out + err
    assert "Traceback" not in err  # a client killed mid-request is let go quietly
    assert (tmp_path / "data" / "dev.sqlite").exists()


def test_the_ca_is_kept_in_the_data_folder_across_restarts(tmp_path: Path) -> None:
    """A client that trusts the CA file of the first start trusts the second start too."""
    from dwconf.emulator.serve import running
    from tests.emulator.conftest import emulator_config

    data = tmp_path / "data"
    with running(emulator_config(), tls=True, data_dir=data) as first:
        assert first.ca_file is not None
        trusted = first.ca_file.read_bytes()
    key = data / "emulator-ca-key.pem"
    assert key.stat().st_mode & 0o777 == 0o600
    with running(emulator_config(), tls=True, data_dir=data) as second:
        assert second.ca_file is not None and second.ca_file.read_bytes() == trusted
        pinned = tmp_path / "trusted-ca.pem"
        pinned.write_bytes(trusted)
        context = ssl.create_default_context(cafile=str(pinned))
        with httpx.Client(verify=context) as client:
            assert client.get(f"{second.base_url}/_emulator").status_code == 200
    with running(emulator_config(), tls=True, data_dir=tmp_path / "other") as elsewhere:
        assert elsewhere.ca_file is not None and elsewhere.ca_file.read_bytes() != trusted
