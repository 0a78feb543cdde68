"""The transport every request of the dynamics provider goes through (live-api.md §6.5).

- One `httpx.Client` with the configured CA (`verify=` an `ssl.SSLContext`, never off) and
  timeouts.
- A per-host concurrency cap (a semaphore per `host:port`, default 8, well below the service's
  52) and a per-host pause: a 429 or 503 with `Retry-After` holds every request to that host
  until it has passed (a Dataverse rule: don't keep knocking while throttled).
- Retries: 429 and 503 always (the service didn't do the work), 504 and connection failures
  after the request may have been sent only for idempotent requests (GET, PUT, DELETE, and POSTs
  the caller marks idempotent). A connection that never opened is retried briefly
  (`connect_attempts`, short waits): a server that refuses connections is most likely down,
  and an apply should stop in seconds, not retry every step for minutes. A certificate that
  can't be verified is never retried. Waits honour `Retry-After`, capped, with jitter;
  otherwise exponential backoff.
- A 401 gets one fresh token and one more try.
- DEBUG logs name the method, the URL, the status and the time: never a header or a body.
"""

from __future__ import annotations

import logging
import random
import ssl
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any, Protocol

import httpx

from dwconf.providers.dynamics.errors import (
    certificate_error,
    masked,
    service_error,
    transport_failure,
)

log = logging.getLogger("dwconf.providers.dynamics")

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
Sleep = Callable[[float], None]


class TokenSource(Protocol):
    """Bearer tokens for one resource."""

    def token(self) -> str: ...

    def refresh(self, refused: str) -> str:
        """A new token after `refused` got a 401."""
        ...


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 6  # tries in all, the first included
    max_wait_s: float = 60.0  # cap of one wait (Retry-After or backoff)
    backoff_s: float = 0.5  # first backoff without Retry-After; doubles each time
    jitter: float = 0.1  # up to this fraction of a wait is added at random
    connect_attempts: int = 3  # tries in all when the connection can't be opened
    connect_wait_s: float = 0.5  # cap of one wait between those tries


@dataclass(frozen=True)
class Request:
    """One request as the provider's clients describe it."""

    operation: str  # what dwconf was doing, for messages: "read maps", "start map 'X'"
    method: str
    url: str
    auth: TokenSource | None = None
    params: Mapping[str, str] | None = None
    headers: Mapping[str, str] | None = None
    json: Any = None
    content: bytes | None = None
    data: Mapping[str, str] | None = None
    idempotent: bool | None = None  # None: decided by the method

    @property
    def safe_to_repeat(self) -> bool:
        if self.idempotent is not None:
            return self.idempotent
        return self.method in IDEMPOTENT_METHODS


def ssl_context(ca_file: str | None) -> ssl.SSLContext:
    """Verification with the given CA bundle, else the system's."""
    return ssl.create_default_context(cafile=ca_file) if ca_file else ssl.create_default_context()


def retry_after(response: httpx.Response) -> float | None:
    """`Retry-After` in seconds (a number or an HTTP date), if the answer has one."""
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


class _Host:
    """What the transport keeps per host: the concurrency cap and the pause."""

    def __init__(self, cap: int) -> None:
        self.slots = threading.BoundedSemaphore(cap)
        self.lock = threading.Lock()
        self.paused_until = 0.0


class Transport:
    """Sends `Request`s; raises `ServiceError` / `TransportFailure` (both `ProviderError`)."""

    def __init__(
        self,
        *,
        verify: ssl.SSLContext,
        timeout_s: float = 60.0,
        max_per_host: int = 8,
        retry: RetryPolicy | None = None,
        sleep: Sleep = time.sleep,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.max_per_host = max(1, max_per_host)
        self.retry = retry or RetryPolicy()
        self._sleep, self._rand = sleep, rand
        limits = httpx.Limits(max_connections=self.max_per_host * 4, max_keepalive_connections=16)
        timeout = httpx.Timeout(timeout_s, connect=min(timeout_s, 15.0))
        self._client = httpx.Client(verify=verify, timeout=timeout, limits=limits)
        self._hosts: dict[str, _Host] = {}
        self._hosts_lock = threading.Lock()

    def close(self) -> None:
        self._client.close()

    def _host(self, url: httpx.URL) -> _Host:
        key = f"{url.host}:{url.port or (443 if url.scheme == 'https' else 80)}"
        with self._hosts_lock:
            found = self._hosts.get(key)
            if found is None:
                found = self._hosts[key] = _Host(self.max_per_host)
            return found

    # Waiting --------------------------------------------------------------------------------

    def _wait_for(self, seconds: float) -> float:
        capped = min(max(0.0, seconds), self.retry.max_wait_s)
        return capped + capped * self.retry.jitter * self._rand()

    def _backoff(self, attempt: int) -> float:
        return self._wait_for(self.retry.backoff_s * 2 ** (attempt - 1))

    def _pause(self, host: _Host, seconds: float) -> None:
        with host.lock:
            host.paused_until = max(host.paused_until, time.monotonic() + seconds)

    def _respect_pause(self, host: _Host) -> None:
        with host.lock:
            deadline = host.paused_until
            remaining = deadline - time.monotonic()
        if remaining <= 0:
            return
        self._sleep(remaining)
        with host.lock:  # waited out: later requests needn't wait for it again
            if host.paused_until == deadline:
                host.paused_until = 0.0

    # Sending --------------------------------------------------------------------------------

    def _build(self, request: Request, token: str | None) -> httpx.Request:
        headers = dict(request.headers or {})
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        url = httpx.URL(request.url)
        if request.params:  # merged into the URL's own query, which httpx would replace
            url = url.copy_merge_params(dict(request.params))
        return self._client.build_request(
            request.method,
            url,
            headers=headers,
            json=request.json,
            content=request.content,
            data=dict(request.data) if request.data else None,
        )

    def _send_once(self, request: Request, token: str | None, host: _Host) -> httpx.Response:
        built = self._build(request, token)
        self._respect_pause(host)
        started = time.monotonic()
        with host.slots:
            response = self._client.send(built)
            response.read()
        log.debug(
            "%s %s -> %d in %.0f ms",
            request.method,
            masked(str(built.url)),
            response.status_code,
            (time.monotonic() - started) * 1000,
        )
        return response

    def _retry_wait(self, response: httpx.Response, request: Request, attempt: int) -> float | None:
        """How long to wait before another try, or None when the answer is final."""
        status = response.status_code
        if status not in (429, 503, 504) or attempt >= self.retry.attempts:
            return None
        if status == 504 and not request.safe_to_repeat:
            return None
        after = retry_after(response)
        return self._wait_for(after) if after is not None else self._backoff(attempt)

    def _final(self, exc: httpx.TransportError, request: Request, attempt: int, sent: bool) -> bool:
        """Whether a failure without an answer is the end: no try left, a request that may have
        been carried out and can't be repeated, or a server that can't be reached."""
        if certificate_error(exc):
            return True
        if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):
            return attempt >= min(self.retry.attempts, self.retry.connect_attempts)
        return attempt >= self.retry.attempts or (sent and not request.safe_to_repeat)

    def _transport_wait(self, exc: httpx.TransportError, attempt: int) -> float:
        wait = self._backoff(attempt)
        if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):
            return min(wait, self.retry.connect_wait_s)
        return wait

    def send(self, request: Request) -> httpx.Response:
        """The final answer to `request` (any status); raises only when there is none."""
        url = httpx.URL(request.url)
        host = self._host(url)
        token = request.auth.token() if request.auth else None
        refreshed = False
        attempt = 0
        while True:
            attempt += 1
            try:
                response = self._send_once(request, token, host)
            except httpx.TransportError as exc:
                sent = not isinstance(exc, NOT_SENT)
                if self._final(exc, request, attempt, sent):
                    raise transport_failure(
                        request.operation, request.method, url, exc, sent=sent
                    ) from None
                log.debug(
                    "%s %s: %s, retrying", request.method, masked(str(url)), type(exc).__name__
                )
                self._sleep(self._transport_wait(exc, attempt))
                continue
            if response.status_code == 401 and request.auth and token and not refreshed:
                token, refreshed = request.auth.refresh(token), True
                attempt -= 1  # a refused token is not a failed try
                continue
            wait = self._retry_wait(response, request, attempt)
            if wait is None:
                return response
            self._pause(host, wait)
            log.debug(
                "%s %s -> %d, waiting %.1f s",
                request.method,
                masked(str(url)),
                response.status_code,
                wait,
            )

    def call(self, request: Request, ok: tuple[int, ...] = (200, 201, 204)) -> httpx.Response:
        """`send`, with any status outside `ok` raised as a `ServiceError`."""
        response = self.send(request)
        if response.status_code not in ok:
            raise service_error(response, request.operation)
        return response
