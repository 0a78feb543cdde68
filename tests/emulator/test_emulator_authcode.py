"""The emulator's authorization-code flow with PKCE over HTTP, as a browser and a native app
meet it: the sign-in page waits until the request is approved through the test API, the
browser goes back to the loopback redirect with the code and the state (302 or form_post), and
the token endpoint redeems the code once, for its client, redirect URI and PKCE verifier."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import httpx

from tests.emulator.helpers import CLIENT_ID, DATA_INTEGRATOR, SECRET, USERNAME, Api
from tests.emulator.test_emulator_auth import claims_of

GATEWAY = "https://IntegratorApp.com"
SCOPE = f"{GATEWAY}/.default offline_access openid profile"
REDIRECT = "http://localhost:50123"


@dataclass
class Started:
    page: httpx.Response
    verifier: str
    state: str
    nonce: str

    @property
    def request_id(self) -> str:
        found = re.search(r'name="request" value="([A-Z0-9]+)"', self.page.text)
        assert found, self.page.text
        return found.group(1)


def _authorize_url(api: Api) -> str:
    return api.running.token_url().replace("/token", "/authorize")


def _login_url(api: Api) -> str:
    return api.running.token_url().replace("/oauth2/v2.0/token", "/login")


def _start(api: Api, **changes: str) -> Started:
    verifier = secrets.token_urlsafe(40)
    digest = hashlib.sha256(verifier.encode()).digest()
    challenge = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    state, nonce = secrets.token_urlsafe(12), secrets.token_hex(8)
    params = {
        "client_id": DATA_INTEGRATOR,
        "response_type": "code",
        "redirect_uri": REDIRECT,
        "scope": SCOPE,
        "state": state,
        "nonce": nonce,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "prompt": "select_account",
        **changes,
    }
    page = api.http.get(_authorize_url(api), params=params)
    return Started(page, verifier, state, nonce)


def _continue(api: Api, started: Started) -> httpx.Response:
    return api.http.post(_login_url(api), data={"request": started.request_id})


def _approve(api: Api, started: Started) -> None:
    approved = api.test_api("POST", f"/authorizations/{started.request_id}/approve", json={})
    assert approved.status_code == 200, approved.text


def _code(api: Api, **changes: str) -> tuple[Started, str]:
    """A code for the test user (approved, query mode) and the flow that asked for it."""
    started = _start(api, **changes)
    _approve(api, started)
    back = _continue(api, started)
    assert back.status_code == 302, back.text
    query = parse_qs(urlsplit(back.headers["location"]).query)
    return started, query["code"][0]


def _redeem(api: Api, code: str, verifier: str | None, **changes: str) -> httpx.Response:
    form = {
        "grant_type": "authorization_code",
        "client_id": DATA_INTEGRATOR,
        "code": code,
        "redirect_uri": REDIRECT,
        "scope": SCOPE,
        **({"code_verifier": verifier} if verifier is not None else {}),
        **changes,
    }
    return api.http.post(api.running.token_url(), data=form)


def _refused(response: httpx.Response) -> tuple[int, str, int]:
    body = response.json()
    return response.status_code, body["error"], body["error_codes"][0]


def test_the_sign_in_page_waits_for_approval_then_sends_the_code_back(api: Api) -> None:
    started = _start(api)
    assert started.page.status_code == 200
    (listed,) = api.test_api("GET", "/authorizations").json()["pending"]
    assert (listed["request"], listed["redirect_uri"]) == (started.request_id, REDIRECT)
    waiting = _continue(api, started)
    assert waiting.status_code == 200 and started.request_id in waiting.text  # still waiting

    _approve(api, started)
    back = _continue(api, started)
    assert back.status_code == 302
    location = urlsplit(back.headers["location"])
    assert f"{location.scheme}://{location.netloc}" == REDIRECT
    query = parse_qs(location.query)
    assert query["state"] == [started.state] and query["code"][0]
    assert api.test_api("GET", "/authorizations").json()["pending"] == []
    assert _continue(api, started).status_code == 200  # taken: an "unknown request" page
    assert "sign in again" in _continue(api, started).text

    issued = _redeem(api, query["code"][0], started.verifier)
    assert issued.status_code == 200, issued.text
    body = issued.json()
    claims = claims_of(body["access_token"])
    assert (claims["aud"], claims["upn"], claims["idtyp"]) == (GATEWAY.lower(), USERNAME, "user")
    identity = claims_of(body["id_token"])
    assert (identity["nonce"], identity["aud"]) == (started.nonce, DATA_INTEGRATOR)
    assert body["refresh_token"] and body["client_info"]


def test_form_post_sends_the_code_in_a_form_to_the_redirect_uri(api: Api) -> None:
    started = _start(api, response_mode="form_post")
    _approve(api, started)
    back = _continue(api, started)
    assert back.status_code == 200 and "location" not in back.headers
    assert f'action="{REDIRECT}"' in back.text
    fields = dict(re.findall(r'name="(\w+)" value="([^"]*)"', back.text))
    assert fields["state"] == started.state
    assert _redeem(api, fields["code"], started.verifier).status_code == 200


def test_a_code_is_redeemed_once(api: Api) -> None:
    started, code = _code(api)
    assert _redeem(api, code, started.verifier).status_code == 200
    assert _refused(_redeem(api, code, started.verifier)) == (400, "invalid_grant", 54005)


def test_a_code_needs_its_pkce_verifier(api: Api) -> None:
    started, code = _code(api)
    assert _refused(_redeem(api, code, "not-the-verifier-" + "x" * 30)) == (
        400,
        "invalid_grant",
        50148,
    )
    assert _refused(_redeem(api, code, None)) == (400, "invalid_grant", 50148)
    assert _redeem(api, code, started.verifier).status_code == 200  # a refusal doesn't spend it


def test_a_code_is_bound_to_its_client_and_redirect_uri(api: Api) -> None:
    started, code = _code(api)
    elsewhere = _redeem(api, code, started.verifier, redirect_uri="http://localhost:50999")
    assert _refused(elsewhere) == (400, "invalid_grant", 500112)
    other = _redeem(api, code, started.verifier, client_id=CLIENT_ID, client_secret=SECRET)
    assert _refused(other) == (400, "invalid_grant", 70000)
    assert _refused(_redeem(api, "1.AR-made-up", started.verifier)) == (400, "invalid_grant", 70000)


def test_a_code_expires_after_ten_minutes(api: Api) -> None:
    started, code = _code(api)
    assert api.test_api("POST", "/clock", json={"advance_seconds": 601}).status_code == 200
    assert _refused(_redeem(api, code, started.verifier)) == (400, "invalid_grant", 70008)


def test_a_declined_sign_in_goes_back_as_access_denied(api: Api) -> None:
    started = _start(api)
    declined = api.test_api("POST", f"/authorizations/{started.request_id}/decline")
    assert declined.status_code == 200
    back = _continue(api, started)
    query = parse_qs(urlsplit(back.headers["location"]).query)
    assert query["error"] == ["access_denied"] and query["state"] == [started.state]
    assert "AADSTS65004" in query["error_description"][0]


def test_an_untrusted_client_or_redirect_gets_an_error_page_not_a_redirect(api: Api) -> None:
    for changes, code in (
        ({"redirect_uri": "https://attacker.example/callback"}, "AADSTS50011"),
        ({"client_id": "00000000-0000-4000-8000-0000000000ff"}, "AADSTS700016"),
    ):
        page = _start(api, **changes).page
        assert page.status_code == 200 and "location" not in page.headers
        assert code in page.text and 'name="request"' not in page.text
    assert api.test_api("GET", "/authorizations").json()["pending"] == []


def test_other_refusals_go_back_to_the_app_with_the_state(api: Api) -> None:
    for changes, error in (
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"prompt": "none"}, "login_required"),
        ({"scope": "https://unknown.example/.default"}, "invalid_scope"),
        ({"code_challenge_method": "S512"}, "invalid_request"),
    ):
        started = _start(api, **changes)
        assert started.page.status_code == 302, (changes, started.page.text)
        query = parse_qs(urlsplit(started.page.headers["location"]).query)
        assert (query["error"], query["state"]) == ([error], [started.state])
    assert api.test_api("GET", "/authorizations").json()["pending"] == []
