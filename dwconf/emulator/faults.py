"""Fault injection (test-only, live-api.md §6.0): rules that match a request by method, path
regex and environment and then add latency, answer with a status (with `Retry-After` and an
error body), drop the connection without a response (before the request is handled, or after
it was carried out: the answer is lost), or answer with a given JSON body (an answer of
another shape, for `dwconf probe`) — a given number of times, and with `rate` only on a
seeded random share of the matching requests.

With `rate`, each matching request draws from the rule's own `random.Random(seed)`: the same
seed and the same sequence of matching requests fire on the same requests. (Parallel clients
may reach the emulator in another order from run to run; the share stays the same.)

A rule's `path` is searched (`re.search`) in the full request path and in the path below the
environment's base URL, so `^/api/data/v9.2/msdyn_dualwriteentitymaps` works as in the reference.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dwconf.emulator.throttle import REQUESTS_CODE

PLANE_PATH = re.compile(r"^/env/(?P<env>[^/]+)/(?:dataverse|gateway)(?P<rest>/.*)?$")
TRANSPORT_KEY = "dwconf.transport"
OUTCOME_KEY = "dwconf.fault_outcome"  # "dropped" or "lost", for the statistics
_DEFAULT_MESSAGES = {
    429: (
        REQUESTS_CODE,
        "Number of requests exceeded the limit of 6000 over time window of 300 seconds.",
    ),
    503: ("", "The service is unavailable."),
}


class FaultSpecError(ValueError):
    """A fault rule the test API can't accept."""


@dataclass
class Fault:
    id: str
    method: str | None
    path: re.Pattern[str] | None
    env: str | None
    status: int | None
    retry_after: int | None
    latency_ms: float
    drop: bool
    times: int | None  # None: every time
    code: str | None
    message: str | None
    drop_response: bool = False  # carry the request out, then close without the answer
    rate: float | None = None  # fire on this share of matching requests (None: on all)
    seed: int | None = None
    body: Any = None  # with `answers`: this JSON instead of the real answer (another shape)
    answers: bool = False
    fired: int = 0
    _rng: random.Random = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def rolls(self) -> bool:
        """Whether a matching request is one of the `rate` share (always without a rate)."""
        return self.rate is None or self._rng.random() < self.rate

    def matches(self, method: str, path: str) -> bool:
        if self.times is not None and self.fired >= self.times:
            return False
        if self.method and self.method != method:
            return False
        plane = PLANE_PATH.match(path)
        if self.env and (plane is None or plane.group("env") != self.env):
            return False
        if self.path is None:
            return True
        below = (plane.group("rest") or "/") if plane else path
        return bool(self.path.search(path) or self.path.search(below))

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "match": {
                "method": self.method,
                "path": self.path.pattern if self.path else None,
                "env": self.env,
            },
            "status": self.status,
            "retryAfter": self.retry_after,
            "latencyMs": self.latency_ms,
            "drop": self.drop,
            "dropResponse": self.drop_response,
            "rate": self.rate,
            "seed": self.seed,
            "times": self.times,
            "body": self.body,
            "fired": self.fired,
        }


def _number(spec: dict[str, Any], key: str, default: Any) -> Any:
    value = spec.get(key, default)
    if value is not None and (
        not isinstance(value, int | float) or isinstance(value, bool) or value < 0
    ):
        raise FaultSpecError(f"'{key}' must be a non-negative number.")
    return value


def _rate(spec: dict[str, Any]) -> tuple[float | None, int | None]:
    rate, seed = spec.get("rate"), spec.get("seed")
    if rate is not None and (
        not isinstance(rate, int | float) or isinstance(rate, bool) or not 0 < rate <= 1
    ):
        raise FaultSpecError("'rate' must be a number above 0 and at most 1.")
    if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)):
        raise FaultSpecError("'seed' must be an integer.")
    return (float(rate) if rate is not None else None), seed


def _drops(spec: dict[str, Any], status: Any) -> tuple[bool, bool]:
    drop, drop_response = bool(spec.get("drop", False)), bool(spec.get("dropResponse", False))
    if drop_response and (drop or status is not None):
        raise FaultSpecError(
            "'dropResponse' lets the request through and loses its answer: "
            "it can't have a status or 'drop'."
        )
    return drop, drop_response


def parse(spec: Any) -> Fault:
    """A rule from `{"match": {"method", "path", "env"}, "status", "retryAfter", "latencyMs",
    "drop", "dropResponse", "rate", "seed", "times", "code", "message", "body"}`; `times` defaults
    to 1 (null, every time, when a `rate` is given); null means always."""
    if not isinstance(spec, dict):
        raise FaultSpecError("A fault is a JSON object.")
    match = spec.get("match") or {}
    if not isinstance(match, dict):
        raise FaultSpecError("'match' must be an object.")
    try:
        path = re.compile(match["path"]) if match.get("path") else None
    except re.error as exc:
        raise FaultSpecError(f"'match.path' is not a regular expression: {exc}") from exc
    status = _number(spec, "status", None)
    drop, drop_response = _drops(spec, status)
    latency = float(_number(spec, "latencyMs", 0) or 0)
    answers = "body" in spec
    if answers and (drop or drop_response):
        raise FaultSpecError("'body' is an answer: it can't go with 'drop' or 'dropResponse'.")
    if status is None and not drop and not drop_response and not latency and not answers:
        raise FaultSpecError("A fault needs a status, body, latencyMs, drop or dropResponse.")
    rate, seed = _rate(spec)
    times = _number(spec, "times", 1 if rate is None else None)
    return Fault(
        id=str(uuid.uuid4()),
        method=str(match["method"]).upper() if match.get("method") else None,
        path=path,
        env=match.get("env"),
        status=int(status) if status is not None else None,
        retry_after=_number(spec, "retryAfter", None),
        latency_ms=latency,
        drop=drop,
        times=int(times) if times is not None else None,
        code=spec.get("code"),
        message=spec.get("message"),
        drop_response=drop_response,
        rate=rate,
        seed=seed,
        body=spec.get("body"),
        answers=answers,
    )


@dataclass
class Faults:
    rules: list[Fault] = field(default_factory=list)
    fired: int = 0

    def add(self, fault: Fault) -> Fault:
        self.rules.append(fault)
        return fault

    def clear(self) -> None:
        self.rules.clear()

    def remove(self, fault_id: str) -> bool:
        before = len(self.rules)
        self.rules = [f for f in self.rules if f.id != fault_id]
        return len(self.rules) != before

    def take(self, method: str, path: str) -> Fault | None:
        """The first rule that matches (and, with a rate, rolls to fire), counted as fired."""
        for fault in self.rules:
            if fault.matches(method, path) and fault.rolls():
                fault.fired += 1
                self.fired += 1
                return fault
        return None


async def _drop(scope: Scope, outcome: str = "dropped") -> None:
    scope[OUTCOME_KEY] = outcome
    transport = scope.get(TRANSPORT_KEY)
    if transport is not None:
        transport.abort()
        for _ in range(3):  # let the server notice, so it doesn't answer for us
            await asyncio.sleep(0)
        return
    raise ConnectionAbortedError("dropped by a fault rule")


def _response(fault: Fault) -> tuple[list[tuple[bytes, bytes]], bytes]:
    if fault.answers:  # another shape of answer, as a test asks for
        return [(b"content-type", b"application/json; charset=utf-8")], json.dumps(
            fault.body
        ).encode("utf-8")
    status = fault.status or 500
    default_code, default_message = _DEFAULT_MESSAGES.get(
        status, ("", f"Injected fault: HTTP {status}.")
    )
    body = {
        "error": {"code": fault.code or default_code, "message": fault.message or default_message}
    }
    headers = [
        (b"content-type", b"application/json; odata.metadata=minimal"),
        (b"odata-version", b"4.0"),
    ]
    if fault.retry_after is not None:
        headers.append((b"retry-after", str(int(fault.retry_after)).encode()))
    return headers, json.dumps(body).encode("utf-8")


class FaultMiddleware:
    """Applies the first matching rule; everything under /_emulator/ is left alone."""

    def __init__(self, app: ASGIApp, faults: Faults) -> None:
        self.app = app
        self.faults = faults

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/_emulator"):
            await self.app(scope, receive, send)
            return
        fault = self.faults.take(scope["method"], scope["path"])
        if fault is None:
            await self.app(scope, receive, send)
            return
        if fault.latency_ms:
            await asyncio.sleep(fault.latency_ms / 1000.0)
        if fault.drop:
            await _drop(scope)
            return
        if fault.drop_response:
            await self._lose_answer(scope, receive)
            return
        if fault.status is None and not fault.answers:
            await self.app(scope, receive, send)
            return
        headers, body = _response(fault)
        status = fault.status or 200
        start: Message = {"type": "http.response.start", "status": status, "headers": headers}
        await send(start)
        await send({"type": "http.response.body", "body": body})

    async def _lose_answer(self, scope: Scope, receive: Receive) -> None:
        """The request is carried out; its answer never leaves: the connection is closed."""

        async def discard(message: Message) -> None:
            return None

        await self.app(scope, receive, discard)
        await _drop(scope, "lost")
