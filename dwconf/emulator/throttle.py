"""Service-protection limits per caller (live-api.md §2 "Service protection limits", §6.0):
requests and combined execution time in a sliding window, and concurrent requests. Exceeding
one gives 429 with `Retry-After` and the Dataverse code and message of that limit.

A caller is a token's subject and audience, so every token a client gets for one resource
shares its limits (the service counts per user). Defaults are the service's; tests lower them.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

from dwconf.emulator.config import Limits
from dwconf.emulator.registry import Clock

REQUESTS_CODE = "0x80072322"
EXECUTION_CODE = "0x80072321"
CONCURRENCY_CODE = "0x80072326"


@dataclass(frozen=True)
class Rejection:
    code: str
    message: str
    retry_after: int


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


# A running sum of the window's durations differs from summing them afresh by rounding only,
# far less than this; only a sum this close to the limit is worked out exactly.
_ROUNDING_MS = 1.0


class _Caller:
    def __init__(self) -> None:
        # [start, duration in ms, 1.0 while in the window]; the duration is 0 until done
        self.window: deque[list[float]] = deque()
        self.in_flight = 0
        self.spent_ms = 0.0  # the window's durations, summed as they come and go

    def spent_at_least(self, limit: float) -> bool:
        """Whether the window's durations add up to `limit` or more."""
        if self.spent_ms < limit - _ROUNDING_MS:
            return False
        self.spent_ms = sum(entry[1] for entry in self.window)
        return self.spent_ms >= limit


class Throttle:
    """Counts per caller; `admit` before a request, `done` after it."""

    def __init__(self, limits: Limits, clock: Clock) -> None:
        self.limits = limits
        self.clock = clock
        self._callers: dict[str, _Caller] = {}

    def reset(self) -> None:
        self._callers.clear()

    def _prune(self, caller: _Caller, now: float) -> None:
        while caller.window and caller.window[0][0] <= now - self.limits.window_seconds:
            gone = caller.window.popleft()
            caller.spent_ms = caller.spent_ms - gone[1] if caller.window else 0.0
            gone[2] = 0.0

    def _wait(self, caller: _Caller, now: float) -> int:
        oldest = caller.window[0][0] if caller.window else now
        return max(1, math.ceil(oldest + self.limits.window_seconds - now))

    def _check(self, caller: _Caller, now: float) -> Rejection | None:
        limits = self.limits
        window = _number(limits.window_seconds)
        if caller.in_flight >= limits.concurrent:
            message = f"Number of concurrent requests exceeded the limit of {limits.concurrent}."
            return Rejection(CONCURRENCY_CODE, message, 1)
        if len(caller.window) >= limits.requests:
            message = (
                f"Number of requests exceeded the limit of {limits.requests} over time window of "
                f"{window} seconds."
            )
            return Rejection(REQUESTS_CODE, message, self._wait(caller, now))
        if caller.spent_at_least(limits.execution_ms):
            message = (
                f"Combined execution time of incoming requests exceeded limit of "
                f"{limits.execution_ms:,} milliseconds over time window of {window} seconds. "
                "Decrease number of concurrent requests or reduce the duration of requests and "
                "try again later."
            )
            return Rejection(EXECUTION_CODE, message, self._wait(caller, now))
        return None

    def admit(self, key: str) -> tuple[Rejection | None, list[float] | None]:
        """A rejection, or the entry to hand back to `done` when the request ends."""
        caller = self._callers.setdefault(key, _Caller())
        now = self.clock.time()
        self._prune(caller, now)
        rejection = self._check(caller, now)
        if rejection is not None:
            return rejection, None
        entry = [now, 0.0, 1.0]
        caller.window.append(entry)
        caller.in_flight += 1
        return None, entry

    def done(self, key: str, entry: list[float]) -> None:
        caller = self._callers.get(key)
        entry[1] = (self.clock.time() - entry[0]) * 1000.0
        if caller is not None:
            caller.in_flight -= 1
            if entry[2]:
                caller.spent_ms += entry[1]
