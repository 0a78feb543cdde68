"""A service that echoes the client secret back in an error — JSON-escaped, URL- or
form-encoded, in base64, cut off at the length dwconf shows — never gets it into a dwconf error:
requests go over real HTTP to a loopback server that answers with such bodies."""

from __future__ import annotations

import base64
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from dwconf.errors import ProviderError
from dwconf.providers.dynamics.errors import MAX_BODY_TEXT, remember_secret
from dwconf.providers.dynamics.transport import Request, RetryPolicy, Transport, ssl_context
from tests.unit.test_redact import encodings, shows

SECRET = "Zq8~Tt.4/kL+9vW_xy-Secret7"
BODIES = {
    **{f"text: {name}": text for name, text in encodings(SECRET).items()},
    "JSON error, escaped": '{"error":{"code":"0x1","message":"bad client_secret '
    + SECRET.replace("/", "\\/").replace("+", "\\u002B")
    + '"}}',
    "OAuth error": '{"error":"invalid_client","error_description":"AADSTS7000215: '
    + SECRET.replace("/", "\\/")
    + ' is invalid"}',
    "cut at the shown length": "x" * (MAX_BODY_TEXT - 16) + " " + SECRET,
    "cut inside its base64": "y" * (MAX_BODY_TEXT - 12)
    + " Basic "
    + base64.b64encode(f"client:{SECRET}".encode()).decode(),
}


class Echo(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = list(BODIES.values())[int(self.path.lstrip("/"))].encode()
        self.send_response(400)
        kind = "application/json" if body.startswith(b"{") else "text/plain"
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("case", list(BODIES))
def test_an_echoed_secret_is_masked(base_url: str, case: str) -> None:
    remember_secret(SECRET)  # read from a variable the configuration names
    transport = Transport(verify=ssl_context(None), retry=RetryPolicy(attempts=1))
    try:
        with pytest.raises(ProviderError) as failed:
            transport.call(Request("read maps", "GET", f"{base_url}/{list(BODIES).index(case)}"))
    finally:
        transport.close()
    shown = f"{failed.value.message}\n{failed.value.hint}"
    assert "answered 400" in shown
    assert not shows(shown, SECRET), shown
