"""What a browser meets when a native app signs a user in (the authorization-code flow of
`authcode.py`): `GET /{tenant}/oauth2/v2.0/authorize` and the sign-in page's `POST /{tenant}/login`.

Errors follow Microsoft's authorization endpoint: a request whose client or `redirect_uri`
can't be trusted gets an error page (HTTP 200) and is never redirected; any other refusal is
sent back to the app's `redirect_uri` as `error`, `error_description` and `state`.
"""

from __future__ import annotations

import html
from urllib.parse import parse_qsl, urlencode, urlsplit

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from dwconf.emulator.entra.authcode import Authorization, loopback, new_request_id
from dwconf.emulator.entra.authority import Authority, base_url, tenant_error
from dwconf.emulator.entra.signins import OAuthError

RESPONSE_MODES = ("query", "form_post")
CHALLENGE_METHODS = ("S256", "plain")


def _authority(request: Request) -> Authority:
    found: Authority = request.app.state.hub.authority
    return found


def _page(title: str, body: str) -> HTMLResponse:
    page = f"<!DOCTYPE html><html><head><title>{html.escape(title)}</title></head><body>{body}"
    return HTMLResponse(page + "</body></html>", headers={"Cache-Control": "no-store"})


def error_page(exc: OAuthError) -> HTMLResponse:
    """An error shown to the person instead of a redirect that can't be trusted."""
    return _page(
        "Sign in",
        "<h1>Sorry, but we're having trouble signing you in.</h1>"
        f'<p id="error" data-code="{exc.code}">{html.escape(exc.description)}</p>',
    )


def sign_in_page(base: str, tenant: str, authorization: Authorization) -> HTMLResponse:
    """The sign-in page: it names the request to approve and continues to `/login`."""
    rid = html.escape(authorization.request_id)
    return _page(
        "Sign in to your account",
        f"<h1>Sign in</h1><p>Sign-in request <code>{rid}</code> is waiting: approve it with "
        f"POST /_emulator/authorizations/{rid}/approve, then continue.</p>"
        f'<form method="post" action="{html.escape(base)}/{html.escape(tenant)}/login">'
        f'<input type="hidden" name="request" value="{rid}"/>'
        '<input type="submit" value="Continue"/></form>',
    )


def back_to_app(authorization: Authorization, answer: dict[str, str]) -> Response:
    """The browser sent back to the app with `answer` (a code or an error) and the state:
    a 302 with a query, or (form_post) a page whose form posts them to the app."""
    if authorization.state is not None:
        answer = {**answer, "state": authorization.state}
    uri = authorization.redirect_uri
    if authorization.response_mode == "form_post":
        fields = "".join(
            f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}"/>'
            for k, v in answer.items()
        )
        return _page(
            "Working...",
            f'<form method="POST" name="hiddenform" action="{html.escape(uri)}">{fields}'
            "<noscript><p>Script is disabled. Click Submit to continue.</p>"
            '<input type="submit" value="Submit"/></noscript></form>'
            "<script>document.forms[0].submit();</script>",
        )
    separator = "&" if urlsplit(uri).query else "?"
    return RedirectResponse(f"{uri}{separator}{urlencode(answer)}", 302)


def _refusal(exc: OAuthError) -> dict[str, str]:
    return {"error": exc.error, "error_description": exc.description}


def _untrusted(authority: Authority, params: dict[str, str]) -> OAuthError | None:
    """Why the request can't even be sent back to its app, or None."""
    try:
        authority.client_for(params.get("client_id", ""))
    except OAuthError as exc:
        return exc
    redirect = params.get("redirect_uri", "")
    if not loopback(redirect):
        return OAuthError(
            "invalid_request",
            50011,
            f"AADSTS50011: The redirect URI '{redirect}' specified in the request does not "
            f"match the redirect URIs configured for the application "
            f"'{params.get('client_id')}'.",
        )
    return None


def _check(authority: Authority, params: dict[str, str]) -> None:
    """The refusals sent back to the app."""
    response_type = params.get("response_type", "")
    if response_type != "code":
        raise OAuthError(
            "unsupported_response_type",
            700054,
            f"AADSTS700054: response_type '{response_type}' is not enabled for the application.",
        )
    mode = params.get("response_mode", "query")
    if mode not in RESPONSE_MODES:
        raise OAuthError(
            "invalid_request", 900144, f"AADSTS900144: response_mode '{mode}' is not supported."
        )
    method = params.get("code_challenge_method", "plain")
    if params.get("code_challenge") and method not in CHALLENGE_METHODS:
        raise OAuthError(
            "invalid_request",
            501491,
            f"AADSTS501491: Invalid code_challenge_method '{method}': S256 or plain.",
        )
    authority.resource_for(params.get("scope", ""))
    if params.get("prompt") == "none":
        raise OAuthError(
            "login_required",
            50058,
            "AADSTS50058: A silent sign-in request was sent but no user is signed in.",
        )


def _authorization(authority: Authority, params: dict[str, str]) -> Authorization:
    challenge = params.get("code_challenge") or None
    return Authorization(
        request_id=new_request_id(),
        client_id=params["client_id"],
        redirect_uri=params["redirect_uri"],
        scope=params.get("scope", ""),
        state=params.get("state"),
        nonce=params.get("nonce"),
        challenge=challenge,
        challenge_method=params.get("code_challenge_method", "plain"),
        response_mode=params.get("response_mode", "query"),
        expires_at=authority.clock.time() + authority.config.device_code_lifetime_seconds,
    )


async def authorize_endpoint(request: Request) -> Response:
    """`GET /authorize`: the sign-in page of a new request, or an error."""
    authority = _authority(request)
    tenant = request.path_params["tenant"]
    if not authority.known_tenant(tenant):
        return tenant_error(tenant)
    params = dict(request.query_params)
    untrusted = _untrusted(authority, params)
    if untrusted is not None:
        return error_page(untrusted)
    authorization = _authorization(authority, params)
    try:
        _check(authority, params)
    except OAuthError as exc:
        return back_to_app(authorization, _refusal(exc))
    authority.authcodes.start(authorization)
    return sign_in_page(base_url(request), tenant, authorization)


async def login_endpoint(request: Request) -> Response:
    """`POST /login` (the sign-in page's form): back to the app with a code once the request
    is approved, with `access_denied` once declined; the same page while it waits."""
    authority = _authority(request)
    tenant = request.path_params["tenant"]
    if not authority.known_tenant(tenant):
        return tenant_error(tenant)
    form = dict(parse_qsl((await request.body()).decode("utf-8", "replace")))
    authorization = authority.authcodes.take(form.get("request", ""))
    if authorization is None:
        return _page(
            "Sign in", "<p>This sign-in request has expired or is unknown: sign in again.</p>"
        )
    if authorization.declined:
        declined = OAuthError(
            "access_denied", 65004, "AADSTS65004: User declined to consent to access the app."
        )
        return back_to_app(authorization, _refusal(declined))
    if authorization.user is None:
        return sign_in_page(base_url(request), tenant, authorization)
    return back_to_app(authorization, {"code": authority.authcodes.issue(authorization)})
