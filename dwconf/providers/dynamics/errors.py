"""The dynamics provider's failures, as `ProviderError`s that name the operation and the address
(the request's method and URL) and never carry a secret or a token: `masked` is
`dwconf.redact` plus the values read from the variables the configuration names, whatever they
are called.

A refusal of the service keeps the service's own message as the error's message (the live
model's texts, which the contract suite checks word for word) and puts the operation and the
address in the hint; a failure without a usable answer says all of it in the message.
"""

from __future__ import annotations

import json
import ssl
from typing import Any

import httpx

from dwconf.errors import ProviderError, UnreachableError
from dwconf.redact import redact

MAX_BODY_TEXT = 300
MAX_MASKED_BODY = 65_536  # of an error body, read to mask before the first MAX_BODY_TEXT
_SECRETS: set[str] = set()  # values read from variables the configuration names


def remember_secret(value: str) -> str:
    """Mask `value` in every message from now on, whatever its variable is called."""
    if len(value) >= 6:
        _SECRETS.add(value)
    return value


def masked(text: str) -> str:
    """`text` through `dwconf.redact`, also masking the secrets this provider has read."""
    return redact(text, sorted(_SECRETS, key=len, reverse=True))


class ServiceError(ProviderError):
    """The service answered with an error status."""

    def __init__(
        self,
        message: str,
        hint: str,
        *,
        status: int,
        code: str,
        operation: str,
        address: str,
    ) -> None:
        super().__init__(masked(message), masked(hint))
        self.status, self.code = status, code
        self.operation, self.address = operation, address


class TransportFailure(ProviderError):
    """No answer: the connection failed, timed out or was dropped (after any retries);
    `sent` says the request may have reached the service (and been carried out)."""

    def __init__(self, message: str, hint: str = "", *, sent: bool = True) -> None:
        super().__init__(message, hint)
        self.sent = sent


class Unreachable(TransportFailure, UnreachableError):
    """The connection could not be opened (refused, or the server's certificate is not trusted):
    nothing was sent."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message, hint, sent=False)


def certificate_error(exc: BaseException) -> bool:
    """Whether a connection failed because the server's certificate could not be verified: a
    failure that trying again can't mend."""
    current: BaseException | None = exc
    for _ in range(8):  # the chain of causes is short; a bound keeps a cyclic one finite
        if current is None:
            break
        if isinstance(current, ssl.SSLCertVerificationError):
            return True
        current = current.__cause__ or current.__context__
    return "CERTIFICATE_VERIFY_FAILED" in str(exc)


class ChangedSinceRead(ProviderError):
    """A write's `If-Match` etag no longer matched (HTTP 412): re-plan."""

    def __init__(self, operation: str, address: str) -> None:
        super().__init__(
            f"{operation}: {address} changed since it was read (HTTP 412 Precondition Failed); "
            "re-plan.",
            hint="Someone changed it in the environment; run `dwconf plan` again.",
        )
        self.operation, self.address = operation, address


def address_of(method: str, url: str | httpx.URL) -> str:
    """`METHOD url` without the query string's `$skiptoken` noise."""
    text = str(url)
    if "$skiptoken=" in text:
        text = text.split("$skiptoken=", 1)[0] + "$skiptoken=…"
    return f"{method} {text}"


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _parts(body: Any) -> tuple[str, str, str]:
    """(code, message, hint) of an OData, gateway or OAuth error body."""
    if not isinstance(body, dict):
        return "", "", ""
    error = body.get("error")
    if isinstance(error, dict):
        inner = error.get("innererror")
        hint = str(inner.get("message") or "") if isinstance(inner, dict) else ""
        return str(error.get("code") or ""), str(error.get("message") or ""), hint
    if isinstance(error, str):  # OAuth: {"error": "invalid_client", "error_description": "…"}
        return error, str(body.get("error_description") or error), ""
    return "", "", ""


def service_error(response: httpx.Response, operation: str) -> ServiceError:
    """The error a failed answer stands for: the service's message when it gave one (the
    operation and address then go in the hint), else one that names them."""
    address = address_of(response.request.method, response.request.url)
    code, message, hint = _parts(_json(response))
    where = f"{operation}: {address} answered {response.status_code}"
    if message:
        hint = f"{hint} ({where})" if hint else f"({where})"
    else:  # masked before it is cut, so that no part of a secret is left at the cut
        text = masked(response.text[:MAX_MASKED_BODY].strip())[:MAX_BODY_TEXT]
        message, hint = f"{where}{': ' + text if text else ''}.", ""
    status = response.status_code
    return ServiceError(
        message, hint, status=status, code=code, operation=operation, address=address
    )


def transport_failure(
    operation: str, method: str, url: str | httpx.URL, exc: Exception, *, sent: bool
) -> TransportFailure:
    """A failure without an answer; `sent` says the request may have reached the service."""
    detail = str(exc) or type(exc).__name__
    hint = (
        "The request may have been carried out: check the environment (dwconf plan) before "
        "trying again."
        if sent
        else "Check the URL, the network and the CA file (provider.ca_file)."
    )
    message = f"{operation}: {address_of(method, url)} failed: {type(exc).__name__}: {detail}"
    if certificate_error(exc):
        hint = "The server's certificate is not trusted: check provider.ca_file."
        return Unreachable(masked(message), hint)
    if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):
        return Unreachable(masked(message), hint)
    return TransportFailure(masked(message), hint, sent=sent)


def dumps(value: Any) -> str:
    """Compact JSON for request bodies and string columns."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
