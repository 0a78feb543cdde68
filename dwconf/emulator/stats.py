"""Request statistics for tests (`GET /_emulator/stats`): requests per path and per method and
path, statuses, the requests being handled now and the most in flight at once per host and per
environment plane, and the requests carrying each `x-dwconf-step` header value (so a test can
see that a retried step wrote once), also by outcome: the status answered, `dropped` (a fault
closed the connection before the request was handled) or `lost` (it was carried out and its
answer dropped), the bearers each plane was shown (`bearers`: `{"dev/dataverse": {"app
<audience>": n}}`, counted by the guard), and the last requests in the order they came (`log`,
so a test can check an order of calls). Requests to /_emulator/ are not counted.
"""

from __future__ import annotations

from collections import Counter, defaultdict, deque
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dwconf.emulator.faults import OUTCOME_KEY, PLANE_PATH

STEP_HEADER = b"x-dwconf-step"
LOG_LENGTH = 2000


class Stats:
    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.by_path: Counter[str] = Counter()
        self.by_request: Counter[str] = Counter()
        self.log: deque[str] = deque(maxlen=LOG_LENGTH)
        self.statuses: Counter[str] = Counter()
        self.in_flight: Counter[str] = Counter()
        self.max_in_flight: dict[str, int] = {}
        self.steps: defaultdict[str, Counter[str]] = defaultdict(Counter)
        self.step_outcomes: defaultdict[str, defaultdict[str, Counter[str]]] = defaultdict(
            lambda: defaultdict(Counter)
        )
        self.bearers: defaultdict[str, Counter[str]] = defaultdict(Counter)

    def enter(self, groups: list[str]) -> None:
        for group in groups:
            self.in_flight[group] += 1
            self.max_in_flight[group] = max(self.max_in_flight.get(group, 0), self.in_flight[group])

    def leave(self, groups: list[str]) -> None:
        for group in groups:
            self.in_flight[group] -= 1

    def as_json(self) -> dict[str, Any]:
        hosts = {k[5:]: v for k, v in self.max_in_flight.items() if k.startswith("host:")}
        planes = {k[6:]: v for k, v in self.max_in_flight.items() if k.startswith("plane:")}
        return {
            "requests": sum(self.by_path.values()),
            "in_flight": sum(n for k, n in self.in_flight.items() if k.startswith("host:")),
            "by_path": dict(self.by_path),
            "by_request": dict(self.by_request),
            "log": list(self.log),
            "statuses": dict(self.statuses),
            "max_in_flight_by_host": hosts,
            "max_in_flight_by_plane": planes,
            "steps": {step: dict(counts) for step, counts in self.steps.items()},
            "step_outcomes": {
                step: {request: dict(outcomes) for request, outcomes in requests.items()}
                for step, requests in self.step_outcomes.items()
            },
            "bearers": {plane: dict(kinds) for plane, kinds in self.bearers.items()},
        }


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return None


class StatsMiddleware:
    def __init__(self, app: ASGIApp, stats: Stats) -> None:
        self.app = app
        self.stats = stats

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/_emulator"):
            await self.app(scope, receive, send)
            return
        path, method = scope["path"], scope["method"]
        stats = self.stats
        stats.by_path[path] += 1
        stats.by_request[f"{method} {path}"] += 1
        stats.log.append(f"{method} {path}")
        step = _header(scope, STEP_HEADER)
        if step:
            stats.steps[step][f"{method} {path}"] += 1
        plane = PLANE_PATH.match(path)
        groups = [f"host:{_header(scope, b'host') or ''}"]
        if plane:
            groups.append("plane:" + "/".join(path.split("/")[2:4]))
        stats.enter(groups)
        answered: list[str] = []

        async def counted(message: Message) -> None:
            if message["type"] == "http.response.start":
                answered.append(str(message["status"]))
                stats.statuses[answered[-1]] += 1
            await send(message)

        try:
            await self.app(scope, receive, counted)
        finally:
            stats.leave(groups)
            if step:
                outcome = answered[0] if answered else str(scope.get(OUTCOME_KEY, "none"))
                stats.step_outcomes[step][f"{method} {path}"][outcome] += 1


class ServiceDateMiddleware:
    """Sends the `Date` header from the emulator's clock, as the service's own time: clients
    judge lease expiry by it, and tests move that clock forward."""

    def __init__(self, app: ASGIApp, now: Callable[[], datetime]) -> None:
        self.app = app
        self.now = now

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def dated(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"date"]
                stamp = format_datetime(self.now().astimezone(UTC), usegmt=True)
                message = {**message, "headers": [*headers, (b"date", stamp.encode())]}
            await send(message)

        await self.app(scope, receive, dated)
