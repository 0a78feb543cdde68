"""`dwconf login` through the entry point against the emulator: a user signs in by device code
(approved through the emulator's test API) or in the system browser (a script named by
`BROWSER` that approves the sign-in page and brings the code back to msal's loopback
listener), `dwconf plan` then reaches the gateway with that sign-in, renews it with the
refresh token once the emulator's clock has passed its expiry, and no gateway token ever
reaches Dataverse; `dwconf logout` forgets it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from dwconf.emulator.serve import Running
from tests.providers.support import (
    ENVIRON,
    PASSWORD,
    SECRET,
    USERNAME,
    TestApi,
    provider_block,
    shared_emulator,
)
from tests.support import Result

Cli = Callable[..., Result]
REPO = Path(__file__).resolve().parents[2]
FAKE_BROWSER = Path(__file__).with_name("fake_browser.py")
APPLICATION_ONLY = {k: v for k, v in ENVIRON.items() if "GATEWAY" not in k}


@pytest.fixture
def emulated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Running, TestApi]:
    server, api = shared_emulator()
    api.reset()
    for name, value in APPLICATION_ONLY.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("DWCONF_GATEWAY_USERNAME", raising=False)
    monkeypatch.setenv("DWCONF_CACHE_DIR", str(tmp_path / "cache"))
    return server, api


@pytest.fixture
def repo(make_repo: Callable[..., Path], emulated: tuple[Running, TestApi]) -> Path:
    env = f"name: dev\nstage: dev\n{provider_block(emulated[0], 'dev', gateway_user=False)}"
    return make_repo({"environments/dev.yaml": env})


def _login(repo: Path, api: TestApi, cache: Path) -> tuple[int, str, str]:
    """`dwconf login dev --device-code` in a process of its own; the code it prints is
    approved through the test API, as a person would in a browser."""
    environ = {**os.environ, **APPLICATION_ONLY, "DWCONF_CACHE_DIR": str(cache)}
    environ |= {"NO_COLOR": "1", "PYTHONPATH": str(REPO)}
    command = [sys.executable, "-m", "dwconf", "-C", str(repo), "login", "dev", "--device-code"]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environ
    )
    try:
        assert process.stderr is not None
        said = process.stderr.readline()  # the device-code message comes first
        pending = api.http.get("/devicecodes").json()["pending"]
        assert len(pending) == 1 and pending[0]["user_code"] in said, said
        approved = api.http.post(f"/devicecodes/{pending[0]['user_code']}/approve", json={})
        assert approved.status_code == 200, approved.text
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    return process.returncode, out, said + err


def _browser_login(
    repo: Path, server: Running, tmp_path: Path, action: str = "approve"
) -> tuple[int, str, str, str]:
    """`dwconf login dev` with no display and `BROWSER` naming a wrapper that starts the fake
    browser in the background (Python's webbrowser waits for a BROWSER command to end, and
    msal answers its loopback listener only after the browser was opened). Returns the exit
    code, stdout, stderr and the fake browser's log."""
    log, wrapper = tmp_path / "browser.log", tmp_path / "browser.sh"
    wrapper.write_text(
        f'#!/bin/sh\n"{sys.executable}" "{FAKE_BROWSER}" "$1" >>"{log}" 2>&1 </dev/null &\n'
    )
    wrapper.chmod(0o755)
    # msal's loopback listener takes every interface where it finds a container; a test's
    # servers listen on 127.0.0.1 only, so the login under test is told it is in none.
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(
        "import msal.oauth2cli.authcode as authcode\n"
        "assert hasattr(authcode, '_is_inside_docker'), 'msal changed: loopback unchecked'\n"
        "authcode._is_inside_docker = lambda: False\n"
    )
    environ = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    environ |= {**APPLICATION_ONLY, "DWCONF_CACHE_DIR": str(tmp_path / "cache")}
    environ |= {"NO_COLOR": "1", "PYTHONPATH": f"{site}{os.pathsep}{REPO}", "BROWSER": str(wrapper)}
    environ |= {"FAKE_BROWSER_CA": str(server.ca_file), "FAKE_BROWSER_ACTION": action}
    command = [sys.executable, "-m", "dwconf", "-C", str(repo), "login", "dev"]
    done = subprocess.run(
        command, check=False, capture_output=True, text=True, env=environ, timeout=120
    )
    return done.returncode, done.stdout, done.stderr, log.read_text() if log.exists() else ""


def _requests_to(api: TestApi, suffix: str) -> int:
    return sum(n for k, n in api.stats()["by_request"].items() if k.endswith(suffix))


def test_login_in_the_browser_then_plan_signs_in_silently(
    repo: Path, dwconf: Cli, emulated: tuple[Running, TestApi], tmp_path: Path
) -> None:
    server, api = emulated
    code, out, err, browsed = _browser_login(repo, server, tmp_path)
    assert code == 0, out + err + browsed
    assert out.strip() == f"dev: signed in to the gateway as {USERNAME}"
    assert "Opening the system browser" in err
    assert "authorize: 200" in browsed and "approve: 200" in browsed
    assert "form_post: 200" in browsed or "redirect: 200" in browsed, browsed
    assert _requests_to(api, "/authorize") == 1 and _requests_to(api, "/login") == 1
    (cached,) = (tmp_path / "cache" / "signin").glob("gateway-*.json")
    accounts = json.loads(cached.read_text())["Account"].values()
    assert [a["username"] for a in accounts] == [USERNAME]

    api.clear_stats()
    planned = dwconf("-C", str(repo), "plan", "dev")
    assert planned.exit_code == 0, planned.out + planned.err
    assert _requests_to(api, "/authorize") == 0  # silently, from the token cache
    assert set(api.stats()["bearers"]["dev/gateway"]) == {"user https://integratorapp.com"}
    for text in (out + err + browsed, planned.out + planned.err):
        assert "eyJ" not in text and SECRET not in text


def test_a_sign_in_declined_in_the_browser_is_refused_and_nothing_is_kept(
    repo: Path, emulated: tuple[Running, TestApi], tmp_path: Path
) -> None:
    server, _ = emulated
    code, out, err, browsed = _browser_login(repo, server, tmp_path, action="decline")
    assert code == 1, out + err + browsed
    assert "AADSTS65004" in err and "Traceback" not in err
    for cached in (tmp_path / "cache" / "signin").glob("gateway-*.json"):
        assert not json.loads(cached.read_text() or "{}").get("Account")


def _token_grants(api: TestApi) -> int:
    return sum(n for k, n in api.stats()["by_request"].items() if k.endswith("/oauth2/v2.0/token"))


def test_login_by_device_code_then_plan_renews_the_sign_in(
    repo: Path, dwconf: Cli, emulated: tuple[Running, TestApi], tmp_path: Path
) -> None:
    server, api = emulated
    code, out, err = _login(repo, api, tmp_path / "cache")
    assert code == 0, out + err
    assert out.strip() == f"dev: signed in to the gateway as {USERNAME}"
    assert "a plain file only you can read" in err
    (cached,) = (tmp_path / "cache" / "signin").glob("gateway-*.json")
    assert cached.stat().st_mode & 0o777 == 0o600
    assert cached.parent.stat().st_mode & 0o777 == 0o700

    api.clear_stats()
    planned = dwconf("-C", str(repo), "plan", "dev")
    assert planned.exit_code == 0, planned.out + planned.err
    bearers = api.stats()["bearers"]
    assert set(bearers["dev/gateway"]) == {"user https://integratorapp.com"}
    assert set(bearers["dev/dataverse"]) == {f"app {server.dataverse_url('dev').lower()}"}

    api.advance(7200)  # the emulator has passed the access token's expiry; msal has not
    api.clear_stats()
    renewed = dwconf("-C", str(repo), "plan", "dev")
    assert renewed.exit_code == 0, renewed.out + renewed.err
    assert api.stats()["statuses"].get("401", 0) >= 1 and _token_grants(api) >= 2

    for result in (planned, renewed):
        text = result.out + result.err
        assert "eyJ" not in text and SECRET not in text and PASSWORD not in text
    assert "eyJ" not in out + err


def test_logout_forgets_the_sign_in(
    repo: Path, dwconf: Cli, emulated: tuple[Running, TestApi], tmp_path: Path
) -> None:
    _, api = emulated
    assert _login(repo, api, tmp_path / "cache")[0] == 0
    out = dwconf("-C", str(repo), "logout", "dev")
    assert out.exit_code == 0 and out.out.startswith("dev: signed out")
    assert not list((tmp_path / "cache" / "signin").glob("gateway-*.json"))
    again = dwconf("-C", str(repo), "logout", "dev")
    assert again.out.strip() == "dev: nobody was signed in."
    refused = dwconf("-C", str(repo), "plan", "dev")
    assert refused.exit_code == 1
    assert "nobody is signed in to the gateway of environment 'dev'" in refused.err
    assert "dwconf login dev" in refused.err


def test_a_revoked_sign_in_says_to_log_in_again(
    repo: Path, dwconf: Cli, emulated: tuple[Running, TestApi], tmp_path: Path
) -> None:
    _, api = emulated
    assert _login(repo, api, tmp_path / "cache")[0] == 0
    api.http.post("/signins/revoke")
    api.advance(7200)
    refused = dwconf("-C", str(repo), "plan", "dev")
    assert refused.exit_code == 1
    assert "AADSTS700082" in refused.err and "run `dwconf login dev` again" in refused.err


def test_login_checks_a_pipeline_sign_in_and_keeps_nothing(
    make_repo: Callable[..., Path], dwconf: Cli, emulated: tuple[Running, TestApi],
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
) -> None:  # fmt: skip
    server, _ = emulated
    monkeypatch.setenv("DWCONF_GATEWAY_USERNAME", USERNAME)
    monkeypatch.setenv("DWCONF_GATEWAY_PASSWORD", PASSWORD)
    repo = make_repo(
        {"environments/dev.yaml": f"name: dev\nstage: dev\n{provider_block(server, 'dev')}"}
    )
    checked = dwconf("-C", str(repo), "login", "dev")
    assert checked.exit_code == 0, checked.out + checked.err
    assert checked.out.strip() == f"dev: the gateway sign-in works (as {USERNAME})"
    assert "nothing is kept" in checked.err
    assert not (tmp_path / "cache" / "signin").exists()


def test_login_of_a_local_environment_needs_nothing(
    make_repo: Callable[..., Path], dwconf: Cli
) -> None:
    repo = make_repo()
    result = dwconf("-C", str(repo), "login", "dev")
    assert (result.exit_code, result.out.strip()) == (0, "dev: provider 'local' needs no sign-in.")


def test_waiting_for_a_device_code_shows_progress(tmp_path: Path) -> None:
    """The provider's device-code loop: it says it is still waiting, then signs in once the
    code is approved (a scripted msal application; the HTTP flow is tested above)."""
    from dwconf.providers.dynamics import signin

    said: list[str] = []
    polls = iter([{"error": "authorization_pending"}] * 3 + [{"access_token": "t"}])

    class Flow:
        def initiate_device_flow(self, scopes: list[str]) -> dict[str, object]:
            return {"user_code": "ABC", "message": "enter ABC", "interval": 1,
                    "expires_at": time.time() + 600}  # fmt: skip

        def acquire_token_by_device_flow(self, flow: object, **_: object) -> dict[str, str]:
            return next(polls)

    clock = [0.0]
    monkey = pytest.MonkeyPatch()
    monkey.setattr(signin.time, "monotonic", lambda: clock[0])

    def sleep(seconds: float) -> None:
        clock[0] += 10 * seconds

    try:
        result = signin._device_flow(Flow(), ["s"], said.append, sleep)
    finally:
        monkey.undo()
    assert result == {"access_token": "t"}
    assert said[0] == "enter ABC" and any("waiting for the sign-in" in s for s in said[1:])


def test_an_explicit_browser_counts_without_a_display_and_the_wait_is_bounded() -> None:
    """`BROWSER` names a browser even where Linux has no display; a browser sign-in that
    never comes back ends after BROWSER_TIMEOUT_S with a message, not a traceback (a
    scripted msal application; the HTTP flow is tested above)."""
    import msal

    from dwconf.errors import ProviderError
    from dwconf.providers.dynamics import signin

    if sys.platform.startswith("linux"):
        assert not signin.browser_available({})
    assert signin.browser_available({"BROWSER": "/usr/bin/true"})

    asked: dict[str, object] = {}

    class NeverBack:
        def acquire_token_interactive(self, scopes: list[str], **options: object) -> None:
            asked.update(options)
            raise msal.BrowserInteractionTimeoutError("User did not complete the flow in time")

    with pytest.raises(ProviderError, match="did not come back within 5 minutes"):
        signin._browser_flow(NeverBack(), ["s"], lambda _text: None)
    assert asked["timeout"] == signin.BROWSER_TIMEOUT_S
